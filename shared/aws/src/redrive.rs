//! Redrive (`ops dlq redrive`): moves dead-lettered messages back to their
//! source queue. An organization's Retry sync never comes here: it sends
//! its users again from its own failure records (`user_sync_core::retry`).
//!
//! `StartMessageMoveTask` moves a whole queue, of every organization; ops
//! may want one organization's messages (of one class, or one user's) and
//! a count. So messages are received from the dead-letter queue, the
//! selected ones sent to the source queue and only then deleted, and the
//! others are kept invisible while the scan goes on (so that it sees each
//! message once) and released at the end.
//!
//! A run moves only the messages that were in the dead-letter queue when it
//! started: a message's `SentTimestamp` (when it reached the dead-letter
//! queue, by SQS's clock) must be older than the run's start less
//! [`CLOCK_SKEW_MARGIN`]. A job that fails again during the run is
//! dead-lettered as a new message, which the run leaves where it is, so a
//! job whose cause is not fixed moves once per run, never in a loop.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageSystemAttributeName, SendMessageBatchRequestEntry,
};
use serde::Deserialize;
use tracing::{info, warn};
use user_sync_core::StoreError;
use user_sync_core::job::FAILURE_CLASS_ATTRIBUTE;
use user_sync_core::ports::{DeadLetters, RedriveReport, RedriveSelection};
use user_sync_core::state::FailureClass;

use crate::sqs::map_sqs_error;

/// SQS's largest batch.
const BATCH: usize = 10;
/// How long a message the scan looked at but did not move stays invisible
/// (it is released as soon as the scan ends).
const HOLD_SECONDS: i32 = 300;

/// How far this machine's clock may be ahead of SQS's without a run moving
/// a message dead-lettered after it started. A message dead-lettered less
/// than this before the run started is left for the next run.
pub const CLOCK_SKEW_MARGIN: Duration = Duration::from_secs(5);

/// What one redrive run moves, and until when.
struct Run<'a> {
    selection: &'a RedriveSelection,
    /// Messages dead-lettered at or after this (ms since the epoch) stay.
    cutoff: u64,
    deadline: Instant,
}

/// A dead-letter queue and the queue its messages go back to.
#[derive(Debug, Clone)]
pub struct QueuePair {
    pub dead_letter_url: String,
    pub source_url: String,
}

/// The dead-letter queues of the jobs and of the welcome emails.
#[derive(Debug, Clone)]
pub struct SqsDeadLetters {
    client: Client,
    jobs: QueuePair,
    mail: QueuePair,
    /// Most messages moved per second.
    per_second: u32,
}

impl SqsDeadLetters {
    pub fn new(client: Client, jobs: QueuePair, mail: QueuePair, per_second: u32) -> Self {
        Self {
            client,
            jobs,
            mail,
            per_second: per_second.max(1),
        }
    }

    /// Like [`DeadLetters::redrive`], calling `progress` after every batch.
    pub async fn redrive_with_progress(
        &self,
        selection: &RedriveSelection,
        budget: Duration,
        progress: &mut (dyn FnMut(&RedriveReport) + Send),
    ) -> Result<RedriveReport, StoreError> {
        let deadline = Instant::now() + budget;
        // messages dead-lettered at or after this (ms since the epoch, by
        // SQS's clock) stay where they are
        let cutoff = SystemTime::now()
            .checked_sub(CLOCK_SKEW_MARGIN)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let run = Run {
            selection,
            cutoff,
            deadline,
        };
        let mut report = RedriveReport {
            complete: true,
            ..RedriveReport::default()
        };
        if selection.jobs() {
            let moved = self
                .move_queue(
                    &self.jobs,
                    FailureClass::ProductApiUnavailable,
                    &run,
                    &mut report,
                    progress,
                )
                .await?;
            report.jobs += moved;
        }
        if selection.emails() && report.complete {
            let moved = self
                .move_queue(
                    &self.mail,
                    FailureClass::EmailFailed,
                    &run,
                    &mut report,
                    progress,
                )
                .await?;
            report.emails += moved;
        }
        Ok(report)
    }

