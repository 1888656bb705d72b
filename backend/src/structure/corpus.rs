//! A branch's documents, parsed: what links resolve against and the lint runs over,
//! read through the parse cache so a request parses only what changed.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, OnceLock};

use charter_types::{BranchId, DocumentId, HttpMethod, Kind, Operation};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;
use sqlx::PgConnection;

use super::parse::{self, Requirement, Structure};
use super::{cache, contracts, corpus, lint};
use crate::authorization::ProjectAccess;
use crate::collab::DocKey;
use crate::contract::{operation_name, reference, Contract};
use crate::error::{Error, Result};
use crate::markdown::LinkTarget;
use crate::{branches, budget, content};

/// Documents parsed at once when a corpus is read with many changed: enough to keep
/// the cores busy, few enough to leave the blocking pool to others.
const PARSED_AT_ONCE: usize = 4;

/// A document's text read into its structure, with its requirements by key: what the
/// parse cache keeps between requests. A contract's structure holds only the
/// requirement keys its operations name (as mentions); the contract itself is read
/// beside it.
#[derive(Debug)]
pub struct Parsed {
    pub text: String,
    pub structure: Structure,
    pub contract: Option<Contract>,
    /// Indexes into `structure.requirements`, by key uppercased.
    keys: HashMap<String, Vec<usize>>,
    /// About how many bytes all this holds.
    size: usize,
}

impl Parsed {
    pub fn new(kind: Kind, text: String) -> Parsed {
        let (structure, contract) = match kind {
            Kind::Contract => {
                let contract = Contract::read(&text);
                (contract_structure(&contract), Some(contract))
            }
            _ => (parse::parse(&text), None),
        };
        let mut keys: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, requirement) in structure.requirements.iter().enumerate() {
            keys.entry(requirement.key.to_uppercase()).or_default().push(index);
        }
        // The structure repeats pieces of the text (at most about twice over), in items
        // of a few hundred bytes with their strings' headers.
        let items = structure.requirements.len()
            + structure.clarifications.len()
            + structure.links.len()
            + structure.tasks.iter().map(|task| 1 + task.references.len()).sum::<usize>()
            + structure.criteria.len()
            + structure.mentions.len()
            + structure.settings.len()
            + keys.len();
        // A contract's values and their places: about 200 bytes each.
        let values = contract.as_ref().and_then(Contract::readable).map_or(0, |readable| readable.source.size);
        let size = 3 * text.len() + 256 * items + 200 * values;
        Parsed { text, structure, contract, keys, size }
    }

    /// About how many bytes this holds.
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// Parses on the blocking pool.
    pub(super) async fn spawn(kind: Kind, text: String) -> Result<Arc<Parsed>> {
        budget::run(move |_| Ok(Arc::new(Parsed::new(kind, text)))).await
    }
}

/// The requirement keys a contract's operations name (`x-requirements`), as mentions
/// where each is written: what makes a requirement's backlinks list the contract.
fn contract_structure(contract: &Contract) -> Structure {
    let mentions = contract
        .requirement_keys()
        .iter()
        .map(|(key, place)| parse::Mention { key: key.clone(), line: place.line, column: place.column })
        .collect();
    Structure { mentions, ..Structure::default() }
}

/// A document with its structure.
#[derive(Clone, Debug)]
pub struct Doc {
    pub id: DocumentId,
    pub title: String,
    pub kind: Kind,
    parsed: Arc<Parsed>,
}

impl Doc {
    pub fn new(id: DocumentId, title: String, kind: Kind, text: String) -> Doc {
        Doc { id, title, kind, parsed: Arc::new(Parsed::new(kind, text)) }
    }

    pub fn text(&self) -> &str {
        &self.parsed.text
    }

    pub fn structure(&self) -> &Structure {
        &self.parsed.structure
    }

