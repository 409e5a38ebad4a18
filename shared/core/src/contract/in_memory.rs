//! The contract checks run against the in-memory fakes.

use std::sync::Arc;

use crate::clock::FixedClock;
use crate::memory::MemoryStore;
use crate::ports::STALE_EMAIL_CLAIM_SECONDS;

/// A store whose clock stands at the present until a check moves it.
fn store() -> (MemoryStore, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    (MemoryStore::with_clock(clock.clone()), clock)
}

#[tokio::test]
async fn users() {
    super::users::users(&store().0).await.unwrap();
}

#[tokio::test]
async fn groups() {
    super::groups::groups(&store().0).await.unwrap();
}

#[tokio::test]
async fn fan_outs() {
    super::fan_outs::fan_outs(&store().0).await.unwrap();
}

#[tokio::test]
async fn group_with_users() {
    super::groups::group_with_users(&store().0).await.unwrap();
}

#[tokio::test]
async fn desired_states() {
    super::desired_states::desired_states(&store().0)
        .await
        .unwrap();
}

#[tokio::test]
async fn sync_outcomes() {
    let (s, clock) = store();
    super::sync_outcomes::sync_outcomes(&s, &*clock)
        .await
        .unwrap();
}

#[tokio::test]
async fn activity() {
    let (s, clock) = store();
    super::activity::activity(&s, &*clock).await.unwrap();
}

#[tokio::test]
async fn email_claims() {
    let (s, clock) = store();
    let stale = |_, _, _| {
        clock.advance(time::Duration::seconds(STALE_EMAIL_CLAIM_SECONDS + 1));
        std::future::ready(())
    };
    super::email_claims::email_claims(&s, &*clock, stale)
        .await
        .unwrap();
}

#[tokio::test]
async fn failure_index() {
    super::failure_index::failure_index(&store().0)
        .await
        .unwrap();
}

/// What only a fake's clock can show: an entry expires by the retention it
/// was written under, and a claim is in progress until it is stale.
#[tokio::test]
async fn entries_expire_and_claims_turn_stale_as_the_clock_moves() {
    use crate::activity::{Action, ActivityFilter};
    use crate::ports::{ActivityLog, EmailClaim, EmailClaims};

    let clock = Arc::new(FixedClock::at(time::OffsetDateTime::now_utc()));
    let s = MemoryStore::with_clock(clock.clone()).with_activity_retention(2);
    let org = super::fresh_org();
    let e = super::sync_outcomes::entry(&*clock, Action::AccountCreated, "u-1");
    s.append_activity(&org, &e).await.unwrap();
    let all = ActivityFilter::default();
    clock.advance(time::Duration::days(2) - time::Duration::seconds(1));
    assert_eq!(s.activity(&org, &all, None, 10).await.unwrap().0, [e]);
    clock.advance(time::Duration::seconds(1));
    assert!(s.activity(&org, &all, None, 10).await.unwrap().0.is_empty());

    let user = super::uid("u-1");
    assert_eq!(
        s.claim_email(&org, &user, "k").await.unwrap(),
        EmailClaim::Claimed
    );
    clock.advance(time::Duration::seconds(STALE_EMAIL_CLAIM_SECONDS - 1));
    assert_eq!(
        s.claim_email(&org, &user, "k").await.unwrap(),
        EmailClaim::InProgress
    );
    clock.advance(time::Duration::seconds(1));
    assert_eq!(
        s.claim_email(&org, &user, "k").await.unwrap(),
        EmailClaim::TakenOver
    );
}

#[tokio::test]
async fn organizations() {
    super::organizations::organizations(&store().0)
        .await
        .unwrap();
}

#[tokio::test]
async fn tokens() {
    super::tokens::tokens(&store().0).await.unwrap();
}

#[tokio::test]
async fn configuration() {
    super::configuration::configuration(&store().0)
        .await
        .unwrap();
}

#[tokio::test]
async fn templates() {
    super::templates::templates(&store().0).await.unwrap();
}

#[tokio::test]
async fn sso() {
    super::sso::sso(&store().0).await.unwrap();
}

#[tokio::test]
async fn joint_reads() {
    let store = store().0;
    super::joint_reads::joint_reads(&store, &store, &store)
        .await
        .unwrap();
}

#[tokio::test]
async fn token_reads() {
    super::tokens::token_reads(&store().0).await.unwrap();
}

#[tokio::test]
async fn returning_index() {
    super::returning::returning_index(&store().0).await.unwrap();
}

#[tokio::test]
async fn job_reads() {
    let store = store().0;
    super::joint_reads::job_reads(&store, &store, &store)
        .await
        .unwrap();
}
