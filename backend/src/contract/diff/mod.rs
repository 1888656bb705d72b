//! What changed between two versions of a contract, each change classified by the
//! rule that decides whether it breaks the contract's callers: an operation or a
//! response field removed, a request field made required, a type narrowed, an enum
//! value removed, a success status changed … break them (a MAJOR version); additions
//! do not (MINOR); a changed description changes only the words (PATCH).
//!
//! Requests and responses are judged from the caller's side: a request may ask for
//! less, never more; a response may give more, never less.

mod conformance;
mod schemas;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use charter_types::{ApiChange, Bump, ContractReview, DocumentId};
use serde_json::Value;

pub use conformance::{conformance, conformance_of};

use super::version::{self, bumped};
use super::{operation_name, validate, Contract, Kind, Readable};

/// How a change touches the callers (`Docs`, `Additive`, `Breaking`), and the bump it
/// asks for.
pub use charter_types::ApiImpact as Impact;

/// The version bump a change of this impact asks for.
pub fn bump_for(impact: Impact) -> Bump {
    match impact {
        Impact::Docs => Bump::Patch,
        Impact::Additive => Bump::Minor,
        Impact::Breaking => Bump::Major,
    }
}

/// One change, with the rule that classified it and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub rule: &'static str,
    pub impact: Impact,
    /// Where, as people read it: `POST /orders › request body › items[] › quantity`.
    pub location: String,
    /// What changed, in a sentence.
    pub change: String,
}

/// Which way a schema is read: what callers send, or what they are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Request,
    Response,
    /// A JSON Schema on its own: data both written and read, so a change either way
    /// may break someone.
    Both,
}

/// The rules, each with the impact of what it finds.
pub const RULES: [(&str, Impact, &str); 30] = [
    ("operation-removed", Impact::Breaking, "An operation was removed."),
    ("operation-added", Impact::Additive, "An operation was added."),
    ("operation-deprecated", Impact::Additive, "An operation was marked deprecated."),
    ("operation-id-changed", Impact::Breaking, "An operation's operationId changed (generated clients name it so)."),
    ("parameter-added-required", Impact::Breaking, "A required parameter was added."),
    ("parameter-added-optional", Impact::Additive, "An optional parameter was added."),
    ("parameter-removed", Impact::Breaking, "A parameter was removed."),
    ("parameter-made-required", Impact::Breaking, "A parameter was made required."),
    ("parameter-made-optional", Impact::Additive, "A parameter was made optional."),
    ("request-body-added-required", Impact::Breaking, "A required request body was added."),
    ("request-body-made-required", Impact::Breaking, "The request body was made required."),
    ("request-body-removed", Impact::Breaking, "The request body was removed."),
    ("request-property-added-required", Impact::Breaking, "A required request field was added."),
    ("request-property-made-required", Impact::Breaking, "A request field was made required."),
    ("request-property-removed", Impact::Breaking, "A request field was removed."),
    ("property-added", Impact::Additive, "A field was added where callers may ignore it."),
    ("response-property-removed", Impact::Breaking, "A response field was removed."),
    ("response-property-made-optional", Impact::Breaking, "A response field is no longer always given."),
    ("type-changed", Impact::Breaking, "A value's type changed or narrowed."),
    ("type-widened", Impact::Additive, "A value accepts more types than before, where that is safe."),
    ("enum-value-removed", Impact::Breaking, "A value was removed from an enumeration callers send."),
    ("enum-value-added", Impact::Additive, "A value was added to an enumeration callers send."),
    ("response-enum-value-added", Impact::Breaking, "A response may now give a value callers do not know."),
    (
        "constraint-tightened",
        Impact::Breaking,
        "A limit narrowed what callers may send (length, range, pattern, format).",
    ),
    ("constraint-relaxed", Impact::Additive, "A limit was relaxed."),
    ("success-status-removed", Impact::Breaking, "A success (2xx) response was removed or its status changed."),
    ("response-added", Impact::Additive, "A response status was added."),
    ("error-response-removed", Impact::Additive, "An error response is no longer documented."),
    ("media-type-removed", Impact::Breaking, "A media type of a request or response was removed."),
    ("description-changed", Impact::Docs, "A summary, description or example changed."),
];

/// The changes found so far.
pub(super) struct Out {
    changes: Vec<Change>,
}

/// Changes told at most: past them, a reviewer has enough to read.
const MAX_CHANGES: usize = 1_000;

impl Out {
    fn push(&mut self, rule: &'static str, location: &str, change: String) {
        if self.changes.len() >= MAX_CHANGES {
            return;
        }
        // Every rule named here is in `RULES` (the tests pair each with a change).
        let impact = RULES.iter().find(|(id, _, _)| *id == rule).map_or(Impact::Breaking, |(_, impact, _)| *impact);
        self.changes.push(Change { rule, impact, location: location.to_owned(), change });
    }
}

