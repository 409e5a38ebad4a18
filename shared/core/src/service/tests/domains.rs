//! Domains: each change stamped by the service's clock and recorded by
//! its actor; a refused change records nothing; ops' claim overrides.

use super::*;
use crate::activity::Action;
use crate::domains::{DomainOpError, DomainState, TxtLookup, TxtResolver, VerifyRefusal};
use crate::service::domains::DomainService;

struct Dns(TxtLookup);

impl TxtResolver for Dns {
    async fn txt(&self, _: &str) -> TxtLookup {
        self.0.clone()
    }
}

fn example() -> DomainName {
    DomainName::parse("example.org").unwrap()
}

impl World {
    fn domain_service(&self) -> DomainService<'_, MemoryStore, MemoryStore, FixedClock> {
        DomainService {
            domains: &self.store,
            history: Some(&self.store),
            clock: &self.clock,
        }
    }
}

#[tokio::test]
async fn a_domain_is_added_verified_and_removed_each_recorded_by_its_actor() {
    let w = World::new().await;
    let s = w.domain_service();
    let d = s.add(&w.org, "Alice", example(), true).await.unwrap();
    assert!(d.include_subdomains);
    assert!(matches!(
        s.add(&w.org, "Alice", example(), false).await,
        Err(DomainOpError::Exists)
    ));
    let found = Dns(TxtLookup::Found(vec![d.record().value]));
    w.clock.advance(time::Duration::minutes(5));
    let verified = s.verify(&found, &w.org, "Bob", &example()).await.unwrap();
    let DomainState::Verified { verified_at, .. } = &verified.state else {
        panic!("{:?}", verified.state);
    };
    assert_eq!(verified_at, "2026-12-01T09:05:00.000Z");
    w.clock.advance(time::Duration::minutes(5));
    s.remove(&w.org, "Carol", &example()).await.unwrap();
    assert!(matches!(
        s.remove(&w.org, "Carol", &example()).await,
        Err(DomainOpError::NotFound)
    ));
    let entries = w.entries().await;
    let seen: Vec<_> = entries
        .iter()
        .map(|e| {
            (
                e.action,
                e.actor.as_str(),
                e.subject.id.as_str(),
                e.at.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                Action::DomainAdded,
                "Alice",
                "example.org",
                "2026-12-01T09:00:00.000Z"
            ),
            (
                Action::DomainVerified,
                "Bob",
                "example.org",
                "2026-12-01T09:05:00.000Z"
            ),
            (
                Action::DomainRemoved,
                "Carol",
                "example.org",
                "2026-12-01T09:10:00.000Z"
            ),
        ]
    );
    assert_eq!(
        entries[0].details,
        serde_json::json!({"includeSubdomains": true})
    );
}

#[tokio::test]
async fn a_refused_verification_changes_and_records_nothing() {
    let w = World::new().await;
    let s = w.domain_service();
    s.add(&w.org, "Alice", example(), false).await.unwrap();
    assert!(matches!(
        s.verify(&Dns(TxtLookup::NotFound), &w.org, "Bob", &example())
            .await,
        Err(DomainOpError::Refused(VerifyRefusal::RecordNotFound { .. }))
    ));
    let stored = w
        .store
        .get_domain(&w.org, &example())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.state.is_verified());
    assert_eq!(w.entries().await.len(), 1);
}

#[tokio::test]
async fn ops_claim_and_grandfather_without_a_history_record_nothing() {
    let w = World::new().await;
    let s = DomainService {
        history: None,
        ..w.domain_service()
    };
    let d = s.claim(&w.org, "ops", &example(), false).await.unwrap();
    assert!(d.state.is_verified());
    assert!(!s.grandfather(&w.org, "ops", &example()).await.unwrap());
    let other = DomainName::parse("example.net").unwrap();
    assert!(s.grandfather(&w.org, "ops", &other).await.unwrap());
    assert!(w.entries().await.is_empty());
    // with the history, a grandfathered domain is recorded
    let third = DomainName::parse("example.com").unwrap();
    assert!(
        w.domain_service()
            .grandfather(&w.org, "ops", &third)
            .await
            .unwrap()
    );
    let entries = w.entries().await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].action, Action::DomainGrandfathered);
}
