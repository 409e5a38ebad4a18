//! The contract of [`SyncOutcomes`].

use super::desired_states::success;
use super::{Checked, assert_conflict, fresh, fresh_org, uid};
use crate::activity::{Action, ActivityEntry, ActivityFilter};
use crate::clock::Clock;
use crate::ids::OrgId;
use crate::ports::{ActivityLog, DesiredStates, SyncOutcomes};
use crate::state::{Failure, FailureClass, Outcome, SyncStatus};

/// An entry about `user`, at the clock's time.
pub fn entry(clock: &dyn Clock, action: Action, user: &str) -> ActivityEntry {
    ActivityEntry::by_sync(clock.timestamp(), &fresh(), action, user, Outcome::Success)
}

/// A failure of `class` (for `product`) at `applied_generation`.
pub fn failed(applied_generation: u64, class: FailureClass, product: Option<&str>) -> SyncStatus {
    SyncStatus {
        last_outcome: Outcome::Failure,
        failure: Some(Failure {
            class,
            product: product.map(str::to_owned),
            domain: None,
        }),
        ..success(applied_generation)
    }
}

async fn entries<S: ActivityLog>(s: &S, org: &OrgId) -> Result<Vec<String>, crate::StoreError> {
    let (page, _) = s
        .activity(org, &ActivityFilter::default(), None, 100)
        .await?;
    Ok(page.into_iter().map(|e| e.id).collect())
}

/// Outcomes recorded once, with their entries (both or neither); failures
/// never over a newer success; retries marked once.
pub async fn sync_outcomes<S, C>(s: &S, clock: &C) -> Checked
where
    S: SyncOutcomes + DesiredStates + ActivityLog,
    C: Clock,
{
    let org = fresh_org();
    let ada = uid("u-ada");
    let created = entry(clock, Action::AccountCreated, "u-ada");
    s.record_outcome(&org, &ada, &success(1), &created).await?;
    assert_eq!(s.user_state(&org, &ada).await?.1, Some(success(1)));
    assert_eq!(entries(s, &org).await?, vec![created.id.clone()]);
    let again = entry(clock, Action::AccountCreated, "u-ada");
    assert_conflict(
        s.record_outcome(&org, &ada, &success(1), &again).await,
        "a success recorded before",
    );
    assert_eq!(
        entries(s, &org).await?,
        vec![created.id.clone()],
        "neither written"
    );

    // a failure at the applied generation is recorded; below it, refused
    let failure = failed(1, FailureClass::ProductApiUnavailable, None);
    s.record_status(&org, &ada, &failure).await?;
    assert_eq!(s.user_state(&org, &ada).await?.1, Some(failure.clone()));
    s.record_outcome(
        &org,
        &ada,
        &success(2),
        &entry(clock, Action::AccountUpdated, "u-ada"),
    )
    .await?;
    assert_conflict(
        s.record_status(
            &org,
            &ada,
            &failed(1, FailureClass::ProductApiUnavailable, None),
        )
        .await,
        "a failure over a newer success",
    );
    assert_conflict(
        s.record_outcome(
            &org,
            &ada,
            &failed(1, FailureClass::ExistingAccount, None),
            &entry(clock, Action::SyncFailed, "u-ada"),
        )
        .await,
        "a failure with its entry over a newer success",
    );
    assert_conflict(
        s.record_status(&org, &ada, &success(2)).await,
        "a repeated success",
    );
    assert_eq!(entries(s, &org).await?.len(), 2);
    assert_eq!(s.user_state(&org, &ada).await?.1, Some(success(2)));

    // Retry sync marks a failure once
    let grace = uid("u-grace");
    let stuck = SyncStatus {
        dead_lettered: true,
        ..failed(3, FailureClass::OutOfLicenses, Some("cad"))
    };
    s.record_status(&org, &grace, &stuck).await?;
    let marked = SyncStatus {
        dead_lettered: false,
        retried_at: Some("2026-01-02T10:00:00.000Z".into()),
        ..stuck.clone()
    };
    assert_conflict(
        s.mark_retried(&org, &ada, &marked, "2026-01-02T09:59:00.000Z")
            .await,
        "a user whose status is a success",
    );
    let elsewhere = SyncStatus {
        applied_generation: 2,
        ..marked.clone()
    };
    assert_conflict(
        s.mark_retried(&org, &grace, &elsewhere, "2026-01-02T09:59:00.000Z")
            .await,
        "another generation",
    );
    s.mark_retried(&org, &grace, &marked, "2026-01-02T09:59:00.000Z")
        .await?;
    assert_eq!(s.user_state(&org, &grace).await?.1, Some(marked.clone()));
    assert_conflict(
        s.mark_retried(&org, &grace, &marked, "2026-01-02T09:59:30.000Z")
            .await,
        "retried since",
    );
    assert_conflict(
        s.mark_retried(&org, &uid("u-none"), &marked, "2026-01-02T09:59:00.000Z")
            .await,
        "no status",
    );
    let later = SyncStatus {
        retried_at: Some("2026-01-02T10:05:00.000Z".into()),
        ..marked.clone()
    };
    s.mark_retried(&org, &grace, &later, "2026-01-02T10:01:00.000Z")
        .await?;
    Ok(())
}
