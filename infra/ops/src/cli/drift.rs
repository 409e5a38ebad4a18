//! `ops drift …`: an organization's drift check: run it now, set how often
//! it runs, and the scheduled pass (what the schedule does, on demand).

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;
use user_sync_core::StoreError;
use user_sync_core::clock::Clock;
use user_sync_core::drift::{
    DriftRunError, DriftSchedule, manual_run_id, start_drift_check, start_due_drift_checks,
};
use user_sync_core::ids::OrgId;
use user_sync_core::service::settings::{By, SettingsError, SettingsService};

use super::maintenance::{follow, task_json};
use super::{Ctx, Failure, Out, Report, line, missing_org, org_id, store_error};

#[derive(Debug, Subcommand)]
pub enum DriftCommand {
    /// Starts a drift check of the organization now: every user's product
    /// account is read back and corrected where it differs from its
    /// desired state. Sync must be on. Without --no-wait the command follows
    /// the run's fan-out until every check is sent (the worker does the
    /// checks; each correction is a `drift_corrected` activity entry).
    Run(DriftRunArgs),
    /// Sets how often the organization's drift check runs.
    Set {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        schedule: ScheduleArg,
    },
    /// What the hourly schedule does: starts the current period's run of
    /// every organization whose check is on and whose sync is on, unless it
    /// was started already.
    Due,
}

#[derive(Debug, Args)]
pub struct DriftRunArgs {
    #[arg(value_parser = org_id)]
    pub org_id: OrgId,
    /// Start the run and return; follow it with GET /sync.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the run's checks to be sent, in seconds.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    Off,
    Hourly,
    Daily,
}

impl From<ScheduleArg> for DriftSchedule {
    fn from(a: ScheduleArg) -> Self {
        match a {
            ScheduleArg::Off => DriftSchedule::Off,
            ScheduleArg::Hourly => DriftSchedule::Hourly,
            ScheduleArg::Daily => DriftSchedule::Daily,
        }
    }
}

pub(super) async fn run(
    ctx: &Ctx<'_>,
    command: DriftCommand,
    err: Out<'_>,
) -> Result<Report, Failure> {
    match command {
        DriftCommand::Run(args) => run_now(ctx, &args, err).await,
        DriftCommand::Set { org_id, schedule } => set(ctx, &org_id, schedule.into()).await,
        DriftCommand::Due => due(ctx).await,
    }
}

async fn run_now(ctx: &Ctx<'_>, args: &DriftRunArgs, err: Out<'_>) -> Result<Report, Failure> {
    let org = &args.org_id;
    let store = ctx.directory()?;
    let mut random = [0u8; 4];
    getrandom::fill(&mut random)
        .map_err(|e| Failure::Failed(format!("no random bytes for the run's id: {e}")))?;
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let now = ctx.clock.now();
    let id = manual_run_id(now, &suffix);
    let (task, _) = start_drift_check(&store, org, id, &user_sync_core::time::format(now))
        .await
        .map_err(|e| match e {
            DriftRunError::NotFound => missing_org(org),
            DriftRunError::SyncOff => Failure::Failed(format!(
                "sync is off for organization {org}: nothing is applied while it is off"
            )),
            DriftRunError::Store(e) => store_error("start the drift check", e),
        })?;
    line(
        err,
        format!(
            "drift check {} started: every product account of organization {org} is read back",
            task.id
        ),
    );
    if args.no_wait {
        return Ok(Report::new(
            vec![format!(
                "drift check {}: started (follow it in GET /sync, fanOuts)",
                task.id
            )],
            task_json(org, &task),
        ));
    }
    follow(&store, org, &task, args.timeout, err).await
}

async fn set(ctx: &Ctx<'_>, org: &OrgId, schedule: DriftSchedule) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let service = SettingsService {
        orgs: &store,
        config: &store,
        history: None::<&user_sync_aws::dynamo::StateTable>,
        clock: &ctx.clock,
    };
    service
        .set_drift_check(org, By::Ops, schedule, None)
        .await
        .map_err(|e| match e {
            SettingsError::NotFound => missing_org(org),
            SettingsError::Store(e) => store_error("set the drift check", e),
            other => Failure::Failed(other.to_string()),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org}: the drift check runs {}",
            match schedule {
                DriftSchedule::Off => "never (off)",
                DriftSchedule::Hourly => "every hour",
                DriftSchedule::Daily => "every day",
            }
        )],
        json!({"orgId": org, "driftCheck": schedule}),
    ))
}

async fn due(ctx: &Ctx<'_>) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let pass = start_due_drift_checks(&store, ctx.clock.now(), &|| true)
        .await
        .map_err(|e: StoreError| store_error("list the organizations", e))?;
    Ok(Report::new(
        vec![format!(
            "{} organization(s): {} drift check(s) started, {} not due, {} failed",
            pass.organizations, pass.started, pass.not_due, pass.failed
        )],
        json!({
            "organizations": pass.organizations,
            "started": pass.started,
            "notDue": pass.not_due,
            "failed": pass.failed,
        }),
    ))
}
