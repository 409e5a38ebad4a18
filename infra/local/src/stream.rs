//! The DynamoDB stream event source mapping, as Lambda runs it:
//!
//! - one reader per shard (new shards found by describing the stream every
//!   few seconds; a child shard waits until its parent is done), records in
//!   strict order, never two batches of one shard at a time;
//! - records matching no `FilterCriteria` pattern are dropped before invoking;
//! - batches of up to `BatchSize`, gathered for up to
//!   `MaximumBatchingWindowInSeconds`;
//! - `ReportBatchItemFailures`: the records before the lowest reported
//!   sequence number are done, the batch is retried from that record;
//! - a handler error (or timeout) fails the whole batch, which is split in
//!   two when `BisectBatchOnFunctionError` (splits do not count as retries);
//! - after `MaximumRetryAttempts` retries, or for records older than
//!   `MaximumRecordAgeInSeconds`, an on-failure record naming the shard and
//!   sequence numbers goes to the `DestinationConfig.OnFailure` queue, and the
//!   reader moves past the batch.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::dynamodb;
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::BoxError;
use crate::filter::Filters;
use crate::flex;
use crate::functions::{InvokeError, StreamFunction};
use crate::shutdown::Shutdown;

/// Pause when a shard has nothing new.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the stream is described to find new shards.
const DESCRIBE_INTERVAL: Duration = Duration::from_secs(5);
/// Longest pause between retries of a failing batch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A `DynamoDB` event's `Properties` in template.yaml.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamEventProperties {
    pub stream: String,
    pub starting_position: String,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub batch_size: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_batching_window_in_seconds: Option<i64>,
    #[serde(default)]
    pub function_response_types: Vec<String>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub bisect_batch_on_function_error: Option<bool>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_retry_attempts: Option<i64>,
    #[serde(default, deserialize_with = "flex::opt_int")]
    pub maximum_record_age_in_seconds: Option<i64>,
    pub destination_config: Option<DestinationConfig>,
    pub filter_criteria: Option<FilterCriteria>,
    #[serde(default, deserialize_with = "flex::opt_bool")]
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationConfig {
    pub on_failure: Option<OnFailure>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnFailure {
    pub destination: String,
}

/// `FilterCriteria` of an event source mapping (streams and queues).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterCriteria {
    #[serde(default)]
    pub filters: Vec<FilterSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FilterSpec {
    pub pattern: String,
}

/// Where a shard reader starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    TrimHorizon,
    Latest,
}

/// A stream mapping, ready to run.
pub struct StreamMapping {
    pub function: StreamFunction,
    pub stream_arn: String,
    /// Where readers of the shards found first start; shards found later
    /// start at their beginning.
    pub starting_position: StartingPosition,
    pub batch_size: usize,
    pub batching_window: Duration,
    pub report_batch_item_failures: bool,
    pub retry: RetryPolicy,
    pub max_record_age: Option<Duration>,
    /// The on-failure destination queue's URL.
    pub on_failure_queue_url: Option<String>,
    pub filters: Filters,
}

/// What to do with failing batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub bisect_on_error: bool,
    /// `None`: retry until the records expire.
    pub max_retry_attempts: Option<u32>,
}

/// The clients a stream mapping uses.
#[derive(Clone)]
pub struct StreamClients {
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub sqs: aws_sdk_sqs::Client,
}

