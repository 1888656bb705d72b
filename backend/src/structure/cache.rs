//! Parsed documents kept between requests, so a page of one document does not read and
//! parse every other document of its branch again. Entries are exact, never stale: live
//! text is looked up by the document's position in its update log (the last `seq` its
//! stored state includes, which every stored change raises and compaction keeps), and
//! projected text by comparing it with the text the entry was parsed from. What is
//! worked out from a whole branch is kept by the fingerprint of the corpus it came
//! from, as exactly. Each cache holds a bounded number of bytes; what was used least
//! recently goes first.

use std::sync::{Arc, LazyLock};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

use charter_types::{BranchId, Kind};

use super::corpus::Fingerprint;
use super::Parsed;
use crate::collab::DocKey;
use crate::error::Result;

/// Bytes of parsed documents kept, at most (estimated: text and structure).
const CAPACITY: u64 = 192 * 1024 * 1024;

#[derive(Clone)]
struct Entry {
    /// The log position the text was read at; `None` for projected text.
    seq: Option<i64>,
    parsed: Arc<Parsed>,
}

#[derive(Clone)]
struct Size;

impl Weighter<DocKey, Entry> for Size {
    fn weight(&self, _: &DocKey, entry: &Entry) -> u64 {
        entry.parsed.size() as u64
    }
}

/// One shard: a single large document must fit (the total is what is bounded).
static CACHE: LazyLock<Cache<DocKey, Entry, Size>> = LazyLock::new(|| {
    let options = OptionsBuilder::new()
        .shards(1)
        .estimated_items_capacity(4096)
        .weight_capacity(CAPACITY)
        .build()
        .expect("valid cache options");
    Cache::with_options(options, Size, DefaultHashBuilder::default(), Default::default())
});

/// The document as parsed from its state at log position `seq`, if kept.
pub(super) fn at(key: DocKey, seq: i64) -> Option<Arc<Parsed>> {
    CACHE.get(&key).filter(|entry| entry.seq == Some(seq)).map(|entry| entry.parsed)
}

/// The document as parsed from exactly `text`, if kept.
pub(super) fn with_text(key: DocKey, text: &str) -> Option<Arc<Parsed>> {
    CACHE.get(&key).filter(|entry| entry.parsed.text == text).map(|entry| entry.parsed)
}

/// Parses `text` (read at log position `seq`, or projected) off the async workers and
/// keeps the result.
pub(super) async fn parse(key: DocKey, kind: Kind, seq: Option<i64>, text: String) -> Result<Arc<Parsed>> {
    let parsed = Parsed::spawn(kind, text).await?;
    CACHE.insert(key, Entry { seq, parsed: parsed.clone() });
    Ok(parsed)
}

/// What is worked out from a whole live corpus of a branch (requirement identities, the
/// lint), kept with the corpus's fingerprint: valid exactly while the branch's documents
/// are as they were, so a read of an unchanged project works nothing out again.
pub(super) struct Derived<T> {
    cache: Cache<BranchId, (Fingerprint, Arc<T>), Weigh<T>>,
}

/// Bytes one derived value holds, about.
struct Weigh<T>(fn(&T) -> u64);

impl<T> Clone for Weigh<T> {
    fn clone(&self) -> Self {
        Weigh(self.0)
    }
}

impl<T> Weighter<BranchId, (Fingerprint, Arc<T>)> for Weigh<T> {
    fn weight(&self, _: &BranchId, (_, value): &(Fingerprint, Arc<T>)) -> u64 {
        (self.0)(value)
    }
}

impl<T> Derived<T> {
    /// Keeps at most `capacity` bytes (as `weigh` estimates them) of values.
    pub(super) fn new(capacity: u64, weigh: fn(&T) -> u64) -> Derived<T> {
        let options = OptionsBuilder::new()
            .shards(1)
            .estimated_items_capacity(64)
            .weight_capacity(capacity)
            .build()
            .expect("valid cache options");
        Derived { cache: Cache::with_options(options, Weigh(weigh), DefaultHashBuilder::default(), Default::default()) }
    }

    /// What was worked out from the corpus `fingerprint` names, if kept.
    pub(super) fn get(&self, branch: BranchId, fingerprint: Option<Fingerprint>) -> Option<Arc<T>> {
        let fingerprint = fingerprint?;
        self.cache.get(&branch).filter(|(kept, _)| *kept == fingerprint).map(|(_, value)| value)
    }

    /// Keeps `value`, worked out from the corpus `fingerprint` names (nothing without one).
    pub(super) fn put(&self, branch: BranchId, fingerprint: Option<Fingerprint>, value: Arc<T>) {
        if let Some(fingerprint) = fingerprint {
            self.cache.insert(branch, (fingerprint, value));
        }
    }
}