/// The changes from `old` to `new` (two versions of one contract), in the order of the
/// new contract; an unreadable version has none to tell.
pub fn diff(old: &Readable, new: &Readable) -> Vec<Change> {
    let mut out = Out { changes: Vec::new() };
    match (&old.kind, &new.kind) {
        (Kind::JsonSchema, Kind::JsonSchema) => {
            let mut compare = schemas::Compare::new(&old.source.value, &new.source.value, Direction::Both, &mut out);
            compare.schema("schema", &old.source.value, &new.source.value, 0);
        }
        // An OpenAPI contract against itself, or against nothing (made or emptied in the
        // change: all its operations added or removed).
        _ => {
            operations(old, new, &mut out);
            if matches!((&old.kind, &new.kind), (Kind::OpenApi(_), Kind::OpenApi(_)))
                && info_text(&old.source.value) != info_text(&new.source.value)
            {
                out.push("description-changed", "info", "the contract's title or description changed".into());
            }
        }
    }
    out.changes
}

/// The bump the changes ask for (`None` when nothing changed).
pub fn bump(changes: &[Change]) -> Option<Bump> {
    changes.iter().map(|change| bump_for(change.impact)).max()
}

/// What a change from `old` to `new` does to a contract (either may be empty: made or
/// deleted in the change): its classified changes, and the bump they ask for from the
/// `info.version` of `target` (the text the change merges into, when it has one; else
/// `old`). `None` when either text cannot be read at all (the lint says why).
pub fn review(document_id: DocumentId, old: &str, new: &str, target: Option<&str>) -> Option<ContractReview> {
    let (before, after) = (Contract::read(old), Contract::read(new));
    let (before, after) = (before.readable()?, after.readable()?);
    let changes = diff(before, after);
    let bump = bump(&changes);
    let target = target.map(Contract::read);
    let current_version = target
        .as_ref()
        .and_then(Contract::readable)
        .and_then(Readable::version)
        .or(before.version())
        .map(str::to_owned);
    let proposed_version = current_version.as_deref().zip(bump).and_then(|(version, bump)| bumped(version, bump));
    // Only a version the change itself writes is the author's.
    let written_version = after.version().filter(|written| Some(*written) != before.version()).map(str::to_owned);
    // Merging writes the proposed version over one too small (or not semantic at all).
    let written_too_small =
        written_version.as_deref().zip(proposed_version.as_deref()).is_some_and(|(written, proposed)| {
            !matches!(version::compare(written, proposed), Some(Ordering::Greater | Ordering::Equal))
        });
    let changes = changes.into_iter().map(|change| api_change(document_id, change)).collect();
    Some(ContractReview {
        changes,
        bump,
        current_version,
        proposed_version,
        written_version,
        written_too_small,
        confirmed: None,
        next_version: None,
    })
}

/// A change as the API tells it, for the contract `document_id`.
fn api_change(document_id: DocumentId, change: Change) -> ApiChange {
    ApiChange {
        document_id,
        breaking: change.impact == Impact::Breaking,
        impact: change.impact,
        rule: change.rule.to_owned(),
        location: change.location,
        change: change.change,
    }
}

fn info_text(root: &Value) -> (Option<&Value>, Option<&Value>) {
    (root.pointer("/info/title"), root.pointer("/info/description"))
}

/// The operations of a contract by method and path, a path's shared parameters with
/// each.
fn by_name(readable: &Readable) -> Vec<(String, &Value, &Value)> {
    let root = &readable.source.value;
    readable
        .operations
        .iter()
        .filter_map(|operation| {
            let item = root.get("paths")?.get(&operation.path)?;
            let value = item.get(operation.method.as_str())?;
            Some((operation_name(operation), item, value))
        })
        .collect()
}

fn operations(old: &Readable, new: &Readable, out: &mut Out) {
    let (before, after) = (by_name(old), by_name(new));
    let kept: HashSet<&str> = after.iter().map(|(name, _, _)| name.as_str()).collect();
    for (name, _, _) in &before {
        if !kept.contains(name.as_str()) {
            out.push("operation-removed", name, format!("{name} was removed"));
        }
    }
    let before: HashMap<&str, (&Value, &Value)> =
        before.iter().map(|(name, item, value)| (name.as_str(), (*item, *value))).collect();
    // One comparison for all operations: a schema they share is compared once.
    let mut added = Vec::new();
    let mut compare = schemas::Compare::new(&old.source.value, &new.source.value, Direction::Request, out);
    for (name, item, value) in &after {
        match before.get(name.as_str()) {
            Some(&(old_item, old_value)) => compare.operation(name, (old_item, old_value), (item, value)),
            None => added.push(name),
        }
    }
    for name in added {
        out.push("operation-added", name, format!("{name} was added"));
    }
}

/// A value as written, or what its local `$ref` names.
fn followed<'v>(root: &'v Value, value: &'v Value) -> &'v Value {
    validate::followed(root, value, &|_| None).unwrap_or(value)
}

#[cfg(test)]
mod tests;
