//! The SQS event source mapping, as Lambda runs it: a few pollers per queue
//! receive batches (long polling), invoke the function, and delete the
//! messages it processed. With `ReportBatchItemFailures` the messages it
//! lists stay; on a handler error (or timeout) every message stays. Messages
//! that stay become visible again after the queue's visibility timeout, are
//! received again (their receive count grows), and the queue's redrive
//! policy moves them to the dead-letter queue — all done by the emulator.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::filter::Filters;
use crate::flex;
use crate::functions::QueueFunction;
use crate::shutdown::Shutdown;
use crate::stream::SourceProperties;

/// Pollers per queue when `ScalingConfig.MaximumConcurrency` is not set.
pub const DEFAULT_POLLERS: usize = 2;
/// Most pollers per queue, whatever the template says.
pub const MAX_POLLERS: usize = 4;
/// Most messages one `ReceiveMessage` returns.
const MAX_RECEIVE: usize = 10;

/// An `SQS` event's `Properties` in template.yaml.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueEventProperties {
    pub queue: String,
    #[serde(flatten)]
    pub source: SourceProperties,
    pub scaling_config: Option<ScalingConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingConfig {
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_concurrency: Option<i64>,
}

/// A queue mapping, ready to run.
pub struct QueueMapping {
    pub function: QueueFunction,
    pub queue_url: String,
    pub queue_arn: String,
    /// 1 to 10.
    pub batch_size: usize,
    pub batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub pollers: usize,
    pub filters: Filters,
}

/// Runs one poller until `shutdown`.
pub async fn run_poller(
    mapping: Arc<QueueMapping>,
    client: aws_sdk_sqs::Client,
    mut shutdown: Shutdown,
) {
    while !shutdown.is_set() {
        let Some(mut messages) =
            receive(&mapping, &client, mapping.batch_size, 1, &mut shutdown).await
        else {
            return;
        };
        if messages.is_empty() {
            continue;
        }
        // Gather up to a full batch for the batching window.
        let started = Instant::now();
        while messages.len() < mapping.batch_size && started.elapsed() < mapping.batching_window {
            let Some(more) = receive(
                &mapping,
                &client,
                mapping.batch_size - messages.len(),
                0,
                &mut shutdown,
            )
            .await
            else {
                return;
            };
            if more.is_empty() && shutdown.sleep(Duration::from_millis(100)).await {
                return;
            }
            messages.extend(more);
        }
        process(&mapping, &client, messages).await;
    }
}

/// One `ReceiveMessage`; `None` on shutdown.
async fn receive(
    mapping: &QueueMapping,
    client: &aws_sdk_sqs::Client,
    max: usize,
    wait_seconds: i32,
    shutdown: &mut Shutdown,
) -> Option<Vec<Message>> {
    let request = client
        .receive_message()
        .queue_url(&mapping.queue_url)
        .max_number_of_messages(i32::try_from(max.clamp(1, MAX_RECEIVE)).unwrap_or(10))
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send();
    let result = tokio::select! {
        result = request => result,
        () = shutdown.wait() => return None,
    };
    match result {
        Ok(out) => Some(out.messages.unwrap_or_default()),
        Err(e) => {
            tracing::warn!(
                function = %mapping.function.name,
                error = %crate::error::error_chain(&e.into_service_error()),
                "receiving messages failed"
            );
            if shutdown.sleep(Duration::from_secs(1)).await {
                None
            } else {
                Some(Vec::new())
            }
        }
    }
}

/// Filters, invokes, and deletes what is done.
async fn process(mapping: &QueueMapping, client: &aws_sdk_sqs::Client, messages: Vec<Message>) {
    let mut batch = Vec::with_capacity(messages.len());
    let mut filtered_out = Vec::new();
    for message in &messages {
        let wire = lambda_message(message, &mapping.queue_arn);
        if mapping.filters.is_empty() || mapping.filters.passes(&filter_view(&wire)) {
            batch.push(wire);
        } else {
            filtered_out.push(message);
        }
    }
    if !filtered_out.is_empty() {
        // Lambda deletes the messages its filters drop.
        mapping.function.record_filtered(filtered_out.len());
        delete(mapping, client, &filtered_out).await;
    }
    if batch.is_empty() {
        return;
    }

    let ids: Vec<&str> = batch
        .iter()
        .filter_map(|m| m.get("messageId").and_then(Value::as_str))
        .collect();
    let to_delete: Vec<&str> = match serde_json::from_value::<SqsEvent>(json!({ "Records": batch }))
    {
        Ok(event) => {
            let invocation = mapping.function.invoke(event).await;
            let keep = match &invocation.result {
                Ok(response) => failed_ids(response, &ids, mapping.report_batch_item_failures),
                Err(_) => None,
            };
            let failed = keep.as_ref().map_or(ids.len(), HashSet::len);
            mapping.function.record(ids.len(), failed, 0, &invocation);
            match keep {
                Some(keep) => ids
                    .iter()
                    .copied()
                    .filter(|id| !keep.contains(id))
                    .collect(),
                None => Vec::new(),
            }
        }
        Err(e) => {
            tracing::warn!(function = %mapping.function.name, error = %e, "messages do not make a valid event");
            Vec::new()
        }
    };
    let done: Vec<&Message> = messages
        .iter()
        .filter(|m| {
            m.message_id
                .as_deref()
                .is_some_and(|id| to_delete.contains(&id))
        })
        .collect();
    delete(mapping, client, &done).await;
}

