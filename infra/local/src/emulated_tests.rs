//! The event source mappings' failure handling, against the real emulator,
//! with handlers that fail on purpose: partial batch failures, bisection,
//! bounded retries and the on-failure destination for streams; partial
//! batch failures, redelivery and the dead-letter queue for queues.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::dynamodb;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};

use crate::emulator::Emulator;
use crate::filter::Filters;
use crate::functions::Function;
use crate::resources;
use crate::shutdown;
use crate::sqs::{self, QueueMapping};
use crate::stack::sdk_config;
use crate::stream::{self, RetryPolicy, StartingPosition, StreamClients, StreamMapping};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn eventually(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `sk` values of each invocation's records.
type Calls = Arc<Mutex<Vec<Vec<String>>>>;

fn sk(record: &dynamodb::EventRecord) -> String {
    let keys: std::collections::HashMap<String, serde_dynamo::AttributeValue> =
        record.change.keys.clone().into();
    match &keys["sk"] {
        serde_dynamo::AttributeValue::S(s) => s.clone(),
        other => panic!("{other:?}"),
    }
}

fn sks(event: &dynamodb::Event) -> Vec<String> {
    event.records.iter().map(sk).collect()
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages
        .unwrap_or_default()
        .iter()
        .map(|m| serde_json::from_str(m.body.as_deref().unwrap()).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mappings_handle_failures_like_lambda() {
    let emulator = match Emulator::start(&repo_root(), None).await {
        Ok(e) => e,
        Err(e) => panic!("{}", crate::error_chain(&e)),
    };
    let sdk = sdk_config(emulator.endpoint_url()).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs_client = aws_sdk_sqs::Client::new(&sdk);
    let table_props = json!({
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
    });
    let partial = resources::create_table(&ddb, "Partial", &table_props)
        .await
        .unwrap();
    let erroring = resources::create_table(&ddb, "Erroring", &table_props)
        .await
        .unwrap();
    let failures = resources::create_queue(&sqs_client, "Failures", &json!({}))
        .await
        .unwrap();
    let (trigger, stop) = shutdown::channel();
    let clients = StreamClients {
        streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
        sqs: sqs_client.clone(),
    };

    // Reports the record "BAD" as failed, every time.
    let partial_calls: Calls = Arc::default();
    let calls = partial_calls.clone();
    let reporting = Function::from_fn(
        "reporting",
        Duration::from_secs(5),
        move |e: LambdaEvent<dynamodb::Event>| {
            let calls = calls.clone();
            async move {
                calls.lock().unwrap().push(sks(&e.payload));
                let mut response = DynamoDbEventResponse::default();
                for r in &e.payload.records {
                    if sk(r) == "BAD" {
                        let mut f = DynamoDbBatchItemFailure::default();
                        f.item_identifier = r.change.sequence_number.clone();
                        response.batch_item_failures.push(f);
                    }
                }
                Ok(response)
            }
        },
    );
    // Fails the whole invocation when "BOOM" is in the batch.
    let erroring_calls: Calls = Arc::default();
    let calls = erroring_calls.clone();
    let failing = Function::from_fn(
        "failing",
        Duration::from_secs(5),
        move |e: LambdaEvent<dynamodb::Event>| {
            let calls = calls.clone();
            async move {
                let keys = sks(&e.payload);
                calls.lock().unwrap().push(keys.clone());
                if keys.iter().any(|k| k == "BOOM") {
                    Err("boom".into())
                } else {
                    Ok(DynamoDbEventResponse::default())
                }
            }
        },
    );
    let mapping = |function, table: &resources::CreatedTable, max_retry_attempts| StreamMapping {
        function,
        stream_arn: table.stream_arn.clone().unwrap(),
        starting_position: StartingPosition::TrimHorizon,
        batch_size: 10,
        batching_window: Duration::from_millis(500),
        report_batch_item_failures: true,
        retry: RetryPolicy {
            bisect_on_error: true,
            max_retry_attempts: Some(max_retry_attempts),
        },
        max_record_age: None,
        on_failure_queue_url: Some(failures.url.clone()),
        filters: Filters::parse([
            r#"{"dynamodb":{"Keys":{"sk":{"S":[{"anything-but":"SKIP"}]}}}}"#,
        ])
        .unwrap(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(stream::run(
        Arc::new(mapping(reporting, &partial, 2)),
        clients.clone(),
        stop.clone(),
    ));
    tasks.spawn(stream::run(
        Arc::new(mapping(failing, &erroring, 1)),
        clients.clone(),
        stop.clone(),
    ));

    let put = |table: &'static str, sk: &'static str| {
        ddb.put_item()
            .table_name(table)
            .item("pk", AttributeValue::S("p".into()))
            .item("sk", AttributeValue::S(sk.into()))
            .send()
    };
    for sk in ["A", "SKIP", "BAD", "C"] {
        put("Partial", sk).await.unwrap();
    }
    for sk in ["A", "BOOM", "C"] {
        put("Erroring", sk).await.unwrap();
    }

    // Partial failures: A is checkpointed; [BAD, C] is retried twice, then
    // given up on as one batch.
    eventually("the partial-failure batch was given up", 20, || {
        partial_calls.lock().unwrap().len() >= 3
    })
    .await;
    // Erroring batches are bisected down to BOOM, which is retried once.
    eventually("the erroring batch was bisected", 20, || {
        erroring_calls
            .lock()
            .unwrap()
            .last()
            .is_some_and(|c| c == &["C"])
    })
    .await;
    // Records after a given-up batch are processed.
    put("Partial", "D").await.unwrap();
    eventually("D was processed", 20, || {
        partial_calls
            .lock()
            .unwrap()
            .last()
            .is_some_and(|c| c == &["D"])
    })
    .await;

    assert_eq!(
        *partial_calls.lock().unwrap(),
        [
            vec!["A", "BAD", "C"],
            vec!["BAD", "C"],
            vec!["BAD", "C"],
            vec!["D"]
        ]
    );
    assert_eq!(
        *erroring_calls.lock().unwrap(),
        [
            vec!["A", "BOOM", "C"],
            vec!["A"],
            vec!["BOOM", "C"],
            vec!["BOOM"],
            vec!["BOOM"],
            vec!["C"]
        ]
    );

    let mut records = Vec::new();
    for _ in 0..20 {
        records.extend(drain(&sqs_client, &failures.url).await);
        if records.len() >= 2 {
            break;
        }
    }
    let mut by_stream: BTreeMap<String, &Value> = BTreeMap::new();
    for r in &records {
        by_stream.insert(
            r["DDBStreamBatchInfo"]["streamArn"]
                .as_str()
                .unwrap()
                .to_owned(),
            r,
        );
    }
    let partial_record = by_stream[partial.stream_arn.as_deref().unwrap()];
    assert_eq!(partial_record["DDBStreamBatchInfo"]["batchSize"], 2);
    assert_eq!(
        partial_record["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        partial_record["requestContext"]["approximateInvokeCount"],
        3
    );
    let erroring_record = by_stream[erroring.stream_arn.as_deref().unwrap()];
    let info = &erroring_record["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 1);
    assert_eq!(info["startSequenceNumber"], info["endSequenceNumber"]);

    trigger.trigger();
    while tasks.join_next().await.is_some() {}
    drop(emulator);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_failures_are_redelivered_then_dead_lettered() {
    let emulator = match Emulator::start(&repo_root(), None).await {
        Ok(e) => e,
        Err(e) => panic!("{}", crate::error_chain(&e)),
    };
    let sdk = sdk_config(emulator.endpoint_url()).await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let dlq = resources::create_queue(&client, "Dead", &json!({}))
        .await
        .unwrap();
    let queue = resources::create_queue(&client, "Work", &json!({"VisibilityTimeout": 1}))
        .await
        .unwrap();
    resources::set_redrive_policy(
        &client,
        &queue,
        &json!({"RedrivePolicy": {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}}),
    )
    .await
    .unwrap();

    // (body, ApproximateReceiveCount) of every message the handler saw.
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let log = seen.clone();
    let function = Function::from_fn(
        "worker",
        Duration::from_secs(5),
        move |e: LambdaEvent<SqsEvent>| {
            let log = log.clone();
            async move {
                let mut response = SqsBatchResponse::default();
                for m in &e.payload.records {
                    let body = m.body.clone().unwrap_or_default();
                    log.lock().unwrap().push((
                        body.clone(),
                        m.attributes["ApproximateReceiveCount"].clone(),
                    ));
                    assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
                    if body == "bad" {
                        let mut f = BatchItemFailure::default();
                        f.item_identifier = m.message_id.clone().unwrap();
                        response.batch_item_failures.push(f);
                    }
                }
                Ok(response)
            }
        },
    );
    let mapping = Arc::new(QueueMapping {
        function,
        queue_url: queue.url.clone(),
        queue_arn: queue.arn.clone(),
        batch_size: 10,
        batching_window: Duration::ZERO,
        report_batch_item_failures: true,
        pollers: 2,
        filters: Filters::default(),
    });
    let (trigger, stop) = shutdown::channel();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..mapping.pollers {
        tasks.spawn(sqs::run_poller(
            mapping.clone(),
            client.clone(),
            stop.clone(),
        ));
    }
    for body in ["good", "bad"] {
        client
            .send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    let mut dead = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while dead.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the failing message never reached the DLQ"
        );
        let out = client
            .receive_message()
            .queue_url(&dlq.url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        dead.extend(
            out.messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| m.body),
        );
    }
    assert_eq!(dead, ["bad"]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.iter().filter(|(b, _)| b == "good").count(),
        1,
        "{seen:?}"
    );
    let bad: Vec<&str> = seen
        .iter()
        .filter(|(b, _)| b == "bad")
        .map(|(_, n)| n.as_str())
        .collect();
    assert_eq!(bad, ["1", "2"]);

    trigger.trigger();
    while tasks.join_next().await.is_some() {}
}

/// Concurrent senders and receivers, as the pollers and the functions run:
/// every message reaches exactly one receiver and none hides for a
/// visibility timeout (moto's receives, unserialized, lost some).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receivers_each_get_every_message_once() {
    const SENDERS: usize = 8;
    const PER_SENDER: usize = 300;
    const RECEIVERS: usize = 8;
    let emulator = match Emulator::start(&repo_root(), None).await {
        Ok(e) => e,
        Err(e) => panic!("{}", crate::error_chain(&e)),
    };
    let sdk = sdk_config(emulator.endpoint_url()).await;
    let client = aws_sdk_sqs::Client::new(&sdk);
    let queue = resources::create_queue(&client, "Busy", &json!({"VisibilityTimeout": 180}))
        .await
        .unwrap();
    let received: Arc<Mutex<Vec<String>>> = Arc::default();
    let sending = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut receivers = tokio::task::JoinSet::new();
    for _ in 0..RECEIVERS {
        let (client, url, received, sending) = (
            client.clone(),
            queue.url.clone(),
            received.clone(),
            sending.clone(),
        );
        receivers.spawn(async move {
            loop {
                let out = client
                    .receive_message()
                    .queue_url(&url)
                    .max_number_of_messages(10)
                    .wait_time_seconds(0)
                    .send()
                    .await
                    .unwrap();
                let messages = out.messages.unwrap_or_default();
                if messages.is_empty() && !sending.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                for m in messages {
                    received.lock().unwrap().push(m.body.unwrap_or_default());
                    client
                        .delete_message()
                        .queue_url(&url)
                        .receipt_handle(m.receipt_handle.unwrap_or_default())
                        .send()
                        .await
                        .unwrap();
                }
            }
        });
    }
    let mut senders = tokio::task::JoinSet::new();
    for s in 0..SENDERS {
        let (client, url) = (client.clone(), queue.url.clone());
        senders.spawn(async move {
            for i in 0..PER_SENDER {
                client
                    .send_message()
                    .queue_url(&url)
                    .message_body(format!("{s}-{i}"))
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    while senders.join_next().await.is_some() {}
    tokio::time::sleep(Duration::from_secs(2)).await;
    sending.store(false, std::sync::atomic::Ordering::SeqCst);
    while receivers.join_next().await.is_some() {}

    let mut got = received.lock().unwrap().clone();
    got.sort();
    let total = got.len();
    got.dedup();
    assert_eq!(total, got.len(), "a message reached two receivers");
    assert_eq!(got.len(), SENDERS * PER_SENDER, "messages received");
    drop(emulator);
}
