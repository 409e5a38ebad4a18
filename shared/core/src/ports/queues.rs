//! The jobs and mail queues and their dead-letter queues.

use std::future::Future;

use crate::StoreError;
use crate::ids::{OrgId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::state::FailureClass;

/// Names one delivery of a received message to the queue that delivered it
/// (made by the queue's adapter, e.g. from an SQS receipt handle); opaque
/// to everything else.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct DeliveryToken(String);

impl DeliveryToken {
    /// For adapters: the token of a delivery, from what the queue named it.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// For adapters: what the queue named the delivery.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DeliveryToken {
    // a receipt handle is long and says nothing to a reader of logs
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryToken(..)")
    }
}

/// The jobs queue and its dead-letter queue.
pub trait JobQueue: Sync {
    /// Sends jobs (batched by the adapter).
    fn send_jobs(
        &self,
        jobs: &[EntitlementJob],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Moves a job straight to the dead-letter queue, tagged with its class.
    fn dead_letter(
        &self,
        job: &EntitlementJob,
        class: FailureClass,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Makes a received job (named by its delivery) invisible for
    /// `seconds` from now, so that its next delivery waits that long.
    fn retry_after(
        &self,
        delivery: &DeliveryToken,
        seconds: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Sends a job again as a new message, delivered after `seconds` (at
    /// most 900): its deliveries start over, so waiting is not failing.
    fn defer(
        &self,
        job: &EntitlementJob,
        seconds: u32,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Which failures a retry sends again: an organization's Retry sync (from
/// its own failure records), or `ops dlq redrive` (dead-lettered messages,
/// of every organization or one). `None` fields select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedriveSelection {
    pub org: Option<OrgId>,
    /// `email_failed` selects welcome emails; any other class selects jobs.
    pub class: Option<FailureClass>,
    pub user: Option<UserId>,
}

impl RedriveSelection {
    /// Whether a dead-lettered message of this organization, user and class
    /// is selected.
    pub fn selects(&self, org: Option<&str>, user: Option<&str>, class: FailureClass) -> bool {
        self.org.as_ref().is_none_or(|o| Some(o.as_str()) == org)
            && self.user.as_ref().is_none_or(|u| Some(u.as_str()) == user)
            && self.class.is_none_or(|c| c == class)
    }

    /// Whether jobs (`false`: welcome emails) may be selected at all.
    pub fn jobs(&self) -> bool {
        self.class != Some(FailureClass::EmailFailed)
    }

    pub fn emails(&self) -> bool {
        self.class.is_none_or(|c| c == FailureClass::EmailFailed)
    }
}

/// What a redrive (`ops dlq redrive`) did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RedriveReport {
    /// Jobs moved back to the jobs queue.
    pub jobs: usize,
    /// Welcome emails moved back to the mail queue.
    pub emails: usize,
    /// Dead-lettered messages looked at (of every organization).
    pub examined: usize,
    /// Messages left where they are because they reached the dead-letter
    /// queue after the run started: a job that failed again meanwhile is
    /// not moved again by the same run (the next run moves it).
    pub newer: usize,
    /// Every dead-lettered message was looked at; `false` when the time
    /// budget ran out first (run it again: it is idempotent).
    pub complete: bool,
}

/// The dead-letter queues, shared by every organization: for ops only
/// (`ops dlq redrive`). An organization's Retry sync never reads them.
pub trait DeadLetters: Sync {
    /// Moves the selected dead-lettered messages back to their source
    /// queue, each sent there before it is deleted from the dead-letter
    /// queue (a crash in between leaves a duplicate, never a loss), within
    /// `budget`. Only messages that were in the dead-letter queue when the
    /// run started move: one dead-lettered again during the run stays
    /// (counted in `newer`), so a job that keeps failing moves once per run.
    fn redrive(
        &self,
        selection: &RedriveSelection,
        budget: std::time::Duration,
    ) -> impl Future<Output = Result<RedriveReport, StoreError>> + Send;
}

/// The mail queue.
pub trait MailQueue: Sync {
    fn send_mail(&self, job: &MailJob) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Moves a mail job straight to the mail dead-letter queue, tagged
    /// `email_failed`, where Retry sync finds it.
    fn dead_letter_mail(
        &self,
        job: &MailJob,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
