//! A folder that holds a project's documents as Markdown files, one per document, the
//! tree as folders (`constitution.md`, `constitution/checkout.md`), and what was pulled:
//! `.charter/manifest.json` (which file is which document, the branch, the change
//! request a push opened) and `.charter/base/{id}.md`, each document as it was pulled:
//! the base that local and remote edits are merged from.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use charter_types::{DocumentId, Kind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const STATE: &str = ".charter";

#[derive(Serialize, Deserialize)]
pub struct Manifest {
    pub server: String,
    pub project: String,
    pub branch: String,
    pub pulled_at: chrono::DateTime<chrono::Utc>,
    pub documents: Vec<Entry>,
    /// The change request the last push opened, and its branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposal: Option<Pushed>,
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
    pub number: i32,
}

pub struct Folder {
    root: PathBuf,
}

impl Folder {
    pub fn new(root: &Path) -> Folder {
        Folder { root: root.to_owned() }
    }

    pub fn has_manifest(&self) -> bool {
        self.root.join(STATE).join("manifest.json").is_file()
    }

    pub fn manifest(&self) -> Result<Manifest, String> {
        let path = self.root.join(STATE).join("manifest.json");
        let text = std::fs::read_to_string(&path).map_err(|err| {
            format!("{} has no pulled project ({}: {err}); run charter pull first", self.root.display(), path.display())
        })?;
        serde_json::from_str(&text).map_err(|err| format!("{} is damaged: {err}", path.display()))
    }

    pub fn save_manifest(&self, manifest: &Manifest) -> Result<(), String> {
        let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
        self.write(&format!("{STATE}/manifest.json"), &(text + "\n"))
    }

    /// The text a document had when it was pulled.
    pub fn base(&self, id: DocumentId) -> Result<String, String> {
        self.read(&format!("{STATE}/base/{id}.md"))?.ok_or_else(|| format!("the pulled copy of {id} is missing"))
    }

    pub fn save_base(&self, id: DocumentId, text: &str) -> Result<(), String> {
        self.write(&format!("{STATE}/base/{id}.md"), text)
    }

    /// A file's text, or `None` when it is not there.
    pub fn read(&self, file: &str) -> Result<Option<String>, String> {
        match std::fs::read(self.root.join(file)) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| format!("{file} is not UTF-8 text")),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(format!("reading {file}: {err}")),
        }
    }

    pub fn write(&self, file: &str, text: &str) -> Result<(), String> {
        let path = self.root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| format!("creating {}: {err}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|err| format!("writing {file}: {err}"))
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

pub fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
