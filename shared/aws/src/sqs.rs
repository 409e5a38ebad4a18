//! SQS adapters: the jobs queue (with its dead-letter queue) and the mail queue.

use crate::correlation::{stamp_job, stamp_mail};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use user_sync_core::StoreError;
use user_sync_core::job::{EntitlementJob, FAILURE_CLASS_ATTRIBUTE, MailJob};
use user_sync_core::ports::{DeliveryToken, JobQueue, MailQueue};
use user_sync_core::state::FailureClass;

/// SQS accepts at most 10 messages per `SendMessageBatch`.
const SQS_BATCH: usize = 10;

pub(crate) fn map_sqs_error<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(e)
            if e.err().code().is_some_and(|c| {
                c.contains("NonExistentQueue") || c.contains("InvalidParameter")
            }) =>
        {
            StoreError::permanent(err)
        }
        _ => StoreError::transient(err),
    }
}

fn json(err: serde_json::Error) -> StoreError {
    StoreError::permanent(err)
}

/// The jobs queue and (for the worker) its dead-letter queue.
#[derive(Debug, Clone)]
pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: Option<String>,
}

impl SqsJobQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_url: impl Into<String>,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dead_letter_url: Some(dead_letter_url.into()),
        }
    }

    /// The jobs queue alone, for a function that only sends jobs (the api's
    /// Retry sync): [`JobQueue::dead_letter`] is refused.
    pub fn sender(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dead_letter_url: None,
        }
    }
}

impl JobQueue for SqsJobQueue {
    async fn send_jobs(&self, jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        for chunk in jobs.chunks(SQS_BATCH) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, job) in chunk.iter().enumerate() {
                entries.push(
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        // the change the job is sent for (crate::correlation)
                        .message_body(serde_json::to_string(&*stamp_job(job)).map_err(json)?)
                        .build()
                        .map_err(StoreError::permanent)?,
                );
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(map_sqs_error)?;
            if !out.failed.is_empty() {
                return Err(StoreError::Transient(
                    format!(
                        "{} of {} jobs were not accepted by the queue",
                        out.failed.len(),
                        chunk.len()
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }

    async fn dead_letter(
        &self,
        job: &EntitlementJob,
        class: FailureClass,
    ) -> Result<(), StoreError> {
        let Some(url) = &self.dead_letter_url else {
            return Err(StoreError::Invalid(
                "no jobs dead-letter queue is configured".into(),
            ));
        };
        send_tagged(
            &self.client,
            url,
            serde_json::to_string(job).map_err(json)?,
            class,
        )
        .await
    }

    async fn defer(&self, job: &EntitlementJob, seconds: u32) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(serde_json::to_string(job).map_err(json)?)
            .delay_seconds(i32::try_from(seconds.min(MAX_DELAY_SECONDS)).unwrap_or(0))
            .send()
            .await
            .map_err(map_sqs_error)?;
        Ok(())
    }

    async fn retry_after(&self, delivery: &DeliveryToken, seconds: u32) -> Result<(), StoreError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(delivery.as_str())
            .visibility_timeout(i32::try_from(seconds.min(MAX_VISIBILITY_SECONDS)).unwrap_or(0))
            .send()
            .await
            .map_err(map_sqs_error)?;
        Ok(())
    }
}

/// The delivery of a received message, named by its receipt handle (what
/// [`JobQueue::retry_after`] takes).
pub fn delivery_token(receipt_handle: &str) -> DeliveryToken {
    DeliveryToken::new(receipt_handle)
}

/// SQS's longest delivery delay (15 minutes).
pub const MAX_DELAY_SECONDS: u32 = 900;

/// SQS's longest visibility timeout (12 hours).
pub const MAX_VISIBILITY_SECONDS: u32 = 43_200;

/// The mail queue (and, for the mailer, its dead-letter queue).
#[derive(Debug, Clone)]
pub struct SqsMailQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: Option<String>,
}

impl SqsMailQueue {
    pub fn new(
        client: Client,
        queue_url: impl Into<String>,
        dead_letter_url: Option<String>,
    ) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dead_letter_url,
        }
    }
}

impl MailQueue for SqsMailQueue {
    async fn send_mail(&self, job: &MailJob) -> Result<(), StoreError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(serde_json::to_string(&*stamp_mail(job)).map_err(json)?)
            .send()
            .await
            .map_err(map_sqs_error)?;
        Ok(())
    }

    async fn dead_letter_mail(&self, job: &MailJob) -> Result<(), StoreError> {
        let Some(url) = &self.dead_letter_url else {
            return Err(StoreError::Invalid(
                "no mail dead-letter queue is configured".into(),
            ));
        };
        send_tagged(
            &self.client,
            url,
            serde_json::to_string(job).map_err(json)?,
            FailureClass::EmailFailed,
        )
        .await
    }
}

/// Sends a message tagged with its failure class (what Retry sync selects on).
async fn send_tagged(
    client: &Client,
    queue_url: &str,
    body: String,
    class: FailureClass,
) -> Result<(), StoreError> {
    let attr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value(class.as_str())
        .build()
        .map_err(StoreError::permanent)?;
    client
        .send_message()
        .queue_url(queue_url)
        .message_body(body)
        .message_attributes(FAILURE_CLASS_ATTRIBUTE, attr)
        .send()
        .await
        .map_err(map_sqs_error)?;
    Ok(())
}
