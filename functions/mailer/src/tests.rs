//! The mailer on the in-memory ports: what it reads of the organization
//! and the user's desired state (one joint read), and the exactly-once
//! claim.

use std::time::Duration;

use aws_lambda_events::sqs::SqsMessage;
use user_sync_core::clock::SystemClock;
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::memory::{MemoryMailSender, MemoryStore, SentEmail, ada_desired};
use user_sync_core::ports::{DesiredStates, Organization, Organizations};

use super::*;

fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

fn ada() -> UserId {
    UserId::parse("u-ada").unwrap()
}

/// Ada's desired state at generation 1, given G2M by a rule, at `email`.
fn desired(email: &str) -> DesiredState {
    ada_desired(DirectoryStatus::Active, email)
}

/// A mail job as the worker sends it, carrying `email`, in an SQS record.
fn record(email: &str) -> SqsMessage {
    let job = MailJob::welcome(&org(), &ada(), &desired(email));
    let mut record = SqsMessage::default();
    record.message_id = Some("m-1".into());
    record.body = Some(serde_json::to_string(&job).unwrap());
    record
}

async fn store() -> MemoryStore {
    let store = MemoryStore::default();
    store
        .create_org(&Organization::new(
            org(),
            "Acme Corp",
            "2026-12-01T09:00:00.000Z",
        ))
        .await
        .unwrap();
    store
}

/// The mailer on the in-memory ports.
fn mailer<'a>(
    store: &'a MemoryStore,
    sender: &'a MemoryMailSender,
) -> Mailer<'a, MemoryStore, MemoryStore, MemoryStore, MemoryMailSender, MemoryStore> {
    Mailer {
        orgs: store,
        state: store,
        reads: store,
        sender,
        dead_letters: store,
        login_url: "https://login.example.com",
        max_receive_count: 5,
        clock: &SystemClock,
    }
}

async fn deliver(store: &MemoryStore, sender: &MemoryMailSender, record: SqsMessage) {
    assert!(matches!(
        mailer(store, sender).handle_record(record).await,
        RecordResult::Done
    ));
}

#[tokio::test]
async fn the_welcome_email_goes_to_the_current_address_with_the_organization_s_name_once() {
    let store = store().await;
    store
        .put_desired(&org(), &ada(), &desired("ada@new.example.com"), None)
        .await
        .unwrap();
    let sender = MemoryMailSender::default();
    // the job carries the address the account was created with
    deliver(&store, &sender, record("ada@old.example.com")).await;
    deliver(&store, &sender, record("ada@old.example.com")).await;
    let sent = sender.sent();
    assert_eq!(sent.len(), 1, "one welcome email: {sent:?}");
    assert_eq!(sent[0].to, "ada@new.example.com");
    assert_eq!(sent[0].email.subject, "Welcome to Acme Corp");
}

#[tokio::test]
async fn a_job_without_a_stored_desired_state_sends_what_it_carries() {
    let store = store().await;
    let sender = MemoryMailSender::default();
    deliver(&store, &sender, record("ada@example.com")).await;
    let sent = sender.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "ada@example.com");
}

#[tokio::test]
async fn an_older_job_without_the_origin_still_sends() {
    let store = store().await;
    let sender = MemoryMailSender::default();
    // a job as queued before the change's origin was carried
    let body = serde_json::json!({
        "orgId": "acme", "userId": "u-ada", "event": "account",
        "template": null, "language": null, "email": "ada@example.com",
        "givenName": "Ada", "products": ["G2M"]
    });
    let mut old = SqsMessage::default();
    old.body = Some(body.to_string());
    deliver(&store, &sender, old).await;
    assert_eq!(sender.sent().len(), 1);
}

#[tokio::test]
async fn a_batch_s_jobs_each_go_to_their_user_from_the_batch_s_one_read() {
    let store = store().await;
    let grace = UserId::parse("u-grace").unwrap();
    store
        .put_desired(&org(), &ada(), &desired("ada@new.example.com"), None)
        .await
        .unwrap();
    let mut graces = desired("grace@example.com");
    graces.facts.given_name = Some("Grace".into());
    store
        .put_desired(&org(), &grace, &graces, None)
        .await
        .unwrap();
    let mut second = SqsMessage::default();
    second.message_id = Some("m-2".into());
    second.body = Some(serde_json::to_string(&MailJob::welcome(&org(), &grace, &graces)).unwrap());
    let mut unreadable = SqsMessage::default();
    unreadable.message_id = Some("m-3".into());
    unreadable.body = Some("not a mail job".into());
    let sender = MemoryMailSender::default();
    let mailer = mailer(&store, &sender);
    let answer = mailer
        .handle_batch(vec![record("ada@old.example.com"), second, unreadable])
        .await;
    let failed: Vec<_> = answer
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, ["m-3"], "only the unreadable record is retried");
    let mut sent: Vec<(String, String)> = sender
        .sent()
        .into_iter()
        .map(|m| (m.to, m.email.subject))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            (
                "ada@new.example.com".to_owned(),
                "Welcome to Acme Corp".to_owned()
            ),
            (
                "grace@example.com".to_owned(),
                "Welcome to Acme Corp".to_owned()
            ),
        ]
    );
}

