//! A job's check of the address's domain: against the organization's
//! domains read with the state, those that could cover the domain the job
//! names; against all of them when the address read is elsewhere.

use user_sync_core::clock::FixedClock;
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::domains::{DomainState, Domains};
use user_sync_core::memory::{MemoryProductApi, MemoryStore, ada_desired};
use user_sync_core::ports::DesiredStates;

use super::*;
use crate::fixtures::{DELIVERY, ada, org, worker};
use crate::metrics::JobLine;

/// The organization's domain `name`, verified.
async fn hold(store: &MemoryStore, name: &str, include_subdomains: bool) {
    let at = time::macros::datetime!(2026-12-01 09:00 UTC);
    let mut d = OrgDomain::new(
        DomainName::parse(name).unwrap(),
        include_subdomains,
        "Alice",
        at,
    )
    .unwrap();
    d.state = DomainState::Verified {
        verified_by: "Alice".into(),
        verified_at: "2026-12-01T09:00:00.000Z".into(),
        last_checked: None,
    };
    store.add_domain(&org(), &d).await.unwrap();
}

/// Ada's desired state, an active account at `email`, and the job the
/// evaluator sends for it.
async fn desire(store: &MemoryStore, email: &str) -> EntitlementJob {
    let desired = ada_desired(DirectoryStatus::Active, email);
    store
        .put_desired(&org(), &ada(), &desired, None)
        .await
        .unwrap();
    EntitlementJob::of_state(&org(), &ada(), &desired)
}

/// Runs `job`; answers whether Ada has an account, and the failure's class
/// when she has none.
async fn run(store: &MemoryStore, job: &EntitlementJob) -> Result<(), Option<FailureClass>> {
    let api = MemoryProductApi::default();
    let clock = FixedClock::at(time::macros::datetime!(2026-12-06 09:00 UTC));
    let domains = crate::BatchDomains::new(store);
    worker(store, &api, &domains, &clock)
        .reconcile(job, &DELIVERY, &JobLine::default())
        .await
        .unwrap();
    if api.account(&org(), &ada()).is_some() {
        return Ok(());
    }
    let (_, status) = store.user_state(&org(), &ada()).await.unwrap();
    Err(status.and_then(|s| s.failure).map(|f| f.class))
}

#[tokio::test]
async fn the_address_in_the_domain_its_job_names_is_checked_against_the_domains_read_with_it() {
    let store = MemoryStore::default();
    hold(&store, "example.com", true).await;
    hold(&store, "example.org", true).await;
    let job = desire(&store, "ada@mail.example.com").await;
    assert_eq!(job.email_domain.as_deref(), Some("mail.example.com"));
    assert_eq!(run(&store, &job).await, Ok(()));
}

#[tokio::test]
async fn a_parent_domain_without_its_subdomains_does_not_cover_the_address() {
    let store = MemoryStore::default();
    hold(&store, "example.com", false).await;
    let job = desire(&store, "ada@eu.example.com").await;
    assert_eq!(
        run(&store, &job).await,
        Err(Some(FailureClass::UnverifiedDomain))
    );
}

#[tokio::test]
async fn an_address_moved_to_another_domain_since_the_job_is_checked_against_all_domains() {
    // the job names example.com; the state read has moved to example.org
    let store = MemoryStore::default();
    hold(&store, "example.com", true).await;
    let job = desire(&store, "ada@example.com").await;
    let moved = EntitlementJob {
        generation: 2,
        ..job.clone()
    };
    let mut state = store.user_state(&org(), &ada()).await.unwrap().0.unwrap();
    state.generation = 2;
    state.facts.email = "ada@example.org".into();
    store
        .put_desired(&org(), &ada(), &state, Some(1))
        .await
        .unwrap();
    assert_eq!(
        run(&store, &moved).await,
        Err(Some(FailureClass::UnverifiedDomain)),
        "example.org is not the organization's"
    );
    hold(&store, "example.org", false).await;
    assert_eq!(run(&store, &moved).await, Ok(()), "example.org is");
    // a job with a domain that is not one, or none at all
    for email_domain in [Some("not a domain".to_owned()), None] {
        let store = MemoryStore::default();
        hold(&store, "example.com", false).await;
        let job = EntitlementJob {
            email_domain,
            ..desire(&store, "ada@example.com").await
        };
        assert_eq!(run(&store, &job).await, Ok(()));
    }
}
