//! `charter pull`, `push` and `status`: a project's documents as a folder of Markdown in
//! a code repository, kept in step with Charter. `pull` writes them; `push` merges the
//! folder's edits with what changed in Charter meanwhile (three-way, git's rules, the
//! same merge as change requests) onto a branch and opens a change request, or adds to
//! the one it opened before while that is open; `status` says what changed on either
//! side since the pull, and fails when they differ, so CI can require that the specs in
//! the repository are the ones in Charter.

mod folder;
mod push;

use std::path::PathBuf;
use std::process::ExitCode;

use charter_backend::documents::paths::Paths;
use charter_types::{Document, TreeEntry};

use crate::cli;
use crate::remote::Remote;
use folder::{digest, Entry, Folder, Manifest};

pub const USAGE: &str = "usage:
  charter pull   --project <id> --server <url> --token <token> [--branch <name>] <dir>
  charter push   --token <token> [--title <text>] <dir>
  charter status --token <token> <dir>

pull    writes the project's documents into <dir> as Markdown, one file per document
        (the tree as folders), and what it pulled into <dir>/.charter
push    merges the edits made in <dir> since the pull with those made in Charter
        meanwhile, writes them on a branch and opens a change request into the branch
        pulled (or updates the one the last push opened, while it is open); on a
        conflict it writes both sides into the file, between <<<<<<< and >>>>>>>
        markers, and pushes nothing
status  lists what changed in <dir> and in Charter since the pull

--token may also come from CHARTER_TOKEN; push and status read the server, project
and branch from <dir>/.charter/manifest.json.

exit status: 0 done (status: nothing changed), 1 status: the folder and Charter
differ; push: a conflict; 2 usage, connection or server error";

#[derive(Debug)]
struct Options {
    project: Option<String>,
    server: Option<String>,
    token: String,
    branch: String,
    title: Option<String>,
    dir: PathBuf,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let (mut project, mut server, mut title, mut dir) = (None, None, None, None);
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
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other if dir.is_none() => dir = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Options {
        project,
        server,
        token: token.ok_or("--token (or CHARTER_TOKEN) is required")?,
        branch,
        title,
        dir: dir.ok_or("the folder is required")?,
    })
}

/// Runs `charter <command>` (`pull`, `push` or `status`) with the arguments after it.
pub async fn run(command: &str, args: &[String]) -> ExitCode {
    cli::run(command, USAGE, args, parse, |options| async move {
        match command {
            "pull" => pull(&options).await.map(|()| true),
            "push" => push::push(&options).await,
            _ => status(&options).await,
        }
    })
    .await
}

async fn pull(options: &Options) -> Result<(), String> {
    let project = options.project.as_deref().ok_or("--project is required")?;
    let server = options.server.as_deref().ok_or("--server is required")?;
    let folder = Folder::new(&options.dir);
    if folder.has_manifest() {
        let local = local_changes(&folder, &folder.manifest()?)?;
        if !local.is_empty() {
            return Err(format!("the folder has changes not pushed ({}): push them first", local.join(", ")));
        }
    }
    let remote = Remote::new(server, &options.token);
    let (tree, documents) = documents(&remote, project, &options.branch).await?;
    let paths = Paths::of(&tree);
    let mut entries = Vec::with_capacity(documents.len());
    for (document, (_, path)) in documents.iter().zip(paths.iter()) {
        let file = format!("{path}.md");
        folder.write(&file, &document.content)?;
        folder.save_base(document.id, &document.content)?;
        entries.push(Entry {
            id: document.id,
            file,
            title: document.title.clone(),
            kind: document.kind,
            sha256: digest(&document.content),
        });
    }
    let manifest = Manifest {
        server: remote.server().to_owned(),
        project: project.to_owned(),
        branch: options.branch.clone(),
        pulled_at: chrono::Utc::now(),
        documents: entries,
        proposal: None,
    };
    folder.save_manifest(&manifest)?;
    println!(
        "pulled {} documents of branch {} into {}",
        manifest.documents.len(),
        options.branch,
        options.dir.display()
    );
    Ok(())
}

/// True when the folder and Charter are as they were at the pull.
async fn status(options: &Options) -> Result<bool, String> {
    let folder = Folder::new(&options.dir);
    let manifest = folder.manifest()?;
    let remote = Remote::new(&manifest.server, &options.token);
    let local = local_changes(&folder, &manifest)?;
    let (_, documents) = documents(&remote, &manifest.project, &manifest.branch).await?;
    let mut charter = Vec::new();
    for entry in &manifest.documents {
        match documents.iter().find(|document| document.id == entry.id) {
            Some(document) if digest(&document.content) != entry.sha256 => {
                charter.push(format!("changed {}", entry.file))
            }
            Some(_) => {}
            None => charter.push(format!("deleted {}", entry.file)),
        }
    }
    for document in documents.iter().filter(|document| manifest.documents.iter().all(|entry| entry.id != document.id)) {
        charter.push(format!("new “{}”", document.title));
    }
    for line in &local {
        println!("in the folder:  {line}");
    }
    for line in &charter {
        println!("in Charter ({}):  {line}", manifest.branch);
    }
    if let Some(pushed) = &manifest.proposal {
        println!("the last push opened change request #{} (branch {})", pushed.number, pushed.branch);
    }
    let in_step = local.is_empty() && charter.is_empty();
    match in_step {
        true => println!("in step with {} (branch {})", manifest.server, manifest.branch),
        false => eprintln!("the folder and Charter differ: push the folder's changes, or pull Charter's"),
    }
    Ok(in_step)
}

/// What the folder changed since the pull, one line each.
fn local_changes(folder: &Folder, manifest: &Manifest) -> Result<Vec<String>, String> {
    let mut changes = Vec::new();
    for entry in &manifest.documents {
        match folder.read(&entry.file)? {
            Some(text) if digest(&text) != entry.sha256 => changes.push(format!("changed {}", entry.file)),
            Some(_) => {}
            None => changes.push(format!("deleted {}", entry.file)),
        }
    }
    for file in folder.markdown_files()? {
        if manifest.documents.iter().all(|entry| entry.file != file) {
            changes.push(format!("new {file}"));
        }
    }
    Ok(changes)
}

/// A branch's live documents with their text, in tree order.
async fn documents(remote: &Remote, project: &str, branch: &str) -> Result<(Vec<TreeEntry>, Vec<Document>), String> {
    let query = [("branch", branch)];
    let tree: Vec<TreeEntry> = remote.get(&format!("/projects/{project}/documents"), &query).await?;
    let mut documents = Vec::with_capacity(tree.len());
    for entry in &tree {
        documents.push(remote.get::<Document>(&format!("/documents/{}", entry.id), &query).await?);
    }
    Ok((tree, documents))
}