    /// The contract, for a document of kind `contract`.
    pub fn contract(&self) -> Option<&Contract> {
        self.parsed.contract.as_ref()
    }
}

/// What a `[[link]]` names.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a> {
    Requirement(&'a Doc, &'a Requirement),
    Document(&'a Doc),
    /// A contract's operation: `[[POST /orders]]`.
    Operation(&'a Doc, &'a Operation),
    /// A schema a contract names: `[[Order]]`.
    Schema(&'a Doc, &'a str),
}

/// Where a corpus's document text comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Text {
    /// The CRDT state: exact, one read per document. For what is stored or counted
    /// (requirement identities, questions, merge checks, API reports).
    Live,
    /// The Markdown projection: one query, trailing live edits by a moment. For what
    /// runs as people type (previews, inline lint), where their own document's text
    /// comes with the request.
    Projected,
}

/// Every live document of a branch, parsed: what links resolve against and the lint
/// runs over.
#[derive(Clone, Debug, Default)]
pub struct Corpus {
    pub docs: Vec<Doc>,
    /// Lowercased titles, to the first document with each.
    titles: HashMap<String, usize>,
    /// Where each key (uppercased) is defined, as (document, requirement) indexes in
    /// corpus order: built when first asked for, so that a lint of thousands of
    /// documents looks each key up once instead of in every document.
    definitions: OnceLock<HashMap<String, Vec<(usize, usize)>>>,
    /// The ID prefixes in use, worked out when first asked for.
    prefixes: OnceLock<HashSet<String>>,
    /// What the contracts say of each other, worked out when first asked for.
    contracts: OnceLock<contracts::Shared>,
    /// Names the exact texts a live corpus was read at (each document's log position,
    /// title, kind and place): equal fingerprints mean equal corpora, so what is worked
    /// out from one can be kept for the next request. `None` for other corpora.
    fingerprint: Option<Fingerprint>,
}

/// See [`Corpus::fingerprint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

impl Fingerprint {
    /// As Postgres stores it (`bigint`, the same bits).
    pub fn stored(self) -> i64 {
        self.0 as i64
    }
}

#[derive(sqlx::FromRow)]
struct Listed {
    id: DocumentId,
    title: String,
    kind: Kind,
    /// The Markdown projection, when that is the text wanted.
    projected: Option<String>,
    /// The last update-log position its stored state includes.
    seq: Option<i64>,
}

impl Corpus {
    pub fn new(docs: Vec<Doc>) -> Corpus {
        let mut titles = HashMap::new();
        for (index, doc) in docs.iter().enumerate() {
            titles.entry(doc.title.to_lowercase()).or_insert(index);
        }
        Corpus {
            docs,
            titles,
            definitions: OnceLock::new(),
            prefixes: OnceLock::new(),
            contracts: OnceLock::new(),
            fingerprint: None,
        }
    }

