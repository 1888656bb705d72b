//! Ranking a branch's entries for a query, one way at a time: by its words (the last
//! one as a prefix, since people search as they type) against the full-text terms, or
//! by its embedding against the entries' (nearest first, through the HNSW index). An
//! exact requirement ID comes first either way; each hit of a search has a snippet marked
//! where the query's words matched (matching, which nobody reads, goes without).

use charter_types::{BranchId, DocumentId, HitKind, Kind, SearchHit, SearchMode, SnippetPart};
use pgvector::Vector;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::structure::parse::is_id;

/// The longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Words of a query that count; the rest are left out.
const MAX_WORDS: usize = 16;
/// Hits in one answer at most, and by default.
pub const MAX_LIMIT: usize = 50;
const DEFAULT_LIMIT: usize = 20;
/// Marks where a snippet's matches start and end (private-use characters, taken out of
/// the text first, so that text can never fake a mark).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct SearchQuery {
    /// What to look for.
    pub q: String,
    /// `main` when left out.
    pub branch: Option<String>,
    /// Only documents of this kind.
    pub kind: Option<Kind>,
    /// Only this document and the documents under it.
    pub under: Option<DocumentId>,
    /// Words, meaning, or both fused (when left out).
    pub mode: Option<SearchMode>,
    /// How many hits at most (1 to 50; 20 when left out).
    pub limit: Option<usize>,
}

/// What a query asks of the index, checked and reduced to what the database is given.
pub struct Request {
    /// The query as typed, trimmed: what its embedding is made of.
    pub text: String,
    /// A `to_tsquery` expression: every word, the last one as a prefix.
    terms: String,
    /// The query itself, when it is a requirement ID.
    exact_key: Option<String>,
    kind: Option<Kind>,
    under: Option<DocumentId>,
    pub mode: SearchMode,
    pub limit: usize,
    /// Whether hits come with snippets (`ts_headline` over each hit): people read them,
    /// matching does not.
    snippets: bool,
}

impl Request {
    pub fn new(query: &SearchQuery) -> Result<Request> {
        let text = query.q.trim();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(Error::Invalid(format!("a search is at most {MAX_QUERY_CHARS} characters")));
        }
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Error::Invalid(format!("`limit` must be between 1 and {MAX_LIMIT}")));
        }
        Ok(Request {
            text: text.to_owned(),
            terms: terms(text),
            exact_key: is_id(text).then(|| text.to_uppercase()),
            kind: query.kind,
            under: query.under,
            mode: query.mode.unwrap_or(SearchMode::Hybrid),
            limit,
            snippets: true,
        })
    }

    /// A request for the requirements a longer text (an incident's) is about: any of its
    /// words may match, on `main`, nothing filtered, no snippets.
    pub fn any_words(text: &str, limit: usize) -> Request {
        let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
        Request {
            terms: any_terms(&text),
            text,
            exact_key: None,
            kind: None,
            under: None,
            mode: SearchMode::Hybrid,
            limit,
            snippets: false,
        }
    }

    /// True when there is nothing to look for.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.exact_key.is_none()
    }
}

/// The words of `text` as a `to_tsquery` expression that every word must match, the
/// last one as a prefix. Only letters and digits reach it, so it always parses.
fn terms(text: &str) -> String {
    let words: Vec<&str> =
        text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty()).take(MAX_WORDS).collect();
    let mut out: Vec<String> = words.iter().map(|word| word.chars().take(64).collect()).collect();
    if let Some(last) = out.last_mut() {
        last.push_str(":*");
    }
    out.join(" & ")
}

/// The words of `text` as a `to_tsquery` expression that any word may match (the
/// stemmer drops the stop words); the more words an entry has, the higher it ranks.
fn any_terms(text: &str) -> String {
    let words = text.split(|c: char| !c.is_alphanumeric()).filter(|word| word.chars().count() > 2).take(MAX_WORDS * 2);
    words.map(|word| word.chars().take(64).collect::<String>()).collect::<Vec<_>>().join(" | ")
}

/// How candidates are ranked.
pub enum Ranking<'a> {
    /// By how well their words match the query's.
    Text,
    /// By how near their embedding is to the query's (made by a model of this many dimensions).
    Meaning { query: &'a Vector, dimensions: usize },
}

