//! The contract of [`EmailClaims`].

use std::future::Future;

use super::sync_outcomes::entry;
use super::{Checked, fresh_org, uid};
use crate::activity::{Action, ActivityFilter};
use crate::clock::Clock;
use crate::ids::{OrgId, UserId};
use crate::ports::{ActivityLog, EmailClaim, EmailClaims, EmailKey, FailureIndex};

/// Claims exactly once: claimed, in progress, taken over once when stale,
/// sent; released claims are claimed again.
///
/// `make_stale(org, user, key)` makes that claim older than
/// [`crate::ports::STALE_EMAIL_CLAIM_SECONDS`] (moves the fake's clock, or
/// rewrites the stored claim).
pub async fn email_claims<S, C, F, Fut>(s: &S, clock: &C, make_stale: F) -> Checked
where
    S: EmailClaims + FailureIndex + ActivityLog,
    C: Clock,
    F: Fn(OrgId, UserId, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let org = fresh_org();
    let ada = uid("u-ada");
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::Claimed
    );
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::InProgress
    );
    assert_eq!(
        s.claim_email(&org, &ada, "other#account").await?,
        EmailClaim::Claimed,
        "per key"
    );
    assert_eq!(
        s.claim_email(&fresh_org(), &ada, "welcome#account").await?,
        EmailClaim::Claimed,
        "per organization"
    );

    make_stale(org.clone(), ada.clone(), "welcome#account".to_owned()).await;
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::TakenOver
    );
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::InProgress,
        "taken over by exactly one caller"
    );

    s.record_email_failure(&org, &ada, Some("throttled"))
        .await?;
    let sent = entry(clock, Action::WelcomeEmailSent, "u-ada");
    s.email_sent(&org, &ada, "welcome#account", &sent).await?;
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::Sent
    );
    make_stale(org.clone(), ada.clone(), "welcome#account".to_owned()).await;
    assert_eq!(
        s.claim_email(&org, &ada, "welcome#account").await?,
        EmailClaim::Sent
    );
    assert!(
        s.email_failures(&org, std::slice::from_ref(&ada))
            .await?
            .is_empty(),
        "the failure cleared with the send"
    );
    let (entries, _) = s
        .activity(&org, &ActivityFilter::default(), None, 10)
        .await?;
    assert_eq!(entries, [sent], "the entry written with the send");

    s.release_email(&org, &ada, "other#account").await?;
    assert_eq!(
        s.claim_email(&org, &ada, "other#account").await?,
        EmailClaim::Claimed
    );
    s.release_email(&org, &ada, "never#claimed").await?;

    // several at once: each as claimed alone would find it
    let grace = uid("u-grace");
    let batch = [
        EmailKey {
            org: &org,
            user: &grace,
            key: "welcome#account",
        },
        EmailKey {
            org: &org,
            user: &ada,
            key: "other#account",
        },
        EmailKey {
            org: &org,
            user: &ada,
            key: "welcome#account",
        },
    ];
    let found: Vec<EmailClaim> = s
        .claim_emails(&batch)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    assert_eq!(
        found,
        [
            EmailClaim::Claimed,
            EmailClaim::InProgress,
            EmailClaim::Sent
        ]
    );
    assert_eq!(
        s.claim_email(&org, &grace, "welcome#account").await?,
        EmailClaim::InProgress,
        "claimed by the batch"
    );
    // more than one transaction's worth, all new
    let many: Vec<UserId> = (0..30).map(|i| uid(&format!("u-many-{i:02}"))).collect();
    let keys: Vec<EmailKey<'_>> = many
        .iter()
        .map(|user| EmailKey {
            org: &org,
            user,
            key: "welcome#account",
        })
        .collect();
    let found = s.claim_emails(&keys).await;
    assert_eq!(found.len(), 30);
    for claim in found {
        assert_eq!(claim?, EmailClaim::Claimed);
    }
    let found = s.claim_emails(&keys[..1]).await;
    assert!(
        matches!(found.as_slice(), [Ok(EmailClaim::InProgress)]),
        "a batch of one"
    );
    assert!(s.claim_emails(&[]).await.is_empty());
    Ok(())
}
