//! An archive brought into a project: read (`archive`), its documents found in their
//! layout (`layouts`), requirement keys given where the layout has none, and matched to
//! the target's documents by place (the constitution to the constitution), so each is
//! created, updated or left alone; OpenSpec's change folders are worked out against
//! them (`changes`). `preview` says what that would be; `import` makes it on a new
//! branch `import/<layout>` and opens a change request into the target, then a branch
//! and change request per change folder, built on the first; in a task of its own that
//! removes the branches it made if any step fails.

use std::collections::{HashMap, HashSet};

use charter_types::{
    BranchId, DocumentId, ImportAction, ImportPlan, Imported, ImportedDocument, Kind, Layout, Opened, TreeEntry,
};

use super::layouts::{self, Doc};
use super::{archive, changes};
use crate::authorization::ProjectAccess;
use crate::change_requests::{self, NewChangeRequest};
use crate::collab::DocKey;
use crate::documents::paths::Paths;
use crate::documents::{self, NewDocument, TreeQuery};
use crate::error::{Error, Result};
use crate::structure::parse::parse;
use crate::structure::{self, Text};
use crate::{branches, budget, content, markdown, AppState};

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
    Ok(plan(state, project, layout, bytes, target).await?.plan)
}

/// Imports `bytes` onto a new branch from `target` and opens a change request into it,
/// and one more for each change folder.
pub async fn import(
    state: &AppState,
    project: &ProjectAccess,
    layout: Layout,
    bytes: Vec<u8>,
    target: &str,
    title: Option<String>,
) -> Result<Imported> {
    let Planned { plan, steps, changes } = plan(state, project, layout, bytes, target).await?;
    if steps.iter().all(|step| matches!(step.action, Action::Leave(_))) && changes.is_empty() {
        return Err(Error::Invalid(format!("this archive changes nothing on `{target}`")));
    }
    let title = title.unwrap_or_else(|| format!("Import from {}", layout.label()));
    let title = change_requests::valid_title(&title)?.to_owned();
    let (state, project, target) = (state.clone(), project.clone(), target.to_owned());
    tokio::spawn(async move {
        let mut made = Vec::new();
        let work = Work { state: &state, project: &project, layout, target: &target, steps: &steps };
        match work.make(title, &plan, &changes, &mut made).await {
            Ok((documents, changes)) => Ok(Imported { documents, changes, plan }),
            Err(error) => {
                // What fails here is logged; the caller hears why the import failed.
                for branch in made.iter().rev() {
                    if let Err(cleanup) = branches::delete(&state.db, &project, branch).await {
                        cleanup.log();
                    }
                }
                Err(error)
            }
        }
    })
    .await
    .map_err(|_| Error::internal("an import stopped"))?
}

/// An import being made.
struct Work<'a> {
    state: &'a AppState,
    project: &'a ProjectAccess,
    layout: Layout,
    target: &'a str,
    steps: &'a [Step],
}

impl Work<'_> {
    /// Writes the documents' branch (when they change anything) and each change's,
    /// naming every branch made in `made`, and opens their change requests.
    async fn make(
        &self,
        title: String,
        plan: &ImportPlan,
        changes: &[changes::Change],
        made: &mut Vec<String>,
    ) -> Result<(Option<Opened>, Vec<Opened>)> {
        let mut ids: Vec<Option<DocumentId>> = self.steps.iter().map(Step::known).collect();
        let mut documents = None;
        if self.steps.iter().any(|step| !matches!(step.action, Action::Leave(_))) {
            let base = format!("import/{}", self.layout.as_str());
            let branch = branches::create_numbered(&self.state.db, self.project, &base, self.target).await?;
            made.push(branch.name.clone());
            ids = self.write(&branch.name, branch.id).await?.into_iter().map(Some).collect();
            documents = Some(self.propose(&branch.name, title, describe(plan)).await?);
        }
        let base = documents.as_ref().map_or(self.target, |opened: &Opened| opened.branch.as_str()).to_owned();
        let mut opened = Vec::with_capacity(changes.len());
        for change in changes {
            let name = markdown::slugify(&change.summary.id, |c| c.is_ascii_alphanumeric(), 40).unwrap_or_default();
            let branch =
                branches::create_numbered(&self.state.db, self.project, &format!("import/openspec-{name}"), &base)
                    .await?;
            made.push(branch.name.clone());
            for (edited, text) in &change.edits {
                let id = match edited {
                    changes::Edited::Existing(id) => *id,
                    changes::Edited::Imported(index) => {
                        ids[*index].ok_or_else(|| Error::internal("an imported document without an id"))?
                    }
                    changes::Edited::New(title) => {
                        let new = NewDocument {
                            title: title.clone(),
                            kind: Kind::Spec,
                            parent_id: None,
                            content: Some(text.clone()),
                            template: false,
                            format: None,
                        };
                        documents::create(&self.state.db, self.project, new, &branch.name).await?;
                        continue;
                    }
                };
                let key = DocKey::new(branch.id, id);
                content::replace(&self.state.collab, key, text, self.project.actor().user_id).await?;
            }
            let mut description = format!(
                "{}\n\nImported from OpenSpec's `openspec/changes/{}/`.",
                change.description.trim(),
                change.summary.id
            );
            if let Some(documents) = &documents {
                description.push_str(&format!(
                    " It builds on change request #{}, which brings the specs it changes.",
                    documents.number
                ));
            }
            let title = change_requests::valid_title(&change.summary.title).unwrap_or(&change.summary.id).to_owned();
            opened.push(self.propose(&branch.name, title, description.trim().to_owned()).await?);
        }
        Ok((documents, opened))
    }

    async fn propose(&self, branch: &str, title: String, description: String) -> Result<Opened> {
        let proposal = NewChangeRequest {
            source: branch.to_owned(),
            target: self.target.to_owned(),
            title: title.clone(),
            description: Some(description),
        };
        let created = change_requests::create(&self.state.db, self.project, proposal).await?;
        Ok(Opened { branch: branch.to_owned(), number: created.number, title })
    }
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

