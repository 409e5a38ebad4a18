//! A queue's backlog (`ops dlq status`): SQS's approximate counts, and for
//! queues that may be peeked, the oldest message of a sample. SQS has no
//! call for the age of a queue's oldest message (on AWS, CloudWatch's
//! `ApproximateAgeOfOldestMessage` is that metric), so a peek is the only
//! answer that also works against the emulator, and it is a sample.

use std::collections::HashMap;

use crate::sqs::map_sqs_error;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde::Serialize;
use user_sync_core::StoreError;

/// Receives per peek (each up to 10 messages).
const PEEK_CALLS: usize = 3;

/// One queue's backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStatus {
    pub name: String,
    pub url: String,
    /// `ApproximateNumberOfMessages`: waiting to be received.
    pub waiting: u64,
    /// `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted.
    pub in_flight: u64,
    /// `ApproximateNumberOfMessagesDelayed`.
    pub delayed: u64,
    /// The oldest message of a sample; `None` when the queue is not peeked
    /// (the jobs and mail queues) or nothing was waiting.
    pub oldest_sampled: Option<OldestSample>,
}

/// The oldest of the messages a peek saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OldestSample {
    /// Its `SentTimestamp` (when it was sent to this queue), RFC 3339.
    pub sent_at: String,
    pub age_seconds: i64,
    /// Distinct messages the peek saw; with more waiting, an older one may
    /// exist.
    pub messages_sampled: usize,
}

fn count(attributes: &HashMap<QueueAttributeName, String>, name: &QueueAttributeName) -> u64 {
    attributes
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Reads a queue's counts and, when `peek` and messages are waiting,
/// samples the oldest: receives with a visibility timeout of 0 (nothing is
/// hidden or consumed; each message's receive count grows by one).
pub async fn queue_status(
    sqs: &Client,
    name: &str,
    url: &str,
    peek: bool,
) -> Result<QueueStatus, StoreError> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .map_err(map_sqs_error)?;
    let attributes = out.attributes.unwrap_or_default();
    let waiting = count(
        &attributes,
        &QueueAttributeName::ApproximateNumberOfMessages,
    );
    let oldest_sampled = if peek && waiting > 0 {
        oldest(sqs, url).await?
    } else {
        None
    };
    Ok(QueueStatus {
        name: name.to_owned(),
        url: url.to_owned(),
        waiting,
        in_flight: count(
            &attributes,
            &QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        ),
        delayed: count(
            &attributes,
            &QueueAttributeName::ApproximateNumberOfMessagesDelayed,
        ),
        oldest_sampled,
    })
}

async fn oldest(sqs: &Client, url: &str) -> Result<Option<OldestSample>, StoreError> {
    let mut sent: HashMap<String, i64> = HashMap::new();
    for _ in 0..PEEK_CALLS {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            // a short long-poll asks every SQS server
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(map_sqs_error)?;
        for m in out.messages.unwrap_or_default() {
            let millis = m
                .attributes
                .as_ref()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse::<i64>().ok());
            if let (Some(id), Some(ms)) = (m.message_id, millis) {
                sent.insert(id, ms);
            }
        }
    }
    let Some(min) = sent.values().copied().min() else {
        return Ok(None);
    };
    let now = time::OffsetDateTime::now_utc();
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(min) * 1_000_000)
        .map_err(StoreError::permanent)?;
    Ok(Some(OldestSample {
        sent_at: user_sync_core::time::format(at),
        age_seconds: (now - at).whole_seconds(),
        messages_sampled: sent.len(),
    }))
}
