//! A project's documents as the files of a layout, and back. Every layout keeps a
//! document's Markdown as its file's text (OpenSpec's and Kiro's rewrite a spec's
//! requirements in their own form, `forms`); where the files go is the layout's:
//! Charter's own is the tree as folders, the spec tools keep each spec with the
//! documents under it in a folder of their naming. An export also writes
//! `.charter/export.json` (each file's title, kind and parent), which an import reads
//! when it finds it, so titles, kinds and the tree come back as they were; without it,
//! an import reads them from where each file lies in the layout and its first heading.

mod charter;
pub mod deltas;
mod forms;
pub mod kiro;
mod openspec;
mod speckit;

use std::collections::{HashMap, HashSet};

use charter_types::{DocumentId, Kind, Layout, TreeEntry};
use serde::{Deserialize, Serialize};

use super::archive::File;
use crate::contract::{Contract, Syntax};
use crate::documents::paths::Paths;
use crate::markdown;

pub(super) use forms::assign_keys;

/// A document as an archive carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Doc {
    /// Its file in the archive.
    pub file: String,
    pub title: String,
    pub kind: Kind,
    /// Its parent's index in the bundle (always before it).
    pub parent: Option<usize>,
    pub content: String,
}

/// The documents of `tree` (parents before children, as a tree lists them) with their
/// texts.
pub fn as_docs(tree: &[TreeEntry], texts: &HashMap<DocumentId, String>) -> Vec<Doc> {
    let at: HashMap<DocumentId, usize> = tree.iter().enumerate().map(|(index, entry)| (entry.id, index)).collect();
    tree.iter()
        .map(|entry| Doc {
            file: String::new(),
            title: entry.title.clone(),
            kind: entry.kind,
            parent: entry.parent_id.and_then(|parent| at.get(&parent).copied()),
            content: texts.get(&entry.id).cloned().unwrap_or_default(),
        })
        .collect()
}

/// Each of `docs`' path as `documents::paths` names it: its and its parents' titles as
/// slugs.
pub fn paths(docs: &[Doc]) -> Vec<String> {
    // `Paths` names documents by their ids; an index stands in for one here.
    let id = |index: usize| DocumentId::from_uuid(uuid::Uuid::from_u128(index as u128));
    let tree: Vec<TreeEntry> = docs
        .iter()
        .enumerate()
        .map(|(index, doc)| TreeEntry {
            id: id(index),
            title: doc.title.clone(),
            kind: doc.kind,
            parent_id: doc.parent.map(id),
            position: index as i32,
            deleted_at: None,
        })
        .collect();
    Paths::of(&tree).iter().map(|(_, path)| path.to_owned()).collect()
}

/// Where the manifest lies in every export.
pub const MANIFEST: &str = ".charter/export.json";

#[derive(Serialize, Deserialize)]
struct Manifest {
    layout: Layout,
    documents: Vec<ManifestEntry>,
}

#[derive(Serialize, Deserialize)]
struct ManifestEntry {
    file: String,
    title: String,
    kind: Kind,
    parent: Option<String>,
}

/// True for the files of an archive a layout reads: Markdown, contracts' YAML and JSON,
/// and the manifest.
pub fn is_read(path: &str) -> bool {
    path.ends_with(".md") || is_contract_file(path) || path == MANIFEST
}

/// The extensions a contract's file may have.
const CONTRACT_EXTENSIONS: [&str; 3] = [".yaml", ".yml", ".json"];

fn is_contract_file(path: &str) -> bool {
    CONTRACT_EXTENSIONS.iter().any(|extension| path.ends_with(extension))
}

/// The extension of a document's file: a contract's by how it is written, else `.md`.
pub fn extension(kind: Kind, text: &str) -> &'static str {
    match (kind, Syntax::of(text)) {
        (Kind::Contract, Syntax::Json) => ".json",
        (Kind::Contract, Syntax::Yaml) => ".yaml",
        _ => ".md",
    }
}

/// A file's name without the extension of a document.
fn stem(name: &str) -> &str {
    [".md"].iter().chain(&CONTRACT_EXTENSIONS).find_map(|extension| name.strip_suffix(extension)).unwrap_or(name)
}

/// What a file named `name` holding `text` is, when nothing else says: a contract when
/// it is YAML or JSON that reads as OpenAPI or a JSON Schema (other YAML and JSON, a
/// `package.json`, are no documents: `None`), else a kind for a Markdown file's name.
fn kind_of_file(name: &str, text: &str) -> Option<Kind> {
    if !is_contract_file(name) {
        return Some(guess_kind(stem(name)));
    }
    let contract = Contract::read(text);
    let readable = contract.readable()?;
    readable.kind.refusal().is_none().then_some(Kind::Contract)
}

