//! The evaluator behind the stream: every organization with sync on
//! reconciled once.

use super::*;
use crate::fanout::FanOutTask;
use crate::ports::FanOuts;
use crate::service::stream_lag::{AlarmNotification, StreamLagService};

const ALARM: &str = r#"{"AlarmName":"user-sync-StreamIteratorAgeAlarm-1","AlarmDescription":"x",
    "AWSAccountId":"123456789012","NewStateValue":"ALARM","NewStateReason":"Threshold Crossed",
    "StateChangeTime":"2026-12-01T08:59:30.123+0000","Region":"EU (Ireland)",
    "OldStateValue":"OK","Trigger":{"MetricName":"IteratorAge","Namespace":"AWS/Lambda",
    "Statistic":"MAXIMUM","Period":60,"EvaluationPeriods":3,"Threshold":300000.0}}"#;

fn alarm(state: &str, at: &str) -> AlarmNotification {
    let mut a = AlarmNotification::from_message(ALARM).unwrap();
    a.new_state_value = state.into();
    a.state_change_time = at.into();
    a
}

fn service(w: &World) -> StreamLagService<'_, MemoryStore, MemoryStore, MemoryStore, FixedClock> {
    StreamLagService {
        orgs: &w.store,
        directory: &w.store,
        activity: &w.store,
        clock: &w.clock,
    }
}

#[test]
fn an_alarm_notification_names_a_stable_task() {
    let a = AlarmNotification::from_message(ALARM).unwrap();
    assert!(a.is_stream_lag());
    assert_eq!(a.task_id(), "repair-lag-20261201085930");
    assert!(!alarm("OK", "2026-12-01T09:00:00.000+0000").is_stream_lag());
    assert!(AlarmNotification::from_message("{}").is_err());
    let mut other = a.clone();
    other.trigger = Some(crate::service::stream_lag::AlarmTrigger {
        metric_name: "Errors".into(),
    });
    assert!(!other.is_stream_lag());
}

#[tokio::test]
async fn every_organization_with_sync_on_is_reconciled_once() {
    let w = World::new().await;
    w.sync_on(&w.org).await;
    let off = OrgId::parse("beta").unwrap();
    w.orgs().create(&off, "Beta").await.unwrap();
    let lag = service(&w);
    let first = alarm("ALARM", "2026-12-01T08:59:30.000+0000");
    let report = lag.reconcile_lagging(&first, &|| true).await.unwrap();
    let id = first.task_id();
    assert_eq!(report.organizations, 2);
    assert_eq!(report.started, vec![(w.org.clone(), id.clone())]);
    assert_eq!(report.sync_off, 1);
    assert!(report.finished());
    let task = w.store.get_fan_out(&w.org, &id).await.unwrap().unwrap();
    assert!(task.force && !task.done);
    let entries = w.reconciles_started(&w.org).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].details["why"], "stream_lag");
    assert_eq!(entries[0].details["taskId"], id.as_str());
    assert!(w.reconciles_started(&off).await.is_empty());

    // the same notification again, and a later one while it runs: nothing new
    let again = lag.reconcile_lagging(&first, &|| true).await.unwrap();
    assert!(again.started.is_empty());
    assert_eq!(again.covered, vec![(w.org.clone(), id.clone())]);
    let later = alarm("ALARM", "2026-12-01T09:00:00.000+0000");
    let folded = lag.reconcile_lagging(&later, &|| true).await.unwrap();
    assert!(folded.started.is_empty());
    assert_eq!(folded.covered, vec![(w.org.clone(), id.clone())]);
    assert_eq!(w.reconciles_started(&w.org).await.len(), 1);

    // its clearing asks for nothing
    let ok = alarm("OK", "2026-12-01T09:01:00.000+0000");
    let cleared = lag.reconcile_lagging(&ok, &|| true).await.unwrap();
    assert_eq!(cleared.organizations, 0);
    assert!(cleared.finished());

    // once done, the next alarm reconciles again
    let done = task.advanced(1, 1, None, "2026-12-01T09:01:00Z".into());
    w.store.advance_fan_out(&w.org, &done).await.unwrap();
    let next = alarm("ALARM", "2026-12-01T09:30:00.000+0000");
    let report = lag.reconcile_lagging(&next, &|| true).await.unwrap();
    assert_eq!(report.started, vec![(w.org.clone(), next.task_id())]);
}

#[tokio::test]
async fn a_running_forced_reconcile_covers_the_organization_and_time_bounds_the_run() {
    let w = World::new().await;
    w.sync_on(&w.org).await;
    let running = FanOutTask::forced_reconcile("reconcile-1".into(), "2026-12-01T08:58:00Z".into());
    w.store.start_fan_out(&w.org, &running).await.unwrap();
    let lag = service(&w);
    let a = alarm("ALARM", "2026-12-01T08:59:30.000+0000");
    let report = lag.reconcile_lagging(&a, &|| true).await.unwrap();
    assert_eq!(report.covered, vec![(w.org.clone(), "reconcile-1".into())]);
    assert!(report.started.is_empty());
    let stopped = lag.reconcile_lagging(&a, &|| false).await.unwrap();
    assert_eq!(stopped.organizations, 0);
    assert!(!stopped.finished());
}
