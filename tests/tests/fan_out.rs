//! Fan-out at size, on the local stack: a directory group of 10,000 members,
//! sync turned on (every user reconciled), then a rule change on the group.
//! The worker's event source is disabled, so every job the evaluator sends
//! stays in the jobs queue, where this test counts them: exactly one per
//! user whose desired state changed.
//!
//! A test binary of its own, with a stack of its own. It prints the times.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::Directory;
use user_sync_tests::{
    Client, directory, eventually, new_org, put_users, sdk_config, stack_pausing,
};

const MEMBERS: usize = 10_000;

/// Writes the users straight into the directory table (as the SCIM function
/// stores them), 25 per call: creating 10,000 through SCIM would measure
/// SCIM, not the fan-out.
async fn seed(org: &OrgId, group: &GroupId) -> Vec<UserId> {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = directory().await;
    let ids: Vec<UserId> = (0..MEMBERS)
        .map(|i| UserId::parse(&format!("user-{i:05}")).unwrap())
        .collect();
    let users: Vec<DirectoryUser> = ids
        .iter()
        .map(|id| {
            let email = format!("{id}@example.com");
            DirectoryUser {
                id: id.clone(),
                user_name: email.clone(),
                external_id: None,
                active: true,
                deleted: false,
                given_name: Some("Member".into()),
                family_name: None,
                email: Some(email),
                locale: None,
                created: "2026-11-22T00:00:00Z".into(),
                last_modified: "2026-11-22T00:00:00Z".into(),
                version: 1,
            }
        })
        .collect();
    put_users(&ddb, table.table_name(), org, &users).await;
    table.add_members(org, group, &ids).await.unwrap();
    ids
}

/// Receives every message of the jobs queue (hidden for an hour, then the
/// queue is purged: deleting 10,000 messages one receipt at a time is slow on
/// the emulator): user → generations of its jobs.
async fn drain_jobs(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> BTreeMap<String, Vec<u64>> {
    let mut jobs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut received = 0;
    let mut empty_polls = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    while empty_polls < 3 {
        assert!(
            Instant::now() < deadline,
            "only {received} of {expected} jobs arrived"
        );
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(3600)
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty_polls += 1;
            if received < expected {
                empty_polls = 0;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            continue;
        }
        for m in &messages {
            let job: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            jobs.entry(job["userId"].as_str().unwrap().to_owned())
                .or_default()
                .push(job["generation"].as_u64().unwrap());
            received += 1;
        }
    }
    sqs.purge_queue().queue_url(url).send().await.unwrap();
    jobs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the timings belong in the test log
async fn ten_thousand_members_get_exactly_one_job_each() {
    let s = stack_pausing(&["WorkerFunction"]);
    let org = new_org("fanout").await;
    let org_id = OrgId::parse(&org.org_id).unwrap();
    let c = Client::new();
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let jobs_url = s.queues["JobsQueue"].clone();

    let (status, g) = c
        .send(
            "POST",
            &format!("{}/Groups", s.scim_url),
            Some(&org.scim_token),
            Some(&json!({"displayName": "Everyone"})),
        )
        .await;
    assert_eq!(status, 201, "{g}");
    let group = GroupId::parse(g["id"].as_str().unwrap()).unwrap();
    let started = Instant::now();
    seed(&org_id, &group).await;
    println!(
        "seeded {MEMBERS} users and memberships in {:.1?}",
        started.elapsed()
    );

    let (status, rule) = c
        .send(
            "POST",
            &format!("{}/rules", s.api_url),
            Some(&org.admin_token),
            Some(&json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}})),
        )
        .await;
    assert_eq!(status, 201, "{rule}");

    // sync on: every directory user is reconciled, in chunks (the request
    // itself first checks the guardrail over every user)
    let started = Instant::now();
    let (status, body) = Client::with_timeout(Duration::from_secs(600))
        .send(
            "PUT",
            &format!("{}/sync", s.api_url),
            Some(&org.admin_token),
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    println!("PUT /sync answered in {:.1?}", started.elapsed());
    // progress as the admin sees it: GET /sync lists the fan-outs under way
    let progress = std::sync::Mutex::new(Vec::<u64>::new());
    let tasks_done = || async {
        let (status, sync) = c
            .send(
                "GET",
                &format!("{}/sync", s.api_url),
                Some(&org.admin_token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{sync}");
        let running = sync["fanOuts"].as_array().unwrap().clone();
        if let Some(t) = running.first() {
            progress
                .lock()
                .unwrap()
                .push(t["usersReconciled"].as_u64().unwrap());
        }
        running.is_empty().then_some(())
    };
    // the task appears once the stream delivers the sync record
    eventually(
        "the sync-on fan-out started",
        Duration::from_secs(300),
        || async {
            let n = count(&sqs, &jobs_url).await;
            (n > 0).then_some(())
        },
    )
    .await;
    eventually(
        "the sync-on fan-out finished",
        Duration::from_secs(600),
        tasks_done,
    )
    .await;
    let sync_on = started.elapsed();
    let seen = std::mem::take(&mut *progress.lock().unwrap());
    assert!(
        seen.iter().any(|&n| n > 0 && n < MEMBERS as u64),
        "the sync status showed the fan-out's progress: {seen:?}"
    );
    let jobs = drain_jobs(&sqs, &jobs_url, MEMBERS).await;
    println!(
        "sync on: {} jobs for {} users in {sync_on:.1?} ({:.0} users/s)",
        jobs.values().map(Vec::len).sum::<usize>(),
        jobs.len(),
        MEMBERS as f64 / sync_on.as_secs_f64()
    );
    assert_eq!(jobs.len(), MEMBERS);
    assert!(
        jobs.values().all(|g| g == &[1]),
        "one job per user, generation 1"
    );

    // a rule change on the group: a second product for all 10,000
    let started = Instant::now();
    let (status, rule2) = c
        .send(
            "POST",
            &format!("{}/rules", s.api_url),
            Some(&org.admin_token),
            Some(&json!({"groupId": group, "products": ["G2W"]})),
        )
        .await;
    assert_eq!(status, 201, "{rule2}");
    eventually(
        "the rule fan-out started",
        Duration::from_secs(300),
        || async { (count(&sqs, &jobs_url).await > 0).then_some(()) },
    )
    .await;
    eventually(
        "the rule fan-out finished",
        Duration::from_secs(600),
        tasks_done,
    )
    .await;
    let rule_change = started.elapsed();
    let jobs = drain_jobs(&sqs, &jobs_url, MEMBERS).await;
    println!(
        "rule change: {} jobs for {} users in {rule_change:.1?} ({:.0} users/s)",
        jobs.values().map(Vec::len).sum::<usize>(),
        jobs.len(),
        MEMBERS as f64 / rule_change.as_secs_f64()
    );
    assert_eq!(jobs.len(), MEMBERS);
    assert!(
        jobs.values().all(|g| g == &[2]),
        "one job per user, generation 2"
    );
}

/// Messages waiting in a queue.
async fn count(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    out.attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
