//! `charter pull`, `push` and `status`: a project's documents as a folder of Markdown in
//! a code repository, kept in step with Charter. `pull` writes them; `push` sends the
//! folder's edits, each merged by the server into the document as it is now (by lines,
//! git's rules, the merge change requests use), onto a branch with a change request, or
//! onto the branch of the one it opened before while that is open, and brings the files
//! to what the branch then holds; `status` compares the folder with the branch pulled
//! and fails when they differ, so CI can require that the specs in the repository are
//! the ones in Charter.

mod folder;
mod push;

use std::path::PathBuf;
use std::process::ExitCode;

use charter_backend::exchange::layouts;
use charter_types::{ChangeRequestState, ChangeRequestSummary, Document, DocumentId, Layout, ProjectId, TreeEntry};

use crate::cli;
use crate::remote::Remote;
use folder::{digest, Entry, Folder, Manifest, Pushed};

pub const USAGE: &str = "usage:
  charter pull   --project <id> --server <url> --token <token> [--branch <name>]
                 [--layout charter|speckit|openspec|kiro] <dir>
  charter push   --server <url> --token <token> [--title <text>] <dir>
  charter status --server <url> --token <token> <dir>

pull    writes the project's documents into <dir> as Markdown, one file per document
        (the tree as folders, or where --layout's tool keeps them: Spec Kit's specs/,
        OpenSpec's openspec/specs/, Kiro's .kiro/specs/; texts as Charter holds them),
        and what it pulled into <dir>/.charter
push    sends the edits made in <dir> to a branch, each merged into the document as it
        is now, and opens a change request into the branch pulled (or adds to the one
        the last push opened, while it is open); the files then hold what the branch
        holds. When an edit and Charter changed the same lines it writes both into the
        file, between <<<<<<< and >>>>>>> markers, and pushes nothing more
status  compares <dir> with the branch pulled, saying which side changed what

--token may also come from CHARTER_TOKEN and --server from CHARTER_SERVER; push and
status refuse a server other than the one the folder was pulled from.

exit status: 0 done (status: the folder is the branch's text); 1 status: they differ,
push: a conflict; 2 usage, connection or server error";

#[derive(Debug)]
struct Options {
    project: Option<String>,
    server: String,
    token: String,
    branch: String,
    title: Option<String>,
    /// Given to `pull`; the others read it from the folder.
    layout: Option<Layout>,
    dir: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let (mut project, mut title, mut dir, mut layout) = (None, None, None, None);
    let mut server = std::env::var("CHARTER_SERVER").ok();
    let mut token = std::env::var("CHARTER_TOKEN").ok();
    let mut branch = "main".to_owned();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--project" => project = Some(value("--project")?),
            "--server" => server = Some(value("--server")?),
            "--token" => token = Some(value("--token")?),
            "--branch" => branch = value("--branch")?,
            "--title" => title = Some(value("--title")?),
            "--layout" => {
                let given = value("--layout")?;
                layout = Some(
                    given
                        .parse()
                        .map_err(|_| format!("--layout takes charter, speckit, openspec or kiro, not {given}"))?,
                );
            }
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other if dir.is_none() => dir = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Options {
        project,
        server: server.ok_or("--server (or CHARTER_SERVER) is required")?.trim_end_matches('/').to_owned(),
        token: token.ok_or("--token (or CHARTER_TOKEN) is required")?,
        branch,
        title,
        layout,
        dir: dir.ok_or("the folder is required")?,
    })
}

/// Runs `charter <command>` (`pull`, `push` or `status`) with the arguments after it.
pub async fn run(command: &str, args: &[String]) -> ExitCode {
    cli::run(command, USAGE, args, parse, |options| async move {
        match command {
            "pull" => pull(&options).await,
            "push" => push::push(&options).await,
            _ => status(&options).await,
        }
    })
    .await
}

