//! Reads one shard and invokes the function with its records.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::json;
use tokio::sync::watch;

use super::{
    Outcome, POLL_INTERVAL, RetryState, StartingPosition, StreamClients, StreamItem, StreamMapping,
    lambda_record, on_failure_record, outcome_of,
};
use crate::error::BoxError;
use crate::functions::InvokeError;
use crate::shutdown::Shutdown;

/// Reads one shard and invokes the function with its records.
pub(super) struct ShardReader {
    pub(super) mapping: Arc<StreamMapping>,
    pub(super) clients: StreamClients,
    pub(super) shard_id: String,
    pub(super) position: StartingPosition,
    pub(super) shutdown: Shutdown,
}

/// A shard iterator and where it stands.
struct Cursor {
    iterator: Option<String>,
    obtained: Instant,
    last_sequence: Option<String>,
}

impl ShardReader {
    pub(super) async fn run(
        mut self,
        parent_done: Option<watch::Receiver<bool>>,
        done: watch::Sender<bool>,
    ) {
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
