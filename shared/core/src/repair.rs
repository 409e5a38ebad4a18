//! Lost stream batches: what the evaluator's on-failure destination
//! receives, which organizations such a batch touched, and whether a
//! reconcile of one of them should start now (one running reconcile per
//! organization; a request while one runs is folded into it).
//!
//! Lambda's on-failure record of a DynamoDB stream batch names the batch
//! (shard, first and last sequence numbers, arrival times), not its items:
//! the records are read back from the stream, which keeps them 24 hours
//! ([`StreamHistory`]).

use std::future::Future;

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use crate::StoreError;
use crate::fanout::{FanOutTask, RECONCILE};
use crate::ids::OrgId;

/// The prefix of the ids of the reconciles started for a lost batch.
pub const REPAIR_TASK_PREFIX: &str = "repair-";

/// A forced reconcile not advanced for this long is taken as stalled (its
/// own chunk was lost): it neither covers a lost batch nor holds one back.
pub const STALLED_AFTER: Duration = Duration::minutes(15);

/// The batch Lambda gave up on, as its on-failure record names it
/// (`DDBStreamBatchInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LostBatch {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    /// RFC 3339; absent when Lambda did not know it.
    #[serde(default)]
    pub approximate_arrival_of_last_record: Option<String>,
    #[serde(default)]
    pub batch_size: u64,
}

#[derive(Deserialize)]
struct OnFailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    batch: LostBatch,
}

/// Why an on-failure message names no batch.
#[derive(Debug, thiserror::Error)]
#[error("not a DynamoDB stream on-failure record: {0}")]
pub struct NotALostBatch(#[source] serde_json::Error);

impl LostBatch {
    /// The batch an on-failure message's body names.
    pub fn from_on_failure_record(body: &str) -> Result<Self, NotALostBatch> {
        serde_json::from_str::<OnFailureRecord>(body)
            .map(|r| r.batch)
            .map_err(NotALostBatch)
    }

    /// The id of the reconcile this batch starts in an organization: the
    /// same for every delivery of the message, so a redelivery starts
    /// nothing new.
    pub fn task_id(&self) -> String {
        let shard: String = self
            .shard_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{REPAIR_TASK_PREFIX}{shard}-{}", self.start_sequence_number)
    }
}

/// One record of a lost batch, as far as the repair needs it: the
/// organization of its item and the item's sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRecord {
    pub org: OrgId,
    pub sort_key: String,
}

/// Why the records of a lost batch cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum StreamHistoryError {
    /// The stream no longer has them (older than 24 hours, or the stream
    /// was replaced): only a human can tell which organizations they were.
    #[error("the stream no longer holds these records: {0}")]
    Expired(String),
    /// Reading failed; trying again later may work.
    #[error("reading the stream failed: {0}")]
    Transient(#[source] StoreError),
}

/// The directory stream, read back.
pub trait StreamHistory: Sync {
    /// The records of `batch`, in order, from its first sequence number to
    /// its last. MUST return `Expired` when the stream no longer holds the
    /// first of them, and never a record past the last.
    fn lost_records(
        &self,
        batch: &LostBatch,
    ) -> impl Future<Output = Result<Vec<LostRecord>, StreamHistoryError>> + Send;
}

/// What to do about one organization a lost batch touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairDecision {
    /// Start the reconcile `task_id`.
    Start,
    /// This batch's reconcile runs already (the message was delivered
    /// again).
    AlreadyStarted,
    /// A forced reconcile that started after the lost records were written
    /// runs: it reaches what they changed.
    FoldedInto(String),
    /// A forced reconcile that started before them runs: try again when it
    /// is done (one running reconcile per organization).
    WaitFor(String),
    /// The lost records include a chunk of a repair's own reconcile: the
    /// evaluator fails on this organization whatever is tried; a human
    /// must look.
    RepairLost,
}