async fn pull(options: &Options) -> Result<bool, String> {
    let project: ProjectId = options
        .project
        .as_deref()
        .ok_or("--project is required")?
        .parse()
        .map_err(|_| "--project takes the project's id")?;
    let folder = Folder::new(&options.dir);
    let remote = Remote::new(&options.server, &options.token);
    let (tree, documents) = documents(&remote, project, &options.branch).await?;
    let earlier = match folder.has_manifest() {
        true => {
            let (mut earlier, remote) = connected(&folder, options)?;
            settled(&folder, &mut earlier, &remote).await?;
            Some(earlier)
        }
        false => None,
    };
    if let Some(earlier) = &earlier {
        if earlier.project != project {
            return Err(format!(
                "{} holds project {}: pull into another folder",
                options.dir.display(),
                earlier.project
            ));
        }
        // Work in the folder that is not on the branch would be lost.
        let unsent: Vec<String> = compare(&folder, earlier, &documents)?
            .into_iter()
            .filter(|change| match (change.side, change.what) {
                // A file deleted here comes back; nothing is lost.
                (Side::Folder, What::Deleted) | (Side::Charter, _) => false,
                (Side::Folder | Side::Both, _) => true,
            })
            .map(|change| change.file)
            .collect();
        if !unsent.is_empty() {
            let waiting = earlier.proposal.as_ref().and_then(|pushed| pushed.number);
            let hint = waiting.map_or_else(
                || "push them first".to_owned(),
                |n| format!("push them, or pull once change request #{n} is merged"),
            );
            return Err(format!("{} differ from {} in Charter: {hint}", unsent.join(", "), options.branch));
        }
    }
    // A folder keeps its layout unless told another.
    let layout = options.layout.or(earlier.as_ref().map(|earlier| earlier.layout)).unwrap_or(Layout::Charter);
    let texts = documents.iter().map(|document| (document.id, document.content.clone())).collect();
    let places = layouts::places(layout, &layouts::as_docs(&tree, &texts));
    let mut entries = Vec::with_capacity(documents.len());
    for (document, file) in documents.iter().zip(places) {
        folder.write(&file, &document.content)?;
        folder.save_base(document.id, &document.content)?;
        let (title, kind, sha256) = (document.title.clone(), document.kind, digest(&document.content));
        entries.push(Entry { id: document.id, file, title, kind, sha256 });
    }
    // Files of documents no longer on the branch (or moved) go; they held nothing unsent.
    for gone in earlier.iter().flat_map(|earlier| &earlier.documents) {
        if entries.iter().all(|entry| entry.file != gone.file) && folder.read(&gone.file)?.is_some() {
            folder.remove(&gone.file)?;
        }
    }
    let manifest = Manifest {
        server: remote.server().to_owned(),
        project,
        branch: options.branch.clone(),
        layout,
        pulled_at: chrono::Utc::now(),
        documents: entries,
        // A change request still open into this branch is still the one to add to.
        proposal: earlier.filter(|earlier| earlier.branch == options.branch).and_then(|earlier| earlier.proposal),
    };
    folder.save_manifest(&manifest)?;
    println!(
        "pulled {} documents of branch {} into {}",
        manifest.documents.len(),
        options.branch,
        options.dir.display()
    );
    Ok(true)
}

/// True when the folder holds the branch's documents as they are.
async fn status(options: &Options) -> Result<bool, String> {
    let folder = Folder::new(&options.dir);
    let (manifest, remote) = connected(&folder, options)?;
    let (_, documents) = documents(&remote, manifest.project, &manifest.branch).await?;
    let changes = compare(&folder, &manifest, &documents)?;
    for change in &changes {
        let side = match change.side {
            Side::Folder => "in the folder",
            Side::Charter => "in Charter",
            Side::Both => "in both",
        };
        let what = match change.what {
            What::Changed => "changed",
            What::New => "new",
            What::Deleted => "deleted",
        };
        println!("{what} {side}: {}", change.file);
    }
    for file in untracked(&folder, &manifest)? {
        println!("not a document (left alone): {file}");
    }
    if let Some(pushed) = &manifest.proposal {
        let number = pushed.number.map_or_else(|| "not opened yet".to_owned(), |number| format!("#{number}"));
        println!("the last push: branch {}, change request {number}", pushed.branch);
    }
    match changes.is_empty() {
        true => println!("the folder holds {} of {} as it is", manifest.branch, manifest.server),
        false => eprintln!(
            "the folder and {} in Charter differ: push the folder's changes, or pull Charter's",
            manifest.branch
        ),
    }
    Ok(changes.is_empty())
}

/// The folder's manifest, and its server, if the one given is the one it was pulled from:
/// a manifest is the repository's to change, and the token goes to the server.
fn connected(folder: &Folder, options: &Options) -> Result<(Manifest, Remote), String> {
    let manifest = folder.manifest()?;
    if manifest.server != options.server {
        return Err(format!(
            "{} was pulled from {}, not {}: give that server, or pull anew into another folder",
            options.dir.display(),
            manifest.server,
            options.server
        ));
    }
    let remote = Remote::new(&manifest.server, &options.token);
    Ok((manifest, remote))
}