    /// Moves one dead-letter queue's selected messages. A message without
    /// a class attribute (moved there by the redrive policy) has
    /// `default_class`. Returns how many moved.
    async fn move_queue(
        &self,
        pair: &QueuePair,
        default_class: FailureClass,
        run: &Run<'_>,
        report: &mut RedriveReport,
        progress: &mut (dyn FnMut(&RedriveReport) + Send),
    ) -> Result<usize, StoreError> {
        let Run {
            selection,
            cutoff,
            deadline,
        } = *run;
        let started = Instant::now();
        let mut seen = HashSet::new();
        let mut held = Vec::new();
        let mut moved = 0usize;
        let result = loop {
            if Instant::now() >= deadline {
                report.complete = false;
                break Ok(());
            }
            let received = match self.receive(&pair.dead_letter_url).await {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            // nothing left, or only messages looked at before (they came
            // back after HOLD_SECONDS): every message was seen
            if received.iter().all(|m| {
                m.message_id
                    .as_ref()
                    .is_none_or(|id| seen.contains(id.as_str()))
            }) {
                held.extend(received.into_iter().filter_map(|m| m.receipt_handle));
                break Ok(());
            }
            let mut selected = Vec::new();
            for m in received {
                let first_time = m
                    .message_id
                    .as_ref()
                    .is_none_or(|id| seen.insert(id.clone()));
                if !first_time {
                    // looked at (and held) before: hold it again
                    held.extend(m.receipt_handle);
                    continue;
                }
                report.examined += 1;
                let newer = sent_at(&m).is_some_and(|t| t >= cutoff);
                if selects(selection, &m, default_class) && !newer {
                    selected.push(m);
                } else {
                    if newer && selects(selection, &m, default_class) {
                        // dead-lettered after the run started (a moved job
                        // that failed again): the next run moves it
                        report.newer += 1;
                    }
                    held.extend(m.receipt_handle);
                }
            }
            match self.send_then_delete(pair, selected).await {
                Ok((n, unsent)) => {
                    moved += n;
                    held.extend(unsent);
                }
                Err(e) => break Err(e),
            }
            let mut now_report = *report;
            if default_class == FailureClass::EmailFailed {
                now_report.emails += moved;
            } else {
                now_report.jobs += moved;
            }
            progress(&now_report);
            // bounded rate: never more than `per_second` moves per second
            let earliest = Duration::from_secs_f64(moved as f64 / f64::from(self.per_second));
            if let Some(wait) = earliest.checked_sub(started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        };
        self.release(&pair.dead_letter_url, held).await;
        result.map(|()| moved)
    }

    async fn receive(&self, queue_url: &str) -> Result<Vec<Message>, StoreError> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(BATCH as i32)
            .visibility_timeout(HOLD_SECONDS)
            // a short long-poll: asks every SQS server, so an empty answer
            // means an empty queue
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names(FAILURE_CLASS_ATTRIBUTE)
            .send()
            .await
            .map_err(map_sqs_error)?;
        Ok(out.messages.unwrap_or_default())
    }

    /// Sends the messages to the source queue, then deletes those sent from
    /// the dead-letter queue. Returns how many moved and the receipt handles
    /// of those not sent (to release).
    async fn send_then_delete(
        &self,
        pair: &QueuePair,
        messages: Vec<Message>,
    ) -> Result<(usize, Vec<String>), StoreError> {
        if messages.is_empty() {
            return Ok((0, Vec::new()));
        }
        let mut entries = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(m.body.clone().unwrap_or_default())
                    .build()
                    .map_err(StoreError::permanent)?,
            );
        }
        let sent = self
            .client
            .send_message_batch()
            .queue_url(&pair.source_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(map_sqs_error)?;
        let mut delete = Vec::new();
        let mut unsent = Vec::new();
        for ok in &sent.successful {
            if let Some(m) = ok.id.parse::<usize>().ok().and_then(|i| messages.get(i))
                && let Some(r) = &m.receipt_handle
            {
                delete.push(
                    DeleteMessageBatchRequestEntry::builder()
                        .id(ok.id.clone())
                        .receipt_handle(r)
                        .build()
                        .map_err(StoreError::permanent)?,
                );
            }
        }
        for failed in &sent.failed {
            warn!(code = %failed.code, "a dead-lettered message could not be sent back; it stays");
            if let Some(r) = failed
                .id
                .parse::<usize>()
                .ok()
                .and_then(|i| messages.get(i))
                .and_then(|m| m.receipt_handle.clone())
            {
                unsent.push(r);
            }
        }
        let moved = delete.len();
        if !delete.is_empty() {
            let out = self
                .client
                .delete_message_batch()
                .queue_url(&pair.dead_letter_url)
                .set_entries(Some(delete))
                .send()
                .await
                .map_err(map_sqs_error)?;
            if !out.failed.is_empty() {
                // sent but still dead-lettered: a later retry sends it again,
                // which the worker and the mailer take as a duplicate
                warn!(
                    failed = out.failed.len(),
                    "moved messages could not be deleted from the dead-letter queue"
                );
            }
        }
        Ok((moved, unsent))
    }

    /// Makes the messages the scan held visible again (best effort: they
    /// come back on their own after `HOLD_SECONDS` anyway).
    async fn release(&self, queue_url: &str, receipts: Vec<String>) {
        for chunk in receipts.chunks(BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, r) in chunk.iter().enumerate() {
                if let Ok(e) = ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(0)
                    .build()
                {
                    entries.push(e);
                }
            }
            if let Err(e) = self
                .client
                .change_message_visibility_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                warn!(error = %e, "could not release dead-lettered messages; they come back on their own");
            }
        }
    }
}

/// When the message reached the dead-letter queue (SQS's `SentTimestamp`,
/// ms since the epoch); `None` when SQS did not say.
fn sent_at(m: &Message) -> Option<u64> {
    m.attributes
        .as_ref()?
        .get(&MessageSystemAttributeName::SentTimestamp)?
        .parse()
        .ok()
}

/// The parts of a job or mail message a selection looks at.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Addressed {
    org_id: Option<String>,
    user_id: Option<String>,
}

fn selects(selection: &RedriveSelection, m: &Message, default_class: FailureClass) -> bool {
    let class = m
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(FAILURE_CLASS_ATTRIBUTE))
        .and_then(|v| v.string_value.as_deref())
        .and_then(|c| serde_json::from_value(serde_json::Value::String(c.to_owned())).ok())
        .unwrap_or(default_class);
    let addressed = m
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<Addressed>(b).ok());
    let (org, user) = match &addressed {
        Some(a) => (a.org_id.as_deref(), a.user_id.as_deref()),
        // unreadable: only a redrive of everything moves it
        None => (None, None),
    };
    selection.selects(org, user, class)
}

impl DeadLetters for SqsDeadLetters {
    async fn redrive(
        &self,
        selection: &RedriveSelection,
        budget: Duration,
    ) -> Result<RedriveReport, StoreError> {
        let report = self
            .redrive_with_progress(selection, budget, &mut |_| {})
            .await?;
        info!(
            jobs = report.jobs,
            emails = report.emails,
            examined = report.examined,
            newer = report.newer,
            complete = report.complete,
            "dead-lettered messages moved back"
        );
        Ok(report)
    }
}
