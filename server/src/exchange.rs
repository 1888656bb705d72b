//! `charter export` and `charter import`: a project's documents as an archive in a spec
//! tool's layout (or ReqIF), and an archive brought in as a change request, through the
//! server's `/projects/{id}/export` and `/import`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use charter_types::{ExportFormat, ImportAction, ImportPlan, Imported, ProjectId};

use crate::cli;
use crate::remote::Remote;

pub const USAGE: &str = "usage:
  charter export --project <id> --server <url> --token <token>
                 --format charter|speckit|openspec|kiro|reqif [--branch <name>] [--output <file>]
  charter import --project <id> --server <url> --token <token>
                 --format charter|speckit|openspec|kiro [--branch <name>] [--title <text>]
                 [--preview] <archive.tar.gz>

export  writes the branch's documents (main when left out) as a .tar.gz in the layout
        asked for, or as ReqIF 1.2 (.reqifz), to --output or to the name the server gives
import  sends an archive in a layout; its documents land on a new branch with a change
        request into --branch (never onto it), which it names; each OpenSpec change
        folder (openspec/changes/<id>/) becomes a change request of its own. --preview
        only says what would be created, updated or left unchanged

--token may also come from CHARTER_TOKEN and --server from CHARTER_SERVER.

exit status: 0 done; 2 usage, connection or server error (the server's words say why)";

struct Options {
    project: ProjectId,
    remote: Remote,
    format: ExportFormat,
    branch: Option<String>,
    output: Option<PathBuf>,
    title: Option<String>,
    preview: bool,
    archive: Option<PathBuf>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let (mut project, mut format, mut branch, mut output, mut title, mut archive) =
        (None, None, None, None, None, None);
    let mut server = std::env::var("CHARTER_SERVER").ok();
    let mut token = std::env::var("CHARTER_TOKEN").ok();
    let mut preview = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--project" => project = Some(value("--project")?),
            "--server" => server = Some(value("--server")?),
            "--token" => token = Some(value("--token")?),
            "--format" => format = Some(value("--format")?),
            "--branch" => branch = Some(value("--branch")?),
            "--output" => output = Some(PathBuf::from(value("--output")?)),
            "--title" => title = Some(value("--title")?),
            "--preview" => preview = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            other if archive.is_none() => archive = Some(PathBuf::from(other)),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    let project = project.ok_or("--project is required")?;
    let format = format.ok_or("--format is required")?;
    Ok(Options {
        project: project.parse().map_err(|_| "--project takes the project's id")?,
        remote: Remote::new(
            &server.ok_or("--server (or CHARTER_SERVER) is required")?,
            &token.ok_or("--token (or CHARTER_TOKEN) is required")?,
        ),
        format: format
            .parse()
            .map_err(|_| format!("--format takes charter, speckit, openspec, kiro or reqif, not {format}"))?,
        branch,
        output,
        title,
        preview,
        archive,
    })
}

/// Runs `charter export` or `charter import` with the arguments after it.
pub async fn run(command: &str, args: &[String]) -> ExitCode {
    cli::run(command, USAGE, args, parse, |options| async move {
        match command {
            "export" => export(&options).await,
            _ => import(&options).await,
        }
    })
    .await
}

async fn export(options: &Options) -> Result<bool, String> {
    let mut query = vec![("format", options.format.as_str())];
    query.extend(options.branch.as_deref().map(|branch| ("branch", branch)));
    let path = format!("/projects/{}/export", options.project);
    let (bytes, named) = options.remote.download(&path, &query).await?;
    // The server's name is taken only as a plain archive name in this folder, and never
    // over a file that is there.
    let named = named.filter(|name| {
        let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        plain && !name.starts_with('.') && (name.ends_with(".tar.gz") || name.ends_with(".reqifz"))
    });
    let extension = if options.format == ExportFormat::ReqIf { "reqifz" } else { "tar.gz" };
    let (output, fresh) = match (&options.output, named) {
        (Some(output), _) => (output.clone(), false),
        (None, Some(name)) => (PathBuf::from(name), true),
        (None, None) => (PathBuf::from(format!("{}-{}.{extension}", options.project, options.format.as_str())), true),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .create_new(fresh)
        .truncate(true)
        .open(&output)
        .map_err(|err| format!("writing {}: {err} (give --output to choose the file)", output.display()))?;
    std::io::Write::write_all(&mut file, &bytes).map_err(|err| format!("writing {}: {err}", output.display()))?;
    println!("wrote {} ({} bytes)", output.display(), bytes.len());
    Ok(true)
}

async fn import(options: &Options) -> Result<bool, String> {
    let archive: &Path = options.archive.as_deref().ok_or("the archive to import is required")?;
    let bytes = std::fs::read(archive).map_err(|err| format!("reading {}: {err}", archive.display()))?;
    let mut query = vec![("format", options.format.as_str())];
    query.extend(options.branch.as_deref().map(|branch| ("branch", branch)));
    query.extend(options.title.as_deref().map(|title| ("title", title)));
    let path = format!("/projects/{}/import", options.project);
    if options.preview {
        query.push(("preview", "true"));
        let plan: ImportPlan = options.remote.upload(&path, &query, "application/gzip", bytes).await?;
        describe(&plan);
        println!("nothing was imported (--preview)");
        return Ok(true);
    }
    let made: Imported = options.remote.upload(&path, &query, "application/gzip", bytes).await?;
    describe(&made.plan);
    for opened in made.documents.iter().chain(&made.changes) {
        println!("opened change request #{} from branch {}: {}", opened.number, opened.branch, opened.title);
    }
    Ok(true)
}

fn describe(plan: &ImportPlan) {
    for document in &plan.documents {
        let action = match document.action {
            ImportAction::Create => "create",
            ImportAction::Update => "update",
            ImportAction::Unchanged => "unchanged",
        };
        let keys = match document.keys_assigned {
            0 => String::new(),
            n => format!(", {n} keys given"),
        };
        println!(
            "{action:<9} {:<12} {} <- {} ({} requirements{keys})",
            document.kind.as_str(),
            document.path,
            document.file,
            document.requirements
        );
    }
    for change in &plan.changes {
        println!("change    {} ({}): changes {}", change.id, change.title, change.specs.join(", "));
    }
    for file in &plan.skipped {
        println!("left out  {file} (not a document in the {} layout)", plan.layout.label());
    }
}
