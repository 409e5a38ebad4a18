//! `local-stack`: runs User Sync on this machine with a demo organization.
//!
//! ```text
//! local-stack [--repo-root PATH] [--port 8080] [--simulator-port 4010] [--aws-endpoint-url URL]
//!             [--product-api-url URL] [--state-dir PATH] [--schedule-every SECONDS]
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use local_stack::{LocalInfo, Stack, StackError, StackOptions, error_chain};
use tracing_subscriber::EnvFilter;
use user_sync_core::StoreError;
use user_sync_core::catalog::{Catalog, DEMO_PRODUCTS};
use user_sync_core::ids::OrgId;

const DEMO_ORG: &str = "demo";
const DEMO_ORG_NAME: &str = "Demo Company";

const USAGE: &str = "usage: local-stack [--repo-root PATH] [--port 8080] [--simulator-port 4010] [--aws-endpoint-url URL] [--product-api-url URL] [--state-dir PATH]

  --aws-endpoint-url URL  use an AWS emulator that is already running
  --product-api-url URL   use a product API simulator that is already running
  --state-dir PATH        where stack.json and ops.env are written (default: <repo-root>/.local)
  --schedule-every SECONDS  run the template's schedules (the domain re-check) this often instead of at their rate";

/// The options, and where stack.json and ops.env go (`None`: the repository's `.local`).
fn parse_args() -> Result<(StackOptions, Option<PathBuf>), String> {
    let mut opts = StackOptions {
        repo_root: PathBuf::from("."),
        aws_endpoint_url: None,
        http_port: 8080,
        simulator_port: 4010,
        product_api_url: None,
        paused: Default::default(),
        record_calls: None,
        parameters: Default::default(),
        schedule_every: None,
    };
    let mut state_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
            None => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            return Err(USAGE.to_owned());
        }
        if ![
            "--repo-root",
            "--port",
            "--simulator-port",
            "--aws-endpoint-url",
            "--product-api-url",
            "--state-dir",
            "--schedule-every",
        ]
        .contains(&name.as_str())
        {
            return Err(format!("unknown argument {name}\n{USAGE}"));
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?;
        let port = |v: &str| {
            v.parse::<u16>()
                .map_err(|_| format!("{name}: {v:?} is not a port"))
        };
        match name.as_str() {
            "--repo-root" => opts.repo_root = PathBuf::from(value),
            "--port" => opts.http_port = port(&value)?,
            "--simulator-port" => opts.simulator_port = port(&value)?,
            "--aws-endpoint-url" => opts.aws_endpoint_url = Some(value),
            "--product-api-url" => opts.product_api_url = Some(value),
            "--state-dir" => state_dir = Some(PathBuf::from(value)),
            "--schedule-every" => {
                let seconds = value
                    .parse::<u64>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| {
                        format!("{name}: {value:?} is not a positive number of seconds")
                    })?;
                opts.schedule_every = Some(std::time::Duration::from_secs(seconds));
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    // Absolute, so the paths printed are usable from anywhere.
    if let Ok(root) = opts.repo_root.canonicalize() {
        opts.repo_root = root;
    }
    Ok((opts, state_dir))
}

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to stderr; stdout has the summary block only.
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let (opts, state_dir) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(opts, state_dir).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("local-stack: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(opts: StackOptions, state_dir: Option<PathBuf>) -> Result<(), StackError> {
    let info_path = state_dir
        .unwrap_or_else(|| opts.repo_root.join(".local"))
        .join("stack.json");
    let external_emulator = opts.aws_endpoint_url.is_some();
    let stack = Stack::start(opts).await?;

    let result = announce(&stack, &info_path, external_emulator).await;
    if result.is_ok() {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("stopping"),
            Err(e) => tracing::error!(error = %e, "cannot wait for Ctrl-C; stopping"),
        }
    }
    stack.shutdown().await;
    result
}

/// Creates the demo organization, writes stack.json and prints the summary.
async fn announce(
    stack: &Stack,
    info_path: &std::path::Path,
    external_emulator: bool,
) -> Result<(), StackError> {
    let org_id = OrgId::parse(DEMO_ORG).map_err(|e| StackError::Template(e.to_string()))?;
    let tokens = match stack.create_organization(&org_id, DEMO_ORG_NAME).await {
        Ok(org) => {
            // privileges, groups and templates; the simulator offers the
            // GoTo products (its default list), with the demo's seats
            stack.set_catalog(&org_id, Catalog::demo()).await?;
            let seats = DEMO_PRODUCTS
                .iter()
                .map(|p| (p.id.to_owned(), p.seats))
                .collect();
            stack.set_seats(&org_id, seats).await?;
            Some((org.scim_token, org.admin_token))
        }
        Err(StackError::Organization {
            source: StoreError::Conflict(_),
            ..
        }) if external_emulator => {
            // A shared emulator keeps the organization between runs; its
            // tokens are only known from the previous run's stack.json.
            let previous = LocalInfo::read(info_path)
                .filter(|p| p.org_id == DEMO_ORG && p.aws_endpoint_url == stack.aws_endpoint_url);
            match previous.and_then(|p| p.scim_token.zip(p.admin_token)) {
                Some(tokens) => Some(tokens),
                None => {
                    tracing::warn!(
                        "the demo organization exists in this emulator but its tokens are unknown"
                    );
                    None
                }
            }
        }
        Err(e) => return Err(e),
    };
    let info = LocalInfo::new(stack, DEMO_ORG, DEMO_ORG_NAME, tokens);
    info.write(info_path)?;
    info.write_ops_env(&info_path.with_file_name("ops.env"))?;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{}", info.render(info_path)).and_then(|()| out.flush()) {
        tracing::warn!(error = %e, "cannot print the summary");
    }
    Ok(())
}
