//! Repairing a lost stream batch without a human: every organization whose
//! records the evaluator gave up on is reconciled as `ops reconcile` does it
//! (a forced fan-out over every directory user), at most one running
//! reconcile per organization, with a `reconcile_started` activity entry.
//! [`crate::repair`] holds the batch and the decision.

use std::collections::BTreeMap;

use tracing::{info, warn};

use crate::StoreError;
use crate::activity::{Action, ActivityEntry, SYNC_USER, Subject, SubjectKind};
use crate::clock::Clock;
use crate::fanout::FanOutTask;
use crate::ids::OrgId;
use crate::ports::{ActivityLog, Configuration, FanOuts};
use crate::repair::{LostBatch, RepairDecision, StreamHistory, StreamHistoryError, decide};
use crate::state::Outcome;

/// Running fan-outs read per organization to decide.
const RUNNING_READ: usize = 20;

/// What a lost batch came to, organization by organization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepairReport {
    /// Reconciles started: (organization, task id).
    pub started: Vec<(OrgId, String)>,
    /// Already covered by a running reconcile (or by this batch's own).
    pub covered: Vec<(OrgId, String)>,
    /// Sync is off: nothing is applied, and turning it on reconciles everyone.
    pub sync_off: Vec<OrgId>,
    /// Waiting for a running reconcile to end: the message is tried again.
    pub waiting: Vec<(OrgId, String)>,
    /// The repair's own reconcile was lost: a human must look.
    pub needs_human: Vec<OrgId>,
}

impl RepairReport {
    /// The message is done with (deleted) only when nothing waits and
    /// nothing needs a human; otherwise it is delivered again (and, after
    /// the queue's last delivery, dead-lettered for a human).
    pub fn finished(&self) -> bool {
        self.waiting.is_empty() && self.needs_human.is_empty()
    }
}

/// Why a lost batch could not be repaired.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The stream no longer holds the records: a human must find the
    /// organizations (the evaluator's log) and run `ops reconcile`.
    #[error("{0}")]
    Expired(String),
    /// A storage or stream error; the message is tried again.
    #[error("{0}")]
    Transient(#[source] StoreError),
}

impl From<StoreError> for RepairError {
    fn from(e: StoreError) -> Self {
        Self::Transient(e)
    }
}

/// Repairs lost stream batches.
pub struct RepairService<'a, D, A, H, C> {
    pub directory: &'a D,
    pub activity: &'a A,
    pub history: &'a H,
    pub clock: &'a C,
}

impl<D, A, H, C> RepairService<'_, D, A, H, C>
where
    D: Configuration + FanOuts,
    A: ActivityLog,
    H: StreamHistory,
    C: Clock,
{
    /// Reconciles every organization `batch` touched (bounded by the batch:
    /// at most one reconcile per organization in it).
    pub async fn repair(&self, batch: &LostBatch) -> Result<RepairReport, RepairError> {
        let records = match self.history.lost_records(batch).await {
            Ok(r) => r,
            Err(StreamHistoryError::Expired(why)) => return Err(RepairError::Expired(why)),
            Err(StreamHistoryError::Transient(e)) => return Err(RepairError::Transient(e)),
        };
        let mut by_org: BTreeMap<OrgId, Vec<String>> = BTreeMap::new();
        for r in records {
            by_org.entry(r.org).or_default().push(r.sort_key);
        }
        let task_id = batch.task_id();
        let last_arrival = batch
            .approximate_arrival_of_last_record
            .as_deref()
            .and_then(crate::time::parse);
        let mut report = RepairReport::default();
        for (org, sort_keys) in by_org {
            let (_, sync) = self.directory.rules_and_sync(&org).await?;
            if !sync.enabled {
                report.sync_off.push(org);
                continue;
            }
            // this batch's own reconcile, running or done (a message
            // delivered again, even after it finished, starts nothing new)
            if self.directory.get_fan_out(&org, &task_id).await?.is_some() {
                report.covered.push((org, task_id.clone()));
                continue;
            }
            let running = self.directory.running_fan_outs(&org, RUNNING_READ).await?;
            let keys: Vec<&str> = sort_keys.iter().map(String::as_str).collect();
            match decide(&task_id, &running, &keys, last_arrival, self.clock.now()) {
                RepairDecision::Start => {
                    self.start(&org, batch, &task_id, keys.len()).await?;
                    report.started.push((org, task_id.clone()));
                }
                RepairDecision::AlreadyStarted => report.covered.push((org, task_id.clone())),
                RepairDecision::FoldedInto(id) => {
                    info!(org = %org, task = %id, "the lost records are covered by a running reconcile");
                    report.covered.push((org, id));
                }
                RepairDecision::WaitFor(id) => {
                    info!(org = %org, task = %id, "a reconcile that started before the lost records runs; trying again later");
                    report.waiting.push((org, id));
                }
                RepairDecision::RepairLost => {
                    warn!(org = %org, "a reconcile started for lost records was lost itself; a human must look");
                    report.needs_human.push(org);
                }
            }
        }
        Ok(report)
    }

    async fn start(
        &self,
        org: &OrgId,
        batch: &LostBatch,
        task_id: &str,
        records: usize,
    ) -> Result<(), StoreError> {
        let details = serde_json::json!({
            "taskId": task_id,
            "why": "lost_stream_batch",
            "shardId": batch.shard_id,
            "startSequenceNumber": batch.start_sequence_number,
            "endSequenceNumber": batch.end_sequence_number,
            "records": records,
        });
        start_reconcile(
            self.directory,
            self.activity,
            self.clock,
            org,
            task_id,
            details,
        )
        .await?;
        info!(org = %org, task = %task_id, records, "reconcile started for a lost stream batch");
        Ok(())
    }
}

/// Starts the forced reconcile `task_id` of `org`, its `ReconcileStarted`
/// entry (with `details`) written first: a retry after a failed start
/// writes it again (same id), never a task without its entry.
pub(crate) async fn start_reconcile<D: FanOuts, A: ActivityLog, C: Clock>(
    directory: &D,
    activity: &A,
    clock: &C,
    org: &OrgId,
    task_id: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let at = clock.timestamp();
    let task = FanOutTask::forced_reconcile(task_id.to_owned(), at.clone());
    let mut entry = ActivityEntry::new(
        at,
        task_id,
        SYNC_USER,
        Action::ReconcileStarted,
        Subject {
            kind: SubjectKind::Sync,
            id: "sync".into(),
        },
        Outcome::Success,
    );
    entry.details = details;
    activity.append_activity(org, &entry).await?;
    directory.start_fan_out(org, &task).await
}
