//! What the command-line tools (`charter check`, `pull`, `push`, `status`) share: how a
//! run ends. `--help` prints the usage; arguments that do not parse, and failures, are
//! said and exit 2; otherwise the outcome decides: 0 when it holds, 1 when it does not.

use std::future::Future;
use std::process::ExitCode;

pub async fn run<O, Fut>(
    name: &str,
    usage: &str,
    args: &[String],
    parse: impl FnOnce(&[String]) -> Result<O, String>,
    work: impl FnOnce(O) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = Result<bool, String>>,
{
    if args.iter().any(|arg| arg == "--help" || arg == "-h") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("charter {name}: {message}\n\n{usage}");
            return ExitCode::from(2);
        }
    };
    match work(options).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("charter {name}: {message}");
            ExitCode::from(2)
        }
    }
}
