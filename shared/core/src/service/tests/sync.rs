//! Turning sync on and off.

use super::*;
use crate::StoreError;
use crate::activity::Action;
use crate::rules::AdminRole;
use crate::service::rules::{RuleError, RuleInput};
use crate::service::sync::SyncError;

async fn admin_rule(w: &World) {
    w.group("admins", 1).await;
    let input = RuleInput {
        group_id: "admins".into(),
        admin_role: Some(AdminRole::FullAdmin),
        ..RuleInput::default()
    };
    w.rules()
        .create(&w.org, "Alice", input, false)
        .await
        .map_err(|e: RuleError| e)
        .unwrap();
}

#[tokio::test]
async fn sync_on_needs_a_verified_domain_then_a_full_admin_rule() {
    let w = World::new().await;
    let sync = w.sync();
    assert!(matches!(
        sync.set(&w.org, "Alice", true, true).await,
        Err(SyncError::VerifiedDomainRequired(_))
    ));
    w.verified_domain().await;
    assert!(matches!(
        sync.set(&w.org, "Alice", true, true).await,
        Err(SyncError::FullAdminRequired)
    ));
    // turning off needs neither
    assert!(
        !sync
            .set(&w.org, "Alice", false, false)
            .await
            .unwrap()
            .enabled
    );
    assert!(w.entries().await.is_empty(), "nothing changed");
}

#[tokio::test]
async fn sync_is_switched_once_with_its_activity_entry() {
    let w = World::new().await;
    w.verified_domain().await;
    admin_rule(&w).await;
    let sync = w.sync();
    let on = sync.set(&w.org, "Alice", true, true).await.unwrap();
    assert!(on.enabled);
    assert_eq!(on.changed_by.as_deref(), Some("Alice"));
    assert_eq!(on.changed_at.as_deref(), Some("2026-12-01T09:00:00.000Z"));
    assert_eq!(sync.get(&w.org).await.unwrap(), on);
    // again: as it is, no entry
    assert_eq!(sync.set(&w.org, "Bob", true, true).await.unwrap(), on);
    w.clock.advance(time::Duration::minutes(5));
    let off = sync.set(&w.org, "Bob", false, false).await.unwrap();
    assert!(!off.enabled);
    let actions: Vec<(Action, String)> = w
        .entries()
        .await
        .into_iter()
        .filter(|e| e.subject.id == "sync")
        .map(|e| (e.action, e.actor))
        .collect();
    assert_eq!(
        actions,
        [
            (Action::SyncEnabled, "Alice".to_owned()),
            (Action::SyncDisabled, "Bob".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_rule_write_after_sync_was_read_is_refused_by_the_store() {
    let w = World::new().await;
    w.verified_domain().await;
    admin_rule(&w).await;
    let set = crate::ports::Configuration::rule_set(&w.store, &w.org)
        .await
        .unwrap();
    w.sync().set(&w.org, "Alice", true, true).await.unwrap();
    // a write planned while sync was off does not land
    let write = crate::ports::RuleWrite::Reorder;
    let stale =
        crate::ports::Configuration::write_rules(&w.store, &w.org, &write, &set.order(), &set)
            .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
}
