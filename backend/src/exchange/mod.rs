//! A project's documents exported in another tool's layout, and an archive in one
//! imported. `layouts` turns documents into files and back (Charter's own, Spec Kit,
//! OpenSpec, Kiro), `archive` packs and unpacks them safely, `reqif` writes ReqIF 1.2,
//! `changes` turns open change requests into OpenSpec change folders and back. An
//! import never writes to its target: the documents land on a new branch, proposed by a
//! change request (`import`).

pub mod archive;
mod changes;
mod import;
pub mod layouts;
mod reqif;
mod routes;

use std::collections::HashMap;

use charter_types::{DocumentId, ExportFormat, Kind, Layout, TreeEntry};
use chrono::Utc;
use uuid::Uuid;

use crate::authorization::ProjectAccess;
use crate::documents::{self, TreeQuery};
use crate::error::{Error, Result};
use crate::structure::{self, requirements, Corpus, Text};
use crate::{budget, markdown, projects, AppState};
pub use import::{import, preview};
pub(crate) use routes::router;

/// An export, ready to send.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The documents of `branch` in `format`.
pub async fn export(state: &AppState, project: &ProjectAccess, format: ExportFormat, branch: &str) -> Result<Export> {
    let db = &state.db;
    let about = projects::get(db, project).await?;
    let tree = documents::tree(db, project, TreeQuery { deleted: false, branch: Some(branch.to_owned()) }).await?;
    let (_, corpus) = structure::corpus(db, project, branch, Text::Live).await?;
    let name =
        format!("{}-{}", about.slug, markdown::slugify(branch, |c| c.is_ascii_alphanumeric(), 40).unwrap_or_default());
    let name = name.trim_end_matches('-').to_owned();
    match format.layout() {
        Some(layout) => {
            let docs = layouts::as_docs(&tree, &texts(&tree, &corpus));
            let count = docs.len();
            let mut files = budget::run(move |_| Ok(layouts::write(layout, &docs))).await?;
            if layout == Layout::OpenSpec {
                let places: Vec<String> = files.iter().take(count).map(|file| file.path.clone()).collect();
                files.extend(changes::export(state, project, branch, &tree, &places, &corpus).await?);
            }
            let modified = Utc::now().timestamp().max(0) as u64;
            let bytes = blocking(move || archive::write_tar_gz(&files, modified)).await?;
            Ok(Export {
                file_name: format!("{name}-{}.tar.gz", format.as_str()),
                content_type: "application/gzip",
                bytes,
            })
        }
        None => {
            let listing = requirements::listing(db, project, Some(branch)).await?;
            let sections = sections(&tree, &corpus, &listing.views);
            let title = about.name.clone();
            let file = format!("{name}.reqif");
            let bytes = blocking(move || {
                let xml = reqif::write(&title, &sections, Utc::now())?;
                archive::write_zip(&[archive::File::new(file, xml)])
            })
            .await?;
            Ok(Export { file_name: format!("{name}.reqifz"), content_type: "application/zip", bytes })
        }
    }
}

/// Work on a whole project's text, off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|_| Error::internal("packing an archive stopped"))?
}

/// The texts of `tree`'s documents.
fn texts(tree: &[TreeEntry], corpus: &Corpus) -> HashMap<DocumentId, String> {
    tree.iter().filter_map(|entry| Some((entry.id, corpus.doc(entry.id)?.text().to_owned()))).collect()
}

/// Each document with its requirements (and the requirements they link to), for ReqIF:
/// one pass over each document's requirements and links, both in line order. Contracts
/// hold no requirements and are left out.
fn sections(tree: &[TreeEntry], corpus: &Corpus, views: &[charter_types::RequirementView]) -> Vec<reqif::Section> {
    let identity: HashMap<String, Uuid> = views.iter().map(|view| (view.key.to_uppercase(), view.id)).collect();
    let mut placed: HashMap<(DocumentId, usize), &charter_types::RequirementView> = HashMap::new();
    for view in views {
        placed.insert((view.document_id, view.line), view);
    }
    tree.iter()
        .filter(|entry| entry.kind != Kind::Contract)
        .filter_map(|entry| {
            let structure = corpus.doc(entry.id)?.structure();
            let mut links = structure.links.iter().peekable();
            let mut requirements = Vec::new();
            for requirement in &structure.requirements {
                while links.next_if(|link| link.line < requirement.line).is_some() {}
                let mut linked: Vec<Uuid> =
                    std::iter::from_fn(|| links.next_if(|link| link.line <= requirement.end_line))
                        .filter_map(|link| identity.get(&link.target.to_uppercase()).copied())
                        .collect();
                let Some(view) = placed.get(&(entry.id, requirement.line)) else { continue };
                linked.retain(|target| *target != view.id);
                linked.sort();
                linked.dedup();
                requirements.push(reqif::Item {
                    id: view.id,
                    key: view.key.clone(),
                    title: view.title.clone(),
                    text: view.text.clone(),
                    priority: view.priority.clone(),
                    scenarios: view.acceptance.clone(),
                    links: linked,
                });
            }
            Some(reqif::Section { id: entry.id.uuid(), title: entry.title.clone(), requirements })
        })
        .collect()
}
