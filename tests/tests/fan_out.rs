//! Fan-out at size, on the local stack: a directory group of 10,000 members,
//! sync turned on (every user reconciled), then a rule change on the group.
//! The worker's event source is disabled, so every job the evaluator sends
//! stays in the jobs queue, where this test counts them: exactly one per
//! user whose desired state changed.
//!
//! A test binary of its own, with a stack of its own. It prints the times.
//! An ignored measurement times `GET /sync` (it counts every user's sync
//! status) and `GET /users` for an organization of 10,000 users.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::ports::Memberships;
use user_sync_tests::{
    Client, api_url, directory, eventually, new_org, put_users, scim_url, sdk_config, stack_pausing,
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
                link: Default::default(),
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
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let jobs_url = s.queues["JobsQueue"].clone();

    let (status, g) = org
        .scim()
        .send("POST", "/Groups", Some(json!({"displayName": "Everyone"})))
        .await;
    assert_eq!(status, 201, "{g}");
    let group = GroupId::parse(g["id"].as_str().unwrap()).unwrap();
    let started = Instant::now();
    seed(&org_id, &group).await;
    println!(
        "seeded {MEMBERS} users and memberships in {:.1?}",
        started.elapsed()
    );

    let (status, rule) = org
        .admin()
        .send(
            "POST",
            "/rules",
            Some(
                json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{rule}");

    // sync on: every directory user is reconciled, in chunks (the request
    // itself first checks the guardrail over every user)
    let started = Instant::now();
    let (status, body) = Client::with_timeout(Duration::from_secs(600))
        .send(
            "PUT",
            &api_url("/sync"),
            Some(&org.admin_token),
            Some(&json!({"enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    println!("PUT /sync answered in {:.1?}", started.elapsed());
    // progress as the admin sees it: GET /sync lists the fan-outs under way
    let progress = std::sync::Mutex::new(Vec::<u64>::new());
    let tasks_done = || async {
        let (status, sync) = org.admin().send("GET", "/sync", None).await;
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
    let (status, rule2) = org
        .admin()
        .send(
            "POST",
            "/rules",
            Some(json!({"groupId": group, "products": ["G2W"]})),
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

/// How long `GET /sync` (its progress counts every user) and a filtered
/// `GET /users` take for an organization of 10,000 users: half in sync, a
/// quarter pending, an eighth out of licenses, the rest never synced.
/// Ignored: a measurement, run with
/// `cargo test -p user-sync-tests --test fan_out -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement of 10,000 users; run it on its own"]
#[allow(clippy::print_stdout)]
async fn sync_progress_of_ten_thousand_users_answers_in_time() {
    use user_sync_aws::dynamo::items::{
        DesiredItem, StatusItem, failure_prefix, failures_pk, user_pk,
    };
    use user_sync_core::rules::effective_assignment;
    use user_sync_core::state::{DesiredState, Failure, FailureClass, Outcome, SyncStatus};

    let s = stack_pausing(&["WorkerFunction"]);
    let org = new_org("progress").await;
    let org_id = OrgId::parse(&org.org_id).unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let started = Instant::now();
    let (status, g) = Client::new()
        .send(
            "POST",
            &scim_url("/Groups"),
            Some(&org.scim_token),
            Some(&json!({"displayName": "Everyone"})),
        )
        .await;
    assert_eq!(status, 201, "{g}");
    let group = GroupId::parse(g["id"].as_str().unwrap()).unwrap();
    let ids = seed(&org_id, &group).await;
    let facts = DirectoryUser {
        id: ids[0].clone(),
        user_name: "x@example.com".into(),
        external_id: None,
        active: true,
        deleted: false,
        given_name: None,
        family_name: None,
        email: Some("x@example.com".into()),
        locale: None,
        created: String::new(),
        last_modified: String::new(),
        version: 1,
        link: Default::default(),
    }
    .facts();
    let assignment = effective_assignment(facts.status, &Default::default(), &[]);
    let desired = serde_json::to_string(&DesiredState {
        generation: 1,
        facts,
        assignment,
        language: None,
        updated_at: "2026-11-22T00:00:00.000Z".into(),
        cause: None,
    })
    .unwrap();
    let licenses = Failure {
        class: FailureClass::OutOfLicenses,
        product: Some("G2W".into()),
        domain: None,
    };
    let mut items = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // 0..4 in sync, 4..6 pending, 6 failed, 7 never synced
        let kind = i % 8;
        if kind == 7 {
            continue;
        }
        items.push(
            serde_dynamo::to_item(DesiredItem {
                pk: user_pk(&org_id, id),
                sk: "DESIRED".into(),
                generation: 1,
                state: desired.clone(),
                suspended: None,
            })
            .unwrap(),
        );
        let status = match kind {
            0..4 => Some((1, None)),
            6 => Some((0, Some(licenses.clone()))),
            _ => None,
        };
        if let Some((applied, failure)) = status {
            let st = SyncStatus {
                applied_generation: applied,
                last_outcome: if failure.is_some() {
                    Outcome::Failure
                } else {
                    Outcome::Success
                },
                failure: failure.clone(),
                attempts: 1,
                at: "2026-11-22T00:00:00.000Z".into(),
                dead_lettered: failure.is_some(),
                retried_at: None,
                failure_entry: None,
            };
            items.push(
                serde_dynamo::to_item(StatusItem {
                    pk: user_pk(&org_id, id),
                    sk: "STATUS".into(),
                    applied_generation: applied,
                    status: serde_json::to_string(&st).unwrap(),
                    failure_pk: failure.as_ref().map(|_| failures_pk(&org_id)),
                    failure_sk: failure
                        .as_ref()
                        .map(|f| format!("{}{id}", failure_prefix(f))),
                    retried_at: None,
                })
                .unwrap(),
            );
        }
    }
    user_sync_tests::put_items(&ddb, &s.state_table, items).await;
    println!(
        "seeded {MEMBERS} users and their states in {:.1?}",
        started.elapsed()
    );

    let c = Client::new();
    let get = |path: String| {
        let c = &c;
        let token = org.admin_token.clone();
        async move {
            let started = Instant::now();
            let (status, body) = c.send("GET", &path, Some(&token), None).await;
            assert_eq!(status, 200, "{body}");
            (body, started.elapsed())
        }
    };
    // the second answer reuses the first count (a large organization's
    // count is reused for a minute)
    let mut counted_at = Vec::new();
    for _ in 0..2 {
        let (body, took) = get(api_url("/sync")).await;
        let p = &body["progress"];
        println!("GET /sync with {MEMBERS} users: {took:.1?}: {p}");
        counted_at.push(p["countedAt"].clone());
        assert_eq!(p["exact"], true);
        assert_eq!(p["total"], MEMBERS);
        assert_eq!(p["inSync"], MEMBERS / 2);
        assert_eq!(p["pending"], MEMBERS / 4);
        assert_eq!(p["failed"], MEMBERS / 8);
        assert_eq!(p["notSynced"], MEMBERS / 8);
        assert_eq!(p["deadLettered"], MEMBERS / 8);
        assert!(took < Duration::from_secs(20), "GET /sync took {took:?}");
    }
    assert_eq!(counted_at[0], counted_at[1]);
    let (body, took) = get(api_url("/users?limit=200")).await;
    println!("GET /users?limit=200: {took:.1?}");
    assert_eq!(body["items"].as_array().unwrap().len(), 200);
    let (body, took) = get(api_url("/users?status=failed&limit=200")).await;
    println!(
        "GET /users?status=failed&limit=200: {} users in {took:.1?}",
        body["items"].as_array().unwrap().len()
    );
    let (body, took) = get(api_url("/users?failureClass=out_of_licenses&limit=200")).await;
    println!("GET /users?failureClass=out_of_licenses&limit=200: {took:.1?}");
    assert_eq!(body["items"].as_array().unwrap().len(), 200);
}