/// A document's title for its file: its first heading, a contract's own title, else
/// its file's name.
fn title_of(name: &str, text: &str, kind: Kind) -> String {
    let own = match kind {
        Kind::Contract => Contract::read(text).readable().and_then(|readable| {
            let value = &readable.source.value;
            let title = value.pointer("/info/title").or_else(|| value.get("title"))?.as_str()?;
            Some(title.trim().chars().take(200).collect::<String>()).filter(|title| !title.is_empty())
        }),
        _ => first_heading(text),
    };
    own.unwrap_or_else(|| humanize(stem(name.rsplit('/').next().unwrap_or(name))))
}

/// Where each of `docs` (parents before children) lies in `layout`.
pub fn places(layout: Layout, docs: &[Doc]) -> Vec<String> {
    match layout {
        Layout::Charter => charter::places(docs),
        Layout::SpecKit => speckit::FOLDERS.place(docs),
        Layout::OpenSpec => openspec::FOLDERS.place(docs),
        Layout::Kiro => kiro::FOLDERS.place(docs),
    }
}

/// `docs` (parents before children) as the files of `layout`, with the manifest.
pub fn write(layout: Layout, docs: &[Doc]) -> Vec<File> {
    let files: Vec<File> = places(layout, docs)
        .into_iter()
        .zip(docs)
        .map(|(path, doc)| {
            let text = match (layout, doc.kind) {
                (Layout::OpenSpec, Kind::Spec) => forms::rewrite(&doc.content, forms::Style::OpenSpec),
                (Layout::Kiro, Kind::Spec) => forms::rewrite(&doc.content, forms::Style::Kiro),
                _ => doc.content.clone(),
            };
            File::new(path, text)
        })
        .collect();
    let manifest = Manifest {
        layout,
        documents: docs
            .iter()
            .zip(&files)
            .map(|(doc, file)| ManifestEntry {
                file: file.path.clone(),
                title: doc.title.clone(),
                kind: doc.kind,
                parent: doc.parent.map(|parent| files[parent].path.clone()),
            })
            .collect(),
    };
    let json = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
    let mut files = files;
    files.push(File::new(MANIFEST, json + "\n"));
    files
}

/// The documents `files` hold in `layout` (parents before children), and the files
/// that are not documents there.
pub fn read(layout: Layout, files: Vec<File>) -> (Vec<Doc>, Vec<String>) {
    let (manifest, files): (Vec<File>, Vec<File>) = files.into_iter().partition(|file| file.path == MANIFEST);
    let manifest = manifest.first().and_then(|file| serde_json::from_str::<Manifest>(&file.text).ok());
    let (docs, skipped) = match layout {
        Layout::Charter => charter::docs(files),
        Layout::SpecKit => speckit::docs(files),
        Layout::OpenSpec => openspec::docs(files),
        Layout::Kiro => kiro::docs(files),
    };
    let docs = match manifest {
        Some(manifest) => apply(docs, &manifest),
        None => docs,
    };
    (ordered(docs), skipped)
}

/// The manifest's titles, kinds, parents and order for the files it names (the others
/// after them, as they were).
fn apply(docs: Vec<Doc>, manifest: &Manifest) -> Vec<Doc> {
    let rank: HashMap<&str, usize> =
        manifest.documents.iter().enumerate().map(|(index, entry)| (entry.file.as_str(), index)).collect();
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&index| rank.get(docs[index].file.as_str()).copied().unwrap_or(usize::MAX));
    let mut moved_to = vec![0; docs.len()];
    for (to, &from) in order.iter().enumerate() {
        moved_to[from] = to;
    }
    let mut slots: Vec<Option<Doc>> = docs.into_iter().map(Some).collect();
    let mut docs: Vec<Doc> = order
        .iter()
        .map(|&from| {
            let mut doc = slots[from].take().expect("each once");
            doc.parent = doc.parent.map(|parent| moved_to[parent]);
            doc
        })
        .collect();
    let at: HashMap<String, usize> = docs.iter().enumerate().map(|(index, doc)| (doc.file.clone(), index)).collect();
    for entry in &manifest.documents {
        let Some(&index) = at.get(&entry.file) else { continue };
        let doc = &mut docs[index];
        doc.title = entry.title.clone();
        doc.kind = entry.kind;
        doc.parent = entry.parent.as_ref().and_then(|parent| at.get(parent).copied()).filter(|&p| p != index);
    }
    docs
}

