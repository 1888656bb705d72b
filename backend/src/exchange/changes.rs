//! OpenSpec's change folders and Charter's open change requests, both ways: an export in
//! OpenSpec's layout carries each open change request into the branch as
//! `openspec/changes/<n>-<title>/` (its `proposal.md` and a delta per spec it changes,
//! `layouts::deltas`); an import turns each change folder of the archive into a change
//! request of its own, its deltas applied to the specs they name (the archive's, or the
//! target's).

use std::collections::{HashMap, HashSet};

use charter_types::{ChangeRequestState, DocumentId, ImportedChange, Kind, Layout, TreeEntry};

use super::archive::File;
use super::layouts::{self, deltas, first_heading, Doc};
use crate::authorization::ProjectAccess;
use crate::budget::{self, Budget};
use crate::change_requests::{self, StateQuery};
use crate::error::{Error, Result};
use crate::structure::{self, Corpus, Text};
use crate::{markdown, AppState};

/// Where change folders lie.
const ROOT: &str = "openspec/changes/";

/// The change folders of the open change requests into `branch`, whose documents lie at
/// `places` (OpenSpec's, in `tree`'s order).
pub(super) async fn export(
    state: &AppState,
    project: &ProjectAccess,
    branch: &str,
    tree: &[TreeEntry],
    places: &[String],
    target: &Corpus,
) -> Result<Vec<File>> {
    let db = &state.db;
    let capability: HashMap<DocumentId, String> = tree
        .iter()
        .zip(places)
        .filter_map(|(entry, place)| Some((entry.id, capability_of(place)?.to_owned())))
        .collect();
    let open = change_requests::list(db, project, StateQuery { state: Some(ChangeRequestState::Open.as_str().into()) });
    // Read first; the deltas are worked out off the async threads.
    let mut requests = Vec::new();
    for change in open.await?.into_iter().filter(|change| change.target == branch) {
        let (source_id, source) = structure::corpus(db, project, &change.source, Text::Live).await?;
        // What the change request changes is from where it forked, not from the branch as
        // it is now: edits made there since are not the change request's to undo.
        let forked: HashMap<DocumentId, String> = sqlx::query_as::<_, (DocumentId, String)>(
            "SELECT document_id, fork_base FROM branch_documents WHERE branch_id = $1 AND fork_base IS NOT NULL",
        )
        .bind(source_id)
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
        let description: String =
            sqlx::query_scalar("SELECT description FROM change_requests WHERE project_id = $1 AND number = $2")
                .bind(project.project())
                .bind(change.number)
                .fetch_one(db)
                .await?;
        let specs: Vec<Spec> = source
            .docs
            .iter()
            .filter(|doc| doc.kind == Kind::Spec)
            .map(|doc| Spec {
                capability: capability.get(&doc.id).cloned(),
                title: doc.title.clone(),
                before: forked.get(&doc.id).cloned().or_else(|| target.doc(doc.id).map(|doc| doc.text().to_owned())),
                after: doc.text().to_owned(),
            })
            .collect();
        requests.push((change.number, change.title, description, specs));
    }
    let taken: HashSet<String> = capability.into_values().collect();
    budget::run(move |budget| {
        let mut files = Vec::new();
        for (number, title, description, specs) in requests {
            let id = format!("{number}-{}", slug(&title));
            let (mut names, mut elsewhere) = (Vec::new(), Vec::new());
            let mut used = taken.clone();
            for spec in specs {
                budget.check()?;
                let Some(delta) = deltas::deltas(spec.before.as_deref().unwrap_or(""), &spec.after) else { continue };
                let name = match (spec.capability, &spec.before) {
                    (Some(name), _) => name,
                    // A new spec is a new capability; one kept elsewhere in the layout
                    // (under another spec) is no capability, and is named instead.
                    (None, None) => unused(&mut used, &slug(&spec.title)),
                    (None, Some(_)) => {
                        elsewhere.push(spec.title);
                        continue;
                    }
                };
                files.push(File::new(format!("{ROOT}{id}/specs/{name}/spec.md"), delta));
                names.push(name);
            }
            if names.is_empty() {
                continue;
            }
            let why = match description.trim() {
                "" => format!("Change request #{number} in Charter."),
                given => given.to_owned(),
            };
            let mut what: Vec<String> = names.iter().map(|name| format!("- `{name}`")).collect();
            what.extend(elsewhere.iter().map(|title| {
                format!("- “{title}”, kept outside the capabilities: see change request #{number} in Charter")
            }));
            let proposal = format!("# Change: {title}\n\n## Why\n\n{why}\n\n## What Changes\n\n{}\n", what.join("\n"));
            files.push(File::new(format!("{ROOT}{id}/proposal.md"), proposal));
        }
        Ok(files)
    })
    .await
}

/// A spec as a change request leaves it.
struct Spec {
    /// Its capability, where the export keeps it as one.
    capability: Option<String>,
    title: String,
    /// Its text where the change request forked (or on the branch), if it was there.
    before: Option<String>,
    after: String,
}

