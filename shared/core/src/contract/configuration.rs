//! The contract of [`Configuration`]: rule writes and the sync switch land
//! only on the configuration they read.

use super::{Checked, fresh_org};
use crate::StoreError;
use crate::ids::{GroupId, OrgId, RuleId};
use crate::memory::product_rule;
use crate::ports::{Configuration, RuleSet, RuleWrite, SyncSettings};
use crate::rules::{Priority, Rule};

fn rule(id: &str, priority: u32) -> Rule {
    product_rule(
        RuleId::parse(id).unwrap_or_else(|e| panic!("{e}")),
        GroupId::parse("sales").unwrap_or_else(|e| panic!("{e}")),
        Priority::new(priority).unwrap_or_else(|e| panic!("{e}")),
        &["G2M"],
    )
}

async fn read<S: Configuration>(store: &S, org: &OrgId) -> RuleSet {
    store
        .rule_set(org)
        .await
        .unwrap_or_else(|e| panic!("rule_set: {e}"))
}

fn conflict(r: Result<(), StoreError>, what: &str) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "{what}: {r:?}");
}

/// Writes rules and the switch of `org` (a fresh organization).
pub async fn configuration<S: Configuration>(store: &S) -> Checked {
    let org = &fresh_org();
    let empty = read(store, org).await;
    assert_eq!(
        (empty.rules.len(), empty.sync.enabled, empty.version),
        (0, false, 0)
    );

    let a = rule("a", 1);
    let b = rule("b", 2);
    let ids = |rules: &[&Rule]| rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert!(
        store
            .write_rules(org, &RuleWrite::Create(a.clone()), &ids(&[&a]), &empty)
            .await
            .is_ok()
    );
    // the configuration moved on: a write planned on what was read first
    conflict(
        store
            .write_rules(org, &RuleWrite::Create(b.clone()), &ids(&[&a, &b]), &empty)
            .await,
        "write_rules MUST return Conflict when the configuration is no longer the one read",
    );
    let one = read(store, org).await;
    assert_eq!(one.version, 1);
    assert_eq!(one.get(&a.id).map(|r| r.version), Some(1));
    conflict(
        store
            .write_rules(org, &RuleWrite::Create(a.clone()), &ids(&[&a]), &one)
            .await,
        "a Create MUST return Conflict when its id exists",
    );
    assert!(
        store
            .write_rules(org, &RuleWrite::Create(b.clone()), &ids(&[&a, &b]), &one)
            .await
            .is_ok()
    );

    // updates and deletes name the rule's version; the order decides priorities
    let two = read(store, org).await;
    let stale = RuleWrite::Update {
        rule: rule("a", 1),
        expected_version: 7,
    };
    conflict(
        store.write_rules(org, &stale, &ids(&[&a, &b]), &two).await,
        "an Update MUST return Conflict unless the rule has expected_version",
    );
    let mut edited = a.clone();
    edited.description = "edited".into();
    let update = RuleWrite::Update {
        rule: edited,
        expected_version: 1,
    };
    assert!(
        store
            .write_rules(org, &update, &ids(&[&b, &a]), &two)
            .await
            .is_ok()
    );
    let three = read(store, org).await;
    assert_eq!(three.order(), ids(&[&b, &a]));
    assert_eq!(
        three
            .rules
            .iter()
            .map(|r| r.rule.priority.get())
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        three
            .get(&a.id)
            .map(|r| (r.version, r.rule.description.as_str())),
        Some((2, "edited"))
    );
    conflict(
        store
            .write_rules(
                org,
                &RuleWrite::Delete {
                    id: a.id.clone(),
                    expected_version: 1,
                },
                &ids(&[&b]),
                &three,
            )
            .await,
        "a Delete MUST return Conflict unless the rule has expected_version",
    );

    // the switch: written over the version read; a rule write planned
    // before the switch does not land after it
    let on = SyncSettings {
        enabled: true,
        changed_at: Some("2026-12-01T09:00:00.000Z".into()),
        changed_by: Some("Contract".into()),
    };
    conflict(
        store.put_sync(org, &on, three.version - 1).await,
        "put_sync MUST return Conflict when the configuration is no longer at expected_version",
    );
    assert!(store.put_sync(org, &on, three.version).await.is_ok());
    let switched = read(store, org).await;
    assert_eq!(
        (switched.sync.clone(), switched.version),
        (on, three.version)
    );
    conflict(
        store
            .write_rules(org, &RuleWrite::Reorder, &ids(&[&a, &b]), &three)
            .await,
        "write_rules MUST return Conflict when the sync switch is no longer the one read",
    );
    let delete = RuleWrite::Delete {
        id: a.id.clone(),
        expected_version: 2,
    };
    assert!(
        store
            .write_rules(org, &delete, &ids(&[&b]), &switched)
            .await
            .is_ok()
    );
    let last = read(store, org).await;
    assert_eq!(
        (last.order(), last.version),
        (ids(&[&b]), switched.version + 1)
    );
    Ok(())
}
