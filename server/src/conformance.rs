//! `charter check --contract`: whether the code serves its contract. It reads the
//! contract from a Charter server, compares the OpenAPI document the code's build
//! produced with it (each operation implemented, missing or drifted; operations only
//! the code serves), optionally has the server keep the outcome, and exits non-zero
//! when the code breaks the contract's callers, so CI can refuse code that drifted.

use std::path::PathBuf;

use charter_backend::budget::Budget;
use charter_backend::contract::diff;
use charter_types::{Conformity, ContractCheck, DocumentId, NewContractCheck, OperationConformance};

use crate::check::commit_of;
use crate::remote::Remote;

pub const USAGE: &str =
    "usage: charter check --contract <document id> --implementation <file> --server <url> --token <token> [options]

Compares the OpenAPI document the code's build produced (<file>, YAML or JSON) with the
contract in Charter. Each of the contract's operations is implemented, missing, or
drifted (served in a way that breaks its callers: a response field gone, a request
field made required, a success status changed, …); operations the code serves that
the contract does not have are extra.

options:
  --branch <name>     the branch whose contract counts (default main)
  --upload            have Charter check it too and keep the outcome (shown on the contract)
  --commit <sha>      the commit checked (default: git rev-parse HEAD here)
  --token may also come from CHARTER_TOKEN.

exit status: 0 the code serves the contract, 1 an operation is missing or drifted,
2 usage, connection or server error";

#[derive(Debug)]
pub(crate) struct Options {
    contract: DocumentId,
    implementation: PathBuf,
    server: String,
    token: String,
    branch: String,
    upload: bool,
    commit: Option<String>,
}

pub(crate) fn parse(args: &[String]) -> Result<Options, String> {
    let (mut contract, mut implementation, mut server) = (None, None, None);
    let mut token = std::env::var("CHARTER_TOKEN").ok();
    let (mut branch, mut upload, mut commit) = ("main".to_owned(), false, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().cloned().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--contract" => {
                let id = value("--contract")?;
                contract = Some(id.parse().map_err(|_| format!("--contract needs a document id, not {id}"))?);
            }
            "--implementation" => implementation = Some(PathBuf::from(value("--implementation")?)),
            "--server" => server = Some(value("--server")?),
            "--token" => token = Some(value("--token")?),
            "--branch" => branch = value("--branch")?,
            "--commit" => commit = Some(value("--commit")?),
            "--upload" => upload = true,
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    Ok(Options {
        contract: contract.ok_or("--contract is required")?,
        implementation: implementation.ok_or("--implementation is required")?,
        server: server.ok_or("--server is required")?.trim_end_matches('/').to_owned(),
        token: token.ok_or("--token (or CHARTER_TOKEN) is required")?,
        branch,
        upload,
        commit,
    })
}

fn print(operations: &[OperationConformance], extra: &[String]) {
    for operation in operations {
        println!("{:<12} {}", operation.status.as_str(), operation.operation);
        for difference in operation.differences.iter().filter(|difference| difference.breaking) {
            println!("{:<12}   breaking: {} ({})", "", difference.change, difference.rule);
        }
    }
    for name in extra {
        println!("{:<12} {name}  (served, not in the contract)", "extra");
    }
    let count = |status: Conformity| operations.iter().filter(|operation| operation.status == status).count();
    println!(
        "\n{} operations: {} implemented, {} drifted, {} missing; {} extra",
        operations.len(),
        count(Conformity::Implemented),
        count(Conformity::Drifted),
        count(Conformity::Missing),
        extra.len()
    );
}

/// True when the code serves every operation of the contract.
pub(crate) async fn check(options: Options) -> Result<bool, String> {
    let path = &options.implementation;
    let implementation = std::fs::read_to_string(path).map_err(|err| format!("reading {}: {err}", path.display()))?;
    let remote = Remote::new(&options.server, &options.token);
    let document = format!("/documents/{}", options.contract);
    let branch = [("branch", options.branch.as_str())];
    let (contract, _) = remote.download(&format!("{document}/raw"), &branch).await?;
    let contract = String::from_utf8(contract).map_err(|_| "the contract is not UTF-8 text".to_owned())?;
    // Here nobody else waits: a long check may take its time.
    let budget = Budget::new(std::time::Duration::from_secs(3600));
    let (operations, extra) =
        diff::conformance_of(options.contract, &contract, &implementation, &budget).map_err(|why| why.to_string())?;
    print(&operations, &extra);
    let breaks = operations.iter().any(|operation| operation.status != Conformity::Implemented);

    if options.upload {
        let commit = options.commit.clone().unwrap_or_else(|| commit_of(std::path::Path::new(".")));
        let new = NewContractCheck { commit, implementation };
        let kept: ContractCheck =
            remote.send(reqwest::Method::POST, &format!("{document}/conformance"), &branch, &new).await?;
        println!("uploaded the check for {} (branch {})", kept.commit, kept.branch);
    }
    if breaks {
        eprintln!("FAILED: the code does not serve the contract as its callers were promised");
    }
    Ok(!breaks)
}