impl Step {
    /// The document it is, when it is there already.
    fn known(&self) -> Option<DocumentId> {
        match self.action {
            Action::Create => None,
            Action::Update(id) | Action::Leave(id) => Some(id),
        }
    }
}

/// An import worked out.
struct Planned {
    plan: ImportPlan,
    steps: Vec<Step>,
    changes: Vec<changes::Change>,
}

async fn plan(
    state: &AppState,
    project: &ProjectAccess,
    layout: Layout,
    bytes: Vec<u8>,
    target: &str,
) -> Result<Planned> {
    let db = &state.db;
    let tree = documents::tree(db, project, TreeQuery { deleted: false, branch: Some(target.to_owned()) }).await?;
    let (_, corpus) = structure::corpus(db, project, target, Text::Live).await?;
    // Keys in use on any branch (or reserved by an incident's draft) are not given again:
    // both would be there once all are merged.
    let mut taken: HashSet<String> = corpus.requirements().map(|(_, r)| r.key.to_uppercase()).collect();
    let elsewhere: Vec<String> = sqlx::query_scalar(
        "SELECT br.key FROM branch_requirements br JOIN branches b ON b.id = br.branch_id WHERE b.project_id = $1
         UNION SELECT d.key FROM incident_drafts d JOIN incidents i ON i.id = d.incident_id
         WHERE i.project_id = $1 AND d.change_request_id IS NULL",
    )
    .bind(project.project())
    .fetch_all(db)
    .await?;
    taken.extend(elsewhere.into_iter().map(|key| key.to_uppercase()));
    let texts = super::texts(&tree, &corpus);
    budget::run(move |budget| {
        let (files, mut skipped) = archive::read_tar_gz(&bytes, layouts::is_read)?;
        let (folders, files) = changes::split(layout, files);
        let (mut docs, more) = layouts::read(layout, files);
        skipped.extend(more);
        check(layout, &docs)?;
        for doc in &docs {
            taken.extend(parse(&doc.content).requirements.into_iter().map(|r| r.key.to_uppercase()));
        }
        let assigned = layouts::assign_keys(&mut docs, &mut taken);
        if layout == Layout::Kiro {
            layouts::kiro::link_tasks(&mut docs);
        }
        let changes = changes::plan(folders, &docs, &tree, &texts, &mut taken, &mut skipped, budget)?;
        let paths = layouts::paths(&docs);
        let steps = matched(docs, &paths, &tree, &texts);
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
        let summaries = changes.iter().map(|change| change.summary.clone()).collect();
        Ok(Planned { plan: ImportPlan { layout, documents, changes: summaries, skipped }, steps, changes })
    })
    .await
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
fn matched(docs: Vec<Doc>, paths: &[String], tree: &[TreeEntry], texts: &HashMap<DocumentId, String>) -> Vec<Step> {
    let existing = Paths::of(tree);
    let kinds: HashMap<DocumentId, Kind> = tree.iter().map(|entry| (entry.id, entry.kind)).collect();
    let constitution = tree.iter().find(|entry| entry.kind == Kind::Constitution).map(|entry| entry.id);
    let mut used = HashSet::new();
    docs.into_iter()
        .zip(paths)
        .map(|(doc, path)| {
            let found = match doc.kind {
                Kind::Constitution => constitution,
                kind => existing.find(path).filter(|id| kinds.get(id) == Some(&kind)),
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

impl Work<'_> {
    /// The steps written on the new branch, parents first: each document's id there.
    async fn write(&self, branch: &str, branch_id: BranchId) -> Result<Vec<DocumentId>> {
        let (state, project) = (self.state, self.project);
        let mut ids: Vec<DocumentId> = Vec::with_capacity(self.steps.len());
        for step in self.steps {
            let id = match step.action {
                Action::Leave(id) => id,
                Action::Update(id) => {
                    let key = DocKey::new(branch_id, id);
                    content::replace(&state.collab, key, &step.doc.content, project.actor().user_id).await?;
                    id
                }
                Action::Create => {
                    let new = NewDocument {
                        title: step.doc.title.trim().to_owned(),
                        kind: step.doc.kind,
                        parent_id: step.doc.parent.map(|parent| ids[parent]),
                        content: Some(step.doc.content.clone()),
                        template: false,
                        format: None,
                    };
                    documents::create(&state.db, project, new, branch).await?.id
                }
            };
            ids.push(id);
        }
        Ok(ids)
    }
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
