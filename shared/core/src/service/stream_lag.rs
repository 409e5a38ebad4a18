//! The evaluator falling behind the directory stream, repaired without a
//! human: when the `StreamIteratorAge` alarm fires, every organization with
//! sync on is reconciled (a forced fan-out over every directory user, as
//! `ops reconcile` does it), with a `reconcile_started` activity entry
//! (`why: stream_lag`).
//!
//! Bounded and deduplicated: at most one running forced reconcile per
//! organization. The reconcile's id is derived from the alarm's state
//! change, so the same notification delivered again starts nothing new; a
//! later notification while a forced reconcile runs is folded into it.
//! The records the evaluator is behind on are still in the stream (it keeps
//! them 24 hours) and are applied when it catches up: the reconcile is the
//! safety net for the ones it might not.

use serde::Deserialize;
use tracing::info;

use crate::StoreError;
use crate::clock::Clock;
use crate::fanout::{FanOutTask, RECONCILE};
use crate::ids::OrgId;
use crate::ports::{ActivityLog, Configuration, FanOuts, Organizations};
use crate::repair::{REPAIR_TASK_PREFIX, RepairDecision, STALLED_AFTER};

use super::repair::start_reconcile;

/// Organizations read per page of the listing.
const ORG_PAGE: usize = 50;
/// Running fan-outs read per organization to decide.
const RUNNING_READ: usize = 20;
/// The metric of the alarm that triggers a reconcile.
pub const ITERATOR_AGE: &str = "IteratorAge";

/// A CloudWatch alarm's state change, as its SNS notification's message
/// carries it (only the fields the repair reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmNotification {
    pub alarm_name: String,
    /// `ALARM`, `OK` or `INSUFFICIENT_DATA`.
    pub new_state_value: String,
    /// When the alarm changed state (`2026-12-05T07:00:00.000+0000`).
    pub state_change_time: String,
    #[serde(default)]
    pub trigger: Option<AlarmTrigger>,
}

/// The metric an alarm watches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AlarmTrigger {
    #[serde(default)]
    pub metric_name: String,
}

/// Why an SNS message is not an alarm notification.
#[derive(Debug, thiserror::Error)]
#[error("not a CloudWatch alarm notification: {0}")]
pub struct NotAnAlarm(#[source] serde_json::Error);

impl AlarmNotification {
    /// The notification an SNS message's `Message` carries.
    pub fn from_message(message: &str) -> Result<Self, NotAnAlarm> {
        serde_json::from_str(message).map_err(NotAnAlarm)
    }

    /// Whether it asks for a reconcile: the stream iterator alarm going
    /// into `ALARM` (its clearing, `OK`, asks for nothing).
    pub fn is_stream_lag(&self) -> bool {
        self.new_state_value == "ALARM"
            && self
                .trigger
                .as_ref()
                .is_none_or(|t| t.metric_name == ITERATOR_AGE)
    }

    /// The id of the reconcile this notification starts in an organization:
    /// the same for every delivery of it.
    pub fn task_id(&self) -> String {
        let stamp: String = self
            .state_change_time
            .chars()
            .filter(char::is_ascii_digit)
            .take(14)
            .collect();
        format!("{REPAIR_TASK_PREFIX}lag-{stamp}")
    }
}

/// Decides for one organization with sync on, from its running fan-outs:
/// this notification's reconcile runs already, a live forced reconcile
/// covers it, or one starts.
pub fn decide_lag(
    task_id: &str,
    running: &[FanOutTask],
    now: time::OffsetDateTime,
) -> RepairDecision {
    if running.iter().any(|t| t.id == task_id) {
        return RepairDecision::AlreadyStarted;
    }
    running
        .iter()
        .find(|t| {
            t.force
                && t.reason == RECONCILE
                && crate::time::parse(&t.updated_at).is_some_and(|at| now - at < STALLED_AFTER)
        })
        .map_or(RepairDecision::Start, |t| {
            RepairDecision::FoldedInto(t.id.clone())
        })
}

/// What a stream-lag notification came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LagReport {
    /// Organizations listed.
    pub organizations: usize,
    /// Reconciles started: (organization, task id).
    pub started: Vec<(OrgId, String)>,
    /// Covered by a running forced reconcile (or this notification's own).
    pub covered: Vec<(OrgId, String)>,
    /// Organizations with sync off (nothing to apply).
    pub sync_off: usize,
    /// Organizations whose start failed on the store.
    pub failed: usize,
    /// Whether every organization was reached before `keep_going` said stop.
    pub complete: bool,
}

