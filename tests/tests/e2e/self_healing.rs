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
//!
//! The stream falling behind: the `StreamIteratorAgeAlarm`'s notification
//! (SNS, which the local stack does not drive) given to the repair
//! function's handler, built as its `main` builds it against the stack's
//! tables, reconciles every organization with sync on, once.

use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde_json::{Value, json};
use user_sync_core::StoreError;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organization, Organizations};
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

/// The repair function's dependencies, as its `main` builds them, on the
/// stack's tables.
async fn repair_deps() -> repair::Deps {
    let s = stack();
    let settings = [
        ("DIRECTORY_TABLE", s.directory_table.clone()),
        ("STATE_TABLE", s.state_table.clone()),
    ];
    let config = repair::Config::from_lookup(&|k| {
        settings
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    repair::Deps::new(&sdk_config().await, config)
}

/// The organization listing, narrowed to this test's organizations (the
/// shared stack holds every other test's, which a real listing would
/// reconcile too).
struct TheseOrgs<'a> {
    table: &'a user_sync_aws::dynamo::DirectoryTable,
    ids: Vec<OrgId>,
}

impl Organizations for TheseOrgs<'_> {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.table.create_org(org).await
    }

    async fn update_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.table.update_org(org).await
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        self.table.get_org(org).await
    }

    async fn list_orgs(
        &self,
        _: Option<&str>,
        _: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        let mut page = Vec::new();
        for id in &self.ids {
            page.extend(self.table.get_org(id).await?);
        }
        Ok((page, None))
    }
}

/// The sample SNS event of the stream-lag alarm going into `ALARM` at `at`.
fn stream_lag_alarm(at: &str) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../../../events/repair/stream-lag-alarm.json")).unwrap();
    let message = event["Records"][0]["Sns"]["Message"].as_str().unwrap();
    let mut alarm: Value = serde_json::from_str(message).unwrap();
    alarm["StateChangeTime"] = json!(at);
    event["Records"][0]["Sns"]["Message"] = json!(alarm.to_string());
    event
}

/// The repair function's handler given the alarm's notification at `at`.
async fn notify(deps: &repair::Deps, orgs: &TheseOrgs<'_>, at: &str) -> Value {
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::try_from(
        (time::OffsetDateTime::now_utc() + time::Duration::minutes(1)).unix_timestamp_nanos()
            / 1_000_000,
    )
    .unwrap();
    let event = lambda_runtime::LambdaEvent::new(stream_lag_alarm(at), context);
    repair::stream_lag::handle_alarms(deps, orgs, event)
        .await
        .unwrap()
}

/// `2026-12-05T07:00:00.000+0000`, as CloudWatch writes a state change.
fn alarm_time(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    t.format(&f).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_lag_alarm_reconciles_each_organization_with_sync_on_once() {
    let on = TestOrg::new("lag").await;
    let off = TestOrg::new("lagoff").await;
    let ada = on.scim().user("ada").await;
    let sales = on.scim().group_with("Sales", &[&ada]).await;
    on.admin()
        .rule_and_sync(
            json!({"groupId": sales, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    on.until(&ada, "Ada's account", |_| true).await;
    // enough users that the reconcile's fan-out still runs when the second
    // notification comes
    let org_id = OrgId::parse(&on.org_id).unwrap();
    let many: Vec<_> = (0..300)
        .map(|i| {
            let id = user_sync_core::ids::UserId::parse(&format!("lag-{i:04}")).unwrap();
            user_sync_core::memory::member(&id)
        })
        .collect();
    let sdk = sdk_config().await;
    user_sync_tests::put_users(
        &aws_sdk_dynamodb::Client::new(&sdk),
        &stack().directory_table,
        &org_id,
        &many,
    )
    .await;
    let calls_before = on.simulator().calls(Some(&ada)).await.len();

    let deps = repair_deps().await;
    let orgs = TheseOrgs {
        table: &deps.directory,
        ids: vec![org_id, OrgId::parse(&off.org_id).unwrap()],
    };
    let now = time::OffsetDateTime::now_utc();
    let first_at = alarm_time(now);
    let first = notify(&deps, &orgs, &first_at).await;
    // the alarm going into ALARM again while that reconcile runs, and the
    // first notification delivered again
    let second = notify(&deps, &orgs, &alarm_time(now + time::Duration::seconds(1))).await;
    let again = notify(&deps, &orgs, &first_at).await;
    let counts = |v: &Value| {
        let a = &v["alarms"][0];
        (
            a["organizations"].clone(),
            a["started"].clone(),
            a["covered"].clone(),
            a["syncOff"].clone(),
        )
    };
    assert_eq!(
        counts(&first),
        (json!(2), json!(1), json!(0), json!(1)),
        "{first}"
    );
    assert_eq!(
        counts(&second),
        (json!(2), json!(0), json!(1), json!(1)),
        "{second}"
    );
    assert_eq!(
        counts(&again),
        (json!(2), json!(0), json!(1), json!(1)),
        "{again}"
    );

    // one reconcile, recorded, in the organization with sync on only
    let entries = reconciles_started(&on).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    assert_eq!(entry["actor"], "Sync user", "{entry}");
    assert_eq!(entry["details"]["why"], "stream_lag", "{entry}");
    let task = entry["details"]["taskId"].as_str().unwrap().to_owned();
    assert_eq!(
        task,
        first["alarms"][0]["taskId"].as_str().unwrap(),
        "{entry}"
    );
    assert!(reconciles_started(&off).await.is_empty());

    // it sends every user to the product API again, and ends
    eventually("Ada sent to the product API again", PIPELINE, || async {
        (on.simulator().calls(Some(&ada)).await.len() > calls_before).then_some(())
    })
    .await;
    eventually("the reconcile done", PIPELINE, || async {
        let sync = on.admin().get("/sync").await.body;
        let fan_outs = sync["fanOuts"].as_array().cloned().unwrap_or_default();
        (!fan_outs.iter().any(|t| t["id"] == task.as_str())).then_some(())
    })
    .await;

    // the alarm clearing asks for nothing
    let mut ok = stream_lag_alarm(&alarm_time(now + time::Duration::seconds(2)));
    let message = ok["Records"][0]["Sns"]["Message"].as_str().unwrap();
    let mut alarm: Value = serde_json::from_str(message).unwrap();
    alarm["NewStateValue"] = json!("OK");
    ok["Records"][0]["Sns"]["Message"] = json!(alarm.to_string());
    let mut context = lambda_runtime::Context::default();
    context.deadline = u64::MAX;
    let cleared = repair::stream_lag::handle_alarms(
        &deps,
        &orgs,
        lambda_runtime::LambdaEvent::new(ok, context),
    )
    .await
    .unwrap();
    assert_eq!(cleared["alarms"][0]["organizations"], 0, "{cleared}");
    assert_eq!(reconciles_started(&on).await.len(), 1);
}
