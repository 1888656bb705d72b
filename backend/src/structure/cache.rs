//! Parsed documents kept between requests, so a page of one document does not read and
//! parse every other document of its branch again. Entries are exact, never stale: live
//! text is looked up by the document's position in its update log (the last `seq` its
//! stored state includes, which every stored change raises and compaction keeps), and
//! projected text by comparing it with the text the entry was parsed from. The cache
//! holds a bounded number of bytes; what was used least recently goes first.

use std::sync::{Arc, LazyLock};

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, OptionsBuilder, Weighter};

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
pub(super) async fn parse(key: DocKey, seq: Option<i64>, text: String) -> Result<Arc<Parsed>> {
    let parsed = Parsed::spawn(text).await?;
    CACHE.insert(key, Entry { seq, parsed: parsed.clone() });
    Ok(parsed)
}
