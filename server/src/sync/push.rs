//! `charter push`: the folder's edits as a change request. Each edit goes to the server
//! with the text it was made from, and the server merges it into the document as it is
//! at that moment, so nothing typed in Charter meanwhile is overwritten.

use charter_backend::markdown;
use charter_backend::merge::{merge3, Chunk};
use charter_types::{Document, DocumentId};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::folder::{digest, Folder, Manifest, Pushed};
use super::{connected, document, settled, untracked, Options};
use crate::remote::Remote;

/// A document edited in the folder: which, the text the edit was made from, the text now.
struct Edited {
    id: DocumentId,
    file: String,
    base: String,
    local: String,
}

/// Pushes the folder; false when a conflict stopped it (written into the files).
pub(super) async fn push(options: &Options) -> Result<bool, String> {
    let folder = Folder::new(&options.dir);
    let (mut manifest, remote) = connected(&folder, options)?;
    refuse_made_here(&folder, &manifest)?;
    let open = settled(&folder, &mut manifest, &remote).await?;
    // Onto an open change request's branch, edits are made from what the last push left.
    let mut edited = Vec::new();
    for entry in &manifest.documents {
        let local = folder.read(&entry.file)?.unwrap_or_default();
        let pushed = match open {
            Some(_) => folder.pushed(entry.id)?,
            None => None,
        };
        let base = match pushed {
            Some(pushed) => pushed,
            None => folder.base(entry.id)?,
        };
        if local != base {
            if local.lines().any(|line| line.starts_with("<<<<<<< ") || line.starts_with(">>>>>>> ")) {
                return Err(format!("{} still holds conflict markers: keep what should stay, then push", entry.file));
            }
            edited.push(Edited { id: entry.id, file: entry.file.clone(), base, local });
        }
    }
    if edited.is_empty() {
        println!("nothing to push: the folder is as pulled");
        return Ok(true);
    }

    // A conflict found before anything is written makes nothing.
    let onto = open.as_ref().map_or(manifest.branch.clone(), |pushed| pushed.branch.clone());
    let mut changes = false;
    for edit in &edited {
        let theirs = document(&remote, edit.id, &onto).await?;
        let merged = merge3(&edit.base, &theirs.content, &edit.local);
        match merged.clean() {
            Some(text) => changes |= text != theirs.content,
            None => return conflicted(&folder, edit, &merged.chunks, &onto),
        }
    }
    if !changes && open.is_none() {
        // Already in Charter (a change request merged them): as if pulled anew.
        for entry in &mut manifest.documents {
            if let Some(edit) = edited.iter().find(|edit| edit.id == entry.id) {
                folder.save_base(edit.id, &edit.local)?;
                entry.sha256 = digest(&edit.local);
            }
        }
        manifest.proposal = None;
        folder.save_manifest(&manifest)?;
        println!("nothing to push: {} in Charter already holds the folder's edits", manifest.branch);
        return Ok(true);
    }

    let mut pushed = match open {
        Some(pushed) => pushed,
        None => {
            folder.forget_pushed()?;
            let branch = new_branch(&remote, &manifest, options).await?;
            Pushed { branch, number: None }
        }
    };
    // Kept at once, so a push stopped half-way goes on from here next time.
    manifest.proposal = Some(pushed.clone());
    folder.save_manifest(&manifest)?;
    for edit in &edited {
        let path = format!("/documents/{}/content", edit.id);
        let body = json!({ "content": edit.local, "base": edit.base });
        match remote.send::<Document>(Method::PUT, &path, &[("branch", &pushed.branch)], &body).await {
            Ok(written) => {
                folder.write(&edit.file, &written.content)?;
                folder.save_pushed(edit.id, &written.content)?;
            }
            Err(failure) if failure.status == Some(StatusCode::CONFLICT) => {
                let theirs = document(&remote, edit.id, &pushed.branch).await?;
                return conflicted(
                    &folder,
                    edit,
                    &merge3(&edit.base, &theirs.content, &edit.local).chunks,
                    &pushed.branch,
                );
            }
            Err(failure) => return Err(failure.message),
        }
    }
    let number = match pushed.number {
        Some(number) => number,
        None => {
            let title = options.title.clone().unwrap_or_else(|| format!("Specs from {}", folder_name(options)));
            let body = json!({
                "source": pushed.branch, "target": manifest.branch, "title": title,
                "description": "Pushed with `charter push` from a repository's spec folder.",
            });
            let path = format!("/projects/{}/change-requests", manifest.project);
            let created: serde_json::Value = remote.send(Method::POST, &path, &[], &body).await?;
            created["number"]
                .as_i64()
                .and_then(|number| i32::try_from(number).ok())
                .ok_or("no change request number")?
        }
    };
    pushed.number = Some(number);
    let files: Vec<&str> = edited.iter().map(|edit| edit.file.as_str()).collect();
    println!(
        "pushed {} to branch {}: change request #{number} into {}",
        files.join(", "),
        pushed.branch,
        manifest.branch
    );
    manifest.proposal = Some(pushed);
    folder.save_manifest(&manifest)?;
    Ok(true)
}