/// A hit as one ranking found it, with its place in that ranking's list.
pub struct Ranked {
    pub hit: SearchHit,
    /// Which entry it is: the same entry found by both rankings is one hit.
    pub entry: (DocumentId, i32),
    /// Whether the query is this requirement's key.
    pub exact: bool,
    /// The ranking's own measure: text rank, or cosine similarity.
    pub rank: f32,
}

#[derive(sqlx::FromRow)]
struct Row {
    kind: HitKind,
    key: Option<String>,
    requirement_id: Option<Uuid>,
    document_id: DocumentId,
    ordinal: i32,
    document: String,
    document_kind: Kind,
    title: String,
    section: String,
    line: i32,
    snippet: String,
    rank: f32,
    exact: bool,
}

/// What the answer needs of a candidate (not its vector or its terms, which are large).
const COLUMNS: &str = "e.branch_id, e.kind, e.key, e.document_id, e.ordinal, e.title, e.body, e.section, e.line,
                       bd.title AS document, d.kind AS document_kind";

/// The entries of `branch` that `request` may show (its filters, live documents).
const CANDIDATES: &str = "
    FROM search_entries e CROSS JOIN query
    JOIN branch_documents bd ON bd.branch_id = e.branch_id AND bd.document_id = e.document_id
    JOIN documents d ON d.id = e.document_id
    WHERE e.branch_id = $1 AND bd.deleted_at IS NULL
      AND ($4::text IS NULL OR d.kind = $4)
      AND ($5::uuid IS NULL OR e.document_id IN (SELECT document_id FROM below))";

/// The candidates of `branch` for `request` as `ranking` orders them, best first, at
/// most `request.limit` of them.
pub async fn ranked(db: &PgPool, branch: BranchId, request: &Request, ranking: Ranking<'_>) -> Result<Vec<Ranked>> {
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let found = match ranking {
        // `ts_rank`, not `ts_rank_cd`: over hundreds of matches the cover density took
        // 40% of the query's time, and requirements are too short for proximity to tell.
        Ranking::Text => format!(
            "SELECT {COLUMNS}, ts_rank(e.terms, query.q) AS rank,
                    coalesce(upper(e.key) = $3, false) AS exact
             {CANDIDATES} AND (e.terms @@ query.q OR upper(e.key) = $3)
             ORDER BY exact DESC, rank DESC, e.document_id, e.ordinal LIMIT $6"
        ),
        // Ordered by distance alone so that the HNSW index serves it; the dimension is
        // the model's, a number, never text from a request.
        Ranking::Meaning { dimensions, .. } => format!(
            "SELECT {COLUMNS},
                    (1 - (e.embedding::vector({dimensions}) <=> $8::vector({dimensions})))::real AS rank,
                    coalesce(upper(e.key) = $3, false) AS exact
             {CANDIDATES} AND vector_dims(e.embedding) = {dimensions}
             ORDER BY e.embedding::vector({dimensions}) <=> $8::vector({dimensions}) LIMIT $6"
        ),
    };
    let sql = format!(
        "WITH RECURSIVE below AS (
             SELECT $5::uuid AS document_id WHERE $5::uuid IS NOT NULL
             UNION ALL
             SELECT bd.document_id FROM branch_documents bd JOIN below ON bd.parent_id = below.document_id
             WHERE bd.branch_id = $1),
         query AS (SELECT to_tsquery('english', $2) AS q),
         found AS ({found})
         SELECT f.kind, f.key, br.requirement_id, f.document_id, f.ordinal, f.document, f.document_kind, f.title,
                f.section, f.line, f.rank, f.exact,
                CASE WHEN $7 THEN ts_headline('english',
                    translate(CASE WHEN f.body = '' THEN f.title ELSE f.body END, chr(57344) || chr(57345), ''),
                    query.q,
                    format('StartSel=%s, StopSel=%s, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"',
                           chr(57344), chr(57345))) ELSE '' END AS snippet
         FROM found f CROSS JOIN query
         LEFT JOIN branch_requirements br ON br.branch_id = f.branch_id AND br.key = f.key
         ORDER BY f.exact DESC, f.rank DESC, f.document_id, f.ordinal"
    );
    let mut tx = db.begin().await?;
    let query = sqlx::query_as::<_, Row>(&sql)
        .bind(branch)
        .bind(&request.terms)
        .bind(&request.exact_key)
        .bind(request.kind)
        .bind(request.under)
        .bind(request.limit as i64)
        .bind(request.snippets);
    let query = match ranking {
        Ranking::Text => query,
        Ranking::Meaning { query: vector, .. } => {
            // Filtered rows must not starve the answer: the index scan goes on until
            // enough rows pass the filters.
            sqlx::query("SET LOCAL hnsw.iterative_scan = relaxed_order").execute(&mut *tx).await?;
            // 400: at 100,000 entries 99.6% of the true ten nearest come back, where 200
            // gave 95-98% depending on the sample, for half a millisecond more
            // (docs/benchmarks.md).
            sqlx::query("SET LOCAL hnsw.ef_search = 400").execute(&mut *tx).await?;
            query.bind(vector)
        }
    };
    let rows = query.fetch_all(&mut *tx).await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(Ranked::from).collect())
}

