//! `charter push`: the folder's edits, merged with Charter's, as a change request.

use charter_backend::markdown;
use charter_backend::merge::{merge3, Chunk};
use charter_types::{ChangeRequestState, ChangeRequestSummary, Document, DocumentId};
use reqwest::{Method, StatusCode};
use serde_json::json;

use super::folder::{digest, Entry, Folder, Pushed};
use super::{local_changes, Options};
use crate::remote::Remote;

/// A document edited in the folder: its entry, the text pulled and the text now.
struct Edited<'a> {
    entry: &'a Entry,
    base: String,
    local: String,
}

/// Pushes the folder; false when a conflict stopped it (written into the files).
pub(super) async fn push(options: &Options) -> Result<bool, String> {
    let folder = Folder::new(&options.dir);
    let mut manifest = folder.manifest()?;
    let remote = Remote::new(&manifest.server, &options.token);
    let project = manifest.project.clone();
    let made_elsewhere: Vec<String> =
        local_changes(&folder, &manifest)?.into_iter().filter(|change| !change.starts_with("changed ")).collect();
    if !made_elsewhere.is_empty() {
        return Err(format!(
            "{}: documents are made, placed and deleted in Charter (they have a kind and a place in the tree); \
             do that there and pull again",
            made_elsewhere.join(", ")
        ));
    }
    let mut edited = Vec::new();
    for entry in &manifest.documents {
        let local = folder.read(&entry.file)?.unwrap_or_default();
        if digest(&local) != entry.sha256 {
            edited.push(Edited { entry, base: folder.base(entry.id)?, local });
        }
    }
    if edited.is_empty() {
        println!("nothing to push: the folder is as pulled");
        return Ok(true);
    }

    // The branch of the change request the last push opened, while it is open.
    let open = match &manifest.proposal {
        Some(pushed) => {
            let path = format!("/projects/{project}/change-requests/{}", pushed.number);
            let change: ChangeRequestSummary = remote.get(&path, &[]).await?;
            (change.state == ChangeRequestState::Open).then(|| pushed.clone())
        }
        None => None,
    };
    // Merged first against where the edits go, so that a conflict makes nothing.
    let onto = open.as_ref().map_or(manifest.branch.as_str(), |pushed| pushed.branch.as_str());
    let mut texts = match merged(&remote, &edited, onto).await? {
        Ok(texts) => texts,
        Err(conflicts) => return conflicted(&folder, conflicts, onto),
    };
    let branch = match &open {
        Some(pushed) => pushed.branch.clone(),
        None => {
            let branch = new_branch(&remote, &project, &manifest.branch, options).await?;
            // Forked just now: merged again with what it holds, should Charter have moved.
            match merged(&remote, &edited, &branch).await? {
                Ok(again) => texts = again,
                Err(conflicts) => {
                    let path = format!("/projects/{project}/branches/{branch}");
                    remote.act(Method::DELETE, &path, &[]).await?;
                    return conflicted(&folder, conflicts, &manifest.branch);
                }
            }
            branch
        }
    };
    for (id, text) in &texts {
        let path = format!("/documents/{id}/content");
        let _: Document = remote.send(Method::PUT, &path, &[("branch", &branch)], &json!({ "content": text })).await?;
    }
    let number = match open {
        Some(pushed) => pushed.number,
        None => {
            let title = options.title.clone().unwrap_or_else(|| format!("Specs from {}", folder_name(options)));
            let body = json!({
                "source": branch, "target": manifest.branch, "title": title,
                "description": "Pushed with `charter push` from a repository's spec folder.",
            });
            let created: serde_json::Value =
                remote.send(Method::POST, &format!("/projects/{project}/change-requests"), &[], &body).await?;
            created["number"]
                .as_i64()
                .and_then(|number| i32::try_from(number).ok())
                .ok_or("no change request number")?
        }
    };
    let files: Vec<&str> = edited.iter().map(|edited| edited.entry.file.as_str()).collect();
    println!("pushed {} to branch {branch}: change request #{number} into {}", files.join(", "), manifest.branch);
    manifest.proposal = Some(Pushed { branch, number });
    folder.save_manifest(&manifest)?;
    Ok(true)
}

/// Each edited document's text merged with the branch's, or the conflicts (each file
/// with both sides between markers).
async fn merged(
    remote: &Remote,
    edited: &[Edited<'_>],
    branch: &str,
) -> Result<Result<Vec<(DocumentId, String)>, Vec<(String, String)>>, String> {
    let (mut texts, mut conflicts) = (Vec::new(), Vec::new());
    for Edited { entry, base, local } in edited {
        let path = format!("/documents/{}", entry.id);
        let theirs: Document =
            remote.get(&path, &[("branch", branch)]).await.map_err(|failure| match failure.status {
                Some(StatusCode::NOT_FOUND) => format!("{} is no longer on {branch} in Charter", entry.file),
                _ => failure.message,
            })?;
        let merge = merge3(base, &theirs.content, local);
        match merge.clean() {
            Some(text) if text != theirs.content => texts.push((entry.id, text)),
            Some(_) => {}
            None => conflicts.push((entry.file.clone(), marked(&merge.chunks, branch, &entry.file))),
        }
    }
    Ok(if conflicts.is_empty() { Ok(texts) } else { Err(conflicts) })
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

fn conflicted(folder: &Folder, conflicts: Vec<(String, String)>, branch: &str) -> Result<bool, String> {
    for (file, text) in &conflicts {
        folder.write(file, text)?;
        println!("conflict: {file}");
    }
    eprintln!(
        "nothing was pushed: the files above and {branch} in Charter changed the same lines; both sides are in the \
         files between <<<<<<< and >>>>>>> markers: keep what should stay, delete the markers and push again"
    );
    Ok(false)
}

/// A new branch from `from`, named for the folder (`push-specs`, `push-specs-2`, ...).
async fn new_branch(remote: &Remote, project: &str, from: &str, options: &Options) -> Result<String, String> {
    let slug = markdown::slugify(&folder_name(options), |c| c.is_ascii_alphanumeric(), 40);
    let base = format!("push-{}", slug.as_deref().unwrap_or("specs"));
    for n in 1..=20 {
        let name = if n == 1 { base.clone() } else { format!("{base}-{n}") };
        let body = json!({ "name": name, "from": from });
        match remote.send::<serde_json::Value>(Method::POST, &format!("/projects/{project}/branches"), &[], &body).await
        {
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
