//! Contracts among a branch's documents: each checked with what the rest of the project
//! says (which requirement keys exist, the other contracts its `$ref`s reach, the style
//! its property names should follow), and found by name for `$ref`s.

use std::collections::{HashMap, HashSet};

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

/// What the project's contracts say of each other and of their style, worked out once
/// per corpus (`Corpus::contracts`).
#[derive(Clone, Debug, Default)]
pub struct Shared {
    style: Option<Style>,
    /// What each contract's parts other contracts refer to (pointers and their
    /// ancestors).
    used: HashMap<DocumentId, HashSet<String>>,
    /// The requirement keys some operation carries out (`x-requirements`), upper case.
    carried: HashSet<String>,
}

impl Shared {
    pub fn of(corpus: &Corpus) -> Shared {
        let set = corpus.constitution().and_then(|constitution| {
            let settings = &constitution.structure().settings;
            settings.iter().find(|(name, _)| name == PROPERTY_NAMES).and_then(|(_, value)| Style::parse(value))
        });
        // Without a style set (or with one that names none), the one most names show.
        let style = set.or_else(|| naming::majority(contracts(corpus).map(|(_, readable)| readable)));
        let mut pointers: HashMap<DocumentId, Vec<&str>> = HashMap::new();
        for (doc, readable) in contracts(corpus) {
            for (_, reference) in validate::references(&readable.source.value) {
                if let Target::Other { name, pointer } = validate::target(reference) {
                    if let Some((target, _)) =
                        contracts(corpus).find(|(other, _)| other.id != doc.id && is_named(other, name))
                    {
                        pointers.entry(target.id).or_default().push(pointer);
                    }
                }
            }
        }
        let used = pointers.into_iter().map(|(id, pointers)| (id, rules::referred(pointers))).collect();
        let carried = contracts(corpus)
            .flat_map(|(_, readable)| &readable.operations)
            .flat_map(|operation| &operation.requirements)
            .map(|key| key.to_uppercase())
            .collect();
        Shared { style, used, carried }
    }

    /// Whether some operation of the project's contracts carries out `key`.
    pub fn carries(&self, key: &str) -> bool {
        self.carried.contains(&key.to_uppercase())
    }
}

/// How long the token at a column of a line is (a key, a value), in UTF-16 units, at
/// least 1.
fn token_length(line: &str, column: usize) -> usize {
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
        contracts(corpus).find(|(other, _)| is_named(other, name)).map(|(_, readable)| &readable.source.value)
    };
    let shared = corpus.contracts();
    let nothing = HashSet::new();
    let used_elsewhere = shared.used.get(&doc.id).unwrap_or(&nothing);
    let defines = |key: &str| corpus.defines(key);
    let context = Context { defines: &defines, other: &other, used_elsewhere, style: shared.style };
    let lines: Vec<&str> = doc.text().lines().collect();
    rules::check(contract, &context)
        .into_iter()
        .filter_map(|problem| {
            let (line, column) = (problem.place.line, problem.place.column);
            let length = lines.get(line.saturating_sub(1)).map_or(1, |text| token_length(text, column));
            config.finding(problem.rule, doc, (line, column, length), problem.message)
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
#[utoipa::path(get, path = "/documents/{id}/operations", tag = "contracts",
    extensions(("x-charter-access" = json!("viewer"))), params(("id" = Uuid, Path), BranchQuery),
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
        assert_eq!(token_length("  /orders/{id}:", 3), 12);
        assert_eq!(token_length("    get: {}", 5), 3);
        assert_eq!(token_length("  \"é x\": 1", 3), 5);
        assert_eq!(token_length("", 1), 1);
    }
}