    /// The live documents of a branch, in tree order, with their text from `source`.
    /// Documents parsed before at the same log position (or from the same projected
    /// text) come from the parse cache; only the others are read and parsed.
    pub async fn load(conn: &mut PgConnection, branch_id: BranchId, source: Text) -> Result<Corpus> {
        let mut listed: Vec<Listed> = sqlx::query_as(
            "SELECT d.id, bd.title, d.kind, CASE WHEN $2 THEN bd.content END AS projected,
                 greatest(s.seq, (SELECT max(u.seq) FROM document_updates u
                                  WHERE u.branch_id = bd.branch_id AND u.document_id = bd.document_id)) AS seq
             FROM branch_documents bd JOIN documents d ON d.id = bd.document_id
             LEFT JOIN document_snapshots s ON s.branch_id = bd.branch_id AND s.document_id = bd.document_id
             WHERE bd.branch_id = $1 AND bd.deleted_at IS NULL ORDER BY bd.position, lower(bd.title), d.id",
        )
        .bind(branch_id)
        .bind(source == Text::Projected)
        .fetch_all(&mut *conn)
        .await?;
        let mut parsed: Vec<Option<Arc<Parsed>>> = Vec::with_capacity(listed.len());
        for doc in &mut listed {
            let key = DocKey::new(branch_id, doc.id);
            parsed.push(match doc.projected.take() {
                Some(text) => Some(match cache::with_text(key, &text) {
                    Some(parsed) => parsed,
                    None => cache::parse(key, doc.kind, None, text).await?,
                }),
                None => doc.seq.and_then(|seq| cache::at(key, seq)),
            });
        }
        // Live texts the cache lacks: read together, then parsed a few at a time.
        let missing: Vec<usize> = (0..listed.len()).filter(|&at| parsed[at].is_none()).collect();
        if !missing.is_empty() {
            let keys: Vec<DocKey> = missing.iter().map(|&at| DocKey::new(branch_id, listed[at].id)).collect();
            let texts = content::read_many(&mut *conn, &keys).await?;
            let parses: Vec<_> = missing
                .iter()
                .zip(keys)
                .zip(texts)
                .map(|((&at, key), (text, seq))| {
                    let kind = listed[at].kind;
                    async move { Ok::<_, Error>((seq, cache::parse(key, kind, Some(seq), text).await?)) }
                })
                .collect();
            let read: Vec<_> = futures_util::stream::iter(parses).buffered(PARSED_AT_ONCE).try_collect().await?;
            for (&at, (seq, fresh)) in missing.iter().zip(read) {
                listed[at].seq = Some(seq);
                parsed[at] = Some(fresh);
            }
        }
        let mut hasher = DefaultHasher::new();
        (branch_id, listed.len()).hash(&mut hasher);
        let mut docs = Vec::with_capacity(listed.len());
        for (Listed { id, title, kind, seq, .. }, parsed) in listed.into_iter().zip(parsed) {
            (id, &title, kind, seq).hash(&mut hasher);
            let parsed = parsed.ok_or_else(|| Error::internal("a document was not parsed"))?;
            docs.push(Doc { id, title, kind, parsed });
        }
        let mut corpus = Corpus::new(docs);
        if source == Text::Live {
            corpus.fingerprint = Some(Fingerprint(hasher.finish()));
        }
        Ok(corpus)
    }

    /// Names this corpus exactly, when it was read live and is unchanged since.
    pub fn fingerprint(&self) -> Option<Fingerprint> {
        self.fingerprint
    }

    /// The same corpus with one document's text replaced (an editor's unsaved text).
    pub async fn with_text(mut self, document_id: DocumentId, text: String) -> Result<Corpus> {
        if let Some(doc) = self.docs.iter_mut().find(|doc| doc.id == document_id) {
            doc.parsed = Parsed::spawn(doc.kind, text).await?;
        }
        Ok(Corpus::new(self.docs))
    }

    pub fn doc(&self, id: DocumentId) -> Option<&Doc> {
        self.docs.iter().find(|doc| doc.id == id)
    }

    pub fn constitution(&self) -> Option<&Doc> {
        self.docs.iter().find(|doc| doc.kind == Kind::Constitution)
    }

    /// The lint configuration the constitution sets (the defaults without one).
    pub fn config(&self) -> lint::Config {
        self.constitution()
            .map_or_else(lint::Config::default, |doc| lint::Config::from_settings(&doc.structure().settings))
    }

    /// Where `key` (uppercased) is defined, as (document, requirement) indexes.
    fn places(&self, key: &str) -> &[(usize, usize)] {
        let all = self.definitions.get_or_init(|| {
            let mut all: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
            for (at, doc) in self.docs.iter().enumerate() {
                for (key, indexes) in &doc.parsed.keys {
                    all.entry(key.clone()).or_default().extend(indexes.iter().map(|&index| (at, index)));
                }
            }
            all
        });
        all.get(&key.to_uppercase()).map_or(&[], Vec::as_slice)
    }

