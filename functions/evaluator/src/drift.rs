//! A drift check's chunks (`user_sync_core::drift`): a check job for each
//! user whose account should be as its desired state says, and the run's
//! summary entry once the last chunk is done. No desired state is written.

use serde_json::json;
use tracing::info;
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, SYNC_USER, Subject, SubjectKind};
use user_sync_core::drift::checkable;
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::job::EntitlementJob;
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, JobQueue, Organizations, SyncState,
};
use user_sync_core::state::Outcome;

use crate::Reconciler;

impl<D, S, R, Q> Reconciler<'_, D, S, R, Q>
where
    D: Directory + Configuration + FanOuts + Organizations,
    S: SyncState,
    Q: JobQueue,
{
    /// Sends a check job of the run `run` for each of `ids` whose account
    /// is checked ([`checkable`]); answers how many.
    pub(crate) async fn check_users(
        &self,
        org: &OrgId,
        ids: &[UserId],
        run: &str,
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let states = self.state.user_states(org, ids).await?;
        let jobs: Vec<EntitlementJob> = ids
            .iter()
            .filter_map(|id| {
                let (desired, status) = states.get(id)?;
                let desired = desired.as_ref()?;
                checkable(desired, status.as_ref()?).then(|| EntitlementJob {
                    drift_check: Some(run.to_owned()),
                    ..EntitlementJob::new(org, id, desired.generation)
                })
            })
            .collect();
        self.jobs.send_jobs(&jobs).await?;
        Ok(jobs.len())
    }

    /// The run's summary entry (`drift_checked`): the users it went
    /// through and the accounts it sent to be checked. The corrections are
    /// each their own entry (`drift_corrected`), written by the worker.
    pub(crate) async fn drift_summary(
        &self,
        org: &OrgId,
        task: &FanOutTask,
    ) -> Result<(), StoreError> {
        let at = self.clock.timestamp();
        let mut entry = ActivityEntry::new(
            at,
            &format!("drift_checked#{}", task.id),
            SYNC_USER,
            Action::DriftChecked,
            Subject {
                kind: SubjectKind::Sync,
                id: "drift-check".into(),
            },
            Outcome::Success,
        );
        entry.details = json!({
            "run": task.id,
            "users": task.users,
            "checked": task.jobs,
            "startedAt": task.created_at,
        });
        self.state.append_activity(org, &entry).await?;
        info!(org = %org, task = %task.id, users = task.users, checked = task.jobs, "drift check sent");
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
