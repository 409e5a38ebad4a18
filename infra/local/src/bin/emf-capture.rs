//! `emf-capture FILE`: reads the local runner's stdout on stdin, appends its
//! embedded-metric lines to FILE (for `ops metrics`) and writes every other
//! line to stdout. Ends when its input does (`scripts/dev` starts it with
//! Ctrl-C ignored, so that it keeps the runner's last lines).

use std::fs::OpenOptions;
use std::io::{self, BufReader};
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: emf-capture FILE");
        return ExitCode::from(2);
    };
    let mut file = match OpenOptions::new().create(true).append(true).open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("emf-capture: {}: {e}", path.to_string_lossy());
            return ExitCode::FAILURE;
        }
    };
    let stdin = io::stdin();
    let mut stdout = io::stdout();
    match local_stack::emf::split(BufReader::new(stdin.lock()), &mut file, &mut stdout) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("emf-capture: {e}");
            ExitCode::FAILURE
        }
    }
}