impl LagReport {
    /// Done with: every organization reached and none failed (otherwise the
    /// invocation fails and Lambda tries it again, which starts nothing new
    /// where it started already).
    pub fn finished(&self) -> bool {
        self.complete && self.failed == 0
    }
}

/// Reconciles every organization with sync on when the evaluator falls
/// behind the stream.
pub struct StreamLagService<'a, O, D, A, C> {
    /// The organizations' listing.
    pub orgs: &'a O,
    pub directory: &'a D,
    pub activity: &'a A,
    pub clock: &'a C,
}

impl<O, D, A, C> StreamLagService<'_, O, D, A, C>
where
    O: Organizations,
    D: Configuration + FanOuts,
    A: ActivityLog,
    C: Clock,
{
    /// Handles one alarm notification: nothing unless it is the stream lag
    /// going into alarm; else every organization, a page at a time, until
    /// `keep_going` answers `false`. Fails only when the listing fails.
    pub async fn reconcile_lagging(
        &self,
        alarm: &AlarmNotification,
        keep_going: &(dyn Fn() -> bool + Sync),
    ) -> Result<LagReport, StoreError> {
        let mut report = LagReport::default();
        if !alarm.is_stream_lag() {
            report.complete = true;
            return Ok(report);
        }
        let task_id = alarm.task_id();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self.orgs.list_orgs(cursor.as_deref(), ORG_PAGE).await?;
            for org in page {
                if !keep_going() {
                    return Ok(report);
                }
                report.organizations += 1;
                match self.one(&org.id, alarm, &task_id).await {
                    Ok(None) => report.sync_off += 1,
                    Ok(Some((true, id))) => report.started.push((org.id, id)),
                    Ok(Some((false, id))) => report.covered.push((org.id, id)),
                    Err(e) => {
                        tracing::warn!(org = %org.id, error = %e, "stream-lag reconcile not started");
                        report.failed += 1;
                    }
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => {
                    report.complete = true;
                    return Ok(report);
                }
            }
        }
    }

    /// `None` when sync is off; else whether a reconcile started, and the
    /// one that covers the organization.
    async fn one(
        &self,
        org: &OrgId,
        alarm: &AlarmNotification,
        task_id: &str,
    ) -> Result<Option<(bool, String)>, StoreError> {
        let (_, sync) = self.directory.rules_and_sync(org).await?;
        if !sync.enabled {
            return Ok(None);
        }
        // this notification's own reconcile, running or done
        if self.directory.get_fan_out(org, task_id).await?.is_some() {
            return Ok(Some((false, task_id.to_owned())));
        }
        let running = self.directory.running_fan_outs(org, RUNNING_READ).await?;
        match decide_lag(task_id, &running, self.clock.now()) {
            RepairDecision::Start => {
                self.start(org, alarm, task_id).await?;
                Ok(Some((true, task_id.to_owned())))
            }
            RepairDecision::FoldedInto(id) => Ok(Some((false, id))),
            _ => Ok(Some((false, task_id.to_owned()))),
        }
    }

    async fn start(
        &self,
        org: &OrgId,
        alarm: &AlarmNotification,
        task_id: &str,
    ) -> Result<(), StoreError> {
        let details = serde_json::json!({
            "taskId": task_id,
            "why": "stream_lag",
            "alarmChangedAt": alarm.state_change_time,
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
        info!(org = %org, task = %task_id, "reconcile started: the evaluator is behind the stream");
        Ok(())
    }
}
