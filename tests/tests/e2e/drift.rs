//! The drift check (issue #22): a product admin's change made directly in
//! the product is written back by the next run and recorded as
//! `drift_corrected` with the fields that differed; an organization in step
//! is only read; an account the product reactivated for a user deleted
//! from the directory is suspended again. Runs are started with
//! `ops drift run`, as the schedule would start them.

use serde_json::{Value, json};
use user_sync_tests::{PIPELINE, TestOrg, eventually, new_org, ops_cli, products};

/// An organization whose users `names` are in one Full Admin rule's group
/// (G2M), with sync on and every account applied; their ids.
async fn in_step(prefix: &str, names: &[&str]) -> (TestOrg, Vec<String>) {
    let a = new_org(prefix).await;
    let mut ids = Vec::new();
    for name in names {
        ids.push(a.scim().user(name).await);
    }
    let members: Vec<&str> = ids.iter().map(String::as_str).collect();
    let group = a.scim().group_with("Everyone", &members).await;
    a.admin()
        .rule_and_sync(
            json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    settle(&a, ids.len()).await;
    (a, ids)
}

/// Waits until `in_sync` users are in sync and no fan-out runs.
async fn settle(a: &TestOrg, in_sync: usize) {
    eventually("the sync settles", PIPELINE, || async {
        let sync = a.admin().read("/sync").await;
        let quiet = sync["fanOuts"].as_array().is_some_and(Vec::is_empty)
            && sync["progress"]["pending"] == 0
            && sync["progress"]["inSync"] == in_sync;
        quiet.then_some(())
    })
    .await;
}

/// A product admin's edit of `user`'s account, in the simulator.
async fn edit_in_product(a: &TestOrg, user: &str, fields: Value) {
    a.simulator()
        .control(
            "PATCH",
            &format!("/accounts/{}/{user}", a.org_id),
            Some(fields),
        )
        .await;
}

/// Runs a drift check now and waits for its fan-out; the task.
async fn drift_run(a: &TestOrg) -> Value {
    let ran = ops_cli(&["--output", "json", "drift", "run", &a.org_id]).await;
    let task = ran.json();
    assert_eq!(task["done"], true, "{task}");
    assert_eq!(task["reason"], "drift_check", "{task}");
    task
}

/// The organization's entries of `action`, newest first.
async fn entries(a: &TestOrg, action: &str) -> Vec<Value> {
    a.admin()
        .read(&format!("/activity?action={action}&limit=100"))
        .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until the run's checks were all read by the worker: `reads` GETs
/// of the organization's accounts after the call `after`.
async fn reads_after(a: &TestOrg, after: u64, reads: usize) -> Vec<Value> {
    let sim = a.simulator();
    eventually("the checks are read", PIPELINE, || async {
        let calls: Vec<Value> = sim
            .calls(None)
            .await
            .into_iter()
            .filter(|c| c["seq"].as_u64().unwrap_or(0) > after)
            .collect();
        let gets = calls.iter().filter(|c| c["method"] == "GET").count();
        (gets >= reads).then_some(calls)
    })
    .await
}

async fn last_call(a: &TestOrg) -> u64 {
    a.simulator()
        .calls(None)
        .await
        .iter()
        .filter_map(|c| c["seq"].as_u64())
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_admins_change_is_written_back_and_recorded_with_its_fields() {
    let (a, ids) = in_step("drift-edit", &["ada", "bob"]).await;
    let (ada, bob) = (&ids[0], &ids[1]);
    edit_in_product(
        &a,
        ada,
        json!({"role": "none", "products": ["G2M", "G2W"], "updatedBy": "Jane Admin"}),
    )
    .await;
    let edited = a.simulator().account(ada).await.unwrap();
    assert_eq!(edited["updatedBy"], "Jane Admin");

    let before = last_call(&a).await;
    let task = drift_run(&a).await;
    assert_eq!(
        (task["users"].as_u64(), task["jobs"].as_u64()),
        (Some(2), Some(2)),
        "{task}"
    );
    let back = a
        .until(ada, "ada's account written back", |acc| {
            acc["role"] == "full_admin" && acc.get("updatedBy").is_none()
        })
        .await;
    assert_eq!(products(&back), ["G2M"]);
    let corrected = eventually("drift_corrected", PIPELINE, || async {
        let e = entries(&a, "drift_corrected").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(corrected.len(), 1, "bob was in step: {corrected:?}");
    let entry = &corrected[0];
    assert_eq!(entry["subject"]["id"], ada.as_str());
    assert_eq!(entry["actor"], "Sync user");
    assert_eq!(entry["details"]["fields"], json!(["products", "role"]));
    assert_eq!(entry["details"]["changedBy"], "Jane Admin");
    let summary = entries(&a, "drift_checked").await;
    assert_eq!(summary.len(), 1, "{summary:?}");
    assert_eq!(summary[0]["details"]["users"], 2);
    assert_eq!(summary[0]["details"]["checked"], 2);
    // bob's account was read and left alone
    let bobs = eventually("bob's account is read", PIPELINE, || async {
        let calls: Vec<Value> = a
            .simulator()
            .calls(Some(bob.as_str()))
            .await
            .into_iter()
            .filter(|c| c["seq"].as_u64().unwrap_or(0) > before)
            .collect();
        (!calls.is_empty()).then_some(calls)
    })
    .await;
    assert!(bobs.iter().all(|c| c["method"] == "GET"), "{bobs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_in_step_is_only_read() {
    let (a, _) = in_step("drift-quiet", &["ada", "bob", "cy"]).await;
    let before = last_call(&a).await;
    drift_run(&a).await;
    let calls = reads_after(&a, before, 3).await;
    // give a stray write the time to show
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let after: Vec<Value> = a
        .simulator()
        .calls(None)
        .await
        .into_iter()
        .filter(|c| c["seq"].as_u64().unwrap_or(0) > before)
        .collect();
    assert!(after.len() >= calls.len());
    assert!(
        after
            .iter()
            .all(|c| c["method"] == "GET" && c["status"] == 200),
        "only reads: {after:?}"
    );
    assert_eq!(after.len(), 3, "one read per account: {after:?}");
    assert!(entries(&a, "drift_corrected").await.is_empty());
    let summary = eventually("drift_checked", PIPELINE, || async {
        let e = entries(&a, "drift_checked").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(summary[0]["details"]["checked"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_reactivated_for_a_user_deleted_from_the_directory_is_suspended() {
    let (a, ids) = in_step("drift-left", &["ada", "bob"]).await;
    let ada = &ids[0];
    let (status, _) = a.scim().delete(&format!("/Users/{ada}")).await;
    assert_eq!(status, 204);
    a.until(ada, "ada's account suspended", |acc| {
        acc["status"] == "suspended"
    })
    .await;
    settle(&a, 1).await;
    // a product admin turns the account back on
    edit_in_product(&a, ada, json!({"status": "active", "products": ["G2M"]})).await;

    drift_run(&a).await;
    a.until(ada, "ada's account suspended again", |acc| {
        acc["status"] == "suspended"
    })
    .await;
    let corrected = eventually("drift_corrected", PIPELINE, || async {
        let e = entries(&a, "drift_corrected").await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(corrected[0]["subject"]["id"], ada.as_str());
    assert_eq!(
        corrected[0]["details"]["fields"],
        json!(["status", "products"])
    );
    assert_eq!(corrected[0]["details"]["changedBy"], "product admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_is_daily_until_an_admin_sets_it_and_ops_can_turn_it_off() {
    let a = new_org("drift-setting").await;
    let view = a.admin().get("/sync/drift-check").await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body, json!({"driftCheck": "daily", "version": 0}));
    let missing = a
        .admin()
        .put("/sync/drift-check", json!({"driftCheck": "hourly"}))
        .await;
    assert_eq!(missing.status, 428, "{}", missing.body);
    let set = a
        .admin()
        .request(
            "PUT",
            "/sync/drift-check",
            Some(&json!({"driftCheck": "hourly"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["driftCheck"], "hourly");

    // a field it does not know, or a schedule it does not offer: refused,
    // naming the field, nothing changed
    for (body, status, code, field) in [
        (
            json!({"driftCheck": "daily", "every": "weekly"}),
            422,
            "unknown_field",
            "every",
        ),
        (
            json!({"driftCheck": "weekly"}),
            400,
            "invalid_body",
            "driftCheck",
        ),
        (json!({}), 400, "invalid_body", "driftCheck"),
    ] {
        let r = a
            .admin()
            .request(
                "PUT",
                "/sync/drift-check",
                Some(&body),
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.body["code"], code, "{body}: {}", r.body);
        let detail = r.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(field), "{body}: {}", r.body);
    }
    assert_eq!(
        a.admin().read("/sync/drift-check").await["driftCheck"],
        "hourly"
    );
    let changed = entries(&a, "drift_check_changed").await;
    assert_eq!(changed[0]["details"]["driftCheck"], "hourly");

    let off = ops_cli(&["--output", "json", "drift", "set", &a.org_id, "off"]).await;
    assert_eq!(off.json()["driftCheck"], "off");
    assert_eq!(
        a.admin().read("/sync/drift-check").await["driftCheck"],
        "off"
    );
    // a run by hand is refused while sync is off
    let refused = ops_cli(&["drift", "run", &a.org_id]).await;
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.err.contains("sync is off"), "{}", refused.err);
}

/// The drift check's cost and time for `DRIFT_MEASURE_USERS` users in step
/// (default 1,000; docs/performance.md, "Drift check"): product API reads
/// and writes, and the AWS calls each function made during the run, per
/// user. Slow (the accounts are created first) and measured alone:
/// `DRIFT_MEASURE_USERS=10000 cargo test -p user-sync-tests --test e2e --
/// drift::measured --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run alone"]
#[allow(clippy::print_stdout, clippy::cast_precision_loss)] // the figures belong in the test log
async fn measured_drift_check() {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    let users: usize = std::env::var("DRIFT_MEASURE_USERS")
        .map_or(1_000, |n| n.parse().expect("DRIFT_MEASURE_USERS: a number"));
    // 900 s for each started 1,000 users: the setup's pace on the local stack
    let wait = Duration::from_secs(900 * users.div_ceil(1_000).max(1) as u64);
    let a = new_org("drift-measure").await;
    let members = a.scim().group("Everyone").await;
    let group_id = user_sync_core::ids::GroupId::parse(&members).unwrap();
    user_sync_tests::put_members(&a.id(), &group_id, users).await;
    a.admin()
        .rule_and_sync(
            json!({"groupId": members, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    let setup = Instant::now();
    eventually(&format!("{users} accounts in step"), wait, || async {
        let sync = a.admin().read("/sync").await;
        let quiet = sync["fanOuts"].as_array().is_some_and(Vec::is_empty)
            && sync["progress"]["inSync"] == users;
        quiet.then_some(())
    })
    .await;
    println!("{users} accounts in step after {:?}", setup.elapsed());
    let calls_file = &user_sync_tests::stack().aws_calls;
    let lines_before = std::fs::read_to_string(calls_file).unwrap().lines().count();
    let before = last_call(&a).await;

    let started = Instant::now();
    let task = drift_run(&a).await;
    let fanned_out = started.elapsed();
    assert_eq!(task["jobs"], users, "{task}");
    let sim = a.simulator();
    let calls = eventually("every account read", wait, || async {
        let calls: Vec<Value> = sim
            .calls(None)
            .await
            .into_iter()
            .filter(|c| c["seq"].as_u64().unwrap_or(0) > before)
            .collect();
        let reads = calls.iter().filter(|c| c["method"] == "GET").count();
        (reads >= users).then_some(calls)
    })
    .await;
    let read_all = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let text = std::fs::read_to_string(calls_file).unwrap();
    let mut aws: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines().skip(lines_before) {
        let call: Value = serde_json::from_str(line).unwrap();
        let key = call["key"].as_str().unwrap_or_default();
        if key == "local" {
            continue;
        }
        let what = format!(
            "{} {}:{}",
            key,
            call["service"].as_str().unwrap_or_default(),
            call["action"].as_str().unwrap_or_default()
        );
        *aws.entry(what).or_default() += 1;
    }
    let puts = calls.iter().filter(|c| c["method"] == "PUT").count();
    println!(
        "drift check of {users} users: fan-out done in {fanned_out:?}, every account read in {read_all:?}; product API: {} reads, {puts} writes",
        calls.len() - puts
    );
    for (what, n) in &aws {
        println!("  {what}: {n} ({:.3} per user)", *n as f64 / users as f64);
    }
    assert_eq!(puts, 0);
}
