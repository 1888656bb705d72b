//! A change proposed from outside the editor (by an agent, say): edits to documents, or
//! requirements added, replaced or removed by their keys, written on a branch of their
//! own and opened as a change request into the branch they were made against. Nothing
//! is ever written to the target itself, so a protected `main` stays reviewed.
//!
//! The edits are worked out twice: first against the target, so that a proposal that
//! cannot apply (a key that is not there, a block that is not one requirement) or that
//! changes nothing is refused before anything is made; then against the new branch, as
//! it was forked, which is what gets written.

use std::collections::BTreeMap;
use std::sync::Arc;

use charter_types::{DocumentId, Kind};

use crate::authorization::ProjectAccess;
use crate::branches::{self, Branch};
use crate::change_requests::{self, NewChangeRequest};
use crate::collab::DocKey;
use crate::error::{Error, Result};
use crate::structure::parse::parse;
use crate::structure::splice::{self, Form};
use crate::structure::{self, Corpus, Text};
use crate::{budget, content, markdown, AppState};

/// How many edits one proposal may carry.
pub const MAX_EDITS: usize = 100;

pub struct Proposal {
    /// The branch the change request merges into.
    pub target: String,
    pub title: String,
    pub description: Option<String>,
    pub edits: Vec<Edit>,
}

pub enum Edit {
    /// A document's whole new Markdown.
    Text { document: DocumentId, content: String },
    /// A requirement, named by its key (`PAY-001`).
    Requirement { key: String, change: RequirementChange },
}

pub enum RequirementChange {
    /// A new requirement at the end of a spec's requirements; `block` is its Markdown.
    Add {
        document: DocumentId,
        block: String,
    },
    /// The requirement's whole block (text and scenarios) replaced by `block`.
    Replace {
        block: String,
    },
    Remove,
}

/// The change request a proposal opened, and the branch it proposes.
pub struct Proposed {
    pub number: i32,
    pub branch: String,
    /// The documents it changes.
    pub documents: Vec<DocumentId>,
}

/// Opens the change request `proposal` describes; see the module's description. Runs to
/// its end even if the caller goes away, so that what it made is either whole or removed.
pub async fn propose(state: &AppState, project: &ProjectAccess, proposal: Proposal) -> Result<Proposed> {
    let (state, project) = (state.clone(), project.clone());
    tokio::spawn(async move { make(&state, &project, proposal).await })
        .await
        .map_err(|_| Error::internal("making a proposal stopped"))?
}

async fn make(state: &AppState, project: &ProjectAccess, proposal: Proposal) -> Result<Proposed> {
    let db = &state.db;
    let Proposal { target, title, description, edits } = proposal;
    if edits.is_empty() || edits.len() > MAX_EDITS {
        return Err(Error::Invalid(format!("a proposal carries 1 to {MAX_EDITS} edits")));
    }
    for edit in &edits {
        match edit {
            Edit::Text { content, .. } => content::validate(content)?,
            Edit::Requirement {
                change: RequirementChange::Add { block, .. } | RequirementChange::Replace { block },
                ..
            } => content::validate(block)?,
            Edit::Requirement { change: RequirementChange::Remove, .. } => {}
        }
    }
    let title = change_requests::valid_title(&title)?.to_owned();
    let edits = Arc::new(edits);
    let (_, corpus) = structure::corpus(db, project, &target, Text::Live).await?;
    if planned(corpus, &edits).await?.is_empty() {
        return Err(Error::Invalid(format!("these edits change nothing on `{target}`")));
    }
    // Branch names are ASCII.
    let name = markdown::slugify(&title, |c| c.is_ascii_alphanumeric(), 40).unwrap_or_else(|| "change".into());
    let branch = branches::create_numbered(db, project, &format!("proposals/{name}"), &target).await?;
    let made = write(state, project, &branch, &target, title, description, &edits).await;
    if made.is_err() {
        // What fails here is logged; the caller hears why the proposal failed.
        if let Err(cleanup) = branches::delete(db, project, &branch.name).await {
            cleanup.log();
        }
    }
    made
}

async fn write(
    state: &AppState,
    project: &ProjectAccess,
    branch: &Branch,
    target: &str,
    title: String,
    description: Option<String>,
    edits: &Arc<Vec<Edit>>,
) -> Result<Proposed> {
    let (_, corpus) = structure::corpus(&state.db, project, &branch.name, Text::Live).await?;
    let texts = planned(corpus, edits).await?;
    for (document, text) in &texts {
        content::replace(&state.collab, DocKey::new(branch.id, *document), text, project.actor().user_id).await?;
    }
    let proposal = NewChangeRequest { source: branch.name.clone(), target: target.to_owned(), title, description };
    let created = change_requests::create(&state.db, project, proposal).await?;
    Ok(Proposed { number: created.number, branch: branch.name.clone(), documents: texts.into_keys().collect() })
}

/// [`plan`], on the blocking pool within the time budget of work on people's text.
async fn planned(corpus: Corpus, edits: &Arc<Vec<Edit>>) -> Result<BTreeMap<DocumentId, String>> {
    let edits = Arc::clone(edits);
    budget::run(move |_| plan(&corpus, &edits)).await
}

