//! A folder that holds a project's documents as Markdown files, one per document, the
//! tree as folders (`constitution.md`, `constitution/checkout.md`), and what was pulled:
//! `.charter/manifest.json` (which file is which document, the branch, the change
//! request a push opened), `.charter/base/{id}.md`, each document as it was pulled (what
//! the folder's edits are merged from into the branch pulled), and
//! `.charter/pushed/{id}.md`, each as the last push left it on its change request's
//! branch (what later edits are merged from into that branch).
//!
//! The manifest is a file of the repository, so anything may be in it: the files it
//! names are taken only as plain relative paths to `.md` files (a contract's `.yaml`,
//! `.yml` or `.json`) inside the folder, never through a symbolic link. Text is read
//! with `\n` line ends, as Charter keeps it.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use charter_types::{DocumentId, Kind, Layout, ProjectId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const STATE: &str = ".charter";
const MANIFEST: &str = ".charter/manifest.json";

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub server: String,
    pub project: ProjectId,
    pub branch: String,
    /// Where the files lie; a folder pulled before layouts is Charter's.
    #[serde(default = "charter_layout")]
    pub layout: Layout,
    pub pulled_at: chrono::DateTime<chrono::Utc>,
    pub documents: Vec<Entry>,
    /// The change request the last push opened, and its branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Pushed>,
}

fn charter_layout() -> Layout {
    Layout::Charter
}

#[derive(Serialize, Deserialize)]
pub struct Entry {
    pub id: DocumentId,
    /// The file, relative to the folder, with `/` between folders.
    pub file: String,
    pub title: String,
    pub kind: Kind,
    /// SHA-256 of the text pulled, in hex.
    pub sha256: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Pushed {
    pub branch: String,
    /// Missing while the push that made the branch has not opened its change request.
    pub number: Option<i32>,
}

pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: &Path) -> Folder {
        Folder { root: root.to_owned() }
    }

    pub fn has_manifest(&self) -> bool {
        self.inside(MANIFEST).is_ok_and(|path| path.is_file())
    }

    pub fn manifest(&self) -> Result<Manifest, String> {
        let text = self.read_inside(MANIFEST)?.ok_or_else(|| {
            format!("{} has no pulled project (no {MANIFEST}); run charter pull first", self.root.display())
        })?;
        serde_json::from_str(&text).map_err(|err| format!("{MANIFEST} is damaged: {err}"))
    }

    pub fn save_manifest(&self, manifest: &Manifest) -> Result<(), String> {
        let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
        self.write_inside(MANIFEST, &(text + "\n"))
    }

    /// The text a document had when it was pulled.
    pub fn base(&self, id: DocumentId) -> Result<String, String> {
        self.read_inside(&format!("{STATE}/base/{id}.md"))?.ok_or_else(|| format!("the pulled copy of {id} is missing"))
    }

    pub fn save_base(&self, id: DocumentId, text: &str) -> Result<(), String> {
        self.write_inside(&format!("{STATE}/base/{id}.md"), text)
    }

    /// The text the last push left a document with on its change request's branch.
    pub fn pushed(&self, id: DocumentId) -> Result<Option<String>, String> {
        self.read_inside(&format!("{STATE}/pushed/{id}.md"))
    }

    pub fn save_pushed(&self, id: DocumentId, text: &str) -> Result<(), String> {
        self.write_inside(&format!("{STATE}/pushed/{id}.md"), text)
    }

    /// Forgets what earlier pushes left (a new change request starts from the pull).
    pub fn forget_pushed(&self) -> Result<(), String> {
        match std::fs::remove_dir_all(self.inside(&format!("{STATE}/pushed"))?) {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(format!("clearing {STATE}/pushed: {err}")),
            _ => Ok(()),
        }
    }

    /// A document's file, or `None` when it is not there.
    pub fn read(&self, file: &str) -> Result<Option<String>, String> {
        self.read_inside(&checked(file)?)
    }

    pub fn write(&self, file: &str, text: &str) -> Result<(), String> {
        self.write_inside(&checked(file)?, text)
    }

    pub fn remove(&self, file: &str) -> Result<(), String> {
        let path = self.inside(&checked(file)?)?;
        std::fs::remove_file(&path).map_err(|err| format!("removing {file}: {err}"))
    }

    fn read_inside(&self, file: &str) -> Result<Option<String>, String> {
        match std::fs::read(self.inside(file)?) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| format!("{file} is not UTF-8 text"))?;
                Ok(Some(text.replace("\r\n", "\n")))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(format!("reading {file}: {err}")),
        }
    }

    fn write_inside(&self, file: &str, text: &str) -> Result<(), String> {
        let path = self.inside(file)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| format!("creating {}: {err}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|err| format!("writing {file}: {err}"))
    }

    /// `file` under the root, refused if it or a folder on the way is a symbolic link.
    fn inside(&self, file: &str) -> Result<PathBuf, String> {
        let mut path = self.root.clone();
        for part in file.split('/') {
            path.push(part);
            if std::fs::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink()) {
                return Err(format!("{file} goes through a symbolic link; the folder's files must be plain files"));
            }
        }
        Ok(path)
    }

    /// Every Markdown file in the folder (not in `.charter`), relative, with `/`.
    pub fn markdown_files(&self) -> Result<BTreeSet<String>, String> {
        let mut found = BTreeSet::new();
        let mut pending = vec![self.root.clone()];
        while let Some(dir) = pending.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|err| format!("reading {}: {err}", dir.display()))?;
            for entry in entries {
                let entry = entry.map_err(|err| format!("reading {}: {err}", dir.display()))?;
                let path = entry.path();
                let kind = entry.file_type().map_err(|err| format!("reading {}: {err}", path.display()))?;
                let relative = path.strip_prefix(&self.root).expect("under the root");
                if relative.starts_with(STATE) || relative.starts_with(".git") {
                    continue;
                }
                if kind.is_dir() {
                    pending.push(path);
                } else if kind.is_file() && path.extension().is_some_and(|extension| extension == "md") {
                    let parts: Vec<String> =
                        relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
                    found.insert(parts.join("/"));
                }
            }
        }
        Ok(found)
    }
}

/// `file` if it is a plain relative path to a Markdown file or a contract's YAML or JSON
/// (no `..`, no root, no `.charter`).
fn checked(file: &str) -> Result<String, String> {
    let plain = [".md", ".yaml", ".yml", ".json"].iter().any(|extension| file.ends_with(extension))
        // Case-insensitive file systems take `.Charter` for `.charter`.
        && !file.to_lowercase().starts_with(STATE)
        && file.split('/').all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'))
        && Path::new(file).components().all(|part| matches!(part, Component::Normal(_)));
    plain.then(|| file.to_owned()).ok_or_else(|| format!("{file} is not a document's file inside the folder"))
}

pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