    /// Every place `key` is defined (requirements and principles), in corpus order.
    pub fn definitions<'a>(&'a self, key: &str) -> impl Iterator<Item = (&'a Doc, &'a Requirement)> + 'a {
        self.places(key).iter().map(|&(at, index)| {
            let doc = &self.docs[at];
            (doc, &doc.structure().requirements[index])
        })
    }

    /// How many places define `key`.
    pub fn definition_count(&self, key: &str) -> usize {
        self.places(key).len()
    }

    /// Whether `key` is defined anywhere.
    pub fn defines(&self, key: &str) -> bool {
        self.definitions(key).next().is_some()
    }

    /// The ID prefixes in use (`AUTH` for `AUTH-001`): an ID-shaped word with one of
    /// them is meant as a requirement, where `UTF-8` is not.
    pub fn prefixes(&self) -> &HashSet<String> {
        self.prefixes.get_or_init(|| {
            self.requirements()
                .filter_map(|(_, r)| r.key.rsplit_once('-').map(|(prefix, _)| prefix.to_owned()))
                .collect()
        })
    }

    /// What the contracts say of each other and the style their names follow.
    pub fn contracts(&self) -> &contracts::Shared {
        self.contracts.get_or_init(|| contracts::Shared::of(self))
    }

    /// Every requirement and principle with its document, first definitions only.
    pub fn requirements(&self) -> impl Iterator<Item = (&Doc, &Requirement)> {
        let mut seen = HashSet::new();
        self.docs
            .iter()
            .flat_map(|doc| doc.structure().requirements.iter().map(move |r| (doc, r)))
            .filter(move |(_, r)| seen.insert(r.key.to_uppercase()))
    }

    /// What `[[target]]` names: a requirement or principle by ID, else a document by
    /// title (case-insensitive), else a contract's operation (`POST /orders`, the
    /// method in any case) or schema (by its name as written).
    pub fn resolve(&self, target: &str) -> Option<Target<'_>> {
        let target = target.trim();
        if let Some((doc, requirement)) = self.definitions(target).next() {
            return Some(Target::Requirement(doc, requirement));
        }
        if let Some(&index) = self.titles.get(&target.to_lowercase()) {
            return Some(Target::Document(&self.docs[index]));
        }
        let mut contracts = self
            .docs
            .iter()
            .filter_map(|doc| Some((doc, doc.contract()?.readable()?)))
            .filter(|(doc, _)| doc.kind == Kind::Contract);
        match target.split_once(' ') {
            Some((method, path)) => {
                let method: HttpMethod = method.to_lowercase().parse().ok()?;
                let path = path.trim();
                contracts.find_map(|(doc, readable)| {
                    let operation = readable.operations.iter().find(|op| op.method == method && op.path == path)?;
                    Some(Target::Operation(doc, operation))
                })
            }
            None => contracts.find_map(|(doc, readable)| {
                readable.schema_names().into_iter().find(|name| *name == target).map(|name| Target::Schema(doc, name))
            }),
        }
    }

    /// Where each document is linked from or mentioned: `(from document, line)` for
    /// each key (uppercased) or document id.
    pub fn backlinks(&self) -> HashMap<String, Vec<(DocumentId, usize)>> {
        let mut found: HashMap<String, Vec<(DocumentId, usize)>> = HashMap::new();
        for doc in &self.docs {
            let structure = doc.structure();
            for link in &structure.links {
                let key = match self.resolve(&link.target) {
                    Some(Target::Requirement(_, r)) => r.key.to_uppercase(),
                    Some(Target::Document(target) | Target::Operation(target, _) | Target::Schema(target, _)) => {
                        target.id.to_string()
                    }
                    None => continue,
                };
                found.entry(key).or_default().push((doc.id, link.line));
            }
            // Plain mentions count too (a task naming AUTH-001); a definition or a link does not.
            let skipped: HashSet<usize> =
                structure.requirements.iter().map(|r| r.line).chain(structure.links.iter().map(|l| l.line)).collect();
            for mention in structure.mentions.iter().filter(|mention| !skipped.contains(&mention.line)) {
                if self.defines(&mention.key) {
                    found.entry(mention.key.to_uppercase()).or_default().push((doc.id, mention.line));
                }
            }
        }
        for places in found.values_mut() {
            places.dedup();
        }
        found
    }
}

