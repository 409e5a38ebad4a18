use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::*;
use crate::StoreError;
use crate::directory::DirectoryStatus;
use crate::ids::{GroupId, OrgId, RuleId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::memory::{MemoryProductApi, MemoryStore, ada_facts, product_rule};
use crate::ports::{DesiredStates, FailureIndex, JobQueue, Seats, SyncOutcomes};
use crate::rules::{Priority, Rule, effective_assignment};
use crate::state::{DesiredState, Failure, FailureClass, Outcome, SyncStatus};

const T0: OffsetDateTime = time::macros::datetime!(2026-11-22 10:00:00 UTC);

fn org(id: &str) -> OrgId {
    OrgId::parse(id).unwrap()
}

fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

fn desired(generation: u64, products: &[&str]) -> DesiredState {
    let group = GroupId::parse("g").unwrap();
    let rule = Rule {
        email_template: Some("welcome-fr".into()),
        language: Some("fr".into()),
        ..product_rule(
            RuleId::parse("r").unwrap(),
            group,
            Priority::new(1).unwrap(),
            products,
        )
    };
    let groups = [GroupId::parse("g").unwrap()].into_iter().collect();
    DesiredState {
        generation,
        facts: ada_facts(),
        assignment: effective_assignment(DirectoryStatus::Active, &groups, &[rule]),
        language: None,
        updated_at: "2026-11-22T09:00:00.000Z".into(),
        cause: None,
    }
}

fn failed(class: FailureClass, product: Option<&str>, dead_lettered: bool) -> SyncStatus {
    SyncStatus {
        applied_generation: 0,
        last_outcome: Outcome::Failure,
        failure: Some(Failure {
            class,
            product: product.map(str::to_owned),
            domain: None,
        }),
        attempts: 1,
        at: "2026-11-22T09:59:00.000Z".into(),
        dead_lettered,
        retried_at: None,
        failure_entry: None,
    }
}

/// A dead-lettered failure of `class` (of G2W when out of licenses).
fn dead(class: FailureClass) -> Option<SyncStatus> {
    let product = (class == FailureClass::OutOfLicenses).then_some("G2W");
    Some(failed(class, product, true))
}

struct World {
    store: MemoryStore,
    api: MemoryProductApi,
}

impl World {
    fn new() -> Self {
        Self {
            store: MemoryStore::default(),
            api: MemoryProductApi::default(),
        }
    }

    /// A user of `o` at desired generation `generation`, with `status`.
    fn user(&self, o: &str, u: &str, generation: u64, status: Option<SyncStatus>) {
        let rt = runtime();
        rt.block_on(async {
            self.store
                .put_desired(&org(o), &user(u), &desired(generation, &["G2W"]), None)
                .await
                .unwrap();
            if let Some(s) = status {
                self.store
                    .record_status(&org(o), &user(u), &s)
                    .await
                    .unwrap();
            }
        });
    }

    fn seats(&self, product: &str, used: u64, limit: u64) {
        self.api.seats.lock().unwrap().insert(
            product.to_owned(),
            Seats {
                limit: Some(limit),
                used,
            },
        );
    }

    fn retry_at(&self, o: &str, selection: RetrySelection, now: OffsetDateTime) -> RetryReport {
        let retry = Retry {
            state: &self.store,
            jobs: &self.store,
            mail: &self.store,
            product_api: &self.api,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        runtime()
            .block_on(retry.run(&org(o), &selection, now, deadline))
            .unwrap()
    }

    fn retry(&self, o: &str, selection: RetrySelection) -> RetryReport {
        self.retry_at(o, selection, T0)
    }

    fn status(&self, o: &str, u: &str) -> SyncStatus {
        runtime()
            .block_on(self.store.user_state(&org(o), &user(u)))
            .unwrap()
            .1
            .unwrap()
    }

    /// The worker: the job failed again the same way.
    fn fails_again(&self, o: &str, u: &str) {
        let again = SyncStatus {
            dead_lettered: true,
            attempts: self.status(o, u).attempts + 1,
            ..self.status(o, u)
        };
        runtime()
            .block_on(self.store.record_status(&org(o), &user(u), &again))
            .unwrap();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn everything() -> RetrySelection {
    RetrySelection::default()
}

#[test]
fn each_dead_lettered_user_is_sent_once_at_its_current_generation() {
    let w = World::new();
    let short = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
    w.user("acme", "u1", 3, Some(short.clone()));
    w.user("acme", "u2", 1, dead(FailureClass::ExistingAccount));
    // retried automatically, not dead-lettered: its job is on its way
    w.user(
        "acme",
        "u3",
        1,
        Some(failed(FailureClass::ProductApiUnavailable, None, false)),
    );
    w.user("acme", "u4", 1, None);

    let r = w.retry("acme", everything());
    assert_eq!((r.jobs, r.emails, r.skipped, r.examined), (2, 0, 0, 3));
    assert!(r.complete);
    let jobs = w.store.take_jobs();
    let sent: Vec<(&str, u64)> = jobs
        .iter()
        .map(|j| (j.user_id.as_str(), j.generation))
        .collect();
    assert_eq!(sent, [("u1", 3), ("u2", 1)]);
    assert!(jobs.iter().all(|j| j.org_id == org("acme")));
    // the domain of the address to check, read with the state
    assert!(
        jobs.iter()
            .all(|j| j.email_domain.as_deref() == Some("example.com"))
    );
    // recorded on the user before it was sent
    let u1 = w.status("acme", "u1");
    assert!(!u1.dead_lettered);
    assert_eq!(u1.retried_at.as_deref(), Some("2026-11-22T10:00:00.000Z"));
    assert_eq!(u1.failure, short.failure);
    assert_eq!(r.message, "2 users sent again");
}

#[test]
fn a_second_click_sends_nothing_even_when_the_first_job_failed_again() {
    let w = World::new();
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    assert_eq!(w.retry("acme", everything()).jobs, 1);
    w.store.take_jobs();

    // at once: the job is on its way
    let second = w.retry_at("acme", everything(), T0 + time::Duration::seconds(1));
    assert_eq!((second.jobs, second.skipped), (0, 1));
    // it failed again (dead-lettered again, the retry's time kept)
    w.fails_again("acme", "u1");
    let third = w.retry_at("acme", everything(), T0 + time::Duration::seconds(59));
    assert_eq!((third.jobs, third.skipped), (0, 1));
    assert!(
        third
            .message
            .starts_with("nothing sent: 1 failure was sent again less than a minute ago"),
        "{}",
        third.message
    );
    assert!(w.store.take_jobs().is_empty());

    // a minute on, it is sent again
    let later = w.retry_at("acme", everything(), T0 + time::Duration::seconds(61));
    assert_eq!((later.jobs, later.skipped), (1, 0));
}

#[test]
fn a_user_another_retry_took_a_moment_ago_is_skipped() {
    let w = World::new();
    let status = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
    w.user("acme", "u1", 1, Some(status.clone()));
    // the user's status was read, then another retry marked it
    let decided = job_retry(
        &org("acme"),
        &user("u1"),
        Some(&desired(1, &["G2W"])),
        Some(&status),
        None,
        "2026-11-22T10:00:00.000Z",
        "2026-11-22T09:59:00.000Z",
    );
    let JobRetry::Send { marked, .. } = decided else {
        panic!("{decided:?}");
    };
    let rt = runtime();
    let mark = |at: &str| {
        rt.block_on(w.store.mark_retried(
            &org("acme"),
            &user("u1"),
            &SyncStatus {
                retried_at: Some(at.to_owned()),
                ..(*marked).clone()
            },
            "2026-11-22T09:59:00.000Z",
        ))
    };
    assert!(mark("2026-11-22T10:00:00.000Z").is_ok());
    assert!(matches!(
        mark("2026-11-22T10:00:00.001Z"),
        Err(StoreError::Conflict(_))
    ));
}

#[test]
fn a_retry_sees_its_own_organization_only() {
    let w = World::new();
    w.user("other", "u9", 1, dead(FailureClass::OutOfLicenses));
    let r = w.retry("acme", everything());
    assert_eq!((r.jobs, r.examined, r.skipped), (0, 0, 0));
    assert_eq!(
        r.message,
        "nothing to retry: no failure waits for Retry sync"
    );
    assert!(w.store.take_jobs().is_empty());
    // the other organization's own retry sends its user at once
    assert_eq!(w.retry("other", everything()).jobs, 1);
}

#[test]
fn a_class_or_a_user_selects_only_those() {
    let w = World::new();
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    w.user("acme", "u2", 1, dead(FailureClass::ExistingAccount));
    w.user("acme", "u3", 1, dead(FailureClass::ExistingAccount));
    let r = w.retry(
        "acme",
        RetrySelection {
            class: Some(FailureClass::ExistingAccount),
            user: None,
        },
    );
    assert_eq!((r.jobs, r.examined), (2, 2));
    let r = w.retry(
        "acme",
        RetrySelection {
            class: None,
            user: Some(user("u1")),
        },
    );
    assert_eq!((r.jobs, r.examined), (1, 1));
    let sent: BTreeSet<String> = w
        .store
        .take_jobs()
        .into_iter()
        .map(|j| j.user_id.to_string())
        .collect();
    assert_eq!(
        sent,
        BTreeSet::from(["u1".into(), "u2".into(), "u3".into()])
    );
    // a user with no failure of that class: nothing
    let r = w.retry(
        "acme",
        RetrySelection {
            class: Some(FailureClass::InvalidUserData),
            user: Some(user("u1")),
        },
    );
    assert_eq!(r.jobs, 0);
}

#[test]
fn out_of_licenses_says_whether_the_seats_are_still_short() {
    let w = World::new();
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    w.seats("G2W", 9, 9);
    let r = w.retry("acme", everything());
    assert_eq!(r.jobs, 1);
    assert!(r.cause_still_present);
    assert_eq!(
        r.shortages,
        [SeatShortage {
            product: "G2W".into(),
            used: 9,
            limit: 9,
            users: 1
        }]
    );
    assert_eq!(
        r.message,
        "1 user sent again; still out of G2W licenses: 9 of 9 in use"
    );

    // more seats: the cause is gone
    w.fails_again("acme", "u1");
    w.seats("G2W", 9, 10);
    let later = w.retry_at("acme", everything(), T0 + time::Duration::seconds(120));
    assert!(!later.cause_still_present && later.shortages.is_empty());
    assert_eq!(later.message, "1 user sent again");
}

#[test]
fn too_few_seats_for_every_failed_user_is_still_the_cause() {
    let w = World::new();
    for u in ["u1", "u2", "u3"] {
        w.user("acme", u, 1, dead(FailureClass::OutOfLicenses));
    }
    w.seats("G2W", 9, 10);
    let r = w.retry("acme", everything());
    assert!(r.cause_still_present);
    assert!(
        r.message
            .ends_with("still too few G2W licenses: 9 of 10 in use, 3 users needed"),
        "{}",
        r.message
    );
    // one user alone fits
    let w = World::new();
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    w.user("acme", "u2", 1, dead(FailureClass::OutOfLicenses));
    w.seats("G2W", 9, 10);
    let one = w.retry(
        "acme",
        RetrySelection {
            class: None,
            user: Some(user("u1")),
        },
    );
    assert!(!one.cause_still_present, "{one:?}");
}

#[test]
fn unknown_seats_are_not_reported_as_a_cause() {
    let mut w = World::new();
    w.api.down = true;
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    let r = w.retry("acme", everything());
    assert_eq!((r.jobs, r.cause_still_present), (1, false));
}

#[test]
fn a_failed_welcome_email_is_rebuilt_from_the_desired_state_and_sent_once() {
    let w = World::new();
    w.user("acme", "u1", 2, None);
    let rt = runtime();
    rt.block_on(
        w.store
            .record_email_failure(&org("acme"), &user("u1"), Some("MessageRejected")),
    )
    .unwrap();
    let r = w.retry(
        "acme",
        RetrySelection {
            class: Some(FailureClass::EmailFailed),
            user: None,
        },
    );
    assert_eq!((r.jobs, r.emails, r.examined), (0, 1, 1));
    assert_eq!(r.message, "1 welcome email sent again");
    let mails = w.store.take_mails();
    assert_eq!(
        mails,
        [MailJob::welcome(
            &org("acme"),
            &user("u1"),
            &desired(2, &["G2W"])
        )]
    );
    assert_eq!(mails[0].template.as_deref(), Some("welcome-fr"));
    assert_eq!(mails[0].language.as_deref(), Some("fr"));
    // a second click: skipped
    let again = w.retry_at("acme", everything(), T0 + time::Duration::seconds(5));
    assert_eq!((again.emails, again.skipped), (0, 1));
    assert!(w.store.take_mails().is_empty());
}

#[test]
fn a_retry_out_of_time_sends_nothing_more_and_says_so() {
    let w = World::new();
    w.user("acme", "u1", 1, dead(FailureClass::OutOfLicenses));
    let retry = Retry {
        state: &w.store,
        jobs: &w.store,
        mail: &w.store,
        product_api: &w.api,
    };
    let r = runtime()
        .block_on(retry.run(&org("acme"), &everything(), T0, Instant::now()))
        .unwrap();
    assert_eq!((r.jobs, r.complete), (0, false));
    assert!(r.message.contains("retry again"), "{}", r.message);
}

/// Queues that refuse everything.
struct Down;

impl JobQueue for Down {
    async fn send_jobs(&self, _jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        Err(StoreError::transient(std::io::Error::other("queue down")))
    }

    async fn dead_letter(
        &self,
        _job: &EntitlementJob,
        _class: FailureClass,
    ) -> Result<(), StoreError> {
        Err(StoreError::transient(std::io::Error::other("queue down")))
    }

    async fn retry_after(
        &self,
        _delivery: &crate::ports::DeliveryToken,
        _seconds: u32,
    ) -> Result<(), StoreError> {
        Err(StoreError::transient(std::io::Error::other("queue down")))
    }

    async fn defer(&self, _job: &EntitlementJob, _seconds: u32) -> Result<(), StoreError> {
        Err(StoreError::transient(std::io::Error::other("queue down")))
    }
}

#[test]
fn a_job_the_queue_refused_still_waits_for_retry_sync() {
    let w = World::new();
    let status = failed(FailureClass::OutOfLicenses, Some("G2W"), true);
    w.user("acme", "u1", 1, Some(status.clone()));
    let retry = Retry {
        state: &w.store,
        jobs: &Down,
        mail: &w.store,
        product_api: &w.api,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let r = runtime().block_on(retry.run(&org("acme"), &everything(), T0, deadline));
    assert!(matches!(r, Err(StoreError::Transient(_))), "{r:?}");
    // as it was: the next click sends it
    assert_eq!(w.status("acme", "u1"), status);
    assert_eq!(w.retry("acme", everything()).jobs, 1);
}

#[test]
fn a_user_with_nothing_to_apply_is_not_sent() {
    let mut taken = desired(1, &["G2W"]);
    taken.facts.handed_over = true;
    let status = failed(FailureClass::ExistingAccount, None, true);
    let d = job_retry(
        &org("acme"),
        &user("u1"),
        Some(&taken),
        Some(&status),
        None,
        "2026-11-22T10:00:00.000Z",
        "2026-11-22T09:59:00.000Z",
    );
    assert_eq!(d, JobRetry::NotWaiting);
    assert_eq!(
        job_retry(
            &org("acme"),
            &user("u1"),
            None,
            Some(&status),
            None,
            "2026-11-22T10:00:00.000Z",
            "2026-11-22T09:59:00.000Z",
        ),
        JobRetry::NotWaiting
    );
}
