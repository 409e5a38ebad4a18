//! `reconcile`, `scrub-secrets` and `index-deleted-users`: whole-organization maintenance;
//! `metrics`: what the functions measured.

use std::path::PathBuf;

use clap::{ArgGroup, Args};
use user_sync_core::ids::OrgId;

use super::org_id;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The organization's id.
    #[arg(value_parser = org_id)]
    pub org_id: OrgId,
    /// Start the task and return; follow it with GET /sync.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the task to finish, in seconds (it goes on after).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["org_id", "all"])))]
pub struct OrgOrAllArgs {
    /// The organization's id.
    #[arg(value_parser = org_id)]
    pub org_id: Option<OrgId>,
    /// Every organization (the organizations are listed by scanning the
    /// DirectoryTable, as `org list` does).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The file of embedded-metric lines (one JSON object a line), as the
    /// local stack keeps them: `<state dir>/metrics.jsonl`.
    #[arg(long, env = "METRICS_FILE", hide_env_values = true)]
    pub file: Option<PathBuf>,
    /// Only the lines of the last this many minutes.
    #[arg(long = "since", value_name = "MINUTES")]
    pub since_minutes: Option<u64>,
}