/// `docs` reordered so that parents come before children, their order kept otherwise; a
/// parent that would close a circle is dropped.
fn ordered(docs: Vec<Doc>) -> Vec<Doc> {
    let mut placed: Vec<Option<usize>> = vec![None; docs.len()];
    let mut order = Vec::with_capacity(docs.len());
    let mut visiting = HashSet::new();
    fn visit(
        index: usize,
        docs: &[Doc],
        placed: &mut [Option<usize>],
        order: &mut Vec<usize>,
        visiting: &mut HashSet<usize>,
    ) {
        if placed[index].is_some() || !visiting.insert(index) {
            return;
        }
        if let Some(parent) = docs[index].parent {
            visit(parent, docs, placed, order, visiting);
        }
        placed[index] = Some(order.len());
        order.push(index);
    }
    for index in 0..docs.len() {
        visit(index, &docs, &mut placed, &mut order, &mut visiting);
    }
    let mut slots: Vec<Option<Doc>> = docs.into_iter().map(Some).collect();
    order
        .iter()
        .map(|&index| {
            let mut doc = slots[index].take().expect("each once");
            // A parent still unplaced when its child was is part of a circle.
            doc.parent = doc.parent.and_then(|parent| placed[parent]).filter(|&at| at < placed[index].expect("placed"));
            doc
        })
        .collect()
}

/// A file name's slug for a title.
fn slug(title: &str) -> String {
    markdown::slugify(title, char::is_alphanumeric, 60).unwrap_or_else(|| "untitled".to_owned())
}

