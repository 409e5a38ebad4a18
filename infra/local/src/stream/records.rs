//! Stream records in their Lambda JSON form, and the on-failure record of a batch.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodbstreams::types::Record;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One record as read, in its Lambda JSON form.
#[derive(Debug, Clone)]
pub(super) struct StreamItem {
    pub(super) wire: Value,
    pub(super) sequence_number: String,
    /// `ApproximateCreationDateTime`, epoch seconds.
    created: Option<f64>,
}

impl StreamItem {
    pub(super) fn age(&self) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        self.created
            .map(|c| Duration::from_secs_f64((now - c).max(0.0)))
    }
}

/// The record as Lambda delivers it (`Records[]` of a DynamoDB event).
pub(super) fn lambda_record(record: Record, stream_arn: &str) -> Option<StreamItem> {
    let change = record.dynamodb?;
    let sequence_number = change.sequence_number.clone()?;
    let created = change
        .approximate_creation_date_time
        .map(|t| t.as_secs_f64());
    let item = |image: Option<HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>>| {
        image.and_then(|i| serde_json::to_value(serde_dynamo::Item::from(i)).ok())
    };
    let mut dynamodb = serde_json::Map::new();
    if let Some(c) = created {
        // Lambda sends whole seconds.
        dynamodb.insert("ApproximateCreationDateTime".into(), json!(c.floor()));
    }
    if let Some(keys) = item(change.keys) {
        dynamodb.insert("Keys".into(), keys);
    }
    if let Some(new) = item(change.new_image) {
        dynamodb.insert("NewImage".into(), new);
    }
    if let Some(old) = item(change.old_image) {
        dynamodb.insert("OldImage".into(), old);
    }
    dynamodb.insert("SequenceNumber".into(), json!(sequence_number));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes.unwrap_or(0)));
    if let Some(view) = change.stream_view_type {
        dynamodb.insert("StreamViewType".into(), json!(view.as_str()));
    }
    let mut wire = json!({
        "eventID": record.event_id.unwrap_or_default(),
        "eventName": record.event_name.map(|n| n.as_str().to_owned()).unwrap_or_default(),
        "eventVersion": record.event_version.unwrap_or_else(|| "1.1".into()),
        "eventSource": record.event_source.unwrap_or_else(|| "aws:dynamodb".into()),
        "awsRegion": record.aws_region.unwrap_or_else(|| crate::resolve::REGION.into()),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    });
    if let Some(identity) = record.user_identity {
        wire["userIdentity"] = json!({
            "type": identity.r#type,
            "principalId": identity.principal_id,
        });
    }
    Some(StreamItem {
        wire,
        sequence_number,
        created,
    })
}

fn rfc3339(epoch_seconds: Option<f64>) -> Value {
    epoch_seconds
        .and_then(|s| OffsetDateTime::from_unix_timestamp_nanos((s * 1e9) as i128).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// Lambda's on-failure record for a stream batch (it names the batch; it
/// does not contain the records).
pub(super) fn on_failure_record(
    function_arn: &str,
    stream_arn: &str,
    shard_id: &str,
    items: &[StreamItem],
    condition: &str,
    invocations: u32,
) -> Value {
    let now = OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default();
    json!({
        "requestContext": {
            "requestId": crate::functions::request_id(),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "version": "1.0",
        "timestamp": now,
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": items.first().map(|i| i.sequence_number.as_str()),
            "endSequenceNumber": items.last().map(|i| i.sequence_number.as_str()),
            "approximateArrivalOfFirstRecord": rfc3339(items.first().and_then(|i| i.created)),
            "approximateArrivalOfLastRecord": rfc3339(items.last().and_then(|i| i.created)),
            "batchSize": items.len(),
            "streamArn": stream_arn,
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use aws_lambda_events::dynamodb;
    use aws_sdk_dynamodbstreams::primitives::DateTime;
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue, OperationType, StreamRecord, StreamViewType,
    };

    use super::*;

    #[test]
    fn records_convert_to_lambda_events() {
        let keys = HashMap::from([
            ("pk".to_owned(), AttributeValue::S("acme#GROUP#g".into())),
            ("sk".to_owned(), AttributeValue::S("MEMBER#u".into())),
        ]);
        let mut old = keys.clone();
        old.insert("version".into(), AttributeValue::N("3".into()));
        let record = Record::builder()
            .event_id("e1")
            .event_name(OperationType::Remove)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("us-east-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_700_000_000))
                    .set_keys(Some(keys))
                    .set_old_image(Some(old))
                    .sequence_number("1100000000017454423009")
                    .size_bytes(42)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build(),
            )
            .build();
        let item = lambda_record(record, "arn:stream").unwrap();
        assert_eq!(item.wire["dynamodb"]["Keys"]["sk"]["S"], "MEMBER#u");
        assert_eq!(item.wire["eventName"], "REMOVE");
        assert!(item.wire["dynamodb"].get("NewImage").is_none());

        let event: dynamodb::Event =
            serde_json::from_value(json!({ "Records": [item.wire] })).unwrap();
        let r = &event.records[0];
        assert_eq!(r.event_name, "REMOVE");
        assert_eq!(r.event_id, "e1");
        assert_eq!(r.event_source_arn.as_deref(), Some("arn:stream"));
        assert_eq!(
            r.change.sequence_number.as_deref(),
            Some("1100000000017454423009")
        );
        assert_eq!(r.change.size_bytes, 42);
        assert_eq!(
            r.change.stream_view_type,
            Some(dynamodb::StreamViewType::NewAndOldImages)
        );
        assert_eq!(
            r.change.approximate_creation_date_time.timestamp(),
            1_700_000_000
        );
        let old: HashMap<String, serde_dynamo::AttributeValue> = r.change.old_image.clone().into();
        assert_eq!(old["version"], serde_dynamo::AttributeValue::N("3".into()));
        assert!(r.change.new_image.is_empty());
    }

    #[test]
    fn on_failure_records_name_the_batch() {
        let item = |seq: &str| StreamItem {
            wire: json!({}),
            sequence_number: seq.into(),
            created: Some(1_700_000_000.0),
        };
        let record = on_failure_record(
            "arn:fn",
            "arn:stream",
            "shard-1",
            &[item("5"), item("9")],
            "RetryAttemptsExhausted",
            11,
        );
        let info = &record["DDBStreamBatchInfo"];
        assert_eq!(info["shardId"], "shard-1");
        assert_eq!(info["startSequenceNumber"], "5");
        assert_eq!(info["endSequenceNumber"], "9");
        assert_eq!(info["batchSize"], 2);
        assert_eq!(info["streamArn"], "arn:stream");
        assert_eq!(
            info["approximateArrivalOfFirstRecord"],
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(
            record["requestContext"]["condition"],
            "RetryAttemptsExhausted"
        );
        assert_eq!(record["requestContext"]["approximateInvokeCount"], 11);
        // the repair function reads the batch from it
        let batch =
            user_sync_core::repair::LostBatch::from_on_failure_record(&record.to_string()).unwrap();
        assert_eq!(
            (
                batch.shard_id.as_str(),
                batch.start_sequence_number.as_str()
            ),
            ("shard-1", "5")
        );
        assert_eq!(batch.end_sequence_number, "9");
        assert_eq!(
            batch.approximate_arrival_of_last_record.as_deref(),
            Some("2023-11-14T22:13:20Z")
        );
    }
}