/// The new text of every document `edits` change, applied in order to `corpus`.
fn plan(corpus: &Corpus, edits: &[Edit]) -> Result<BTreeMap<DocumentId, String>> {
    let mut texts: BTreeMap<DocumentId, String> = BTreeMap::new();
    let current = |texts: &BTreeMap<DocumentId, String>, document: DocumentId| -> Result<String> {
        match texts.get(&document) {
            Some(text) => Ok(text.clone()),
            None => corpus
                .doc(document)
                .map(|doc| doc.text().replace("\r\n", "\n"))
                .ok_or_else(|| Error::Invalid(format!("document {document} is not on this branch"))),
        }
    };
    for edit in edits {
        let (document, text) = match edit {
            Edit::Text { document, content } => {
                current(&texts, *document)?;
                (*document, content.replace("\r\n", "\n"))
            }
            Edit::Requirement { key, change: RequirementChange::Add { document, block } } => {
                let text = current(&texts, *document)?;
                if corpus.doc(*document).is_some_and(|doc| doc.kind != Kind::Spec) {
                    return Err(Error::Invalid("new requirements go into a spec".into()));
                }
                if !definitions(corpus, &texts, key).is_empty() {
                    return Err(Error::Invalid(format!("{key} already exists: replace it, or choose another key")));
                }
                let structure = parse(&text);
                let last = structure.requirements.last();
                let block = single_requirement(block, key, last.map(|like| Form::of(&text, Some(like))))?;
                (*document, splice::insert_new(&text, last, &block))
            }
            Edit::Requirement { key, change } => {
                let document = match definitions(corpus, &texts, key).as_slice() {
                    [document] => *document,
                    [] => return Err(Error::Invalid(format!("{key} is not on this branch"))),
                    several => {
                        let count = several.len();
                        return Err(Error::Invalid(format!("{key} is defined in {count} documents: fix that first")));
                    }
                };
                let text = current(&texts, document)?;
                let structure = parse(&text);
                let mut found = structure.requirements.iter().filter(|r| r.key.eq_ignore_ascii_case(key));
                let (Some(requirement), None) = (found.next(), found.next()) else {
                    return Err(Error::Invalid(format!(
                        "{key} is defined more than once in its document: fix that first"
                    )));
                };
                let changed = match change {
                    RequirementChange::Replace { block } => {
                        let block = single_requirement(block, key, Some(Form::of(&text, Some(requirement))))?;
                        splice::replace(&text, requirement, &block)
                    }
                    RequirementChange::Remove => splice::remove(&text, requirement),
                    RequirementChange::Add { .. } => unreachable!("matched above"),
                };
                (document, changed)
            }
        };
        texts.insert(document, text);
    }
    // Documents written with CRLF stay so; those the edits leave as they were are left out.
    texts.retain(|document, text| {
        let before = corpus.doc(*document).map_or("", |doc| doc.text());
        if before.contains("\r\n") {
            *text = text.replace('\n', "\r\n");
        }
        *text != before
    });
    Ok(texts)
}

/// The documents of the branch that define `key`, as edited so far.
fn definitions(corpus: &Corpus, edited: &BTreeMap<DocumentId, String>, key: &str) -> Vec<DocumentId> {
    let mut found: Vec<DocumentId> =
        corpus.definitions(key).map(|(doc, _)| doc.id).filter(|document| !edited.contains_key(document)).collect();
    found.extend(
        edited
            .iter()
            .filter(|(_, text)| parse(text).requirements.iter().any(|r| r.key.eq_ignore_ascii_case(key)))
            .map(|(document, _)| *document),
    );
    found.sort();
    found.dedup();
    found
}

/// `block` if it is exactly requirement `key`, written in the form `like` (the form of
/// the requirement it replaces or follows, which keeps the blocks around it whole),
/// trimmed.
fn single_requirement(block: &str, key: &str, like: Option<Form>) -> Result<String> {
    let block = block.replace("\r\n", "\n");
    let block = block.trim_matches('\n');
    let structure = parse(block);
    let [requirement] = structure.requirements.as_slice() else {
        return Err(Error::Invalid(format!(
            "the block must be exactly one requirement {key}, as `- **{key}** The system SHALL …` with its scenarios \
             below, or `### {key}: Title` with its text"
        )));
    };
    if requirement.line != 1 || requirement.end_line < block.lines().count() {
        return Err(Error::Invalid(format!("the block must be requirement {key} alone, with nothing around it")));
    }
    if !requirement.key.eq_ignore_ascii_case(key) {
        return Err(Error::Invalid(format!("the block defines {}, not {key}", requirement.key)));
    }
    match (like, Form::of(block, Some(requirement))) {
        (Some(Form::Heading(level)), written) if written != Form::Heading(level) => Err(Error::Invalid(format!(
            "this spec writes requirements as level-{level} headings: `{} {key}: Title`",
            "#".repeat(level)
        ))),
        (Some(Form::List), Form::Heading(_)) => Err(Error::Invalid(format!(
            "this spec writes requirements as list items: `- **{key}** The system SHALL …`"
        ))),
        _ => Ok(block.to_owned()),
    }
}

#[cfg(test)]
mod tests;
