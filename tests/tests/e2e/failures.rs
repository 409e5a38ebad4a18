//! Failures from the admin's side, on the local stack: seats running out
//! (banner → details → more seats → Retry sync), Retry sync before the fix
//! (one product API call, an answer that says the seats are still short),
//! two clicks in a row, two organizations retrying side by side, an account
//! that exists elsewhere, a failed job sent again after the rule changed,
//! the product API failing and rate limiting for a while, and a mail job
//! delivered twice. Each test has its own organization; faults are set for
//! that organization only.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_tests::{UserBuilder, eventually, sdk_config, stack};

use crate::admin::{PIPELINE, TestOrg, products};

mod product_api;

mod redrive;

pub(crate) use redrive::{drain, fresh_queue, send_tagged};

/// Retries of a product API that fails for a while back off 7.5 s, 15 s, …
const CONVERGE: Duration = Duration::from_secs(150);

/// Waits for the banner of `class` (with `users` users, if given).
async fn banner(org: &TestOrg, class: &str, users: Option<u64>) -> Value {
    let what = format!("a {class} banner");
    eventually(&what, PIPELINE, || async {
        org.admin().failures().await["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["class"] == class && users.is_none_or(|n| e["count"] == n))
            .cloned()
    })
    .await
}

/// Waits until no failure affects any user.
async fn no_banners(org: &TestOrg) {
    eventually("no failure left", PIPELINE, || async {
        org.admin().failures().await["failures"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    })
    .await;
}

/// Retries until `expected` users and emails were sent again (a user's
/// failure may not be recorded yet at the first click).
async fn retry_until_moved(org: &TestOrg, body: Value, expected: u64) -> Vec<Value> {
    let mut answers = Vec::new();
    let mut moved = 0;
    let start = Instant::now();
    while moved < expected {
        let a = org.admin().post("/sync/retry", body.clone()).await;
        assert_eq!(a.status, 200, "{}", a.body);
        moved += a.body["jobs"].as_u64().unwrap() + a.body["emails"].as_u64().unwrap();
        answers.push(a.body);
        assert!(
            start.elapsed() < PIPELINE,
            "only {moved} of {expected} moved: {answers:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(moved, expected, "{answers:?}");
    answers
}

/// `POST /sync/retry` with `body`: its answer.
async fn retry(org: &TestOrg, body: Value) -> Value {
    let a = org.admin().retry(body).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body
}

/// The user's failure attempts as the failures view shows them (`None`:
/// no such failure); `failure` is the class, with `?product=` for
/// `out_of_licenses`.
async fn failed_attempts(org: &TestOrg, failure: &str, user: &str) -> Option<u64> {
    let d = org
        .admin()
        .get(&format!("/sync/failures/{failure}&limit=200"))
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    d.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["userId"] == user)
        .and_then(|u| u["attempts"].as_u64())
}

/// The user's `sync_failed` entries in the activity history.
async fn sync_failed_entries(org: &TestOrg, user: &str) -> Vec<Value> {
    let h = org
        .admin()
        .get(&format!(
            "/activity?userId={user}&action=sync_failed&limit=200"
        ))
        .await;
    assert_eq!(h.status, 200, "{}", h.body);
    h.body["items"].as_array().unwrap().clone()
}

/// A group of `n` users with one Full Admin rule granting `product`.
async fn users_with_rule(org: &TestOrg, n: usize, products: &[&str]) -> (Vec<String>, Value) {
    let mut users = Vec::new();
    for i in 0..n {
        users.push(org.scim().user(&format!("user{i:02}")).await);
    }
    let group = org.scim().group("Everyone").await;
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    org.scim().members(&group, "add", &refs).await;
    let rule = org
        .admin().rule(json!({"groupId": group, "description": "Everyone", "products": products, "adminRole": {"type": "full_admin"}}))
        .await;
    (users, rule)
}

fn email_of(a: &TestOrg, name: &str) -> String {
    format!("{name}.{}@example.com", a.org_id)
}

fn user_ids(entry: &Value) -> BTreeSet<String> {
    entry["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seats_run_out_then_more_seats_and_retry_sync_provision_everyone() {
    let a = TestOrg::new("seats").await;
    a.simulator().set_seats(json!({"G2W": 7})).await;
    let (users, _) = users_with_rule(&a, 10, &["G2W"]).await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    // the banner: 3 users out of G2W licenses
    let banner = eventually("3 users out of licenses", PIPELINE, || async {
        let f = a.admin().failures().await;
        let entries = f["failures"].as_array().unwrap().clone();
        (entries.len() == 1 && entries[0]["count"] == 3).then(|| entries[0].clone())
    })
    .await;
    assert_eq!(banner["class"], "out_of_licenses");
    assert_eq!(banner["product"], "G2W");
    assert_eq!(banner["retriedAutomatically"], false);
    assert!(
        banner["message"].as_str().unwrap().contains("3 users")
            && banner["message"].as_str().unwrap().contains("G2W"),
        "{banner}"
    );

    // the details: exactly the 3 users without an account, page by page
    let mut provisioned = BTreeSet::new();
    for u in &users {
        if a.simulator().account(u).await.is_some() {
            provisioned.insert(u.clone());
        }
    }
    assert_eq!(provisioned.len(), 7);
    let unprovisioned: BTreeSet<String> = users
        .iter()
        .filter(|u| !provisioned.contains(*u))
        .cloned()
        .collect();
    assert_eq!(user_ids(&banner), unprovisioned);
    let first = a
        .admin()
        .get("/sync/failures/out_of_licenses?product=G2W&limit=2")
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["count"], 3);
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let second = a
        .admin()
        .get(&format!(
            "/sync/failures/out_of_licenses?product=G2W&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(second.body["nextCursor"], Value::Null);
    let mut paged = user_ids(&first.body);
    paged.extend(user_ids(&second.body));
    assert_eq!(paged, unprovisioned);
    let someone = &first.body["users"][0];
    assert!(
        someone["userName"]
            .as_str()
            .unwrap()
            .ends_with("@example.com"),
        "{someone}"
    );
    assert_eq!(someone["attempts"], 1);

    // the fix: more seats, then Retry sync for this class
    a.simulator().set_seats(json!({"G2W": 10})).await;
    let answers = retry_until_moved(&a, json!({"class": "out_of_licenses"}), 3).await;
    assert!(
        answers.iter().all(|r| r["causeStillPresent"] == false),
        "the seats are there now: {answers:?}"
    );
    for u in &users {
        a.until(u, "provisioned after the retry", |x| {
            x["status"] == "active" && products(x) == ["G2W"]
        })
        .await;
    }
    no_banners(&a).await;

    // one welcome email each, 10 in total
    for i in 0..10 {
        let to = email_of(&a, &format!("user{i:02}"));
        let emails = eventually("the welcome email", PIPELINE, || async {
            let e = user_sync_tests::emails_to(&a.client, &to).await;
            (!e.is_empty()).then_some(e)
        })
        .await;
        assert_eq!(emails.len(), 1, "{to}");
    }

    // the retry is in the history, by the admin
    let history = a.admin().get("/activity?limit=200").await;
    let retried: Vec<&Value> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "sync_retried")
        .collect();
    assert!(!retried.is_empty(), "{}", history.body);
    assert_ne!(retried[0]["actor"], "Sync user");
    assert_eq!(retried[0]["failureClass"], "out_of_licenses");

    // nothing is left to retry
    let again = retry(&a, json!({})).await;
    assert_eq!(
        (again["jobs"].clone(), again["complete"].clone()),
        (json!(0), json!(true))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_before_the_fix_calls_the_product_api_once_and_says_the_seats_are_still_short() {
    let a = TestOrg::new("tooearly").await;
    a.simulator().set_seats(json!({"G2W": 1})).await;
    users_with_rule(&a, 2, &["G2W"]).await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    let banner = banner(&a, "out_of_licenses", Some(1)).await;
    let short = banner["users"][0]["userId"].as_str().unwrap().to_owned();
    let calls_before = a.simulator().calls(Some(&short)).await.len();
    let entries_before = sync_failed_entries(&a, &short).await.len();
    assert_eq!(entries_before, 1);

    // one click, the cause not fixed
    let r = retry(&a, json!({})).await;
    assert_eq!(
        (r["jobs"].clone(), r["emails"].clone()),
        (json!(1), json!(0)),
        "{r}"
    );
    assert_eq!(r["examined"], 1, "its own failures only: {r}");
    assert_eq!(r["causeStillPresent"], true, "{r}");
    assert_eq!(
        r["shortages"],
        json!([{"product": "G2W", "used": 1, "limit": 1, "users": 1}])
    );
    assert_eq!(
        r["message"],
        "1 user sent again; still out of G2W licenses: 1 of 1 in use"
    );

    // its job fails again, once: one more product API call, no storm
    eventually("the job sent again failed again", PIPELINE, || async {
        (failed_attempts(&a, "out_of_licenses?product=G2W", &short).await == Some(2)).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        a.simulator().calls(Some(&short)).await.len(),
        calls_before + 1
    );
    assert_eq!(
        failed_attempts(&a, "out_of_licenses?product=G2W", &short).await,
        Some(2)
    );
    // the same failure again is the same entry, counted
    let entries = sync_failed_entries(&a, &short).await;
    assert!(entries.len() <= entries_before + 1, "{entries:?}");
    assert_eq!(entries[0]["details"]["attempts"], 2, "{entries:?}");

    // the retry is in the history with the same counts
    let history = a.admin().get("/activity?action=sync_retried").await;
    let retried = &history.body["items"][0];
    assert_eq!(retried["details"]["jobs"], 1, "{retried}");
    assert_eq!(retried["details"]["causeStillPresent"], true, "{retried}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clicks_in_a_row_send_nothing_the_second_time() {
    let a = TestOrg::new("twoclicks").await;
    a.simulator().set_seats(json!({"G2M": 0})).await;
    let (users, _) = users_with_rule(&a, 1, &["G2M"]).await;
    let ada = &users[0];
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    banner(&a, "out_of_licenses", Some(1)).await;
    let calls_before = a.simulator().calls(Some(ada)).await.len();

    let first = retry(&a, json!({"class": "out_of_licenses"})).await;
    assert_eq!(first["jobs"], 1, "{first}");
    // the first click's job fails again meanwhile
    eventually("the job sent again failed again", PIPELINE, || async {
        (failed_attempts(&a, "out_of_licenses?product=G2M", ada).await == Some(2)).then_some(())
    })
    .await;
    let second = retry(&a, json!({"class": "out_of_licenses"})).await;
    assert_eq!(
        (second["jobs"].clone(), second["skipped"].clone()),
        (json!(0), json!(1)),
        "{second}"
    );
    assert!(
        second["message"]
            .as_str()
            .unwrap()
            .starts_with("nothing sent: 1 failure was sent again less than a minute ago"),
        "{second}"
    );
    // also as one user's retry
    let third = retry(&a, json!({"userId": ada})).await;
    assert_eq!(
        (third["jobs"].clone(), third["skipped"].clone()),
        (json!(0), json!(1))
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.simulator().calls(Some(ada)).await.len(), calls_before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_organizations_retry_neither_sees_nor_holds_anothers_failures() {
    let a = TestOrg::new("tenanta").await;
    let b = TestOrg::new("tenantb").await;
    b.simulator().set_seats(json!({"G2W": 0})).await;
    let (b_users, _) = users_with_rule(&b, 1, &["G2W"]).await;
    assert_eq!(b.admin().sync(true, false).await.status, 200);
    banner(&b, "out_of_licenses", Some(1)).await;
    let calls_before = b.simulator().calls(Some(&b_users[0])).await.len();

    // A has no failure: its retry looks at nothing of B's
    let r = retry(&a, json!({})).await;
    assert_eq!(
        (
            r["jobs"].clone(),
            r["emails"].clone(),
            r["examined"].clone(),
            r["skipped"].clone()
        ),
        (json!(0), json!(0), json!(0), json!(0)),
        "{r}"
    );
    assert_eq!(
        r["message"],
        "nothing to retry: no failure waits for Retry sync"
    );

    // B's own retry, right after, sends its user at once: nothing was held
    let r = retry(&b, json!({})).await;
    assert_eq!(
        (r["jobs"].clone(), r["examined"].clone()),
        (json!(1), json!(1)),
        "{r}"
    );
    eventually("B's job reaches the product API", PIPELINE, || async {
        (b.simulator().calls(Some(&b_users[0])).await.len() > calls_before).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_account_is_shown_and_the_redriven_job_applies_the_changed_rule() {
    let a = TestOrg::new("exists").await;
    let (users, rule) = users_with_rule(&a, 2, &["G2M"]).await;
    let grace = &users[1];
    let grace_email = email_of(&a, "user01");
    a.simulator()
        .control(
            "PUT",
            "/existing-accounts",
            Some(json!({"emails": [grace_email]})),
        )
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    let banner = banner(&a, "existing_account", None).await;
    assert_eq!(banner["count"], 1);
    assert_eq!(banner["product"], Value::Null);
    assert_eq!(user_ids(&banner), BTreeSet::from([grace.clone()]));
    assert_eq!(banner["users"][0]["email"], grace_email);

    // while that job waits in the dead-letter queue, the rule changes
    let changed = a
        .admin()
        .patch_rule(&rule, json!({"products": ["G2M", "G2T"]}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    // the new generation fails the same way: a second dead-lettered job
    eventually("the second attempt fails too", PIPELINE, || async {
        let d = a.admin().get("/sync/failures/existing_account").await;
        (d.body["users"][0]["attempts"] == 2).then_some(())
    })
    .await;

    // the fix: the other account is gone; retry this user only
    a.simulator()
        .control("PUT", "/existing-accounts", Some(json!({"emails": []})))
        .await;
    // one job for the user, whatever number of failed generations
    retry_until_moved(&a, json!({"userId": grace}), 1).await;
    a.until(grace, "the new state", |x| products(x) == ["G2M", "G2T"])
        .await;
    no_banners(&a).await;
    // both jobs applied the current state (the product API stores an
    // identical PUT without touching `updatedAt`): the account never held
    // the old one
    let account = a.simulator().account(grace).await.unwrap();
    assert_eq!(account["createdAt"], account["updatedAt"], "{account}");
    let created = a
        .simulator()
        .calls(Some(grace))
        .await
        .into_iter()
        .filter(|c| c["status"] == 201)
        .count();
    assert_eq!(created, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_job_delivered_twice_sends_one_email() {
    let a = TestOrg::new("twice").await;
    let to = email_of(&a, "twice");
    let job = json!({
        "orgId": a.org_id, "userId": "twice-user", "event": "1", "template": null,
        "language": "en", "email": to, "givenName": "Twice", "products": ["G2M"],
    });
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let queue = &stack().queues["MailQueue"];
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(queue)
            .message_body(job.to_string())
            .send()
            .await
            .unwrap();
    }
    eventually("the email", PIPELINE, || async {
        let e = user_sync_tests::emails_to(&a.client, &to).await;
        (!e.is_empty()).then_some(())
    })
    .await;
    // both deliveries were handled (the queue is drained) before counting
    eventually("both deliveries handled", PIPELINE, || async {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let a = attrs.attributes.unwrap_or_default();
        let n = |k: aws_sdk_sqs::types::QueueAttributeName| {
            a.get(&k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(1)
        };
        (n(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages) == 0
            && n(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                == 0)
            .then_some(())
    })
    .await;
    assert_eq!(user_sync_tests::emails_to(&a.client, &to).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_welcome_email_is_shown_and_retried_to_the_corrected_address() {
    let a = TestOrg::new("mailfail").await;
    let good = email_of(&a, "mara");
    // an address the mail service refuses (two @); the product API takes
    // it, and the part after its last @ is one of the organization's domains
    let bad = good.replacen('@', "@x@", 1);
    let mara = a
        .scim()
        .create_user(UserBuilder::new(&good).given_name("Mara").email(&bad))
        .await;
    let group = a.scim().group("Everyone").await;
    a.scim().members(&group, "add", &[&mara]).await;
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    let banner = banner(&a, "email_failed", None).await;
    assert_eq!(banner["count"], 1);
    assert_eq!(user_ids(&banner), BTreeSet::from([mara.clone()]));
    assert_eq!(banner["users"][0]["attempts"], 1);
    let history = a.admin().get("/activity").await;
    assert!(
        history.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "welcome_email_failed" && e["failureClass"] == "email_failed"),
        "{}",
        history.body
    );

    // the admin corrects the address in the directory; it reaches the product
    let (status, body) = a
        .scim().send("PATCH",
            &format!("/Users/{mara}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "emails", "value": [{"primary": true, "value": good, "type": "work"}]}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    a.until(&mara, "the corrected address", |x| x["email"] == good)
        .await;

    // Retry sync for emails sends the welcome email to the corrected address
    retry_until_moved(&a, json!({"class": "email_failed"}), 1).await;
    let sent = eventually("the welcome email", PIPELINE, || async {
        let e = user_sync_tests::emails_to(&a.client, &good).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(sent.len(), 1);
    no_banners(&a).await;
}
