//! Jobs delivered again, on the local stack: the worker's real handler,
//! built as its `main` builds it against the stack's tables, queues and
//! product API, given one batch holding the same job twice, that batch
//! again, and an older job after a newer one. No second product API call,
//! welcome email or activity entry; no generation bump; nothing rolled back.
//! (A mail job delivered twice is in `failures.rs`; stream records delivered
//! twice or out of order are in `tests/evaluator.rs`.)

use serde_json::{Value, json};
use user_sync_tests::{control_url, emails_to, eventually, stack};

use crate::admin::{PIPELINE, TestOrg, products};

async fn worker_deps(sdk: &aws_config::SdkConfig) -> worker::Deps {
    let s = stack();
    let settings = [
        ("STATE_TABLE", s.state_table.clone()),
        ("DIRECTORY_TABLE", s.directory_table.clone()),
        ("JOBS_QUEUE_URL", s.queues["JobsQueue"].clone()),
        ("JOBS_DLQ_URL", s.queues["JobsDeadLetterQueue"].clone()),
        ("MAIL_QUEUE_URL", s.queues["MailQueue"].clone()),
        ("PRODUCT_API_URL", s.product_api_url.clone()),
        (
            "PRODUCT_API_KEY_SECRET_ARN",
            s.product_api_key_secret.clone(),
        ),
    ];
    let config = worker::Config::from_lookup(&|k| {
        settings
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    worker::Deps::new(sdk, config).await.unwrap()
}

/// One SQS batch of these jobs, each a message of its own.
fn batch(
    org: &str,
    jobs: &[(&str, u64)],
) -> lambda_runtime::LambdaEvent<aws_lambda_events::sqs::SqsEvent> {
    let records = jobs
        .iter()
        .enumerate()
        .map(|(i, (user, generation))| {
            let mut m = aws_lambda_events::sqs::SqsMessage::default();
            m.message_id = Some(format!("m-{i}-{user}-{generation}"));
            m.body =
                Some(json!({"orgId": org, "userId": user, "generation": generation}).to_string());
            m.attributes
                .insert("ApproximateReceiveCount".into(), "1".into());
            m
        })
        .collect();
    let mut event = aws_lambda_events::sqs::SqsEvent::default();
    event.records = records;
    lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default())
}

async fn calls_of(org: &TestOrg, user: &str) -> Vec<Value> {
    let url = control_url(&format!("/calls?org={}", org.org_id));
    let (status, calls) = org.client.send("GET", &url, None, None).await;
    assert_eq!(status, 200, "{calls}");
    calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["userKey"] == user)
        .cloned()
        .collect()
}

async fn activity_of(org: &TestOrg, user: &str) -> Vec<Value> {
    let a = org
        .admin()
        .get(&format!("/activity?userId={user}&limit=100"))
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.body["items"].as_array().unwrap().clone()
}

/// The desired generation and the applied one, as explain shows them.
async fn generations(org: &TestOrg, user: &str) -> (Value, Value) {
    let e = org.admin().get(&format!("/users/{user}/assignment")).await;
    assert_eq!(e.status, 200, "{}", e.body);
    (
        e.body["desired"]["generation"].clone(),
        e.body["applied"]["generation"].clone(),
    )
}

async fn run(deps: &worker::Deps, org: &str, jobs: &[(&str, u64)]) {
    let response = worker::handle(deps, batch(org, jobs)).await.unwrap();
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_twice_in_a_batch_the_batch_again_and_an_older_job_change_nothing() {
    let a = TestOrg::new("redeliver").await;
    let org = a.org_id.clone();
    let seats = control_url(&format!("/orgs/{org}/seats"));
    // no seat yet: the pipeline's own job fails and waits in the DLQ, so the
    // user's first generation is still to apply when the batches come
    let (status, _) = a
        .client
        .send("PUT", &seats, None, Some(&json!({"G2M": 0})))
        .await;
    assert_eq!(status, 200);
    let ada = a.scim().user("ada").await;
    let group = a.scim().group_with("Everyone", &[&ada]).await;
    let rule = a
        .admin()
        .rule(json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    eventually("the first attempt fails", PIPELINE, || async {
        let f = a.admin().get("/sync/failures").await;
        (f.body["failures"][0]["class"] == "out_of_licenses").then_some(())
    })
    .await;
    // the pipeline is done with it: its calls were all refused
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let refused = calls_of(&a, &ada).await;
    assert!(refused.iter().all(|c| c["status"] == 409), "{refused:?}");
    let (status, _) = a
        .client
        .send("PUT", &seats, None, Some(&json!({"G2M": 5})))
        .await;
    assert_eq!(status, 200);

    let deps = worker_deps(&user_sync_tests::sdk_config().await).await;
    // the same job twice in one batch: one call creates the account
    run(&deps, &org, &[(&ada, 1), (&ada, 1)]).await;
    let calls = calls_of(&a, &ada).await;
    assert_eq!(
        calls.len(),
        refused.len() + 1,
        "one call for the two deliveries: {calls:?}"
    );
    assert_eq!(calls[refused.len()]["status"], 201);
    // and the whole batch again: nothing to do
    run(&deps, &org, &[(&ada, 1), (&ada, 1)]).await;
    assert_eq!(calls_of(&a, &ada).await.len(), calls.len());
    let to = a.email("ada");
    eventually("the welcome email", PIPELINE, || async {
        (!emails_to(&a.client, &to).await.is_empty()).then_some(())
    })
    .await;
    assert_eq!(generations(&a, &ada).await, (json!(1), json!(1)));
    let created = |entries: &[Value]| {
        entries
            .iter()
            .filter(|e| e["action"] == "account_created")
            .count()
    };
    assert_eq!(created(&activity_of(&a, &ada).await), 1);

    // a newer generation: the rule adds a product, the pipeline applies it
    let changed = a
        .admin()
        .patch_rule(&rule, json!({"products": ["G2M", "G2T"]}))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    a.until(&ada, "the second generation", |x| {
        products(x) == ["G2M", "G2T"]
    })
    .await;
    eventually("the second generation recorded", PIPELINE, || async {
        (generations(&a, &ada).await == (json!(2), json!(2))).then_some(())
    })
    .await;
    let before = calls_of(&a, &ada).await.len();
    let entries = activity_of(&a, &ada).await.len();

    // the newer job, then the older one, in one batch and again
    run(&deps, &org, &[(&ada, 2), (&ada, 1)]).await;
    run(&deps, &org, &[(&ada, 1)]).await;
    assert_eq!(calls_of(&a, &ada).await.len(), before, "no call");
    let account = a.simulator().account(&ada).await.unwrap();
    assert_eq!(products(&account), ["G2M", "G2T"], "not rolled back");
    assert_eq!(generations(&a, &ada).await, (json!(2), json!(2)));
    assert_eq!(activity_of(&a, &ada).await.len(), entries);
    assert_eq!(emails_to(&a.client, &to).await.len(), 1);
}
