//! An archive brought into a project: read (`archive`), its documents found in their
//! layout (`layouts`), requirement keys given where the layout has none, and matched to
//! the target's documents by place (the constitution to the constitution), so each is
//! created, updated or left alone. `preview` says what that would be; `import` makes
//! it on a new branch `import/<layout>` and opens a change request into the target, in
//! a task of its own that removes the branch if any step fails.

use std::collections::{HashMap, HashSet};

use charter_types::{DocumentId, ImportAction, ImportPlan, Imported, ImportedDocument, Kind, Layout, TreeEntry};

use super::archive;
use super::layouts::{self, Doc};
use crate::authorization::ProjectAccess;
use crate::change_requests::{self, NewChangeRequest};
use crate::collab::DocKey;
use crate::documents::paths::Paths;
use crate::documents::{self, NewDocument, TreeQuery};
use crate::error::{Error, Result};
use crate::structure::parse::parse;
use crate::structure::{self, Text};
use crate::{branches, content, AppState};

/// How many documents one import may bring.
pub const MAX_DOCUMENTS: usize = 1_000;

/// What importing `bytes` (a `.tar.gz` in `layout`) into `target` would do.
pub async fn preview(
    state: &AppState,
    project: &ProjectAccess,
    layout: Layout,
    bytes: Vec<u8>,
    target: &str,
) -> Result<ImportPlan> {
    Ok(plan(state, project, layout, bytes, target).await?.0)
}

/// Imports `bytes` onto a new branch from `target` and opens a change request into it.
pub async fn import(
    state: &AppState,
    project: &ProjectAccess,
    layout: Layout,
    bytes: Vec<u8>,
    target: &str,
    title: Option<String>,
) -> Result<Imported> {
    let (plan, steps) = plan(state, project, layout, bytes, target).await?;
    if steps.iter().all(|step| matches!(step.action, Action::Leave(_))) {
        return Err(Error::Invalid(format!("this archive changes nothing on `{target}`")));
    }
    let title = title.unwrap_or_else(|| format!("Import from {}", layout.label()));
    let title = change_requests::valid_title(&title)?.to_owned();
    let (state, project, target) = (state.clone(), project.clone(), target.to_owned());
    tokio::spawn(async move {
        let branch =
            branches::create_numbered(&state.db, &project, &format!("import/{}", layout.as_str()), &target).await?;
        let made = write(&state, &project, &branch.name, branch.id, &steps).await;
        let made = match made {
            Ok(()) => {
                let description = describe(&plan);
                let proposal =
                    NewChangeRequest { source: branch.name.clone(), target, title, description: Some(description) };
                change_requests::create(&state.db, &project, proposal).await
            }
            Err(error) => Err(error),
        };
        match made {
            Ok(created) => Ok(Imported { branch: branch.name, number: created.number, plan }),
            Err(error) => {
                // What fails here is logged; the caller hears why the import failed.
                if let Err(cleanup) = branches::delete(&state.db, &project, &branch.name).await {
                    cleanup.log();
                }
                Err(error)
            }
        }
    })
    .await
    .map_err(|_| Error::internal("an import stopped"))?
}

/// What to do with one document of the archive.
struct Step {
    doc: Doc,
    action: Action,
}

enum Action {
    Create,
    Update(DocumentId),
    Leave(DocumentId),
}

async fn plan(
    state: &AppState,
    project: &ProjectAccess,
    layout: Layout,
    bytes: Vec<u8>,
    target: &str,
) -> Result<(ImportPlan, Vec<Step>)> {
    let db = &state.db;
    let tree = documents::tree(db, project, TreeQuery { deleted: false, branch: Some(target.to_owned()) }).await?;
    let (_, corpus) = structure::corpus(db, project, target, Text::Live).await?;
    let mut taken: HashSet<String> = corpus.requirements().map(|(_, r)| r.key.to_uppercase()).collect();
    let texts: HashMap<DocumentId, String> =
        tree.iter().filter_map(|entry| Some((entry.id, corpus.doc(entry.id)?.text().to_owned()))).collect();
    tokio::task::spawn_blocking(move || {
        let (files, mut skipped) = archive::read_tar_gz(&bytes, layouts::is_read)?;
        let (mut docs, more) = layouts::read(layout, files);
        skipped.extend(more);
        check(layout, &docs)?;
        for doc in &docs {
            taken.extend(parse(&doc.content).requirements.into_iter().map(|r| r.key.to_uppercase()));
        }
        let assigned = layouts::assign_keys(&mut docs, &mut taken);
        let steps = matched(docs, &tree, &texts);
        let paths = bundle_paths(&steps);
        let documents = steps
            .iter()
            .zip(assigned)
            .zip(paths)
            .map(|((step, keys_assigned), path)| ImportedDocument {
                file: step.doc.file.clone(),
                path,
                title: step.doc.title.clone(),
                kind: step.doc.kind,
                action: match step.action {
                    Action::Create => ImportAction::Create,
                    Action::Update(_) => ImportAction::Update,
                    Action::Leave(_) => ImportAction::Unchanged,
                },
                requirements: parse(&step.doc.content).requirements.len(),
                keys_assigned,
            })
            .collect();
        skipped.sort();
        Ok((ImportPlan { layout, documents, skipped }, steps))
    })
    .await
    .map_err(|_| Error::internal("reading an archive stopped"))?
}

