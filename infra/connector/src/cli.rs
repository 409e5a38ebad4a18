//! The command line: arguments, one run or the service loop, the summary
//! (text or JSON) and the exit codes a scheduler acts on.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::json;

use crate::config::{Config, parse_duration};
use crate::scim::ScimClient;
use crate::sync::plan::{Change, Plan};
use crate::sync::{self, Directory, Kind, Options, Report, Stop};

/// Exit codes (docs/connector.md, "Output and exit codes").
pub mod exit {
    /// The run sent everything it planned (the service: stopped by a signal).
    pub const OK: u8 = 0;
    /// Some users or groups were refused by the endpoint; the rest was sent
    /// and the next run tries them again.
    pub const PARTIAL: u8 = 1;
    /// A wrong argument or configuration.
    pub const USAGE: u8 = 2;
    /// The deactivation guard stopped the run; nothing was changed.
    pub const GUARD: u8 = 3;
    /// The directory could not be read, or returned no user.
    pub const DIRECTORY: u8 = 4;
    /// The SCIM endpoint could not be reached, or refused the token.
    pub const SCIM: u8 = 5;
    /// The state file could not be read or written.
    pub const STATE: u8 = 6;
}

/// Reads Active Directory or LDAP and keeps an organization's User Sync
/// directory in step, through its SCIM endpoint (docs/connector.md).
#[derive(Debug, Parser)]
#[command(name = "user-sync-connector", version)]
pub struct Args {
    /// The configuration file.
    #[arg(
        long,
        short,
        env = "USER_SYNC_CONNECTOR_CONFIG",
        default_value = "/etc/user-sync-connector/connector.toml"
    )]
    pub config: PathBuf,
    /// Run once and exit (the default is the service: a run, then another
    /// `sync.interval` after it ends).
    #[arg(long, conflicts_with = "interval")]
    pub once: bool,
    /// Service mode with this time between runs ("90s", "2m"), over
    /// `sync.interval`.
    #[arg(long, value_parser = duration_arg)]
    pub interval: Option<Duration>,
    /// Print the plan and send nothing (implies --once).
    #[arg(long)]
    pub dry_run: bool,
    /// Let the next run deactivate more users than the guard allows.
    #[arg(long)]
    pub allow_deactivations: bool,
    /// Read the whole directory, even when an incremental read would do.
    #[arg(long)]
    pub full: bool,
    /// The summary's form.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Check the configuration and the token's source, and exit.
    #[arg(long)]
    pub check_config: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

fn duration_arg(s: &str) -> Result<Duration, String> {
    match parse_duration(s) {
        Some(d) if d >= Duration::from_secs(10) => Ok(d),
        Some(_) => Err("at least 10s".into()),
        None => Err("a number and a unit, s, m, h or d (\"90s\", \"2m\")".into()),
    }
}

/// What one run ended as, for the exit code and the output.
pub fn exit_code(result: &Result<Report, Stop>) -> u8 {
    match result {
        Ok(r) if r.failures.is_empty() => exit::OK,
        Ok(_) => exit::PARTIAL,
        Err(Stop::Guard { .. }) => exit::GUARD,
        Err(Stop::EmptyDirectory | Stop::Directory(_)) => exit::DIRECTORY,
        Err(Stop::Scim(_)) => exit::SCIM,
        Err(Stop::State(_)) => exit::STATE,
    }
}

/// The options of a run from the arguments and the configuration.
pub fn options(args: &Args, config: &Config) -> Options {
    Options {
        dry_run: args.dry_run,
        allow_deactivations: args.allow_deactivations,
        force_full: args.full,
        guard: config.sync.guard,
        full_every: config.sync.full_every,
        concurrency: config.scim.concurrency,
    }
}

/// Runs once or as a service; returns the process's exit code.
pub async fn run<D: Directory>(args: &Args, config: &Config, directory: &mut D) -> u8 {
    let token = match config.scim.read_token() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return exit::USAGE;
        }
    };
    let client = match ScimClient::new(&config.scim.url, token, config.scim.timeout) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return exit::SCIM;
        }
    };
    let state = config.sync.state_dir.join("state.json");
    let mut options = options(args, config);
    if args.once || args.dry_run {
        let result = sync::run(directory, &client, &state, &options).await;
        print(args.output, &result);
        return exit_code(&result);
    }

    let interval = args.interval.unwrap_or(config.sync.interval);
    tracing::info!(interval_s = interval.as_secs(), "running as a service");
    loop {
        let result = sync::run(directory, &client, &state, &options).await;
        print(args.output, &result);
        if matches!(
            result,
            Err(Stop::Scim(ref e)) if e.is_fatal()
        ) {
            return exit::SCIM;
        }
        if matches!(result, Err(Stop::State(_))) {
            return exit::STATE;
        }
        // an allow is for one run
        options.allow_deactivations = false;
        options.force_full = false;
        let wait = interval + jitter(config.sync.jitter);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shutdown() => {
                tracing::info!("stopping");
                return exit::OK;
            }
        }
    }
}