impl From<Row> for Ranked {
    fn from(row: Row) -> Ranked {
        Ranked {
            entry: (row.document_id, row.ordinal),
            exact: row.exact,
            rank: row.rank,
            hit: SearchHit {
                kind: row.kind,
                key: row.key,
                requirement_id: row.requirement_id,
                document_id: row.document_id,
                document: row.document,
                document_kind: row.document_kind,
                title: row.title,
                section: row.section,
                line: usize::try_from(row.line).unwrap_or(0),
                snippet: snippet(&row.snippet),
                score: row.rank,
                // Said by the fusion of the rankings, which knows which found it.
                matched: Vec::new(),
            },
        }
    }
}

/// A headline with its marks turned into pieces.
fn snippet(marked: &str) -> Vec<SnippetPart> {
    let mut parts: Vec<SnippetPart> = Vec::new();
    let mut hit = false;
    for (index, piece) in marked.split([START, STOP]).enumerate() {
        if index > 0 {
            hit = !hit;
        }
        if piece.is_empty() {
            continue;
        }
        match parts.last_mut() {
            Some(last) if last.hit == hit => last.text.push_str(piece),
            _ => parts.push(SnippetPart { text: piece.to_owned(), hit }),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_counts_and_the_last_is_a_prefix() {
        assert_eq!(terms("charged twice"), "charged & twice:*");
        assert_eq!(terms("  a'b & c:* | !d  "), "a & b & c & d:*");
        assert_eq!(terms("Zahlung für Kunden"), "Zahlung & für & Kunden:*");
        assert_eq!(terms("&|!():*"), "");
        assert_eq!(terms(&"word ".repeat(100)).matches("word").count(), MAX_WORDS);
    }

    #[test]
    fn a_snippet_is_split_at_its_marks() {
        let parts = snippet("the card is \u{E000}charged\u{E001} once per \u{E000}order\u{E001}");
        let pieces: Vec<(&str, bool)> = parts.iter().map(|part| (part.text.as_str(), part.hit)).collect();
        assert_eq!(pieces, [("the card is ", false), ("charged", true), (" once per ", false), ("order", true)]);
        assert_eq!(snippet("plain <b>text</b>"), [SnippetPart { text: "plain <b>text</b>".into(), hit: false }]);
    }

    #[test]
    fn a_request_is_checked_before_it_reaches_the_database() {
        let query = |q: &str, limit| SearchQuery { q: q.into(), limit, ..SearchQuery::default() };
        assert!(Request::new(&query(&"x".repeat(MAX_QUERY_CHARS + 1), None)).is_err());
        assert!(Request::new(&query("ok", Some(0))).is_err());
        assert!(Request::new(&query("ok", Some(MAX_LIMIT + 1))).is_err());
        assert!(Request::new(&query("  ", None)).unwrap().is_empty());
        let exact = Request::new(&query(" pay-001 ", None)).unwrap();
        assert_eq!(exact.exact_key.as_deref(), Some("PAY-001"));
        assert_eq!(exact.terms, "pay & 001:*");
    }
}