/// Refuses an archive with no documents, too many, or one that could not be stored.
fn check(layout: Layout, docs: &[Doc]) -> Result<()> {
    if docs.is_empty() {
        return Err(Error::Invalid(format!(
            "this archive holds no documents in the {} layout ({}); nothing was imported",
            layout.label(),
            expected(layout)
        )));
    }
    if docs.len() > MAX_DOCUMENTS {
        return Err(Error::Invalid(format!("an import may bring at most {MAX_DOCUMENTS} documents")));
    }
    for doc in docs {
        let title = doc.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(Error::Invalid(format!("`{}` needs a title of 1 to 200 characters", doc.file)));
        }
        content::validate(&doc.content).map_err(|error| Error::Invalid(format!("`{}`: {error}", doc.file)))?;
    }
    Ok(())
}

/// Where a layout's documents are looked for, as a person would be told.
fn expected(layout: Layout) -> &'static str {
    match layout {
        Layout::Charter => "Markdown files anywhere",
        Layout::SpecKit => "`.specify/memory/constitution.md` and `specs/NNN-name/spec.md`",
        Layout::OpenSpec => "`openspec/project.md` and `openspec/specs/<capability>/spec.md`",
        Layout::Kiro => "`.kiro/steering/*.md` and `.kiro/specs/<feature>/requirements.md`",
    }
}

/// Each document matched to the target's document at the same place (of the same kind),
/// the constitution to the target's constitution.
fn matched(docs: Vec<Doc>, tree: &[TreeEntry], texts: &HashMap<DocumentId, String>) -> Vec<Step> {
    let existing = Paths::of(tree);
    let kinds: HashMap<DocumentId, Kind> = tree.iter().map(|entry| (entry.id, entry.kind)).collect();
    let constitution = tree.iter().find(|entry| entry.kind == Kind::Constitution).map(|entry| entry.id);
    let paths = Paths::of(&as_tree(&docs));
    let mut used = HashSet::new();
    docs.into_iter()
        .zip(paths.iter().map(|(_, path)| path.to_owned()).collect::<Vec<_>>())
        .map(|(doc, path)| {
            let found = match doc.kind {
                Kind::Constitution => constitution,
                kind => existing.find(&path).filter(|id| kinds.get(id) == Some(&kind)),
            }
            .filter(|id| used.insert(*id));
            let action = match found {
                Some(id) if texts.get(&id).is_some_and(|text| *text == doc.content) => Action::Leave(id),
                Some(id) => Action::Update(id),
                None => Action::Create,
            };
            Step { doc, action }
        })
        .collect()
}

/// `docs` as a tree, each named by its index (for `Paths`).
fn as_tree(docs: &[Doc]) -> Vec<TreeEntry> {
    let id = |index: usize| DocumentId::from_uuid(uuid::Uuid::from_u128(index as u128));
    docs.iter()
        .enumerate()
        .map(|(index, doc)| TreeEntry {
            id: id(index),
            title: doc.title.clone(),
            kind: doc.kind,
            parent_id: doc.parent.map(id),
            position: index as i32,
            deleted_at: None,
        })
        .collect()
}

fn bundle_paths(steps: &[Step]) -> Vec<String> {
    let docs: Vec<Doc> = steps.iter().map(|step| step.doc.clone()).collect();
    Paths::of(&as_tree(&docs)).iter().map(|(_, path)| path.to_owned()).collect()
}

/// The steps written on the new branch, parents first.
async fn write(
    state: &AppState,
    project: &ProjectAccess,
    branch: &str,
    branch_id: charter_types::BranchId,
    steps: &[Step],
) -> Result<()> {
    let mut ids: Vec<DocumentId> = Vec::with_capacity(steps.len());
    for step in steps {
        let id = match step.action {
            Action::Leave(id) => id,
            Action::Update(id) => {
                content::replace(&state.collab, DocKey::new(branch_id, id), &step.doc.content, project.actor().user_id)
                    .await?;
                id
            }
            Action::Create => {
                let new = NewDocument {
                    title: step.doc.title.trim().to_owned(),
                    kind: step.doc.kind,
                    parent_id: step.doc.parent.map(|parent| ids[parent]),
                    content: Some(step.doc.content.clone()),
                    template: false,
                };
                documents::create(&state.db, project, new, branch).await?.id
            }
        };
        ids.push(id);
    }
    Ok(())
}

/// The change request's description: what the import brings.
fn describe(plan: &ImportPlan) -> String {
    let count = |action| plan.documents.iter().filter(|doc| doc.action == action).count();
    let keys: usize = plan.documents.iter().map(|doc| doc.keys_assigned).sum();
    let mut out = format!(
        "Imported from {} files: {} documents created, {} updated, {} unchanged.",
        plan.layout.label(),
        count(ImportAction::Create),
        count(ImportAction::Update),
        count(ImportAction::Unchanged)
    );
    if keys > 0 {
        out.push_str(&format!(" {keys} requirements were given keys, kept in their text as `<!-- id: … -->`."));
    }
    if !plan.skipped.is_empty() {
        out.push_str(&format!(" {} files were not documents in this layout and were left out.", plan.skipped.len()));
    }
    out
}