/// `[[link]]` targets of a branch, for rendering: requirements and principles by ID,
/// documents by title (IDs win where the two would clash). Each target is described
/// when a link asks for it, so a large document costs nothing until it is linked.
pub struct Links {
    corpus: Corpus,
    slug: String,
    /// `?branch=…` off the main branch.
    query: String,
}

/// The words joined by single spaces; past `max` characters, the first `max - 1` and an
/// ellipsis. Reads no more of a long text than it shows.
fn shorten<'a>(words: impl Iterator<Item = &'a str>, max: usize) -> String {
    let mut short = String::new();
    let mut chars = 0;
    'words: for word in words {
        let space = (chars > 0).then_some(' ');
        for c in space.into_iter().chain(word.chars()) {
            if chars == max {
                let cut = short.char_indices().nth(max - 1).map_or(short.len(), |(at, _)| at);
                short.truncate(cut);
                short.truncate(short.trim_end().len());
                short.push('…');
                break 'words;
            }
            short.push(c);
            chars += 1;
        }
    }
    short
}

impl Links {
    pub fn new(corpus: Corpus, slug: &str, branch: &str) -> Links {
        let query = if branch == branches::MAIN { String::new() } else { format!("?branch={branch}") };
        Links { corpus, slug: slug.to_owned(), query }
    }

    /// The links of a branch, for a reader of the project (rendering runs as people type:
    /// the documents' projected text will do).
    pub async fn load(db: &sqlx::PgPool, project: &ProjectAccess, branch: &str) -> Result<Links> {
        let (_, corpus) = corpus(db, project, branch, Text::Projected).await?;
        let slug: String =
            sqlx::query_scalar("SELECT slug FROM projects WHERE id = $1").bind(project.project()).fetch_one(db).await?;
        Ok(Links::new(corpus, &slug, branch))
    }