/// `name`, or `name-2`, … when taken; taken thereafter.
fn unused(taken: &mut HashSet<String>, name: &str) -> String {
    let free = (1..).map(|n| if n == 1 { name.to_owned() } else { format!("{name}-{n}") }).find(|n| !taken.contains(n));
    let free = free.expect("a free name");
    taken.insert(free.clone());
    free
}

/// `openspec/specs/<capability>/spec.md`'s capability.
fn capability_of(place: &str) -> Option<&str> {
    place.strip_prefix("openspec/specs/")?.strip_suffix("/spec.md")
}

fn slug(title: &str) -> String {
    markdown::slugify(title, |c| c.is_ascii_alphanumeric(), 50).unwrap_or_else(|| "change".into())
}

/// The files of an archive that are change folders (OpenSpec's only), and the rest.
pub(super) fn split(layout: Layout, files: Vec<File>) -> (Vec<File>, Vec<File>) {
    match layout {
        Layout::OpenSpec => files.into_iter().partition(|file| file.path.starts_with(ROOT)),
        _ => (Vec::new(), files),
    }
}

/// Which document a change's edit is to: one of the archive's (by its index) or one the
/// target holds.
pub(super) enum Edited {
    Imported(usize),
    Existing(DocumentId),
    /// A capability neither has: a new spec, made on the change's branch.
    New(String),
}

/// A change folder worked out: its change request and each spec's new text.
pub(super) struct Change {
    pub summary: ImportedChange,
    pub description: String,
    pub edits: Vec<(Edited, String)>,
}

/// A change folder's files: its proposal, and each capability's delta.
struct Folder {
    id: String,
    proposal: Option<File>,
    specs: Vec<(String, File)>,
}

/// How many change folders one archive may hold.
pub const MAX_CHANGES: usize = 100;

/// Each change folder of `files` applied to the specs it names: the archive's `docs`
/// (as they will be imported) first, else the target's (`tree`, `texts`), else a new
/// spec. Fails, naming the folder, when one names a requirement that is not there.
pub(super) fn plan(
    files: Vec<File>,
    docs: &[Doc],
    tree: &[TreeEntry],
    texts: &HashMap<DocumentId, String>,
    taken: &mut HashSet<String>,
    skipped: &mut Vec<String>,
    budget: &Budget,
) -> Result<Vec<Change>> {
    let existing: Vec<Doc> = layouts::as_docs(tree, texts);
    let target_places = layouts::places(Layout::OpenSpec, &existing);
    let mut folders: Vec<Folder> = Vec::new();
    for file in files {
        let rest = &file.path[ROOT.len()..];
        let Some((id, inside)) = rest.split_once('/') else {
            skipped.push(file.path);
            continue;
        };
        let at = match folders.iter().position(|folder| folder.id == id) {
            Some(at) => at,
            None => {
                folders.push(Folder { id: id.to_owned(), proposal: None, specs: Vec::new() });
                folders.len() - 1
            }
        };
        if inside == "proposal.md" {
            folders[at].proposal = Some(file);
        } else if let Some(capability) = inside.strip_prefix("specs/").and_then(|spec| spec.strip_suffix("/spec.md")) {
            let capability = capability.to_owned();
            folders[at].specs.push((capability, file));
        } else {
            skipped.push(file.path);
        }
    }
    if folders.len() > MAX_CHANGES {
        return Err(Error::Invalid(format!("an archive may hold at most {MAX_CHANGES} change folders")));
    }
    let mut changes = Vec::new();
    for Folder { id, proposal, specs } in folders {
        if specs.is_empty() {
            skipped.extend(proposal.map(|file| file.path));
            continue;
        }
        let mut edits = Vec::new();
        for (capability, delta) in &specs {
            let place = format!("openspec/specs/{capability}/spec.md");
            let (edited, doc) = match docs.iter().position(|doc| doc.file == place) {
                Some(index) => (Edited::Imported(index), docs[index].clone()),
                None => match target_places.iter().position(|other| *other == place) {
                    Some(index) => (Edited::Existing(tree[index].id), existing[index].clone()),
                    None => {
                        let title = layouts::humanize(capability);
                        let content = format!("# {title}\n\n## Requirements\n");
                        let doc = Doc { file: place, title: title.clone(), kind: Kind::Spec, parent: None, content };
                        (Edited::New(title), doc)
                    }
                },
            };
            let text = deltas::apply(&doc, &delta.text, taken, budget).map_err(|why| match why {
                Error::Invalid(why) => Error::Invalid(format!("change `{id}`: {why}; nothing was imported")),
                other => other,
            })?;
            edits.push((edited, text));
        }
        let (title, description) = match &proposal {
            Some(file) => {
                let title =
                    first_heading(&file.text).map(|title| title.trim_start_matches("Change:").trim().to_owned());
                (title.filter(|title| !title.is_empty()).unwrap_or_else(|| id.clone()), file.text.clone())
            }
            None => (id.clone(), String::new()),
        };
        let summary =
            ImportedChange { id, title, specs: specs.into_iter().map(|(capability, _)| capability).collect() };
        changes.push(Change { summary, description, edits });
    }
    Ok(changes)
}