/// Runs the mapping until `shutdown`: finds the shards and reads each.
pub async fn run(mapping: Arc<StreamMapping>, clients: StreamClients, mut shutdown: Shutdown) {
    let mut shards: HashMap<String, watch::Receiver<bool>> = HashMap::new();
    let mut readers = JoinSet::new();
    let mut first_round = true;
    loop {
        match describe_shards(&clients.streams, &mapping.stream_arn).await {
            Ok(found) => {
                let mut new = Vec::new();
                for (shard_id, parent) in found {
                    if shards.contains_key(&shard_id) {
                        continue;
                    }
                    let (done_tx, done_rx) = watch::channel(false);
                    shards.insert(shard_id.clone(), done_rx);
                    new.push((shard_id, parent, done_tx));
                }
                for (shard_id, parent, done) in new {
                    let parent_done = parent.and_then(|p| shards.get(&p).cloned());
                    let position = if first_round {
                        mapping.starting_position
                    } else {
                        StartingPosition::TrimHorizon
                    };
                    let reader = ShardReader {
                        mapping: mapping.clone(),
                        clients: clients.clone(),
                        shard_id,
                        position,
                        shutdown: shutdown.clone(),
                    };
                    readers.spawn(reader.run(parent_done, done));
                }
                first_round = false;
            }
            Err(e) => tracing::warn!(
                function = %mapping.function.name,
                error = %crate::error::error_chain(e.as_ref()),
                "describing the stream failed"
            ),
        }
        while readers.try_join_next().is_some() {}
        if shutdown.sleep(DESCRIBE_INTERVAL).await {
            break;
        }
    }
    while readers.join_next().await.is_some() {}
}

/// Every shard of the stream with its parent.
async fn describe_shards(
    client: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Result<Vec<(String, Option<String>)>, BoxError> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let described = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        let Some(description) = described.stream_description else {
            return Ok(out);
        };
        for shard in description.shards.unwrap_or_default() {
            if let Some(id) = shard.shard_id {
                out.push((id, shard.parent_shard_id));
            }
        }
        match description.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => return Ok(out),
        }
    }
}

/// One record as read, in its Lambda JSON form.
#[derive(Debug, Clone)]
struct StreamItem {
    wire: Value,
    sequence_number: String,
    /// `ApproximateCreationDateTime`, epoch seconds.
    created: Option<f64>,
}

impl StreamItem {
    fn age(&self) -> Option<Duration> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_secs_f64();
        self.created
            .map(|c| Duration::from_secs_f64((now - c).max(0.0)))
    }
}

/// The record as Lambda delivers it (`Records[]` of a DynamoDB event).
fn lambda_record(record: Record, stream_arn: &str) -> Option<StreamItem> {
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

/// How an invocation went, for the retry logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every record is done.
    Success,
    /// The records before this index are done; the rest failed.
    FailedFrom(usize),
    /// The handler failed (error, timeout, invalid failure report): the
    /// whole batch failed.
    Error,
}

/// What to do after an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Records at the head now done.
    pub processed: usize,
    /// Records after those given up on (to the on-failure destination).
    pub discarded: usize,
    /// Invocations of the discarded batch, for the on-failure record.
    pub invocations: u32,
    /// Whether the next invocation is a retry (pause first).
    pub retry: bool,
}

/// Retry bookkeeping of one shard, Lambda-style.
#[derive(Debug, Default, Clone)]
pub struct RetryState {
    /// Sizes of the next batches, from bisection (front first).
    plan: VecDeque<usize>,
    /// Failed invocations of the record at the head.
    attempts: u32,
}

impl RetryState {
    /// The size of the next batch.
    pub fn next_batch_size(&self, available: usize, batch_size: usize) -> usize {
        available
            .min(self.plan.front().copied().unwrap_or(batch_size))
            .max(1)
    }

    /// Whether the next batch is a fresh one (not a retry or a split).
    pub fn is_fresh(&self) -> bool {
        self.plan.is_empty() && self.attempts == 0
    }

    pub fn reset(&mut self) {
        self.plan.clear();
        self.attempts = 0;
    }

