//! Searching a branch by its words: the query's words (the last one as a prefix, since
//! people search as they type) against the index's full-text terms, an exact requirement
//! ID first, with a snippet of each hit marked where it matched.

use charter_types::{BranchId, DocumentId, HitKind, Kind, Matched, SearchHit, SnippetPart};
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
    /// How many hits at most (1 to 50; 20 when left out).
    pub limit: Option<usize>,
}

/// What a query asks of the index, checked and reduced to what the database is given.
pub struct Request {
    /// A `to_tsquery` expression: every word, the last one as a prefix.
    terms: String,
    /// The query itself, when it is a requirement ID.
    exact_key: Option<String>,
    kind: Option<Kind>,
    under: Option<DocumentId>,
    limit: usize,
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
            terms: terms(text),
            exact_key: is_id(text).then(|| text.to_uppercase()),
            kind: query.kind,
            under: query.under,
            limit,
        })
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

#[derive(sqlx::FromRow)]
struct Row {
    kind: HitKind,
    key: Option<String>,
    requirement_id: Option<Uuid>,
    document_id: DocumentId,
    document: String,
    document_kind: Kind,
    title: String,
    section: String,
    line: i32,
    snippet: String,
    score: f32,
}

/// The hits of `branch` for `request`, best first.
pub async fn by_text(db: &PgPool, branch: BranchId, request: &Request) -> Result<Vec<SearchHit>> {
    if request.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sqlx::query_as(
        "WITH RECURSIVE below AS (
             SELECT $5::uuid AS document_id WHERE $5::uuid IS NOT NULL
             UNION ALL
             SELECT bd.document_id FROM branch_documents bd JOIN below ON bd.parent_id = below.document_id
             WHERE bd.branch_id = $1),
         query AS (SELECT to_tsquery('english', $2) AS q),
         found AS (
             SELECT e.*, bd.title AS document, d.kind AS document_kind,
                    ts_rank_cd(e.terms, query.q) AS rank,
                    coalesce(upper(e.key) = $3, false) AS exact
             FROM search_entries e CROSS JOIN query
             JOIN branch_documents bd ON bd.branch_id = e.branch_id AND bd.document_id = e.document_id
             JOIN documents d ON d.id = e.document_id
             WHERE e.branch_id = $1 AND bd.deleted_at IS NULL
               AND (e.terms @@ query.q OR upper(e.key) = $3)
               AND ($4::text IS NULL OR d.kind = $4)
               AND ($5::uuid IS NULL OR e.document_id IN (SELECT document_id FROM below))
             ORDER BY exact DESC, rank DESC, e.document_id, e.ordinal
             LIMIT $6)
         SELECT f.kind, f.key, br.requirement_id, f.document_id, f.document, f.document_kind, f.title,
                f.section, f.line, f.rank + CASE WHEN f.exact THEN 1000::real ELSE 0::real END AS score,
                ts_headline('english',
                    translate(CASE WHEN f.body = '' THEN f.title ELSE f.body END, chr(57344) || chr(57345), ''),
                    query.q,
                    format('StartSel=%s, StopSel=%s, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"',
                           chr(57344), chr(57345))) AS snippet
         FROM found f CROSS JOIN query
         LEFT JOIN branch_requirements br ON br.branch_id = f.branch_id AND br.key = f.key
         ORDER BY f.exact DESC, f.rank DESC, f.document_id, f.ordinal",
    )
    .bind(branch)
    .bind(&request.terms)
    .bind(&request.exact_key)
    .bind(request.kind)
    .bind(request.under)
    .bind(request.limit as i64)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| SearchHit {
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
            score: row.score,
            matched: vec![Matched::Text],
        })
        .collect())
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
