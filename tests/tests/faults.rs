//! 500 users onboarded while the product API fails: 20 % of its calls
//! answer 500, 5 % hang past our 10-second timeout, and bursts of 429 with
//! `Retry-After` come every few seconds. Five of the users have an account
//! elsewhere (a permanent failure). Every other user converges with no
//! admin action, none is left marked failed, the dead-letter queue holds
//! the five permanent failures only, and every converged user gets exactly
//! one welcome email.
//!
//! A long run (a few minutes), in a test binary of its own with a stack of
//! its own and the template's defaults; `scripts/test` runs it unless
//! `--quick` is given (docs/security.md#faults-and-crashes).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::json;
use user_sync_core::job::FAILURE_CLASS_ATTRIBUTE;
use user_sync_tests::onboard::{Onboarding, emails_by_recipient};
use user_sync_tests::{eventually, new_org, sdk_config, stack};

const USERS: usize = 500;
const ELSEWHERE: usize = 5;
const CONVERGE: Duration = Duration::from_secs(600);

fn faults(rate_limited: u32) -> serde_json::Value {
    json!({
        "errorRate": 0.2,
        "timeoutRate": 0.05,
        // past the worker's 10-second timeout
        "timeoutMs": 11_000,
        "rateLimit": {"remaining": rate_limited, "retryAfterSeconds": 2}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long run: scripts/test runs it (cargo test -p user-sync-tests --test faults -- --ignored)"]
#[allow(clippy::print_stdout)] // the figures belong in the test log
async fn five_hundred_users_converge_while_the_product_api_fails() {
    let s = stack();
    let on = Onboarding::new(new_org("faults").await);
    let org = on.org.org_id.clone();
    let started = Instant::now();
    let elsewhere: Vec<String> = (0..ELSEWHERE).map(|i| on.email(i)).collect();
    on.control(
        "PUT",
        "/existing-accounts",
        Some(json!({"emails": elsewhere})),
    )
    .await;
    on.control("PUT", &format!("/orgs/{org}/faults"), Some(faults(0)))
        .await;

    // bursts of 429: 25 calls each, every 5 seconds, for the first minute
    let bursts = {
        let on = on.clone();
        let org = org.clone();
        tokio::spawn(async move {
            for _ in 0..12 {
                on.control("PUT", &format!("/orgs/{org}/faults"), Some(faults(25)))
                    .await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        })
    };

    let group = on.group_rule_and_sync().await;
    let users = on.create_users(0..USERS, 8).await;
    on.add_members(&group, &users).await;
    let pushed = started.elapsed();
    bursts.await.unwrap();

    let permanent: BTreeSet<&String> = users[..ELSEWHERE].iter().collect();
    let expected: BTreeSet<&String> = users[ELSEWHERE..].iter().collect();
    // converged: every other user holds G2M, and only the five are failed
    eventually("every user converges", CONVERGE, || async {
        let accounts = on.accounts().await;
        let held = expected
            .iter()
            .filter(|u| {
                accounts.get(u.as_str()).is_some_and(|a| {
                    a["products"] == json!(["G2M"])
                        && a["status"] == "active"
                        && a["role"] == "full_admin"
                })
            })
            .count();
        let failures = on.failures().await;
        let classes: Vec<(String, u64)> = failures["failures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["class"].as_str().unwrap().to_owned(),
                    f["count"].as_u64().unwrap(),
                )
            })
            .collect();
        (held == expected.len() && classes == [("existing_account".to_owned(), ELSEWHERE as u64)])
            .then_some(())
    })
    .await;
    let converged = started.elapsed();

    // nobody else holds an account: the five were refused
    let accounts = on.accounts().await;
    assert_eq!(accounts.len(), expected.len());
    assert!(permanent.iter().all(|u| !accounts.contains_key(u.as_str())));

    // the banner lists the five, not retried automatically
    let failures = on.failures().await;
    let banner = &failures["failures"][0];
    let listed: BTreeSet<String> = banner["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, permanent.iter().map(|u| (*u).clone()).collect());
    assert_eq!(banner["retriedAutomatically"], false);

    // the sync status: everyone else in sync, nobody failed for a transient cause
    let progress = eventually(
        "progress counts settle",
        Duration::from_secs(60),
        || async {
            let sync = on.admin("GET", "/sync", None).await;
            let p = sync.body["progress"].clone();
            (p["inSync"] == expected.len() && p["pending"] == 0).then_some(p)
        },
    )
    .await;
    assert_eq!(progress["failed"], ELSEWHERE, "{progress}");
    assert_eq!(
        progress["failedByClass"],
        json!({"existing_account": ELSEWHERE}),
        "{progress}"
    );

    // the dead-letter queue: jobs of the five permanent failures, nothing
    // else (a user may have a job per generation: created, then added)
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let dead = dead_letters(&sqs, &s.queues["JobsDeadLetterQueue"]).await;
    let dead_users: BTreeSet<String> = dead
        .iter()
        .map(|(body, class)| {
            assert_eq!(class, "existing_account", "a dead-lettered job: {body}");
            body["userId"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(dead_users, permanent.iter().map(|u| (*u).clone()).collect());
    use aws_sdk_sqs::types::QueueAttributeName as Q;
    let mail_dlq = &s.queues["MailDeadLetterQueue"];
    let mail_attrs = sqs
        .get_queue_attributes()
        .queue_url(mail_dlq)
        .attribute_names(Q::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    assert_eq!(
        mail_attrs
            .attributes()
            .and_then(|a| a.get(&Q::ApproximateNumberOfMessages))
            .map(String::as_str),
        Some("0"),
        "dead-lettered emails"
    );

    // one welcome email per converged user, none to the five
    let emails = {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let emails = emails_by_recipient(&on.org).await;
            let ours = (ELSEWHERE..USERS)
                .filter(|i| emails.contains_key(&on.email(*i)))
                .count();
            if ours == expected.len() {
                break emails;
            }
            assert!(
                Instant::now() < deadline,
                "{ours} of {} users got a welcome email",
                expected.len()
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    for i in 0..USERS {
        let sent = emails.get(&on.email(i)).copied().unwrap_or(0);
        let want = usize::from(i >= ELSEWHERE);
        assert_eq!(sent, want, "welcome emails to user {i}");
    }

    // the faults did happen
    let calls = on.calls_by_status().await;
    let of = |status: u64| calls.get(&status).copied().unwrap_or(0);
    assert!(of(500) >= 50, "500s: {calls:?}");
    assert!(of(504) >= 5, "timeouts: {calls:?}");
    assert!(of(429) >= 100, "429s: {calls:?}");
    println!(
        "faults: {} users ({} converged, {} refused as existing elsewhere); \
         directory pushed in {:.1} s, converged after {:.1} s; product API calls by status {calls:?}; \
         {} dead-lettered jobs, all existing_account; {} welcome emails",
        USERS,
        expected.len(),
        ELSEWHERE,
        pushed.as_secs_f64(),
        converged.as_secs_f64(),
        dead.len(),
        emails.values().sum::<usize>(),
    );
}

/// Every message of a dead-letter queue (kept hidden for the rest of the
/// run): its body and its failure class.
async fn dead_letters(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<(serde_json::Value, String)> {
    let mut all = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(3_600)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = got.messages();
        if messages.is_empty() {
            return all;
        }
        for m in messages {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let class = m
                .message_attributes()
                .and_then(|a| a.get(FAILURE_CLASS_ATTRIBUTE))
                .and_then(|v| v.string_value())
                .unwrap_or_default()
                .to_owned();
            all.push((body, class));
        }
    }
}