    /// Updates the state after a batch of `n` records had `outcome`.
    pub fn after(&mut self, n: usize, outcome: Outcome, policy: RetryPolicy) -> Step {
        let mut step = Step {
            processed: 0,
            discarded: 0,
            invocations: 0,
            retry: false,
        };
        let failed = match outcome {
            Outcome::Success => {
                step.processed = n;
                self.plan.pop_front();
                self.attempts = 0;
                return step;
            }
            Outcome::FailedFrom(index) if index > 0 && index < n => {
                step.processed = index;
                self.attempts = 0;
                self.plan.pop_front();
                if policy.bisect_on_error {
                    // Bisected at the reported record: retry only the rest.
                    self.plan.push_front(n - index);
                }
                n - index
            }
            Outcome::FailedFrom(_) => n,
            Outcome::Error if policy.bisect_on_error && n > 1 => {
                self.plan.pop_front();
                self.plan.push_front(n - n / 2);
                self.plan.push_front(n / 2);
                step.retry = true;
                return step;
            }
            Outcome::Error => n,
        };
        self.attempts += 1;
        if policy
            .max_retry_attempts
            .is_some_and(|max| self.attempts > max)
        {
            step.discarded = failed;
            step.invocations = self.attempts;
            self.plan.pop_front();
            self.attempts = 0;
        } else {
            step.retry = true;
        }
        step
    }

    fn backoff(&self) -> Duration {
        let exp = self.attempts.min(5);
        (Duration::from_millis(100) * 2u32.pow(exp)).min(MAX_BACKOFF)
    }
}

/// The outcome the function's response means for a batch of `sequence_numbers`.
pub fn outcome_of(
    response: &DynamoDbEventResponse,
    sequence_numbers: &[&str],
    report_failures: bool,
) -> Outcome {
    if !report_failures || response.batch_item_failures.is_empty() {
        return Outcome::Success;
    }
    let mut lowest: Option<usize> = None;
    for failure in &response.batch_item_failures {
        let position = failure
            .item_identifier
            .as_deref()
            .filter(|id| !id.is_empty())
            .and_then(|id| sequence_numbers.iter().position(|s| *s == id));
        match position {
            // An empty or unknown identifier fails the whole batch.
            None => return Outcome::FailedFrom(0),
            Some(p) => lowest = Some(lowest.map_or(p, |l| l.min(p))),
        }
    }
    lowest.map_or(Outcome::Success, Outcome::FailedFrom)
}

/// Reads one shard and invokes the function with its records.
struct ShardReader {
    mapping: Arc<StreamMapping>,
    clients: StreamClients,
    shard_id: String,
    position: StartingPosition,
    shutdown: Shutdown,
}

/// A shard iterator and where it stands.
struct Cursor {
    iterator: Option<String>,
    obtained: Instant,
    last_sequence: Option<String>,
}

