use std::collections::HashMap;

use user_sync_core::activity::ActivityFilter;
use user_sync_core::clock::SystemClock;
use user_sync_core::memory::{MemoryStore, ada_facts, applied_status, member};
use user_sync_core::ports::{
    ActivityLog, DesiredStates, RuleSet, StoredUser, SyncOutcomes, SyncSettings, Users,
};
use user_sync_core::rules::effective_assignment;
use user_sync_core::state::DesiredState;

use super::*;
use crate::Affected;

fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

fn uid(s: &str) -> UserId {
    UserId::parse(s).unwrap()
}

/// Users `a` (applied), `b` (pending), `c` (never asked of the product),
/// `d` (applied, last attempt failed); sync on.
async fn store() -> MemoryStore {
    let store = MemoryStore::default();
    store.put_rule_set(
        &org(),
        RuleSet {
            rules: Vec::new(),
            sync: SyncSettings {
                enabled: true,
                changed_at: None,
                changed_by: None,
            },
            version: 1,
        },
    );
    for (id, generation, applied, outcome) in [
        ("a", 2, 2, Outcome::Success),
        ("b", 3, 2, Outcome::Success),
        ("c", 0, 0, Outcome::Success),
        ("d", 1, 1, Outcome::Failure),
    ] {
        let user = StoredUser {
            user: member(&uid(id)),
            attributes: serde_json::json!({}),
        };
        store.create_user(&org(), &user).await.unwrap();
        let desired = DesiredState {
            generation,
            facts: ada_facts(),
            assignment: effective_assignment(
                user_sync_core::directory::DirectoryStatus::Active,
                &Default::default(),
                &[],
            ),
            language: None,
            updated_at: "t".into(),
            cause: None,
        };
        store
            .put_desired(&org(), &uid(id), &desired, None)
            .await
            .unwrap();
        let status = applied_status(applied, outcome);
        store
            .record_status(&org(), &uid(id), &status)
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn a_drift_check_sends_a_check_per_user_in_step_writes_no_state_and_sums_up() {
    let store = store().await;
    let reconciler = Reconciler {
        directory: &store,
        state: &store,
        reads: &store,
        jobs: &store,
        languages: &crate::languages::DefaultLanguages::default(),
        rules: &crate::kept_rules::KeptRules::default(),
        clock: &SystemClock,
        tally: crate::Tally::default(),
    };
    let task = FanOutTask::drift_check("drift-2026-12-05".into(), "t0".into());
    store.start_fan_out(&org(), &task).await.unwrap();
    let before = store
        .user_states(&org(), &[uid("a"), uid("b")])
        .await
        .unwrap();
    let mut contexts = HashMap::new();
    reconciler
        .apply(&mut contexts, Affected::Chunk(org(), Box::new(task)), "1")
        .await
        .unwrap();
    let jobs = store.take_jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].user_id, uid("a"));
    assert_eq!(jobs[0].generation, 2);
    assert_eq!(jobs[0].drift_check.as_deref(), Some("drift-2026-12-05"));
    // nothing decided, nothing stored
    assert_eq!(
        store
            .user_states(&org(), &[uid("a"), uid("b")])
            .await
            .unwrap(),
        before
    );
    let done = store
        .get_fan_out(&org(), "drift-2026-12-05")
        .await
        .unwrap()
        .unwrap();
    assert!(done.done);
    assert_eq!((done.users, done.jobs), (4, 1));
    let (entries, _) = store
        .activity(&org(), &ActivityFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, Action::DriftChecked);
    assert_eq!(entries[0].details["users"], 4);
    assert_eq!(entries[0].details["checked"], 1);
}
