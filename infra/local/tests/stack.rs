//! Starts a real local stack (moto from `.venv`, template.yaml, the real
//! functions) and checks that it creates the template's resources and drives
//! the functions like Lambda's event source mappings do. Needs
//! `scripts/setup` to have created `.venv`; fails (never skips) otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType, TimeToLiveStatus};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use aws_sdk_sqs::types::QueueAttributeName;
use local_stack::{Stack, StackOptions, error_chain};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Polls `check` until it holds, or fails the test after `secs` seconds.
async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_stack_creates_the_template_and_drives_the_functions() {
    let stack = match Stack::start(StackOptions::new(repo_root())).await {
        Ok(stack) => stack,
        Err(e) => panic!("the local stack did not start: {}", error_chain(&e)),
    };
    let dynamodb = stack.dynamodb();
    let sqs = stack.sqs();

    // Tables, as declared in template.yaml.
    let tables = dynamodb
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default();
    assert!(tables.contains(&stack.directory_table), "{tables:?}");
    assert!(tables.contains(&stack.state_table), "{tables:?}");
    let directory = dynamodb
        .describe_table()
        .table_name(&stack.directory_table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let gsis = directory.global_secondary_indexes.unwrap_or_default();
    let mut names: Vec<&str> = gsis
        .iter()
        .filter_map(|g| g.index_name.as_deref())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["gsi1", "gsi2", "gsi3"]);
    assert_eq!(
        directory
            .stream_specification
            .and_then(|s| s.stream_view_type),
        Some(StreamViewType::NewAndOldImages)
    );
    let ttl = dynamodb
        .describe_time_to_live()
        .table_name(&stack.state_table)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.time_to_live_status, Some(TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name.as_deref(), Some("expiresAt"));

    // Queues, with the redrive policies pointing at the real DLQ ARNs.
    let urls = sqs
        .list_queues()
        .send()
        .await
        .unwrap()
        .queue_urls
        .unwrap_or_default();
    for queue in [
        "JobsQueue",
        "JobsDeadLetterQueue",
        "MailQueue",
        "MailDeadLetterQueue",
        "EvaluatorFailureQueue",
    ] {
        let url = stack
            .queue_url(queue)
            .unwrap_or_else(|| panic!("no {queue}"));
        assert!(urls.iter().any(|u| u == url), "{queue} not in {urls:?}");
    }
    let jobs_url = stack.queue_url("JobsQueue").unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&jobs_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attributes[&QueueAttributeName::VisibilityTimeout], "180");
    let redrive: serde_json::Value =
        serde_json::from_str(&attributes[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["deadLetterTargetArn"],
        stack.queue_arns["JobsDeadLetterQueue"].as_str()
    );
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "5"
    );

    // The functions got their environment from the template.
    let worker_env = stack.function_env("worker").unwrap();
    assert_eq!(worker_env["JOBS_QUEUE_URL"], jobs_url);
    assert_eq!(worker_env["PRODUCT_API_URL"], stack.product_api_url);
    // the product API key is read from Secrets Manager, never put in an
    // environment (readable with lambda:GetFunctionConfiguration)
    assert_eq!(
        worker_env["PRODUCT_API_KEY_SECRET_ARN"],
        stack.product_api_key_secret
    );
    for binary in ["scim", "api", "evaluator", "worker", "mailer"] {
        let env = stack.function_env(binary).unwrap();
        assert!(
            env.values()
                .all(|v| !v.contains(local_stack::PRODUCT_API_KEY)),
            "{binary}'s environment holds the product API key"
        );
    }
    assert_eq!(worker_env["DIRECTORY_TABLE"], stack.directory_table);
    assert_eq!(worker_env["AWS_REGION"], "us-east-1");
    assert_eq!(
        stack.function_env("mailer").unwrap()["MAIL_FROM"],
        local_stack::MAIL_FROM_ADDRESS
    );

    // The stream mapping: a token item is filtered out, a membership passes.
    let put = |pk: &str, sk: &str| {
        dynamodb
            .put_item()
            .table_name(&stack.directory_table)
            .item("pk", s(pk))
            .item("sk", s(sk))
            .item("version", AttributeValue::N("1".into()))
            .send()
    };
    put("itest#TOKEN#t1", "TOKEN").await.unwrap();
    put("itest#GROUP#g1", "MEMBER#x").await.unwrap();
    eventually("the evaluator got the membership record", 20, || async {
        stack.stats("evaluator").records >= 1
    })
    .await;
    let evaluator = stack.stats("evaluator");
    assert!(evaluator.invocations >= 1);
    // The token came first in the shard, so it has been filtered by now.
    assert_eq!(evaluator.filtered_records, 1, "{evaluator:?}");

    // A failed transaction makes the emulator restore a copy of the table
    // (and of its stream); records written after it must still arrive.
    let before = stack.stats("evaluator").records;
    let failing = aws_sdk_dynamodb::types::Put::builder()
        .table_name(&stack.directory_table)
        .item("pk", s("itest#GROUP#g1"))
        .item("sk", s("MEMBER#x"))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .unwrap();
    let refused = dynamodb
        .transact_write_items()
        .transact_items(
            aws_sdk_dynamodb::types::TransactWriteItem::builder()
                .put(failing)
                .build(),
        )
        .send()
        .await;
    assert!(refused.is_err(), "the condition must fail");
    put("itest#GROUP#g1", "MEMBER#y").await.unwrap();
    eventually(
        "a record written after a failed transaction",
        20,
        || async { stack.stats("evaluator").records > before },
    )
    .await;

    // The queue mapping: a job is received by the worker and deleted.
    sqs.send_message()
        .queue_url(&jobs_url)
        .message_body(r#"{"orgId":"itest","userId":"u1","generation":1}"#)
        .send()
        .await
        .unwrap();
    eventually("the worker processed the job", 20, || async {
        stack.invocations("worker") >= 1
    })
    .await;
    eventually("the job was deleted", 20, || async {
        let a = sqs
            .get_queue_attributes()
            .queue_url(&jobs_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap();
        a.values().all(|n| n == "0")
    })
    .await;
    assert_eq!(stack.stats("worker").failed_records, 0);

    // SES accepts mail from the verified sender.
    let ses = aws_sdk_sesv2::Client::new(&stack.sdk_config);
    let text = |t: &str| Content::builder().data(t).build().unwrap();
    ses.send_email()
        .from_email_address(&stack.mail_from)
        .destination(
            Destination::builder()
                .to_addresses("someone@example.com")
                .build(),
        )
        .content(
            EmailContent::builder()
                .simple(
                    Message::builder()
                        .subject(text("hello"))
                        .body(Body::builder().text(text("hi")).build())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();

    // The HTTP API routes by the template's paths.
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{}/Users", stack.scim_url))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), 404, "the SCIM route is not served");
    assert_eq!(stack.invocations("scim"), 1);
    // what no other route matches takes the `$default` route, to the api
    // function, which knows no such path
    let response = http
        .get(format!("{}/nowhere", stack.http_url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(stack.invocations("api"), 1);
    let body: serde_json::Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["code"], "not_found", "{body}");
    let too_big = vec![b'x'; 1024 * 1024 + 1];
    let response = http
        .post(format!("{}/Users", stack.scim_url))
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // Organizations are created in the stack's directory table.
    let org_id = user_sync_core::ids::OrgId::parse("itest").unwrap();
    let org = stack
        .create_organization(&org_id, "Integration Test")
        .await
        .unwrap();
    assert!(!org.scim_token.is_empty() && !org.admin_token.is_empty());
    assert!(stack.create_organization(&org_id, "again").await.is_err());

    stack.shutdown().await;
}