/// A mail job for `user` with `desired`, in an SQS record `id`.
fn record_of(id: &str, user: &UserId, desired: &DesiredState) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.into());
    record.body = Some(serde_json::to_string(&MailJob::welcome(&org(), user, desired)).unwrap());
    record
}

#[tokio::test]
async fn a_batch_claims_its_emails_together_and_each_is_sent_once() {
    let store = store().await;
    let (grace, lin) = (
        UserId::parse("u-grace").unwrap(),
        UserId::parse("u-lin").unwrap(),
    );
    let adas = desired("ada@example.com");
    let graces = desired("grace@example.com");
    // lin's account was suspended after the job was queued
    let lins = desired("lin@example.com");
    let mut suspended = lins.clone();
    suspended.assignment.status = user_sync_core::rules::AssignmentStatus::Suspended {
        reason: user_sync_core::rules::SuspendReason::NoMatchingRule,
    };
    for (user, state) in [
        (ada(), &adas),
        (grace.clone(), &graces),
        (lin.clone(), &suspended),
    ] {
        store.put_desired(&org(), &user, state, None).await.unwrap();
    }
    let batch = || {
        vec![
            record_of("m-1", &ada(), &adas),
            // the same job delivered twice in the batch
            record_of("m-2", &ada(), &adas),
            record_of("m-3", &grace, &graces),
            record_of("m-4", &lin, &lins),
        ]
    };
    let sender = MemoryMailSender::default();
    let mailer = mailer(&store, &sender);
    let retried = |answer: SqsBatchResponse| {
        let mut ids: Vec<String> = answer
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        ids.sort();
        ids
    };

    // the mail service is down: the claims the batch made are given back
    sender.set_down(true);
    let answer = retried(mailer.handle_batch(batch()).await);
    assert!(sender.sent().is_empty());
    // (the duplicate finds the claim held, or given back and claims it too)
    assert!(
        answer.contains(&"m-1".to_owned()) && answer.contains(&"m-3".to_owned()),
        "the claimed emails are retried: {answer:?}"
    );
    assert!(!answer.contains(&"m-4".to_owned()), "lin's is done");

    sender.set_down(false);
    assert!(retried(mailer.handle_batch(batch()).await).is_empty());
    let mut to: Vec<String> = sender.sent().into_iter().map(|m| m.to).collect();
    to.sort();
    assert_eq!(to, ["ada@example.com", "grace@example.com"]);

    // delivered once more: sent before
    assert!(retried(mailer.handle_batch(batch()).await).is_empty());
    assert_eq!(sender.sent().len(), 2, "each email once");
}

/// A mail job as the worker sends it, carrying the organization it read
/// with the user's state `ago`, delivered for the `receive_count`th time.
fn carrying(email: &str, company: &str, receive_count: u32, ago: Duration) -> SqsMessage {
    let mut read = Organization::new(org(), company, "2026-12-01T09:00:00.000Z");
    read.default_language = "fr".into();
    let at = SystemClock.now() - ago;
    let job = MailJob::welcome(&org(), &ada(), &desired(email)).with_organization(Some(&read), at);
    let mut record = SqsMessage::default();
    record.message_id = Some(format!("m-{receive_count}"));
    record.body = Some(serde_json::to_string(&job).unwrap());
    record
        .attributes
        .insert("ApproximateReceiveCount".into(), receive_count.to_string());
    record
}

/// The one email a job read by the worker `ago` (at Ada's old address,
/// "Acme as read", in French) sends on its `receive_count`th delivery,
/// Ada's address and the organization's name having changed since.
async fn sent_after_a_change(receive_count: u32, ago: Duration) -> SentEmail {
    let store = store().await;
    store
        .put_desired(&org(), &ada(), &desired("ada@new.example.com"), None)
        .await
        .unwrap();
    let sender = MemoryMailSender::default();
    let job = carrying("ada@old.example.com", "Acme as read", receive_count, ago);
    let answer = mailer(&store, &sender).handle_batch(vec![job]).await;
    assert!(answer.batch_item_failures.is_empty());
    let mut sent = sender.sent();
    assert_eq!(sent.len(), 1);
    sent.remove(0)
}

#[tokio::test]
async fn a_first_delivery_sends_from_what_the_job_carries_and_a_later_one_reads_the_current_state()
{
    let first = sent_after_a_change(1, Duration::from_secs(1)).await;
    assert_eq!(first.to, "ada@old.example.com", "as the worker read it");
    assert_eq!(first.email.subject, "Bienvenue chez Acme as read");
    // the same job again (the first send's record was lost): the current state
    let again = sent_after_a_change(2, Duration::from_secs(1)).await;
    assert_eq!(again.to, "ada@new.example.com", "as it is now");
    assert_eq!(again.email.subject, "Welcome to Acme Corp");
    // a first delivery long after the read (moved back from the dead-letter
    // queue): the current state
    let later = sent_after_a_change(1, Duration::from_secs(600)).await;
    assert_eq!(later.to, "ada@new.example.com");
}
