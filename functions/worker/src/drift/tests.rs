use user_sync_core::activity::ActivityFilter;
use user_sync_core::clock::FixedClock;
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::domains::{DomainName, OrgDomain};
use user_sync_core::memory::{MemoryProductApi, MemoryStore, ada_desired, applied_status};
use user_sync_core::ports::{ActivityLog, DesiredStates, SyncOutcomes};
use user_sync_core::state::{AccountStatus, DesiredState};

use super::*;
use crate::fixtures::{DELIVERY, ada, org, worker};

/// Ada, in step: her desired state (G2M), applied, and her account.
async fn in_step(
    store: &MemoryStore,
    api: &MemoryProductApi,
    status: DirectoryStatus,
) -> DesiredState {
    let now = time::macros::datetime!(2026-12-01 09:00 UTC);
    let domain =
        OrgDomain::grandfathered(DomainName::parse("example.com").unwrap(), "ops", now).unwrap();
    store.add_domain(&org(), &domain).await.unwrap();
    let desired = ada_desired(status, "ada@example.com");
    store
        .put_desired(&org(), &ada(), &desired, None)
        .await
        .unwrap();
    let status = applied_status(1, Outcome::Success);
    store.record_status(&org(), &ada(), &status).await.unwrap();
    api.put_account(&org(), &ada(), &desired.account())
        .await
        .unwrap();
    desired
}

async fn check(store: &MemoryStore, api: &MemoryProductApi) -> RecordResult {
    let clock = FixedClock::at(time::macros::datetime!(2026-12-05 07:00 UTC));
    let domains = crate::BatchDomains::new(store);
    let worker = worker(store, api, &domains, &clock);
    let job = EntitlementJob {
        drift_check: Some("drift-run".into()),
        ..EntitlementJob::new(&org(), &ada(), 1)
    };
    worker
        .check_drift(&job, "drift-run", &DELIVERY)
        .await
        .unwrap()
}

async fn entries(store: &MemoryStore) -> Vec<ActivityEntry> {
    store
        .activity(&org(), &ActivityFilter::default(), None, usize::MAX)
        .await
        .unwrap()
        .0
}

#[tokio::test]
async fn an_account_in_step_is_read_and_not_written() {
    let (store, api) = (MemoryStore::default(), MemoryProductApi::default());
    in_step(&store, &api, DirectoryStatus::Active).await;
    let writes = api.calls();
    assert!(matches!(check(&store, &api).await, RecordResult::Done));
    assert_eq!((api.calls(), api.reads()), (writes, 1));
    assert!(entries(&store).await.is_empty());
}

#[tokio::test]
async fn an_account_a_product_admin_changed_is_written_back_naming_the_fields_and_who() {
    let (store, api) = (MemoryStore::default(), MemoryProductApi::default());
    let desired = in_step(&store, &api, DirectoryStatus::Active).await;
    assert!(api.edit(&org(), &ada(), "Jane Admin", |a| {
        a.role = "full_admin".into();
        a.products.insert("G2W".into());
    }));
    assert!(matches!(check(&store, &api).await, RecordResult::Done));
    assert_eq!(api.account(&org(), &ada()), Some(desired.account()));
    let entries = entries(&store).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].action, Action::DriftCorrected);
    assert_eq!(entries[0].details["fields"], json!(["products", "role"]));
    assert_eq!(entries[0].details["changedBy"], "Jane Admin");
    // corrected: the next check writes nothing
    let writes = api.calls();
    check(&store, &api).await;
    assert_eq!(api.calls(), writes);
}

#[tokio::test]
async fn a_reactivated_account_of_a_deleted_user_is_suspended_again() {
    let (store, api) = (MemoryStore::default(), MemoryProductApi::default());
    let desired = in_step(&store, &api, DirectoryStatus::Deleted).await;
    assert_eq!(desired.account().status, AccountStatus::Suspended);
    api.edit(&org(), &ada(), "Jane Admin", |a| {
        a.status = AccountStatus::Active;
        a.products.insert("G2M".into());
    });
    check(&store, &api).await;
    assert_eq!(
        api.account(&org(), &ada()).map(|a| a.status),
        Some(AccountStatus::Suspended)
    );
    assert_eq!(
        entries(&store).await[0].details["fields"],
        json!(["status", "products"])
    );
}

#[tokio::test]
async fn a_user_changed_since_the_run_looked_is_left_to_its_own_job() {
    let (store, api) = (MemoryStore::default(), MemoryProductApi::default());
    let desired = in_step(&store, &api, DirectoryStatus::Active).await;
    let next = DesiredState {
        generation: 2,
        ..desired
    };
    store
        .put_desired(&org(), &ada(), &next, Some(1))
        .await
        .unwrap();
    api.edit(&org(), &ada(), "Jane Admin", |a| {
        a.role = "full_admin".into()
    });
    check(&store, &api).await;
    assert_eq!(api.reads(), 0);
}