    pub fn resolve(&self, target: &str) -> Option<LinkTarget> {
        let (slug, query) = (&self.slug, &self.query);
        Some(match self.corpus.resolve(target)? {
            Target::Requirement(doc, requirement) => LinkTarget {
                // Principles live in the constitution; requirements have pages of their own.
                href: if doc.kind == Kind::Constitution {
                    format!("/p/{slug}/doc/{}{query}", doc.id)
                } else {
                    format!("/p/{slug}/req/{}{query}", requirement.key)
                },
                title: format!("{}: {} ({})", requirement.key, requirement.title, doc.title),
                preview: shorten(requirement.text.split_whitespace(), 240),
            },
            Target::Document(doc) => {
                let body = doc.text().lines().filter(|line| !line.starts_with('#'));
                LinkTarget {
                    href: format!("/p/{slug}/doc/{}{query}", doc.id),
                    title: format!("{} ({})", doc.title, doc.kind),
                    preview: shorten(body.flat_map(str::split_whitespace), 240),
                }
            }
            Target::Operation(doc, operation) => {
                let name = operation_name(operation);
                let summary = operation.summary.as_deref().map(str::trim).filter(|summary| !summary.is_empty());
                let mut about = summary.unwrap_or("No summary yet").to_owned();
                if !operation.requirements.is_empty() {
                    about = format!("{about} (carries out {})", operation.requirements.join(", "));
                }
                LinkTarget {
                    href: format!("/p/{slug}/doc/{}{query}#{}", doc.id, reference::anchor("op", &name)),
                    title: format!("{name} ({})", doc.title),
                    preview: shorten(about.split_whitespace(), 240),
                }
            }
            Target::Schema(doc, name) => {
                let schema = doc.contract().and_then(Contract::readable).and_then(|readable| readable.schema(name));
                // Its description, else what it holds: a card is never empty.
                let about = schema.map_or_else(String::new, |schema| match schema.get("description") {
                    Some(Value::String(description)) if !description.trim().is_empty() => description.clone(),
                    _ => reference::outline(schema),
                });
                LinkTarget {
                    href: format!("/p/{slug}/doc/{}{query}#{}", doc.id, reference::anchor("schema", name)),
                    title: format!("{name} (a schema of {})", doc.title),
                    preview: shorten(about.split_whitespace(), 240),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn links_point_at_requirement_pages_documents_and_principles() {
        let corpus = Corpus::new(vec![
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(1)),
                "Constitution".into(),
                Kind::Constitution,
                "### P-01: Specs first\n\nRule.\n".into(),
            ),
            Doc::new(
                DocumentId::from_uuid(Uuid::from_u128(2)),
                "Login".into(),
                Kind::Spec,
                "# Login\n\n- **AUTH-001** The system SHALL lock accounts.\n".into(),
            ),
        ]);
        let on_main = Links::new(corpus.clone(), "pay", "main");
        let requirement = on_main.resolve("auth-001").unwrap();
        assert_eq!(requirement.href, "/p/pay/req/AUTH-001");
        assert_eq!(requirement.title, "AUTH-001: The system SHALL lock accounts. (Login)");
        assert_eq!(requirement.preview, "The system SHALL lock accounts.");
        let document = on_main.resolve(" login ").unwrap();
        assert_eq!(document.href, format!("/p/pay/doc/{}", DocumentId::from_uuid(Uuid::from_u128(2))));
        assert_eq!(document.preview, "- **AUTH-001** The system SHALL lock accounts.");
        let on_draft = Links::new(corpus, "pay", "draft");
        assert_eq!(
            on_draft.resolve("P-01").unwrap().href,
            format!("/p/pay/doc/{}?branch=draft", DocumentId::from_uuid(Uuid::from_u128(1)))
        );
        assert!(on_main.resolve("Nowhere").is_none());
    }

    #[test]
    fn contract_links_preview_what_their_operation_or_schema_is() {
        let shop = include_str!("../contract/fixtures/shop.yaml")
            .replace("      summary: Read an order\n", "      summary: ' '\n")
            .replace("    Line:\n", "    Line:\n      description: One line of an order.\n")
            .replace("    Error:\n", "    Error:\n      description: ''\n");
        let contract_id = DocumentId::from_uuid(Uuid::from_u128(3));
        let corpus = Corpus::new(vec![Doc::new(contract_id, "Shop".into(), Kind::Contract, shop)]);
        let links = Links::new(corpus, "pay", "main");

        let placing = links.resolve("POST /orders").unwrap();
        assert_eq!(placing.href, format!("/p/pay/doc/{contract_id}#user-content-op-post-orders"));
        assert_eq!(placing.preview, "Place an order (carries out PAY-001)");
        let reading = links.resolve("GET /orders/{orderId}").unwrap();
        assert_eq!(reading.preview, "No summary yet (carries out PAY-002)");

        // A schema's description, or else its shape, so that no card is empty.
        assert_eq!(links.resolve("Line").unwrap().preview, "One line of an order.");
        let order = links.resolve("Order").unwrap();
        assert_eq!(order.title, "Order (a schema of Shop)");
        assert_eq!(order.href, format!("/p/pay/doc/{contract_id}#user-content-schema-order"));
        assert_eq!(order.preview, "`object` with `orderId` (required), `status` (required), `totalCents`");
        assert_eq!(links.resolve("Error").unwrap().preview, "`object` with `code` (required), `message` (required)");
    }
}
