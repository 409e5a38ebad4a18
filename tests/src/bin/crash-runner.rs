//! The local runner as a process of its own, for the crash test: the AWS
//! emulator and the product API simulator run outside it (their URLs in
//! `USER_SYNC_AWS_ENDPOINT_URL` and `USER_SYNC_PRODUCT_API_URL`), so that
//! killing it loses only what a crashed Lambda would lose. It serves the
//! HTTP API on `USER_SYNC_HTTP_PORT`, writes what the test needs to know to
//! the file `USER_SYNC_RUNNER_INFO`, and runs until it is killed.

use std::path::PathBuf;
use std::process::ExitCode;

use local_stack::{Stack, StackOptions, error_chain};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

async fn run() -> Result<(), String> {
    let port: u16 = var("USER_SYNC_HTTP_PORT")?
        .parse()
        .map_err(|_| "USER_SYNC_HTTP_PORT is not a port".to_owned())?;
    let repo_root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .ok_or("no repository root")?;
    let mut opts = StackOptions::new(repo_root);
    opts.aws_endpoint_url = Some(var("USER_SYNC_AWS_ENDPOINT_URL")?);
    opts.product_api_url = Some(var("USER_SYNC_PRODUCT_API_URL")?);
    opts.http_port = port;
    let stack = Stack::start(opts).await.map_err(|e| error_chain(&e))?;
    let info = serde_json::json!({
        "scimUrl": stack.scim_url,
        "apiUrl": stack.api_url,
        "directoryTable": stack.directory_table,
        "stateTable": stack.state_table,
        "queues": stack.queues,
    });
    let path = var("USER_SYNC_RUNNER_INFO")?;
    std::fs::write(&path, info.to_string()).map_err(|e| format!("writing {path}: {e}"))?;
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash-runner: {e}");
            ExitCode::FAILURE
        }
    }
}