impl ShardReader {
    async fn run(mut self, parent_done: Option<watch::Receiver<bool>>, done: watch::Sender<bool>) {
        if let Some(mut parent) = parent_done {
            tokio::select! {
                _ = parent.wait_for(|d| *d) => {}
                () = self.shutdown.wait() => return,
            }
        }
        let Some(mut cursor) = self.open(None).await else {
            return;
        };
        let mapping = self.mapping.clone();
        let mut buffer: VecDeque<StreamItem> = VecDeque::new();
        let mut retry = RetryState::default();
        let mut window_started: Option<Instant> = None;

        while !self.shutdown.is_set() {
            let mut idle = false;
            if buffer.len() < mapping.batch_size && cursor.iterator.is_some() {
                match self.read(&mut cursor).await {
                    Ok(records) => {
                        idle = records.is_empty();
                        tracing::debug!(shard = %self.shard_id, read = records.len(), buffered = buffer.len(), "stream read");
                        let mut filtered = 0;
                        for record in records {
                            let Some(item) = lambda_record(record, &mapping.stream_arn) else {
                                continue;
                            };
                            if mapping.filters.passes(&item.wire) {
                                buffer.push_back(item);
                            } else {
                                filtered += 1;
                            }
                        }
                        if filtered > 0 {
                            mapping.function.record_filtered(filtered);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(
                            function = %mapping.function.name,
                            shard = %self.shard_id,
                            error = %crate::error::error_chain(e.as_ref()),
                            "reading the stream failed"
                        );
                        if self.shutdown.sleep(Duration::from_secs(1)).await {
                            return;
                        }
                        continue;
                    }
                }
            }

            if buffer.is_empty() {
                window_started = None;
                if cursor.iterator.is_none() {
                    // The shard is closed and drained: its children may go.
                    done.send_replace(true);
                    return;
                }
                if idle && self.shutdown.sleep(POLL_INTERVAL).await {
                    return;
                }
                continue;
            }

            let n = retry.next_batch_size(buffer.len(), mapping.batch_size);
            if n < mapping.batch_size
                && cursor.iterator.is_some()
                && retry.is_fresh()
                && !mapping.batching_window.is_zero()
            {
                let started = *window_started.get_or_insert_with(Instant::now);
                if started.elapsed() < mapping.batching_window {
                    if idle && self.shutdown.sleep(POLL_INTERVAL).await {
                        return;
                    }
                    continue;
                }
            }
            window_started = None;

            if let Some(max_age) = mapping.max_record_age {
                let expired = buffer
                    .iter()
                    .take_while(|item| item.age().is_some_and(|age| age > max_age))
                    .count();
                if expired > 0 {
                    let items: Vec<StreamItem> = buffer.drain(..expired).collect();
                    self.give_up(&items, "RecordAgeExceeded", 0).await;
                    retry.reset();
                    continue;
                }
            }

            let batch: Vec<&StreamItem> = buffer.iter().take(n).collect();
            let sequence_numbers: Vec<&str> =
                batch.iter().map(|i| i.sequence_number.as_str()).collect();
            let wire =
                json!({ "Records": batch.iter().map(|i| i.wire.clone()).collect::<Vec<_>>() });
            let outcome = match serde_json::from_value::<dynamodb::Event>(wire) {
                Ok(event) => {
                    let invocation = mapping.function.invoke(event).await;
                    let outcome = match &invocation.result {
                        Ok(response) => outcome_of(
                            response,
                            &sequence_numbers,
                            mapping.report_batch_item_failures,
                        ),
                        Err(
                            InvokeError::Handler(_)
                            | InvokeError::Timeout(_)
                            | InvokeError::Panicked,
                        ) => Outcome::Error,
                    };
                    let failed = match outcome {
                        Outcome::Success => 0,
                        Outcome::FailedFrom(i) => n - i,
                        Outcome::Error => n,
                    };
                    mapping.function.record(n, failed, 0, &invocation);
                    outcome
                }
                Err(e) => {
                    tracing::warn!(function = %mapping.function.name, error = %e, "stream records do not make a valid event");
                    Outcome::Error
                }
            };

            let step = retry.after(n, outcome, mapping.retry);
            buffer.drain(..step.processed);
            if step.discarded > 0 {
                let items: Vec<StreamItem> =
                    buffer.drain(..step.discarded.min(buffer.len())).collect();
                self.give_up(&items, "RetryAttemptsExhausted", step.invocations)
                    .await;
            }
            if step.retry && self.shutdown.sleep(retry.backoff()).await {
                return;
            }
        }
    }

    /// A shard iterator at the starting position, or after `after`.
    async fn open(&mut self, after: Option<String>) -> Option<Cursor> {
        loop {
            let mut request = self
                .clients
                .streams
                .get_shard_iterator()
                .stream_arn(&self.mapping.stream_arn)
                .shard_id(&self.shard_id);
            request = match (&after, self.position) {
                (Some(seq), _) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                (None, StartingPosition::TrimHorizon) => {
                    request.shard_iterator_type(ShardIteratorType::TrimHorizon)
                }
                (None, StartingPosition::Latest) => {
                    request.shard_iterator_type(ShardIteratorType::Latest)
                }
            };
            match request.send().await {
                Ok(out) => {
                    return Some(Cursor {
                        iterator: out.shard_iterator,
                        obtained: Instant::now(),
                        last_sequence: after,
                    });
                }
                Err(e) => {
                    tracing::warn!(
                        shard = %self.shard_id,
                        error = %crate::error::error_chain(&e.into_service_error()),
                        "getting a shard iterator failed"
                    );
                    if self.shutdown.sleep(Duration::from_secs(1)).await {
                        return None;
                    }
                }
            }
        }
    }

    /// One `GetRecords` call (up to `BatchSize` records).
    async fn read(&mut self, cursor: &mut Cursor) -> Result<Vec<Record>, BoxError> {
        let Some(iterator) = cursor.iterator.clone() else {
            return Ok(Vec::new());
        };
        let limit = i32::try_from(self.mapping.batch_size)
            .unwrap_or(1000)
            .clamp(1, 1000);
        match self
            .clients
            .streams
            .get_records()
            .shard_iterator(&iterator)
            .limit(limit)
            .send()
            .await
        {
            Ok(out) => {
                let records = out.records.unwrap_or_default();
                tracing::trace!(
                    iterator = %iterator.chars().rev().take(12).collect::<String>(),
                    next = ?out.next_shard_iterator.as_deref().map(|n| n.chars().rev().take(12).collect::<String>()),
                    first = ?records.first().and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number.clone()),
                    n = records.len(),
                    "get_records"
                );
                if records.is_empty()
                    && cursor.iterator.is_some()
                    && out.next_shard_iterator.is_some()
                {
                    // The emulator replaces a table's stream object when it
                    // rolls back a failed transaction (it restores a deep
                    // copy), and an iterator taken before then never sees a
                    // new record. An idle shard therefore re-opens its
                    // iterator from the last sequence number it read, which
                    // is equally valid on AWS.
                    let fresh = match (&cursor.last_sequence, self.position) {
                        (Some(_), _) | (None, StartingPosition::TrimHorizon) => {
                            self.open(cursor.last_sequence.clone()).await
                        }
                        (None, StartingPosition::Latest) => None,
                    };
                    match fresh {
                        Some(fresh) => *cursor = fresh,
                        None => cursor.iterator = out.next_shard_iterator,
                    }
                } else {
                    cursor.iterator = out.next_shard_iterator;
                    cursor.obtained = Instant::now();
                }
                if let Some(last) = records
                    .last()
                    .and_then(|r| r.dynamodb.as_ref())
                    .and_then(|d| d.sequence_number.clone())
                {
                    cursor.last_sequence = Some(last);
                }
                Ok(records)
            }
            Err(e) => {
                let e = e.into_service_error();
                if e.is_expired_iterator_exception() {
                    if let Some(fresh) = self.open(cursor.last_sequence.clone()).await {
                        *cursor = fresh;
                    }
                    Ok(Vec::new())
                } else {
                    Err(e.into())
                }
            }
        }
    }