/// Where a difference between the folder and the branch comes from, against the pull.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Folder,
    Charter,
    Both,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Changed,
    New,
    Deleted,
}

struct Change {
    file: String,
    side: Side,
    what: What,
}

/// Where the folder and the branch's `documents` differ.
fn compare(folder: &Folder, manifest: &Manifest, documents: &[Document]) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    for entry in &manifest.documents {
        let local = folder.read(&entry.file)?;
        let charter = documents.iter().find(|document| document.id == entry.id);
        let change = match (&local, charter) {
            (Some(local), Some(charter)) if *local == charter.content => None,
            (Some(local), Some(charter)) => {
                let (folder_moved, charter_moved) =
                    (digest(local) != entry.sha256, digest(&charter.content) != entry.sha256);
                let side = match (folder_moved, charter_moved) {
                    (true, false) => Side::Folder,
                    (false, _) => Side::Charter,
                    (true, true) => Side::Both,
                };
                Some((side, What::Changed))
            }
            (None, Some(_)) => Some((Side::Folder, What::Deleted)),
            // Deleted in Charter; if edited here too, both sides hold something.
            (Some(local), None) if digest(local) != entry.sha256 => Some((Side::Both, What::Deleted)),
            (Some(_), None) => Some((Side::Charter, What::Deleted)),
            (None, None) => None,
        };
        changes.extend(change.map(|(side, what)| Change { file: entry.file.clone(), side, what }));
    }
    for document in documents.iter().filter(|document| manifest.documents.iter().all(|entry| entry.id != document.id)) {
        changes.push(Change { file: format!("“{}”", document.title), side: Side::Charter, what: What::New });
    }
    Ok(changes)
}

/// The change request the last push opened, while it is open (or its branch, when that
/// push stopped before opening it). Once it is merged, what it pushed is the folder's
/// base, as if pulled; once it is closed, the next push starts anew.
async fn settled(folder: &Folder, manifest: &mut Manifest, remote: &Remote) -> Result<Option<Pushed>, String> {
    let Some(pushed) = manifest.proposal.clone() else { return Ok(None) };
    let project = manifest.project;
    let state = match pushed.number {
        Some(number) => {
            let path = format!("/projects/{project}/change-requests/{number}");
            remote.get::<ChangeRequestSummary>(&path, &[]).await?.state
        }
        None => {
            let branches: Vec<serde_json::Value> = remote.get(&format!("/projects/{project}/branches"), &[]).await?;
            match branches.iter().any(|branch| branch["name"] == pushed.branch.as_str()) {
                true => ChangeRequestState::Open,
                false => ChangeRequestState::Closed,
            }
        }
    };
    match state {
        ChangeRequestState::Open => return Ok(Some(pushed)),
        ChangeRequestState::Merged => {
            for entry in &mut manifest.documents {
                if let Some(text) = folder.pushed(entry.id)? {
                    folder.save_base(entry.id, &text)?;
                    entry.sha256 = digest(&text);
                }
            }
        }
        ChangeRequestState::Closed => {}
    }
    folder.forget_pushed()?;
    manifest.proposal = None;
    folder.save_manifest(manifest)?;
    Ok(None)
}

/// Markdown files of the folder that are no document's (a README, say): left alone.
fn untracked(folder: &Folder, manifest: &Manifest) -> Result<Vec<String>, String> {
    let files = folder.markdown_files()?;
    Ok(files.into_iter().filter(|file| manifest.documents.iter().all(|entry| entry.file != *file)).collect())
}

/// A branch's live documents with their text, in tree order.
async fn documents(
    remote: &Remote,
    project: ProjectId,
    branch: &str,
) -> Result<(Vec<TreeEntry>, Vec<Document>), String> {
    let query = [("branch", branch)];
    let tree: Vec<TreeEntry> = remote.get(&format!("/projects/{project}/documents"), &query).await?;
    let mut documents = Vec::with_capacity(tree.len());
    for entry in &tree {
        documents.push(remote.get::<Document>(&format!("/documents/{}", entry.id), &query).await?);
    }
    Ok((tree, documents))
}

/// One document of the branch, with its text.
async fn document(remote: &Remote, id: DocumentId, branch: &str) -> Result<Document, String> {
    Ok(remote.get(&format!("/documents/{id}"), &[("branch", branch)]).await?)
}
