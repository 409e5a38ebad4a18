//! The contract of [`FailureIndex`].

use super::desired_states::success;
use super::sync_outcomes::failed;
use super::{Checked, all_pages, assert_conflict, fresh_org, uid};
use crate::ids::UserId;
use crate::ports::{FailureIndex, SyncOutcomes};
use crate::state::{Failure, FailureClass, FailureCount, SyncStatus};

fn failure(class: FailureClass, product: Option<&str>, domain: Option<&str>) -> Failure {
    Failure {
        class,
        product: product.map(str::to_owned),
        domain: domain.map(str::to_owned),
    }
}

/// Counts per failure, the users of one failure paged by id, welcome-email
/// failures counted, read, marked retried once, and cleared.
pub async fn failure_index<S: FailureIndex + SyncOutcomes>(s: &S) -> Checked {
    let org = fresh_org();
    let cad = failure(FailureClass::OutOfLicenses, Some("cad"), None);
    let odd = failure(FailureClass::OutOfLicenses, Some("a#b%c"), None);
    let domain = failure(FailureClass::UnverifiedDomain, None, Some("example.org"));
    let statuses: [(&str, SyncStatus); 6] = [
        ("u-3", failed(1, FailureClass::OutOfLicenses, Some("cad"))),
        ("u-1", failed(1, FailureClass::OutOfLicenses, Some("cad"))),
        ("u-2", failed(0, FailureClass::OutOfLicenses, Some("a#b%c"))),
        ("u-4", failed(2, FailureClass::ExistingAccount, None)),
        (
            "u-5",
            SyncStatus {
                failure: Some(domain.clone()),
                ..failed(0, FailureClass::UnverifiedDomain, None)
            },
        ),
        ("u-6", failed(0, FailureClass::ExistingAccount, None)),
    ];
    for (user, status) in &statuses {
        s.record_status(&org, &uid(user), status).await?;
    }
    // a success takes a user out of the index
    s.record_status(&org, &uid("u-6"), &success(1)).await?;
    for user in ["u-1", "u-7", "u-1"] {
        s.record_email_failure(&org, &uid(user), Some("MessageRejected"))
            .await?;
    }
    s.record_email_failure(&org, &uid("u-8"), Some("MessageRejected"))
        .await?;
    s.record_email_failure(&org, &uid("u-8"), None).await?;

    let expected = FailureCount::tally([
        (cad.clone(), 2),
        (odd.clone(), 1),
        (failure(FailureClass::ExistingAccount, None, None), 1),
        (domain.clone(), 1),
        (failure(FailureClass::EmailFailed, None, None), 2),
    ]);
    assert_eq!(s.failure_counts(&org).await?, expected, "in class order");
    assert!(s.failure_counts(&fresh_org()).await?.is_empty());

    let users_of = |f: Failure| {
        let org = org.clone();
        async move {
            let all = all_pages(1, |after: Option<UserId>| {
                let (org, f) = (org.clone(), f.clone());
                async move { s.failed_users(&org, &f, after.as_ref(), 1).await }
            })
            .await?;
            Ok::<_, crate::StoreError>(all)
        }
    };
    let cad_users = users_of(cad.clone()).await?;
    let ids: Vec<UserId> = cad_users.iter().map(|u| u.user_id.clone()).collect();
    assert_eq!(ids, [uid("u-1"), uid("u-3")], "by user id");
    assert!(
        cad_users
            .iter()
            .all(|u| u.failure == cad && u.attempts == 1)
    );
    let odd_users = users_of(odd).await?;
    assert_eq!(odd_users.len(), 1, "a product with # and %");
    assert_eq!(users_of(domain).await?.len(), 1);
    let mail = users_of(failure(FailureClass::EmailFailed, None, None)).await?;
    let attempts: Vec<(UserId, u32)> = mail
        .iter()
        .map(|u| (u.user_id.clone(), u.attempts))
        .collect();
    assert_eq!(
        attempts,
        [(uid("u-1"), 2), (uid("u-7"), 1)],
        "attempts counted"
    );

    let failures = s
        .email_failures(&org, &[uid("u-1"), uid("u-8"), uid("u-9")])
        .await?;
    assert_eq!(failures.len(), 1, "users without one left out");
    assert_eq!(failures.get(&uid("u-1")).map(|f| f.attempts), Some(2));

    let (at, since) = ("2026-01-02T10:00:00.000Z", "2026-01-02T09:59:00.000Z");
    s.mark_email_retried(&org, &uid("u-1"), at, since).await?;
    assert_eq!(
        s.email_failures(&org, &[uid("u-1")])
            .await?
            .get(&uid("u-1"))
            .and_then(|f| f.retried_at.clone()),
        Some(at.to_owned())
    );
    assert_conflict(
        s.mark_email_retried(&org, &uid("u-1"), at, "2026-01-02T09:59:30.000Z")
            .await,
        "retried since",
    );
    assert_conflict(
        s.mark_email_retried(&org, &uid("u-8"), at, since).await,
        "a cleared failure",
    );
    s.mark_email_retried(
        &org,
        &uid("u-1"),
        "2026-01-02T10:05:00.000Z",
        "2026-01-02T10:01:00.000Z",
    )
    .await?;
    Ok(())
}