/// Documents are made, placed and deleted in Charter, where they have a kind and a place:
/// a deleted file is refused, and other Markdown files are left alone (said).
fn refuse_made_here(folder: &Folder, manifest: &Manifest) -> Result<(), String> {
    let mut deleted = Vec::new();
    for entry in &manifest.documents {
        if folder.read(&entry.file)?.is_none() {
            deleted.push(entry.file.as_str());
        }
    }
    if !deleted.is_empty() {
        return Err(format!(
            "deleted {}: documents are deleted (and made, and placed) in Charter; do that there and pull again",
            deleted.join(", ")
        ));
    }
    for file in untracked(folder, manifest)? {
        println!("not a document, not pushed: {file} (documents are made in Charter, then pulled)");
    }
    Ok(())
}

/// Writes both sides of `edit`'s conflict into its file; nothing more is pushed.
fn conflicted(folder: &Folder, edit: &Edited, chunks: &[Chunk], branch: &str) -> Result<bool, String> {
    let file = &edit.file;
    folder.write(file, &marked(chunks, branch, file))?;
    println!("conflict: {file}");
    eprintln!(
        "nothing more was pushed: {file} and {branch} in Charter changed the same lines; both sides are in the file \
         between <<<<<<< and >>>>>>> markers: keep what should stay, delete the markers and push again"
    );
    Ok(false)
}

/// A merge with its conflicts between git's markers, Charter's side first.
fn marked(chunks: &[Chunk], branch: &str, file: &str) -> String {
    let ended =
        |text: &str| if text.is_empty() || text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") };
    let mut out = String::new();
    for chunk in chunks {
        match chunk {
            Chunk::Clean(text) => out.push_str(text),
            Chunk::Conflict(conflict) => {
                out.push_str(&format!("<<<<<<< Charter ({branch})\n"));
                out.push_str(&ended(&conflict.ours));
                out.push_str("=======\n");
                out.push_str(&ended(&conflict.theirs));
                out.push_str(&format!(">>>>>>> {file}\n"));
            }
        }
    }
    out
}

/// A new branch from the branch pulled, named for the folder (`push-specs`, `push-specs-2`, ...).
async fn new_branch(remote: &Remote, manifest: &Manifest, options: &Options) -> Result<String, String> {
    let slug = markdown::slugify(&folder_name(options), |c| c.is_ascii_alphanumeric(), 40);
    let base = format!("push-{}", slug.as_deref().unwrap_or("specs"));
    let path = format!("/projects/{}/branches", manifest.project);
    for n in 1..=20 {
        let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let body = json!({ "name": name, "from": manifest.branch });
        match remote.send::<serde_json::Value>(Method::POST, &path, &[], &body).await {
            Ok(_) => return Ok(name),
            Err(failure) if failure.status == Some(StatusCode::CONFLICT) => continue,
            Err(failure) => return Err(failure.message),
        }
    }
    Err(format!("twenty branches named {base}… exist already; delete some"))
}

fn folder_name(options: &Options) -> String {
    let absolute = std::fs::canonicalize(&options.dir).unwrap_or_else(|_| options.dir.clone());
    absolute.file_name().map_or_else(|| "specs".to_owned(), |name| name.to_string_lossy().into_owned())
}