/// SIGTERM (systemd's stop) or Ctrl-C.
async fn shutdown() {
    #[cfg(unix)]
    {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ignored = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ignored = tokio::signal::ctrl_c().await;
    }
}

/// A random time up to `max`.
fn jitter(max: Duration) -> Duration {
    let mut r = [0u8; 4];
    match getrandom::fill(&mut r) {
        Ok(()) => max.mul_f64(f64::from(u32::from_le_bytes(r)) / f64::from(u32::MAX)),
        Err(_) => Duration::ZERO,
    }
}

/// Writes the summary (stdout) and, for a stopped run, the reason (stderr).
#[allow(clippy::print_stdout)]
pub fn print(output: Output, result: &Result<Report, Stop>) {
    let mut out = std::io::stdout().lock();
    let _ignored = match output {
        Output::Json => writeln!(out, "{}", json_summary(result)),
        Output::Text => write!(out, "{}", text_summary(result)),
    };
    if let Err(e) = result {
        eprintln!("{e}");
    }
}

/// The JSON summary: the report, or why the run stopped.
pub fn json_summary(result: &Result<Report, Stop>) -> serde_json::Value {
    match result {
        Ok(r) => {
            json!({"outcome": if r.failures.is_empty() { "ok" } else { "partial" }, "exitCode": exit_code(result), "report": r})
        }
        Err(e) => {
            let (outcome, report) = match e {
                Stop::Guard { report, .. } => ("guard", Some(report)),
                Stop::EmptyDirectory => ("emptyDirectory", None),
                Stop::Directory(_) => ("directoryError", None),
                Stop::Scim(_) => ("scimError", None),
                Stop::State(_) => ("stateError", None),
            };
            json!({"outcome": outcome, "exitCode": exit_code(result), "message": e.to_string(), "report": report})
        }
    }
}

/// The text summary; a dry run lists the plan.
pub fn text_summary(result: &Result<Report, Stop>) -> String {
    let report = match result {
        Ok(r) => r,
        Err(Stop::Guard { report, .. }) => report,
        Err(_) => return String::new(),
    };
    let mut s = String::new();
    if let Some(plan) = &report.plan {
        s.push_str(&plan_text(plan));
    }
    let kind = match report.kind {
        Kind::Full => "full",
        Kind::Incremental => "incremental",
    };
    let c = if report.dry_run || result.is_err() {
        &report.planned
    } else {
        &report.done
    };
    let verb = if report.dry_run {
        "dry run, would send"
    } else if result.is_err() {
        "stopped, planned"
    } else {
        "sent"
    };
    s.push_str(&format!(
        "{kind} run: read {} users, {} groups; {verb}: {} created, {} updated, {} deactivated, {} reactivated, {} groups created, {} groups renamed, {} members added, {} members removed; {} failed; {} SCIM reads, {} writes; {:.1} s\n",
        report.directory_users,
        report.directory_groups,
        c.created,
        c.updated,
        c.deactivated,
        c.reactivated,
        c.groups_created,
        c.groups_renamed,
        c.members_added,
        c.members_removed,
        report.failures.len(),
        report.reads,
        report.writes,
        report.duration_ms as f64 / 1000.0,
    ));
    for f in &report.failures {
        s.push_str(&format!(
            "failed: {} {} {}: {}\n",
            f.action, f.resource, f.external_id, f.error
        ));
    }
    s
}

