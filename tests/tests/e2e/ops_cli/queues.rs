//! The queue commands: dead letters counted and redriven, and reconcile
//! sending an unchanged user again.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dlq_status_counts_dead_letters_and_redrive_moves_them_back() {
    let sqs = aws_sdk_sqs::Client::new(&sdk_config().await);
    let tag = unique_id("opsdlq");
    let jobs = fresh_queue(&sqs, &format!("{tag}-jobs")).await;
    let jobs_dlq = fresh_queue(&sqs, &format!("{tag}-jobs-dlq")).await;
    let mail = fresh_queue(&sqs, &format!("{tag}-mail")).await;
    let mail_dlq = fresh_queue(&sqs, &format!("{tag}-mail-dlq")).await;
    let failures = fresh_queue(&sqs, &format!("{tag}-evaluator-failures")).await;
    let job =
        |org: &str, user: &str| json!({"orgId": org, "userId": user, "generation": 1}).to_string();
    send_tagged(&sqs, &jobs_dlq, &job("a", "u1"), Some("out_of_licenses")).await;
    send_tagged(&sqs, &jobs_dlq, &job("a", "u2"), Some("existing_account")).await;
    send_tagged(&sqs, &jobs_dlq, &job("b", "u3"), Some("out_of_licenses")).await;
    send_tagged(
        &sqs,
        &mail_dlq,
        &json!({"orgId": "a", "userId": "u1", "event": "1"}).to_string(),
        Some("email_failed"),
    )
    .await;
    let queues = [
        "--jobs-queue-url",
        &jobs,
        "--jobs-dlq-url",
        &jobs_dlq,
        "--mail-queue-url",
        &mail,
        "--mail-dlq-url",
        &mail_dlq,
    ];
    let with = |args: &[&'static str], extra: &[&str]| {
        let mut v: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        v.extend(queues.iter().map(|q| (*q).to_owned()));
        v.extend(extra.iter().map(|q| (*q).to_owned()));
        v
    };
    let run = |args: Vec<String>| async move {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        ops_cli(&refs).await
    };

    let status = run(with(
        &["--output", "json", "dlq", "status"],
        &["--evaluator-failure-queue-url", &failures],
    ))
    .await
    .json();
    let queue = |status: &Value, name: &str| {
        status["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not in {status}"))
    };
    let dlq = queue(&status, "JobsDeadLetterQueue");
    assert_eq!(dlq["waiting"], 3, "{dlq}");
    assert_eq!(dlq["inFlight"], 0, "peeking hides nothing: {dlq}");
    assert_eq!(dlq["oldestSampled"]["messagesSampled"], 3, "{dlq}");
    let age = dlq["oldestSampled"]["ageSeconds"].as_i64().unwrap();
    assert!((0..120).contains(&age), "{dlq}");
    assert_eq!(queue(&status, "MailDeadLetterQueue")["waiting"], 1);
    let jobs_queue = queue(&status, "JobsQueue");
    assert_eq!(jobs_queue["waiting"], 0);
    assert!(jobs_queue["oldestSampled"].is_null(), "never peeked");
    assert_eq!(queue(&status, "EvaluatorFailureQueue")["waiting"], 0);

    let text = run(with(&["dlq", "status"], &[])).await;
    assert_eq!(text.code, 0, "{text:?}");
    let line = text
        .out
        .lines()
        .find(|l| l.starts_with("JobsDeadLetterQueue"))
        .unwrap_or_else(|| panic!("{}", text.out));
    assert!(line.contains("sampled"), "{line}");
    assert!(text.err.contains("sample"), "{}", text.err);
    assert!(
        !text.out.contains("EvaluatorFailureQueue"),
        "only when given"
    );

    // redrive organization a: its two jobs and its email (once they are
    // older than the run's clock-skew margin)
    tokio::time::sleep(CLOCK_SKEW_MARGIN + Duration::from_secs(1)).await;
    let moved = run(with(
        &[
            "--output", "json", "dlq", "redrive", "--org", "a", "--rate", "1000",
        ],
        &[],
    ))
    .await
    .json();
    assert_eq!(
        (moved["jobs"].clone(), moved["emails"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(moved["complete"], true);
    let back = drain(&sqs, &jobs).await;
    assert_eq!(back.len(), 2);
    assert!(back.iter().all(|m| m["orgId"] == "a"));
    assert_eq!(drain(&sqs, &mail).await.len(), 1);

    let after = run(with(&["--output", "json", "dlq", "status"], &[]))
        .await
        .json();
    assert_eq!(queue(&after, "JobsDeadLetterQueue")["waiting"], 1);
    assert_eq!(queue(&after, "MailDeadLetterQueue")["waiting"], 0);

    // the text redrive reports what it moved
    let rest = run(with(&["dlq", "redrive", "--class", "out_of_licenses"], &[])).await;
    assert_eq!(rest.code, 0, "{rest:?}");
    assert!(rest.out.contains("moved 1 jobs"), "{}", rest.out);

    // without the queues: a usage error (unless the environment names them)
    if std::env::var_os("JOBS_QUEUE_URL").is_none() {
        let missing = ops_cli(&["dlq", "status"]).await;
        assert_eq!(missing.code, 2, "{missing:?}");
        assert!(missing.err.contains("JOBS_QUEUE_URL"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_sends_an_unchanged_user_to_the_product_api_again() {
    let a = TestOrg::new("opsreconcile").await;
    let org = a.org_id.clone();

    // refused while sync is off
    let off = ops_cli(&["reconcile", &org]).await;
    assert_eq!(off.code, 1, "{off:?}");
    assert!(off.err.contains("sync is off"), "{}", off.err);

    let ada = a.scim().user("ada").await;
    let bob = a.scim().user("bob").await;
    let group = a.scim().group_with("Everyone", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, true).await.status, 200);
    a.until(&ada, "ada's account", |acc| acc["status"] == "active")
        .await;

    // the pipeline settles: every user's state applied, no call in flight
    let calls_url = control_url(&format!("/calls?org={org}"));
    let c = Client::new();
    let calls = |user: String| {
        let c = &c;
        let url = calls_url.clone();
        async move {
            let (_, body) = c.send("GET", &url, None, None).await;
            body["calls"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|call| call["userKey"] == user.as_str())
                .count()
        }
    };
    let settled = eventually("the sync settles", PIPELINE, || async {
        let (_, sync) = get(&api_url("/sync"), &a.admin_token).await;
        let p = &sync["progress"];
        let quiet = sync["fanOuts"].as_array().is_some_and(Vec::is_empty)
            && p["pending"] == 0
            // bob, in no group, has no rule and no account: never in sync
            && p["inSync"] == 1
            && p["noRule"] == 1;
        quiet.then_some(())
    })
    .await;
    let _: () = settled;
    let (ada_before, bob_before) = (calls(ada.clone()).await, calls(bob.clone()).await);
    // no rule entitles bob: nothing was ever asked of the product for him
    assert!(ada_before >= 1 && bob_before == 0);

    // nothing changed; the reconcile sends ada again, and still nothing for
    // bob, who never had an account
    let ran = ops_cli(&["--output", "json", "reconcile", &org]).await;
    let done = ran.json();
    assert_eq!(done["done"], true, "{done}");
    assert_eq!(done["reason"], "reconcile");
    assert_eq!(done["users"], 2, "{done}");
    assert_eq!(done["jobs"], 1, "{done}");
    assert!(
        ran.err.contains("users reconciled"),
        "progress: {}",
        ran.err
    );
    eventually("ada is sent again", PIPELINE, || async {
        (calls(ada.clone()).await > ada_before).then_some(())
    })
    .await;
    assert_eq!(calls(bob.clone()).await, 0);
    let account = a.simulator().account(&ada).await.unwrap();
    assert_eq!(account["status"], "active");
    assert_eq!(account["products"], json!(["G2M"]));

    // --no-wait returns at once with the task
    let started = ops_cli(&["reconcile", &org, "--no-wait", "--output", "json"])
        .await
        .json();
    assert!(
        started["taskId"]
            .as_str()
            .unwrap()
            .starts_with("reconcile-")
    );
    assert_eq!(started["done"], false);
    let text = ops_cli(&["reconcile", &org]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(
        text.out.contains("done, 2 users reconciled"),
        "{}",
        text.out
    );

    assert_eq!(ops_cli(&["reconcile", &unique_id("nobody")]).await.code, 1);
}