    /// Sends Lambda's on-failure record for `items` to the destination.
    async fn give_up(&self, items: &[StreamItem], condition: &str, invocations: u32) {
        let (Some(first), Some(last)) = (items.first(), items.last()) else {
            return;
        };
        tracing::warn!(
            function = %self.mapping.function.name,
            shard = %self.shard_id,
            condition,
            start_sequence_number = %first.sequence_number,
            end_sequence_number = %last.sequence_number,
            batch_size = items.len(),
            "giving up on stream records"
        );
        let Some(queue_url) = &self.mapping.on_failure_queue_url else {
            return;
        };
        let record = on_failure_record(
            &self.mapping.function.arn(),
            &self.mapping.stream_arn,
            &self.shard_id,
            items,
            condition,
            invocations,
        );
        if let Err(e) = self
            .clients
            .sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(record.to_string())
            .send()
            .await
        {
            tracing::error!(
                function = %self.mapping.function.name,
                error = %crate::error::error_chain(&e.into_service_error()),
                "sending the on-failure record failed; the records are lost"
            );
        }
    }
}

fn rfc3339(epoch_seconds: Option<f64>) -> Value {
    epoch_seconds
        .and_then(|s| OffsetDateTime::from_unix_timestamp_nanos((s * 1e9) as i128).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

/// Lambda's on-failure record for a stream batch (it names the batch; it
/// does not contain the records).
fn on_failure_record(
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lambda_events::streams::DynamoDbBatchItemFailure;
    use aws_sdk_dynamodbstreams::primitives::DateTime;
    use aws_sdk_dynamodbstreams::types::{
        AttributeValue, OperationType, StreamRecord, StreamViewType,
    };

    const BISECT: RetryPolicy = RetryPolicy {
        bisect_on_error: true,
        max_retry_attempts: Some(2),
    };
    const PLAIN: RetryPolicy = RetryPolicy {
        bisect_on_error: false,
        max_retry_attempts: Some(1),
    };

    #[test]
    fn success_moves_on() {
        let mut r = RetryState::default();
        assert_eq!(r.next_batch_size(7, 100), 7);
        let step = r.after(7, Outcome::Success, BISECT);
        assert_eq!((step.processed, step.discarded, step.retry), (7, 0, false));
        assert!(r.is_fresh());
    }

    #[test]
    fn partial_failure_checkpoints_then_retries_the_rest() {
        let mut r = RetryState::default();
        let step = r.after(10, Outcome::FailedFrom(4), BISECT);
        assert_eq!((step.processed, step.discarded, step.retry), (4, 0, true));
        assert_eq!(r.next_batch_size(6, 100), 6);
        // Fails again at its first record: two retries, then given up.
        let step = r.after(6, Outcome::FailedFrom(0), BISECT);
        assert_eq!((step.processed, step.retry), (0, true));
        let step = r.after(6, Outcome::FailedFrom(0), BISECT);
        assert_eq!(
            (step.processed, step.discarded, step.invocations, step.retry),
            (0, 6, 3, false)
        );
        assert!(r.is_fresh());
    }

    #[test]
    fn errors_bisect_down_to_the_bad_record_without_counting_splits() {
        let mut r = RetryState::default();
        assert!(r.after(4, Outcome::Error, BISECT).retry);
        assert_eq!(r.next_batch_size(4, 100), 2);
        assert!(r.after(2, Outcome::Error, BISECT).retry);
        assert_eq!(r.next_batch_size(4, 100), 1);
        // The first record is fine.
        assert_eq!(r.after(1, Outcome::Success, BISECT).processed, 1);
        // The second fails every time: 1 + 2 retries, then given up alone.
        assert_eq!(r.next_batch_size(3, 100), 1);
        assert!(r.after(1, Outcome::Error, BISECT).retry);
        assert!(r.after(1, Outcome::Error, BISECT).retry);
        let step = r.after(1, Outcome::Error, BISECT);
        assert_eq!((step.discarded, step.retry), (1, false));
        // Then the other half of the first split.
        assert_eq!(r.next_batch_size(2, 100), 2);
        assert_eq!(r.after(2, Outcome::Success, BISECT).processed, 2);
        assert!(r.is_fresh());
    }

    #[test]
    fn without_bisection_the_whole_batch_is_retried_then_dropped() {
        let mut r = RetryState::default();
        assert!(r.after(5, Outcome::Error, PLAIN).retry);
        assert_eq!(r.next_batch_size(5, 100), 5);
        let step = r.after(5, Outcome::Error, PLAIN);
        assert_eq!((step.discarded, step.invocations), (5, 2));
        let forever = RetryPolicy {
            bisect_on_error: false,
            max_retry_attempts: None,
        };
        for _ in 0..50 {
            assert!(r.after(5, Outcome::Error, forever).retry);
        }
    }

    fn failures(ids: &[Option<&str>]) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for id in ids {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = id.map(str::to_owned);
            response.batch_item_failures.push(f);
        }
        response
    }

    #[test]
    fn reported_failures_resume_from_the_lowest_sequence_number() {
        let seqs = ["10", "11", "12"];
        assert_eq!(outcome_of(&failures(&[]), &seqs, true), Outcome::Success);
        assert_eq!(
            outcome_of(&failures(&[Some("12"), Some("11")]), &seqs, true),
            Outcome::FailedFrom(1)
        );
        assert_eq!(
            outcome_of(&failures(&[Some("99")]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        assert_eq!(
            outcome_of(&failures(&[None]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        assert_eq!(
            outcome_of(&failures(&[Some("")]), &seqs, true),
            Outcome::FailedFrom(0)
        );
        // Without ReportBatchItemFailures the response is ignored.
        assert_eq!(
            outcome_of(&failures(&[Some("11")]), &seqs, false),
            Outcome::Success
        );
    }

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
    }
}
