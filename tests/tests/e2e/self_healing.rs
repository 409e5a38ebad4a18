//! Lost stream batches repaired without a human: a batch of directory
//! records on the evaluator's on-failure queue leads to its organization
//! being reconciled (the repair function reads the records back from the
//! stream), with a `reconcile_started` activity entry.
//!
//! The test puts on the queue the record Lambda writes when it gives up on
//! a batch (the local runner writes the same one: `infra/local`'s stream
//! tests), naming one of the organization's own stream records. Making the
//! evaluator really fail would hold the one shard of the shared stack, and
//! every other test's changes with it, for its ten retries.

use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{Value, json};
use user_sync_tests::{eventually, sdk_config, stack};

use crate::admin::{PIPELINE, TestOrg};

/// The last stream record of the organization's item `(pk, sk)`: its
/// stream, shard and sequence number.
async fn last_record_of(pk: &str, sk: &str) -> (String, String, String) {
    let sdk = sdk_config().await;
    let table = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&stack().directory_table)
        .send()
        .await
        .unwrap();
    let stream_arn = table.table.unwrap().latest_stream_arn.unwrap();
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let shards = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap_or_default();
    let mut found = None;
    for shard in shards {
        let shard_id = shard.shard_id.unwrap();
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(&shard_id)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(current) = iterator.take() {
            let page = streams
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .unwrap();
            let records = page.records.unwrap_or_default();
            if records.is_empty() {
                break;
            }
            for r in records {
                let change = r.dynamodb.unwrap();
                let keys = change.keys.unwrap_or_default();
                let is = |name: &str, want: &str| matches!(keys.get(name), Some(AttributeValue::S(v)) if v == want);
                if is("pk", pk) && is("sk", sk) {
                    found = Some((
                        stream_arn.clone(),
                        shard_id.clone(),
                        change.sequence_number.unwrap(),
                    ));
                }
            }
            iterator = page.next_shard_iterator;
        }
    }
    found.unwrap_or_else(|| panic!("no stream record of {pk} {sk}"))
}

/// Puts on the evaluator's on-failure queue Lambda's record of a batch of
/// one: the last stream record of the item `(pk, sk)`.
pub(crate) async fn lose_the_batch_of(pk: &str, sk: &str) {
    let (stream_arn, shard_id, seq) = last_record_of(pk, sk).await;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let record = json!({
        "requestContext": {
            "requestId": "lost-batch",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:user-sync-local-EvaluatorFunction",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 11,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": seq,
            "endSequenceNumber": seq,
            "approximateArrivalOfFirstRecord": now,
            "approximateArrivalOfLastRecord": now,
            "batchSize": 1,
            "streamArn": stream_arn,
        }
    });
    aws_sdk_sqs::Client::new(&sdk_config().await)
        .send_message()
        .queue_url(&stack().queues["EvaluatorFailureQueue"])
        .message_body(record.to_string())
        .send()
        .await
        .unwrap();
}

/// The organization's `reconcile_started` entries.
pub(crate) async fn reconciles_started(a: &TestOrg) -> Vec<Value> {
    let r = a.admin().get("/activity?action=reconcile_started").await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_stream_batch_gets_its_organization_reconciled_without_a_human() {
    let a = TestOrg::new("heal").await;
    let ada = a.scim().user("ada").await;
    let sales = a.scim().group_with("Sales", &[&ada]).await;
    a.admin()
        .rule_and_sync(
            json!({"groupId": sales, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    a.until(&ada, "Ada's account", |_| true).await;
    let calls_before = a.simulator().calls(Some(&ada)).await.len();

    // the batch holding Ada's last directory change is lost
    lose_the_batch_of(&format!("{}#USER#{ada}", a.org_id), "USER").await;

    // the repair starts a reconcile of the organization, recorded ...
    let entry = eventually("a reconcile_started entry", PIPELINE, || async {
        reconciles_started(&a).await.into_iter().next()
    })
    .await;
    assert_eq!(entry["actor"], "Sync user", "{entry}");
    assert_eq!(entry["details"]["why"], "lost_stream_batch", "{entry}");
    assert_eq!(entry["details"]["records"], 1, "{entry}");
    let task = entry["details"]["taskId"].as_str().unwrap().to_owned();
    assert!(task.starts_with("repair-"), "{entry}");

    // ... which sends every user to the product API again, and ends
    eventually("Ada sent to the product API again", PIPELINE, || async {
        (a.simulator().calls(Some(&ada)).await.len() > calls_before).then_some(())
    })
    .await;
    eventually("the reconcile done", PIPELINE, || async {
        let sync = a.admin().get("/sync").await.body;
        let fan_outs = sync["fanOuts"].as_array().cloned().unwrap_or_default();
        let running = fan_outs.iter().any(|t| t["id"] == task.as_str());
        (!running).then_some(())
    })
    .await;

    // the same loss reported again (a message delivered twice) starts
    // nothing new
    lose_the_batch_of(&format!("{}#USER#{ada}", a.org_id), "USER").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reconciles_started(&a).await.len(), 1);
}