/// One line per request of a plan, for the dry run.
pub fn plan_text(plan: &Plan) -> String {
    let mut s = String::new();
    for c in &plan.creates {
        s.push_str(&format!(
            "create user {} ({}){}\n",
            c.user.user_name,
            c.user.external_id,
            if c.user.active { "" } else { ", inactive" }
        ));
    }
    for u in &plan.updates {
        let attrs: Vec<String> = u.changes.iter().map(Change::attribute).collect();
        let verb = if u.changes.contains(&Change::Active(false)) {
            "deactivate (disabled) user"
        } else if u.changes.contains(&Change::Active(true)) {
            "reactivate user"
        } else {
            "update user"
        };
        s.push_str(&format!(
            "{verb} {} ({}): {}\n",
            u.external_id,
            u.id,
            attrs.join(", ")
        ));
    }
    for d in &plan.deactivations {
        s.push_str(&format!(
            "deactivate (left the scope) user {} ({})\n",
            d.external_id, d.id
        ));
    }
    for g in &plan.group_creates {
        s.push_str(&format!(
            "create group {} ({}) with {} members\n",
            g.name,
            g.external_id,
            g.members.len()
        ));
    }
    for g in &plan.group_updates {
        let mut parts = Vec::new();
        if let Some(n) = &g.rename {
            parts.push(format!("rename to {n}"));
        }
        if !g.add.is_empty() {
            parts.push(format!("add {} members", g.add.len()));
        }
        if !g.remove.is_empty() {
            parts.push(format!("remove {} members", g.remove.len()));
        }
        s.push_str(&format!(
            "update group {} ({}): {}\n",
            g.external_id,
            g.id,
            parts.join(", ")
        ));
    }
    if plan.unresolved_members > 0 {
        s.push_str(&format!(
            "{} group members not yet in User Sync: the next run reads everything\n",
            plan.unresolved_members
        ));
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::sync::DirectoryError;
    use crate::sync::plan::{Counts, GroupUpdate};

    fn report() -> Report {
        Report {
            kind: Kind::Full,
            dry_run: false,
            directory_users: 10,
            directory_groups: 2,
            planned: Counts::default(),
            done: Counts {
                created: 3,
                ..Counts::default()
            },
            failures: vec![],
            reads: 4,
            writes: 3,
            duration_ms: 1500,
            plan: None,
        }
    }

    #[test]
    fn exit_codes_tell_the_outcomes_apart() {
        assert_eq!(exit_code(&Ok(report())), exit::OK);
        let mut partial = report();
        partial.failures.push(crate::sync::apply::Failure {
            resource: "user",
            external_id: "x".into(),
            action: "create",
            error: "POST Users: HTTP 409 (uniqueness)".into(),
        });
        assert_eq!(exit_code(&Ok(partial)), exit::PARTIAL);
        assert_eq!(exit_code(&Err(Stop::EmptyDirectory)), exit::DIRECTORY);
        assert_eq!(
            exit_code(&Err(Stop::Directory(DirectoryError("down".into())))),
            exit::DIRECTORY
        );
        let guard = Stop::Guard {
            would: 9,
            active: 10,
            max: 50,
            share: 10.0,
            report: Box::new(report()),
        };
        let result = Err(guard);
        assert_eq!(exit_code(&result), exit::GUARD);
        let j = json_summary(&result);
        assert_eq!(j["outcome"], "guard");
        assert_eq!(j["exitCode"], 3);
        assert!(j["message"].as_str().unwrap().contains("9 of the 10"));
    }

    #[test]
    fn the_text_summary_counts_by_action() {
        let t = text_summary(&Ok(report()));
        assert!(
            t.starts_with("full run: read 10 users, 2 groups; sent: 3 created"),
            "{t}"
        );
        assert!(t.contains("4 SCIM reads, 3 writes; 1.5 s"), "{t}");
        let j = json_summary(&Ok(report()));
        assert_eq!(j["report"]["done"]["created"], 3);
        assert_eq!(j["report"]["durationMs"], 1500);
    }

    #[test]
    fn a_plan_reads_as_one_line_per_request() {
        let plan = Plan {
            group_updates: vec![GroupUpdate {
                id: "g1".into(),
                external_id: "x".into(),
                rename: Some("Sales".into()),
                add: vec!["a".into()],
                remove: vec![],
            }],
            ..Plan::default()
        };
        assert_eq!(
            plan_text(&plan),
            "update group x (g1): rename to Sales, add 1 members\n"
        );
    }

    #[test]
    fn arguments() {
        let a = Args::try_parse_from(["c", "--once", "--output", "json", "-c", "/x.toml"]).unwrap();
        assert!(a.once);
        assert_eq!(a.output, Output::Json);
        let a = Args::try_parse_from(["c", "--interval", "5m"]).unwrap();
        assert_eq!(a.interval, Some(Duration::from_secs(300)));
        assert!(Args::try_parse_from(["c", "--interval", "1s"]).is_err());
        assert!(Args::try_parse_from(["c", "--once", "--interval", "5m"]).is_err());
        assert!(Args::try_parse_from(["c", "--token", "x"]).is_err());
    }
}
