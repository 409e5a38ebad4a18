//! Repairing lost stream batches.

use super::*;
use crate::fanout::FanOutTask;
use crate::ports::FanOuts;
use crate::repair::{LostBatch, LostRecord, StreamHistory, StreamHistoryError};
use crate::service::repair::{RepairError, RepairService};

/// The stream, read back: these records, or expired.
struct History(Option<Vec<LostRecord>>);

impl StreamHistory for History {
    async fn lost_records(&self, _: &LostBatch) -> Result<Vec<LostRecord>, StreamHistoryError> {
        self.0
            .clone()
            .ok_or_else(|| StreamHistoryError::Expired("trimmed".into()))
    }
}

fn batch() -> LostBatch {
    LostBatch {
        stream_arn: "arn:stream".into(),
        shard_id: "shardId-0001".into(),
        start_sequence_number: "100".into(),
        end_sequence_number: "102".into(),
        approximate_arrival_of_last_record: Some("2026-12-01T08:59:00Z".into()),
        batch_size: 3,
    }
}

fn record(org: &OrgId, sk: &str) -> LostRecord {
    LostRecord {
        org: org.clone(),
        sort_key: sk.into(),
    }
}

fn service<'a>(
    w: &'a World,
    history: &'a History,
) -> RepairService<'a, MemoryStore, MemoryStore, History, FixedClock> {
    RepairService {
        directory: &w.store,
        activity: &w.store,
        history,
        clock: &*w.clock,
    }
}

#[tokio::test]
async fn every_organization_of_a_lost_batch_is_reconciled_once_with_an_entry() {
    let w = World::new().await;
    w.sync_on(&w.org).await;
    let off = OrgId::parse("beta").unwrap();
    let history = History(Some(vec![
        record(&w.org, "USER"),
        record(&w.org, "MEMBER#u1"),
        record(&off, "USER"),
    ]));
    let service = service(&w, &history);
    let report = service.repair(&batch()).await.unwrap();
    let id = batch().task_id();
    assert_eq!(report.started, vec![(w.org.clone(), id.clone())]);
    assert_eq!(report.sync_off, vec![off.clone()]);
    assert!(report.finished());
    let task = w.store.get_fan_out(&w.org, &id).await.unwrap().unwrap();
    assert!(task.force && !task.done);
    let started = w.reconciles_started(&w.org).await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].details["why"], "lost_stream_batch");
    assert_eq!(started[0].details["records"], 2);
    assert_eq!(started[0].details["taskId"], id.as_str());
    assert!(w.activity_of(&off).await.is_empty());

    // the message delivered again starts nothing new, even once the
    // reconcile is done
    let again = service.repair(&batch()).await.unwrap();
    assert!(again.started.is_empty());
    assert_eq!(again.covered, vec![(w.org.clone(), id.clone())]);
    let done = task.advanced(1, 1, None, "2026-12-01T09:01:00Z".into());
    w.store.advance_fan_out(&w.org, &done).await.unwrap();
    let after = service.repair(&batch()).await.unwrap();
    assert!(after.started.is_empty());
    assert_eq!(after.covered, vec![(w.org.clone(), id)]);
    let count = w.reconciles_started(&w.org).await.len();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_reconcile_running_since_before_the_loss_is_waited_for() {
    let w = World::new().await;
    w.sync_on(&w.org).await;
    let running = FanOutTask::forced_reconcile("reconcile-1".into(), "2026-12-01T08:58:00Z".into());
    w.store.start_fan_out(&w.org, &running).await.unwrap();
    let history = History(Some(vec![record(&w.org, "USER")]));
    let service = service(&w, &history);
    let report = service.repair(&batch()).await.unwrap();
    assert_eq!(report.waiting, vec![(w.org.clone(), "reconcile-1".into())]);
    assert!(!report.finished());
    assert!(report.started.is_empty());
}

#[tokio::test]
async fn records_the_stream_no_longer_holds_are_for_a_human() {
    let w = World::new().await;
    let history = History(None);
    let service = service(&w, &history);
    assert!(matches!(
        service.repair(&batch()).await,
        Err(RepairError::Expired(_))
    ));
}
