//! The drift check: on a schedule the organization sets (off, hourly,
//! daily), every user's product account is read back from the product API
//! and compared with its desired state ([`crate::state::drift_verdict`]);
//! accounts that differ are written again, matching ones are not written.
//!
//! A run is a fan-out task ([`FanOutTask::drift_check`]) over every
//! directory user, deleted ones included: the evaluator sends a check job
//! per user whose account should be as its desired state says
//! ([`checkable`]); the worker reads, compares and corrects. A scheduled
//! run's task id names its period ([`DriftSchedule::run_id`]), so however
//! often the schedule fires, a period starts one run.

use time::OffsetDateTime;

use crate::StoreError;
use crate::fanout::FanOutTask;
use crate::ids::OrgId;
use crate::ports::{Configuration, FanOuts, Organizations};
use crate::state::{DesiredState, Outcome, SyncStatus};

/// How often an organization's drift check runs.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DriftSchedule {
    Off,
    Hourly,
    #[default]
    Daily,
}

impl DriftSchedule {
    pub const ALL: [DriftSchedule; 3] = [Self::Off, Self::Hourly, Self::Daily];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Hourly => "hourly",
            Self::Daily => "daily",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// The task id of the scheduled run of the period `now` falls in (UTC
    /// hour or day); `None` when the check is off.
    pub fn run_id(self, now: OffsetDateTime) -> Option<String> {
        let t = now.to_offset(time::UtcOffset::UTC);
        let day = format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day());
        match self {
            Self::Off => None,
            Self::Daily => Some(format!("drift-{day}")),
            Self::Hourly => Some(format!("drift-{day}T{:02}", t.hour())),
        }
    }
}

/// The task id of a run started by hand (`ops drift run`): the time and a
/// random suffix, never a scheduled period's.
pub fn manual_run_id(now: OffsetDateTime, suffix: &str) -> String {
    format!("drift-manual-{}-{suffix}", now.unix_timestamp())
}

/// Whether a user's account is checked: the product was asked for it
/// (generation above 0), that generation is applied and its last attempt
/// succeeded (a pending or failed user has its own job or failure), and no
/// returning person took the account over.
pub fn checkable(desired: &DesiredState, status: &SyncStatus) -> bool {
    desired.generation > 0
        && !desired.facts.handed_over
        && status.applied_generation == desired.generation
        && status.last_outcome == Outcome::Success
}

/// Why a run did not start.
#[derive(Debug, thiserror::Error)]
pub enum DriftRunError {
    #[error("no such organization")]
    NotFound,
    #[error("sync is off: nothing is applied while it is off")]
    SyncOff,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts a drift check of `org` with the task id `id`: refused while sync
/// is off. Answers the task as stored (a task of that id started before
/// stays as it is: `false`).
pub async fn start_drift_check<S>(
    store: &S,
    org: &OrgId,
    id: String,
    now: &str,
) -> Result<(FanOutTask, bool), DriftRunError>
where
    S: Organizations + Configuration + FanOuts,
{
    if store.get_org(org).await?.is_none() {
        return Err(DriftRunError::NotFound);
    }
    let (_, sync) = store.rules_and_sync(org).await?;
    if !sync.enabled {
        return Err(DriftRunError::SyncOff);
    }
    if let Some(existing) = store.get_fan_out(org, &id).await? {
        return Ok((existing, false));
    }
    let task = FanOutTask::drift_check(id, now.to_owned());
    store.start_fan_out(org, &task).await?;
    Ok((task, true))
}

/// Organizations read per page by [`start_due_drift_checks`].
pub const DRIFT_ORG_PAGE: usize = 100;

/// What one scheduled pass did: counts only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriftPass {
    pub organizations: usize,
    /// Runs started (their period had none yet).
    pub started: usize,
    /// Organizations whose check is off, whose sync is off, or whose
    /// period's run was started already.
    pub not_due: usize,
    /// Organizations whose start failed on the store (tried at the next pass).
    pub failed: usize,
    /// Whether every organization was reached before `keep_going` said stop.
    pub complete: bool,
}

/// The scheduled pass: starts the run of the current period of every
/// organization whose check is on and whose sync is on, unless that
/// period's run exists. Reads organizations a page at a time; stops before
/// the next organization once `keep_going` answers `false`.
pub async fn start_due_drift_checks<S>(
    store: &S,
    now: OffsetDateTime,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<DriftPass, StoreError>
where
    S: Organizations + Configuration + FanOuts,
{
    let stamp = crate::time::format(now);
    let mut pass = DriftPass::default();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store.list_orgs(cursor.as_deref(), DRIFT_ORG_PAGE).await?;
        for org in page {
            if !keep_going() {
                return Ok(pass);
            }
            pass.organizations += 1;
            let Some(id) = org.drift_check.run_id(now) else {
                pass.not_due += 1;
                continue;
            };
            match start_drift_check(store, &org.id, id, &stamp).await {
                Ok((_, true)) => pass.started += 1,
                Ok((_, false)) | Err(DriftRunError::SyncOff | DriftRunError::NotFound) => {
                    pass.not_due += 1;
                }
                Err(DriftRunError::Store(_)) => pass.failed += 1,
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => {
                pass.complete = true;
                return Ok(pass);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
