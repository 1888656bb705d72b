//! What a search answers: the hits of one branch, ranked, each saying where it is and
//! why it matched.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DocumentId, Kind};

text_enum! {
    /// What a search hit is.
    pub enum HitKind as "kind of search hit" {
        /// A requirement, with its key.
        Requirement = "requirement",
        /// A heading and the prose under it.
        Section = "section",
    }
}

text_enum! {
    /// Why a hit was found.
    pub enum Matched as "way of matching" {
        /// Its words match the query's.
        Text = "text",
        /// Its meaning is near the query's.
        Meaning = "meaning",
    }
}

text_enum! {
    /// Which rankings a search uses.
    pub enum SearchMode as "way of searching" {
        /// Words and meaning, fused (the default).
        Hybrid = "hybrid",
        /// Words only.
        Text = "text",
        /// Meaning only.
        Meaning = "meaning",
    }
}

/// A piece of a snippet; the pieces that match the query are `hit`. Sent as plain
/// pieces so that every client shows the text as text, never as markup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SnippetPart {
    pub text: String,
    pub hit: bool,
}

/// One search result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SearchHit {
    pub kind: HitKind,
    /// The requirement's ID, e.g. `AUTH-001`; none for a section.
    pub key: Option<String>,
    /// The requirement's stable identity, once its branch's requirements are indexed.
    pub requirement_id: Option<Uuid>,
    pub document_id: DocumentId,
    /// The document's title.
    pub document: String,
    pub document_kind: Kind,
    /// The requirement's title, or the section's heading.
    pub title: String,
    /// The headings above it, e.g. `Requirements › Functional`.
    pub section: String,
    /// Where it starts in its document (1-based).
    pub line: usize,
    pub snippet: Vec<SnippetPart>,
    /// Higher ranks first; comparable within one answer only.
    pub score: f32,
    pub matched: Vec<Matched>,
}

/// A search's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    /// Whether meaning (embedding) search took part in this answer.
    pub meaning_search: bool,
    /// Why not, when it did not, in words for the person searching.
    pub notice: Option<String>,
}

/// A requirement near another in meaning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RelatedRequirement {
    pub key: String,
    /// Its stable identity, once its branch's requirements are indexed.
    pub requirement_id: Option<Uuid>,
    pub document_id: DocumentId,
    /// The document's title.
    pub document: String,
    pub title: String,
    pub line: usize,
    /// Cosine similarity of the two requirements' embeddings, up to 1.
    pub similarity: f32,
    /// Whether it is in the same document; those in other documents come first.
    pub same_document: bool,
}

/// A requirement's neighbours by meaning.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RelatedRequirements {
    pub related: Vec<RelatedRequirement>,
    /// Why the list is empty or partial, when it may be, in words for the reader.
    pub notice: Option<String>,
}

/// One requirement of a possible duplicate pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DuplicateSide {
    pub key: String,
    pub requirement_id: Uuid,
    pub document_id: DocumentId,
    /// The document's title.
    pub document: String,
    pub title: String,
    /// The requirement's whole text.
    pub text: String,
    pub line: usize,
}

/// Why a pair was judged distinct, by whom and when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Dismissal {
    pub reason: String,
    /// Who dismissed it; none once their account is gone.
    pub by: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Two requirements that may say the same thing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DuplicatePair {
    pub a: DuplicateSide,
    pub b: DuplicateSide,
    /// Cosine similarity of their embeddings, up to 1.
    pub similarity: f32,
    /// Set when someone judged them distinct.
    pub dismissal: Option<Dismissal>,
}

/// A branch's possible duplicates, most alike first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DuplicateReport {
    /// Pairs nobody has dismissed yet.
    pub pairs: Vec<DuplicatePair>,
    /// Pairs judged distinct, with why.
    pub dismissed: Vec<DuplicatePair>,
    /// How alike two requirements must be to be listed.
    pub min_similarity: f32,
    /// Why the report is empty or partial, when it may be, in words for the reader.
    pub notice: Option<String>,
}

/// Judges two requirements distinct, so that the report leaves them out.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct DismissDuplicate {
    pub a: Uuid,
    pub b: Uuid,
    /// Why they are not duplicates (1 to 500 characters).
    pub reason: String,
}
