use time::macros::datetime;

use super::*;
use crate::directory::DirectoryStatus;
use crate::memory::{MemoryStore, ada_facts, applied_status};
use crate::ports::{Organization, SyncSettings};
use crate::rules::effective_assignment;

fn org(id: &str) -> OrgId {
    OrgId::parse(id).unwrap()
}

async fn with_org(store: &MemoryStore, id: &str, schedule: DriftSchedule, sync: bool) {
    let mut o = Organization::new(org(id), id, "2026-12-01T00:00:00.000Z");
    o.drift_check = schedule;
    store.create_org(&o).await.unwrap();
    if sync {
        let on = SyncSettings {
            enabled: true,
            changed_at: None,
            changed_by: None,
        };
        store.put_sync(&org(id), &on, 0).await.unwrap();
    }
}

#[test]
fn a_period_names_its_run() {
    let now = datetime!(2026-12-05 06:41:07 UTC);
    assert_eq!(DriftSchedule::Off.run_id(now), None);
    assert_eq!(
        DriftSchedule::Daily.run_id(now).as_deref(),
        Some("drift-2026-12-05")
    );
    assert_eq!(
        DriftSchedule::Hourly.run_id(now).as_deref(),
        Some("drift-2026-12-05T06")
    );
    assert_eq!(DriftSchedule::default(), DriftSchedule::Daily);
    for d in DriftSchedule::ALL {
        assert_eq!(DriftSchedule::parse(d.as_str()), Some(d));
    }
    assert_eq!(DriftSchedule::parse("weekly"), None);
    assert!(manual_run_id(now, "ab12").starts_with("drift-manual-"));
}

#[tokio::test]
async fn a_pass_starts_one_run_per_period_for_organizations_with_sync_and_the_check_on() {
    let store = MemoryStore::default();
    with_org(&store, "daily", DriftSchedule::Daily, true).await;
    with_org(&store, "hourly", DriftSchedule::Hourly, true).await;
    with_org(&store, "off", DriftSchedule::Off, true).await;
    with_org(&store, "sync-off", DriftSchedule::Daily, false).await;
    let now = datetime!(2026-12-05 06:41 UTC);
    let pass = start_due_drift_checks(&store, now, &|| true).await.unwrap();
    assert_eq!((pass.organizations, pass.started, pass.not_due), (4, 2, 2));
    assert!(pass.complete);
    let task = store
        .get_fan_out(&org("daily"), "drift-2026-12-05")
        .await
        .unwrap()
        .unwrap();
    assert!(task.check);
    // the same period again: nothing new
    let again = start_due_drift_checks(&store, datetime!(2026-12-05 06:59 UTC), &|| true)
        .await
        .unwrap();
    assert_eq!(again.started, 0);
    // the next hour: the hourly organization only
    let next = start_due_drift_checks(&store, datetime!(2026-12-05 07:00 UTC), &|| true)
        .await
        .unwrap();
    assert_eq!(next.started, 1);
    assert!(
        store
            .get_fan_out(&org("hourly"), "drift-2026-12-05T07")
            .await
            .unwrap()
            .is_some()
    );
    let stopped = start_due_drift_checks(&store, now, &|| false)
        .await
        .unwrap();
    assert!(!stopped.complete);
}

#[tokio::test]
async fn a_run_by_hand_is_refused_while_sync_is_off() {
    let store = MemoryStore::default();
    with_org(&store, "quiet", DriftSchedule::Daily, false).await;
    assert!(matches!(
        start_drift_check(&store, &org("quiet"), "drift-x".into(), "t").await,
        Err(DriftRunError::SyncOff)
    ));
    assert!(matches!(
        start_drift_check(&store, &org("nobody"), "drift-x".into(), "t").await,
        Err(DriftRunError::NotFound)
    ));
}

#[test]
fn only_applied_successful_accounts_are_checked() {
    let desired = DesiredState {
        generation: 3,
        facts: ada_facts(),
        assignment: effective_assignment(DirectoryStatus::Active, &Default::default(), &[]),
        language: None,
        updated_at: "t".into(),
        cause: None,
    };
    let status = applied_status(3, Outcome::Success);
    assert!(checkable(&desired, &status));
    let pending = SyncStatus {
        applied_generation: 2,
        ..status.clone()
    };
    assert!(!checkable(&desired, &pending));
    let failed = SyncStatus {
        last_outcome: Outcome::Failure,
        ..status.clone()
    };
    assert!(!checkable(&desired, &failed));
    let never = DesiredState {
        generation: 0,
        ..desired.clone()
    };
    let never_status = SyncStatus {
        applied_generation: 0,
        ..status.clone()
    };
    assert!(!checkable(&never, &never_status));
    let mut handed = desired.clone();
    handed.facts.handed_over = true;
    assert!(!checkable(&handed, &status));
}