/// Decides for one organization, from its running fan-outs, the sort keys
/// of its lost records, when the last lost record was written, and now.
pub fn decide(
    task_id: &str,
    running: &[FanOutTask],
    lost_sort_keys: &[&str],
    last_arrival: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> RepairDecision {
    if running.iter().any(|t| t.id == task_id) {
        return RepairDecision::AlreadyStarted;
    }
    let own_chunk = format!("TASK#{REPAIR_TASK_PREFIX}");
    if lost_sort_keys.iter().any(|sk| sk.starts_with(&own_chunk)) {
        return RepairDecision::RepairLost;
    }
    let live = running.iter().filter(|t| {
        t.force
            && t.reason == RECONCILE
            && crate::time::parse(&t.updated_at).is_some_and(|at| now - at < STALLED_AFTER)
    });
    let mut wait = None;
    for task in live {
        let started = crate::time::parse(&task.created_at);
        match (started, last_arrival) {
            (Some(started), Some(last)) if started >= last => {
                return RepairDecision::FoldedInto(task.id.clone());
            }
            _ => wait = Some(task.id.clone()),
        }
    }
    wait.map_or(RepairDecision::Start, RepairDecision::WaitFor)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"requestContext":{"condition":"RetryAttemptsExhausted"},
        "version":"1.0","timestamp":"2026-12-05T07:00:00Z",
        "DDBStreamBatchInfo":{"shardId":"shardId-00000001700000000000-abcdef12",
        "startSequenceNumber":"100","endSequenceNumber":"104",
        "approximateArrivalOfFirstRecord":"2026-12-05T06:59:00Z",
        "approximateArrivalOfLastRecord":"2026-12-05T06:59:01Z","batchSize":5,
        "streamArn":"arn:aws:dynamodb:eu-west-1:1:table/T/stream/x"}}"#;

    fn at(s: &str) -> OffsetDateTime {
        crate::time::parse(s).unwrap()
    }

    fn reconcile(id: &str, created: &str, updated: &str) -> FanOutTask {
        let mut t = FanOutTask::forced_reconcile(id.into(), created.into());
        t.updated_at = updated.into();
        t
    }

    #[test]
    fn an_on_failure_record_names_its_batch_and_a_stable_task() {
        let batch = LostBatch::from_on_failure_record(BODY).unwrap();
        assert_eq!(batch.shard_id, "shardId-00000001700000000000-abcdef12");
        assert_eq!(batch.start_sequence_number, "100");
        assert_eq!(batch.batch_size, 5);
        assert_eq!(batch.task_id(), "repair-0000abcdef12-100");
        assert!(LostBatch::from_on_failure_record("{}").is_err());
        assert!(LostBatch::from_on_failure_record("not json").is_err());
    }

    #[test]
    fn with_nothing_running_a_reconcile_starts() {
        let now = at("2026-12-05T07:00:00Z");
        let d = decide("repair-1", &[], &["USER"], Some(now), now);
        assert_eq!(d, RepairDecision::Start);
    }

    #[test]
    fn a_redelivered_message_starts_nothing_new() {
        let now = at("2026-12-05T07:00:00Z");
        let running = [reconcile(
            "repair-1",
            "2026-12-05T06:59:00Z",
            "2026-12-05T06:59:30Z",
        )];
        let d = decide("repair-1", &running, &["USER"], Some(now), now);
        assert_eq!(d, RepairDecision::AlreadyStarted);
    }

    #[test]
    fn a_reconcile_started_after_the_lost_records_covers_them() {
        let now = at("2026-12-05T07:00:00Z");
        let last = at("2026-12-05T06:50:00Z");
        let running = [reconcile(
            "repair-0",
            "2026-12-05T06:55:00Z",
            "2026-12-05T06:59:00Z",
        )];
        let d = decide("repair-1", &running, &["USER"], Some(last), now);
        assert_eq!(d, RepairDecision::FoldedInto("repair-0".into()));
    }

    #[test]
    fn a_reconcile_started_before_them_is_waited_for() {
        let now = at("2026-12-05T07:00:00Z");
        let last = at("2026-12-05T06:58:00Z");
        let running = [reconcile(
            "reconcile-5",
            "2026-12-05T06:55:00Z",
            "2026-12-05T06:59:00Z",
        )];
        let d = decide("repair-1", &running, &["USER"], Some(last), now);
        assert_eq!(d, RepairDecision::WaitFor("reconcile-5".into()));
        // without the records' time, a running one cannot be said to cover them
        let d = decide("repair-1", &running, &["USER"], None, now);
        assert_eq!(d, RepairDecision::WaitFor("reconcile-5".into()));
    }

    #[test]
    fn a_stalled_reconcile_and_other_fan_outs_hold_nothing_back() {
        let now = at("2026-12-05T07:00:00Z");
        let stalled = reconcile(
            "reconcile-5",
            "2026-12-05T06:00:00Z",
            "2026-12-05T06:10:00Z",
        );
        let rule = FanOutTask::new(
            "rule-1".into(),
            "rule",
            crate::fanout::FanOutScope::Everyone,
            "2026-12-05T06:59:00Z".into(),
        );
        let d = decide("repair-1", &[stalled, rule], &["USER"], Some(now), now);
        assert_eq!(d, RepairDecision::Start);
    }

    #[test]
    fn a_lost_chunk_of_a_repair_needs_a_human() {
        let now = at("2026-12-05T07:00:00Z");
        let d = decide(
            "repair-2",
            &[],
            &["MEMBER#u1", "TASK#repair-abc-100"],
            Some(now),
            now,
        );
        assert_eq!(d, RepairDecision::RepairLost);
        // a lost chunk of an ops reconcile is repaired like any record
        let d = decide("repair-2", &[], &["TASK#reconcile-1-ab"], Some(now), now);
        assert_eq!(d, RepairDecision::Start);
    }
}
