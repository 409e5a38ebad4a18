//! The StateTable's per-user records: desired states, outcomes, activity,
//! email claims, failures.

use std::collections::HashMap;
use std::future::Future;

use crate::StoreError;
use crate::activity::{ActivityEntry, ActivityFilter};
use crate::ids::{OrgId, UserId};
use crate::progress::SyncSummary;
use crate::state::{DesiredState, FailedUser, Failure, FailureCount, SyncStatus};

/// Users' desired states and sync statuses, by user.
pub type UserStates = HashMap<UserId, (Option<DesiredState>, Option<SyncStatus>)>;

/// Users' desired states (what the rules give them, by generation) and
/// sync statuses, read together.
pub trait DesiredStates: Sync {
    /// The user's desired state and sync status, read together.
    fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> impl Future<Output = Result<(Option<DesiredState>, Option<SyncStatus>), StoreError>> + Send;

    /// Desired states and sync statuses of several users (batched reads,
    /// strongly consistent); users with neither are left out.
    fn user_states(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> impl Future<Output = Result<UserStates, StoreError>> + Send;

    /// Stores a desired state. MUST return `Conflict` unless the stored
    /// generation is `expected_generation` (`None`: nothing stored).
    fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Stores several users' desired states, each under the condition of
    /// [`DesiredStates::put_desired`], in as few writes as the store allows
    /// (a rule change's fan-out writes hundreds at once). One result per
    /// write, in order: `Ok` stored, `Conflict` its condition failed, another
    /// error not stored. A user appears at most once.
    fn put_desired_many(
        &self,
        org: &OrgId,
        writes: &[DesiredWrite<'_>],
    ) -> impl Future<Output = Vec<Result<(), StoreError>>> + Send;

    /// What counting needs of several users' states: the desired generation
    /// and the sync status, without the desired assignment (batched,
    /// eventually consistent reads with a projection); users with neither
    /// are left out.
    fn sync_summaries(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, SyncSummary>, StoreError>> + Send;
}

/// One write of [`DesiredStates::put_desired_many`].
#[derive(Debug, Clone, Copy)]
pub struct DesiredWrite<'a> {
    pub user: &'a UserId,
    pub state: &'a DesiredState,
    /// The generation stored now (`None`: nothing stored).
    pub expected_generation: Option<u64>,
}

/// What applying a user's desired state came to: its sync status.
pub trait SyncOutcomes: Sync {
    /// Records a reconcile's outcome and its activity entry in one write.
    /// MUST return `Conflict` when the stored applied generation is already
    /// at or past `status.applied_generation` and `status` is a success (the
    /// outcome was recorded before).
    fn record_outcome(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
        entry: &ActivityEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a failed attempt that will be retried, without an activity
    /// entry. Like a failure in [`SyncOutcomes::record_outcome`], it MUST
    /// return `Conflict` rather than overwrite a newer success.
    fn record_status(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that a Retry sync sends the user's job again: stores
    /// `marked` (the user's failure, no longer dead-lettered, with its
    /// `retried_at`) as the user's status. MUST return `Conflict` unless the
    /// stored status is a failure at `marked.applied_generation` whose last
    /// retry (if any) was before `not_retried_since`: of two retries at
    /// once, one sends the job.
    fn mark_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        marked: &SyncStatus,
        not_retried_since: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The organization's activity history.
pub trait ActivityLog: Sync {
    fn append_activity(
        &self,
        org: &OrgId,
        entry: &ActivityEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The entries `filter` wants, newest first, without those past the
    /// expiry they were written with (an entry's expiry is fixed when it is
    /// written: see [`crate::activity::expires_at`]); `before` is the cursor
    /// of the previous page. A page may hold fewer than `limit` entries and
    /// still have a next one (the adapter bounds how many it reads per
    /// call); the next cursor is `None` at the end.
    fn activity(
        &self,
        org: &OrgId,
        filter: &ActivityFilter,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<ActivityEntry>, Option<String>), StoreError>> + Send;
}

/// Exactly-once welcome emails: a claim per user and email.
pub trait EmailClaims: Sync {
    /// Claims the right to send one email: [`EmailClaim::Claimed`] the first
    /// time; [`EmailClaim::Sent`] once [`EmailClaims::email_sent`] recorded it;
    /// while another delivery's claim is unrecorded,
    /// [`EmailClaim::InProgress`] until [`STALE_EMAIL_CLAIM_SECONDS`] have
    /// passed, then [`EmailClaim::TakenOver`] (that delivery died before
    /// recording its send) for exactly one caller.
    fn claim_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<EmailClaim, StoreError>> + Send;

    /// Claims several emails at once ([`EmailClaims::claim_email`] for each),
    /// in as few writes as the store allows (a mail batch's emails are
    /// claimed together). One result per claim, in order; a claim appears at
    /// most once.
    fn claim_emails(
        &self,
        claims: &[EmailKey<'_>],
    ) -> impl Future<Output = Vec<Result<EmailClaim, StoreError>>> + Send;

    /// Records a claimed email as sent, and its activity entry, together;
    /// a welcome-email failure recorded for the user is cleared with them.
    fn email_sent(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
        entry: &ActivityEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Gives a claim back after a failed send, so that a retry may send.
    fn release_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The failures affecting an organization's users, indexed by class.
pub trait FailureIndex: Sync {
    /// The failures currently affecting the organization's users: one count
    /// per class (and product, for `out_of_licenses`), in class order.
    fn failure_counts(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<FailureCount>, StoreError>> + Send;

    /// The users one failure affects, by user id; `after` is the last user
    /// of the previous page. Returns the page and the cursor of the next.
    fn failed_users(
        &self,
        org: &OrgId,
        failure: &Failure,
        after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<FailedUser>, Option<UserId>), StoreError>> + Send;

    /// The welcome-email failures of several users (batched reads); users
    /// without one are left out.
    fn email_failures(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> impl Future<Output = Result<HashMap<UserId, FailedUser>, StoreError>> + Send;

    /// Records a user's welcome-email failure (`reason`, the mail service's
    /// code; the store counts the attempts and keeps when it was last
    /// retried), or clears it (`None`) once an email was sent or is no
    /// longer due.
    fn record_email_failure(
        &self,
        org: &OrgId,
        user: &UserId,
        reason: Option<&str>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that a Retry sync sends the user's welcome email again, at
    /// `at`. MUST return `Conflict` unless the user has a welcome-email
    /// failure whose last retry (if any) was before `not_retried_since`.
    fn mark_email_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        at: &str,
        not_retried_since: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Every per-user record of the StateTable: desired states, outcomes,
/// activity, email claims and failures. Prefer the capability a piece of
/// code needs.
pub trait SyncState:
    DesiredStates + SyncOutcomes + ActivityLog + EmailClaims + FailureIndex
{
}

impl<T: DesiredStates + SyncOutcomes + ActivityLog + EmailClaims + FailureIndex> SyncState for T {}

/// One email of [`EmailClaims::claim_emails`]: the user it goes to and its
/// key (the template and the event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmailKey<'a> {
    pub org: &'a OrgId,
    pub user: &'a UserId,
    pub key: &'a str,
}

/// What claiming an email found (see [`EmailClaims::claim_email`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailClaim {
    /// Nobody claimed it before: send it.
    Claimed,
    /// A claim older than [`STALE_EMAIL_CLAIM_SECONDS`] was never recorded as
    /// sent: the delivery that made it died. Send it; if that delivery had
    /// got as far as the mail service accepting the email, this is a second.
    TakenOver,
    /// Sent before: nothing to do.
    Sent,
    /// Another delivery claimed it moments ago and may be sending it now.
    /// That delivery's message stays in its queue until it is done, so if
    /// it dies its message comes back and takes the claim over.
    InProgress,
}

/// How old an unrecorded email claim must be before another delivery takes
/// it over: far longer than a mailer invocation may run (30 s).
pub const STALE_EMAIL_CLAIM_SECONDS: i64 = 120;
