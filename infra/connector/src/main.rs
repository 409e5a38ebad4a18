//! `user-sync-connector`: see docs/connector.md. Wiring only: arguments,
//! logs, configuration, the directory, then one run or the service.

use std::process::ExitCode;

use clap::Parser;
use user_sync_connector::cli::{self, Args, exit};
use user_sync_connector::config::Config;
use user_sync_connector::directory::LdapDirectory;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // logs on stderr, so that stdout is the summary alone
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();

    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", args.config.display());
            return ExitCode::from(exit::USAGE);
        }
    };
    if args.check_config {
        let checks = [
            config
                .scim
                .read_token()
                .map(drop)
                .map_err(|e| e.to_string()),
            config
                .directory
                .password()
                .map(drop)
                .map_err(|e| e.to_string()),
        ];
        let errors: Vec<String> = checks.into_iter().filter_map(Result::err).collect();
        for e in &errors {
            eprintln!("{e}");
        }
        return ExitCode::from(if errors.is_empty() {
            exit::OK
        } else {
            exit::USAGE
        });
    }
    let mut directory = LdapDirectory::new(
        config.directory.clone(),
        config.scope.clone(),
        config.mapping.clone(),
    );
    ExitCode::from(cli::run(&args, &config, &mut directory).await)
}