/// The ids to keep (failed), or `None` when the whole batch failed.
pub fn failed_ids<'a>(
    response: &SqsBatchResponse,
    ids: &[&'a str],
    report_failures: bool,
) -> Option<HashSet<&'a str>> {
    if !report_failures {
        return Some(HashSet::new());
    }
    let mut keep = HashSet::new();
    for failure in &response.batch_item_failures {
        // An identifier that is empty or not in the batch fails the batch.
        let id = ids.iter().find(|id| **id == failure.item_identifier)?;
        keep.insert(*id);
    }
    Some(keep)
}

async fn delete(mapping: &QueueMapping, client: &aws_sdk_sqs::Client, messages: &[&Message]) {
    for chunk in messages.chunks(MAX_RECEIVE) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .set_receipt_handle(m.receipt_handle.clone())
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        match client
            .delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            Ok(out) if !out.failed.is_empty() => tracing::warn!(
                function = %mapping.function.name,
                failed = out.failed.len(),
                "deleting processed messages partly failed; they will be delivered again"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(
                function = %mapping.function.name,
                error = %crate::error::error_chain(&e.into_service_error()),
                "deleting processed messages failed; they will be delivered again"
            ),
        }
    }
}

/// The message as Lambda delivers it (`Records[]` of an SQS event).
pub fn lambda_message(message: &Message, queue_arn: &str) -> Value {
    let attributes: serde_json::Map<String, Value> = message
        .attributes
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
        .collect();
    let message_attributes: serde_json::Map<String, Value> = message
        .message_attributes
        .iter()
        .flatten()
        .map(|(name, value)| {
            let mut attribute = json!({
                "stringListValues": value.string_list_values.clone().unwrap_or_default(),
                "binaryListValues": value
                    .binary_list_values
                    .iter()
                    .flatten()
                    .map(|b| crate::http::base64_encode(b.as_ref()))
                    .collect::<Vec<_>>(),
                "dataType": value.data_type.clone(),
            });
            if let Some(s) = &value.string_value {
                attribute["stringValue"] = Value::String(s.clone());
            }
            if let Some(b) = &value.binary_value {
                attribute["binaryValue"] = crate::http::base64_encode(b.as_ref());
            }
            (name.clone(), attribute)
        })
        .collect();
    let queue_region = queue_arn
        .split(':')
        .nth(3)
        .unwrap_or(crate::resolve::REGION);
    let mut wire = json!({
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": queue_region,
    });
    if let Some(md5) = &message.md5_of_message_attributes {
        wire["md5OfMessageAttributes"] = Value::String(md5.clone());
    }
    wire
}

/// What SQS filter patterns match: the record, with a JSON body parsed.
fn filter_view(wire: &Value) -> Value {
    let mut view = wire.clone();
    if let Some(parsed) = wire
        .get("body")
        .and_then(Value::as_str)
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
    {
        view["body"] = parsed;
    }
    view
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lambda_events::sqs::BatchItemFailure;
    use aws_sdk_sqs::types::MessageAttributeValue;

    #[test]
    fn messages_convert_to_lambda_events() {
        let message = Message::builder()
            .message_id("m1")
            .receipt_handle("rh")
            .body(r#"{"orgId":"acme"}"#)
            .md5_of_body("abc")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::SentTimestamp, "1700000000000")
            .message_attributes(
                "failureClass",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("permanent")
                    .build()
                    .unwrap(),
            )
            .build();
        let wire = lambda_message(&message, "arn:aws:sqs:us-east-1:123456789012:JobsQueue");
        let event: SqsEvent = serde_json::from_value(json!({ "Records": [wire] })).unwrap();
        let m = &event.records[0];
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.receipt_handle.as_deref(), Some("rh"));
        assert_eq!(m.body.as_deref(), Some(r#"{"orgId":"acme"}"#));
        assert_eq!(m.attributes["ApproximateReceiveCount"], "2");
        assert_eq!(m.attributes["SentTimestamp"], "1700000000000");
        assert_eq!(
            m.message_attributes["failureClass"].string_value.as_deref(),
            Some("permanent")
        );
        assert_eq!(
            m.message_attributes["failureClass"].data_type.as_deref(),
            Some("String")
        );
        assert_eq!(m.event_source.as_deref(), Some("aws:sqs"));
        assert_eq!(
            m.event_source_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:123456789012:JobsQueue")
        );
        assert_eq!(m.aws_region.as_deref(), Some("us-east-1"));
    }

    fn response(ids: &[&str]) -> SqsBatchResponse {
        let mut r = SqsBatchResponse::default();
        for id in ids {
            let mut f = BatchItemFailure::default();
            f.item_identifier = (*id).to_owned();
            r.batch_item_failures.push(f);
        }
        r
    }

    #[test]
    fn only_reported_messages_stay() {
        let ids = ["a", "b", "c"];
        assert_eq!(failed_ids(&response(&[]), &ids, true).unwrap().len(), 0);
        assert_eq!(
            failed_ids(&response(&["b"]), &ids, true).unwrap(),
            HashSet::from(["b"])
        );
        assert!(failed_ids(&response(&["zzz"]), &ids, true).is_none());
        assert!(failed_ids(&response(&[""]), &ids, true).is_none());
        assert_eq!(failed_ids(&response(&["b"]), &ids, false).unwrap().len(), 0);
    }

    #[test]
    fn filters_see_json_bodies() {
        let f = Filters::parse([r#"{"body":{"orgId":["acme"]}}"#]).unwrap();
        assert!(f.passes(&filter_view(&json!({"body": "{\"orgId\":\"acme\"}"}))));
        assert!(!f.passes(&filter_view(&json!({"body": "not json"}))));
    }
}
