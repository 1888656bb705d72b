//! Contracts among a branch's documents: each checked with what the rest of the project
//! says (which requirement keys exist, the other contracts its `$ref`s reach, the style
//! its property names should follow), and found by name for `$ref`s.

use std::collections::HashSet;

use axum::extract::State;
use charter_types::{DocumentId, Finding, Kind, Operation};
use serde_json::Value;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::lint::Config;
use super::{corpus, Corpus, Doc, Text};
use crate::authorization::{need, Document, ProjectAccess};
use crate::branches::BranchQuery;
use crate::contract::rules::{self, naming, Context, Style};
use crate::contract::validate::{self, Target};
use crate::contract::Readable;
use crate::error::{Error, Result};
use crate::extract::{Json, Query};
use crate::markdown;
use crate::AppState;

/// The constitution's Checks setting that names the property naming style.
pub const PROPERTY_NAMES: &str = "property-names";

/// Whether a `$ref`'s document part names this document: its title, or its title as a
/// slug, with or without `.yaml`, `.yml` or `.json` (`./` before it ignored).
pub fn is_named(doc: &Doc, name: &str) -> bool {
    let name = name.strip_prefix("./").unwrap_or(name);
    let stem = [".yaml", ".yml", ".json"].iter().find_map(|ext| name.strip_suffix(ext)).unwrap_or(name);
    stem.eq_ignore_ascii_case(&doc.title) || stem.eq_ignore_ascii_case(&markdown::slug(&doc.title))
}

fn contracts(corpus: &Corpus) -> impl Iterator<Item = (&Doc, &Readable)> {
    corpus
        .docs
        .iter()
        .filter(|doc| doc.kind == Kind::Contract)
        .filter_map(|doc| Some((doc, doc.contract()?.readable()?)))
}

/// The style property names follow: the constitution's, else the one most of the
/// project's property names show.
pub fn style(corpus: &Corpus) -> Option<Style> {
    let set = corpus.constitution().and_then(|constitution| {
        constitution
            .structure()
            .settings
            .iter()
            .find(|(name, _)| name == PROPERTY_NAMES)
            .map(|(_, value)| value.clone())
    });
    match set {
        Some(value) => Style::parse(&value),
        None => naming::majority(contracts(corpus).map(|(_, readable)| readable)),
    }
}

/// How long the token at a place is (a key, a value), in UTF-16 units, at least 1.
fn token_length(text: &str, line: usize, column: usize) -> usize {
    let Some(line) = text.lines().nth(line.saturating_sub(1)) else { return 1 };
    let mut skipped = 0;
    let mut length = 0;
    let mut quote = None;
    // Brackets opened inside the token (`/orders/{id}`) close inside it too.
    let mut open = 0;
    for c in line.chars() {
        if skipped + 1 < column {
            skipped += c.len_utf16();
            continue;
        }
        match (quote, c) {
            // A quoted token runs to its closing quote.
            (None, '"' | '\'') if length == 0 => quote = Some(c),
            (Some(closing), _) if c == closing => return length + 1,
            (Some(_), _) => {}
            (None, '{' | '[') if length > 0 => open += 1,
            (None, '}' | ']') if open > 0 => open -= 1,
            (None, ':' | ',' | '}' | ']') => break,
            (None, _) if c.is_whitespace() && length > 0 => break,
            (None, _) => {}
        }
        length += c.len_utf16();
    }
    length.max(1)
}

/// A contract's findings: its structure, references, examples and the contract lint,
/// at the severities the constitution sets.
pub fn findings(corpus: &Corpus, config: &Config, doc: &Doc) -> Vec<Finding> {
    let Some(contract) = doc.contract() else { return Vec::new() };
    let other = |name: &str| -> Option<&Value> {
        contracts(corpus)
            .find(|(other, _)| other.id != doc.id && is_named(other, name))
            .map(|(_, readable)| &readable.source.value)
    };
    // What the other contracts use of this one, so a component kept for them is used.
    let used_elsewhere: HashSet<String> = contracts(corpus)
        .filter(|(other, _)| other.id != doc.id)
        .flat_map(|(_, readable)| validate::references(&readable.source.value))
        .filter_map(|(_, reference)| match validate::target(reference) {
            Target::Other { name, pointer } if is_named(doc, name) => Some(pointer.to_owned()),
            _ => None,
        })
        .collect();
    let defines = |key: &str| corpus.defines(key);
    let context = Context { defines: &defines, other: &other, used_elsewhere: &used_elsewhere, style: style(corpus) };
    rules::check(contract, &context)
        .into_iter()
        .filter_map(|problem| {
            let (line, column) = (problem.place.line, problem.place.column);
            let place = (line, column, token_length(doc.text(), line, column));
            config.finding(problem.rule, doc, place, problem.message)
        })
        .collect()
}

/// A contract's operations on a branch, each with the requirements it carries out.
pub async fn operations(
    db: &sqlx::PgPool,
    project: &ProjectAccess,
    document_id: DocumentId,
    branch: &str,
) -> Result<Vec<Operation>> {
    let (_, corpus) = corpus(db, project, branch, Text::Live).await?;
    let Some(doc) = corpus.doc(document_id) else {
        return Err(Error::Conflict("this document is deleted on this branch; restore it to read it".into()));
    };
    match doc.contract() {
        Some(contract) => Ok(contract.operations().to_vec()),
        None => Err(Error::Invalid(format!("operations belong to contracts; this document is a {}", doc.kind))),
    }
}

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(operations_handler))
}

/// A contract's operations (`[{method, path, operation_id, requirements}]`), in the
/// order written; an OpenAPI contract that cannot be read has none.
#[utoipa::path(get, path = "/documents/{id}/operations", tag = "contracts", params(("id" = Uuid, Path), BranchQuery),
    responses((status = 200, body = Vec<Operation>), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
async fn operations_handler(
    State(state): State<AppState>,
    document: Document<need::Read>,
    Query(branch): Query<BranchQuery>,
) -> Result<Json<Vec<Operation>>> {
    Ok(Json(operations(&state.db, &document, document.id(), branch.name()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_runs_to_its_end() {
        let text = "paths:\n  /orders/{id}:\n    get: {}\n  \"é x\": 1\n";
        assert_eq!(token_length(text, 2, 3), 12);
        assert_eq!(token_length(text, 3, 5), 3);
        assert_eq!(token_length(text, 4, 3), 5);
        assert_eq!(token_length(text, 9, 1), 1);
    }
}