/// A title for a file or folder name: `001-user-login` → `User login`.
pub(super) fn humanize(name: &str) -> String {
    let name = stem(name);
    let name = name.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches(['-', '_']);
    let words = name.replace(['-', '_'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Untitled".to_owned(),
    }
}

/// The text of a document's first level-1 heading, if it opens with one.
pub(super) fn first_heading(text: &str) -> Option<String> {
    let line = text.lines().find(|line| !line.trim().is_empty())?;
    let title = line.strip_prefix("# ")?.trim().trim_end_matches('#').trim();
    (!title.is_empty()).then(|| title.chars().take(200).collect())
}

/// A name not yet in `taken` (`name`, `name-2`, …) for a file of `extension`.
fn unique(taken: &mut HashSet<String>, base: &str, extension: &str) -> String {
    let name = (1..)
        .map(|n| if n == 1 { format!("{base}{extension}") } else { format!("{base}-{n}{extension}") })
        .find(|name| !taken.contains(name))
        .expect("a free name");
    taken.insert(name.clone());
    name
}

/// Where a spec tool puts a project: the constitution at one place, each top-level spec
/// in a folder with the documents under it, everything else elsewhere.
struct Folders {
    constitution: &'static str,
    /// The folder of the `n`th spec (from 1) with slug `slug`.
    spec_folder: fn(usize, &str) -> String,
    /// The file names of a spec, its first plan and its first tasks in their folder.
    spec: &'static str,
    plan: &'static str,
    tasks: &'static str,
    /// The folder of documents outside any spec.
    others: &'static str,
    /// Where a spec's contracts go in its folder (Spec Kit's `contracts/`), if apart.
    contracts: &'static str,
}

impl Folders {
    /// The file of each of `docs`.
    fn place(&self, docs: &[Doc]) -> Vec<String> {
        let mut files: Vec<String> = Vec::with_capacity(docs.len());
        // The spec folder each document sits in, by index of the folder's spec.
        let mut folder_of: Vec<Option<usize>> = Vec::with_capacity(docs.len());
        let mut taken: HashMap<usize, HashSet<String>> = HashMap::new();
        let mut roots: HashSet<String> = HashSet::new();
        let mut folders: HashSet<String> = HashSet::new();
        if let Some(name) = self.constitution.strip_prefix(self.others).and_then(|rest| rest.strip_prefix('/')) {
            roots.insert(name.to_owned());
        }
        let mut constitution = false;
        let mut specs = 0;
        for (index, doc) in docs.iter().enumerate() {
            let folder = doc.parent.and_then(|parent| folder_of[parent]);
            let file = match folder {
                Some(spec) => {
                    let names = taken.entry(spec).or_default();
                    let dir = files[spec].rsplit_once('/').map_or("", |(dir, _)| dir).to_owned();
                    let first = match doc.kind {
                        Kind::Plan => Some(self.plan),
                        Kind::Tasks => Some(self.tasks),
                        _ => None,
                    }
                    .filter(|name| !names.contains(*name));
                    let base = match doc.kind {
                        Kind::Contract => format!("{}{}", self.contracts, slug(&doc.title)),
                        _ => slug(&doc.title),
                    };
                    let name = match first {
                        Some(name) => {
                            names.insert(name.to_owned());
                            name.to_owned()
                        }
                        None => unique(names, &base, extension(doc.kind, &doc.content)),
                    };
                    format!("{dir}/{name}")
                }
                None if doc.kind == Kind::Constitution && !constitution => {
                    constitution = true;
                    self.constitution.to_owned()
                }
                None if doc.kind == Kind::Spec => {
                    specs += 1;
                    // Titles alike as slugs get folders apart.
                    let base = slug(&doc.title);
                    let dir = (1..)
                        .map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") })
                        .map(|name| (self.spec_folder)(specs, &name))
                        .find(|dir| !folders.contains(dir))
                        .expect("a free folder");
                    folders.insert(dir.clone());
                    taken.entry(index).or_default().insert(self.spec.to_owned());
                    format!("{dir}/{}", self.spec)
                }
                None => {
                    let name = unique(&mut roots, &slug(&doc.title), extension(doc.kind, &doc.content));
                    format!("{}/{name}", self.others)
                }
            };
            // A spec outside any folder opens one.
            folder_of.push(folder.or((doc.kind == Kind::Spec).then_some(index)));
            files.push(file);
        }
        files
    }

    /// The documents of `files` by where they lie: the constitution, each folder's spec
    /// with the others in its folder under it (tasks and checklists as tasks, the rest as
    /// plans), and the documents outside any spec. Others are skipped.
    fn read(&self, files: Vec<File>, root: &str, title_of_spec: fn(&str, &str) -> String) -> (Vec<Doc>, Vec<String>) {
        let (mut docs, mut skipped) = (Vec::new(), Vec::new());
        let mut folders: HashMap<String, usize> = HashMap::new();
        let mut inside: Vec<(String, File)> = Vec::new();
        for file in files {
            let path = file.path.clone();
            if path == self.constitution {
                let title = first_heading(&file.text).unwrap_or_else(|| "Constitution".into());
                docs.push(doc(file, title, Kind::Constitution, None));
            } else if let Some((folder, name)) = path.strip_prefix(root).and_then(|rest| rest.split_once('/')) {
                if name == self.spec {
                    folders.insert(folder.to_owned(), docs.len());
                    let title = title_of_spec(&file.text, folder);
                    docs.push(doc(file, title, Kind::Spec, None));
                } else {
                    inside.push((folder.to_owned(), file));
                }
            } else if let Some(name) = path.strip_prefix(self.others).and_then(|rest| rest.strip_prefix('/')) {
                match kind_of_file(name, &file.text) {
                    Some(kind) => {
                        let title = title_of(name, &file.text, kind);
                        docs.push(doc(file, title, kind, None));
                    }
                    None => skipped.push(path),
                }
            } else {
                skipped.push(path);
            }
        }
        for (folder, file) in inside {
            let name = file.path.rsplit('/').next().unwrap_or_default().to_owned();
            let kind = if is_contract_file(&name) {
                match kind_of_file(&name, &file.text) {
                    Some(kind) => kind,
                    None => {
                        skipped.push(file.path);
                        continue;
                    }
                }
            } else if name == self.tasks || file.path.contains("/checklists/") {
                Kind::Tasks
            } else {
                Kind::Plan
            };
            let title = title_of(&name, &file.text, kind);
            docs.push(doc(file, title, kind, folders.get(&folder).copied()));
        }
        (docs, skipped)
    }
}

fn doc(file: File, title: String, kind: Kind, parent: Option<usize>) -> Doc {
    Doc { file: file.path, title, kind, parent, content: file.text }
}

/// A kind for a Markdown file's name (without its extension), when nothing else says.
fn guess_kind(name: &str) -> Kind {
    let name = name.to_lowercase();
    if name.contains("constitution") {
        Kind::Constitution
    } else if name.contains("task") || name.contains("checklist") {
        Kind::Tasks
    } else if name.contains("spec") || name.contains("requirement") {
        Kind::Spec
    } else {
        Kind::Plan
    }
}

#[cfg(test)]
mod tests;
