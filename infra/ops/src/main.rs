//! `ops`: the on-call engineer's command line (see `ops --help` and
//! docs/ops.md). Wiring only: the commands live in `ops::cli`.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let code = ops::cli::run(
        std::env::args_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    )
    .await;
    ExitCode::from(code)
}
