//! Ports: one trait per capability the functions need. Adapters live in
//! `user-sync-aws`; the business logic is written against these traits.
//!
//! Every method returns domain types and a [`StoreError`] (or the port's own
//! error) whose variants are the contract stated on each method.

use std::collections::BTreeSet;
use std::future::Future;

use serde_json::Value;

use crate::StoreError;
use crate::activity::ActivityEntry;
use crate::auth::StoredToken;
use crate::directory::{DirectoryGroup, DirectoryUser};
use crate::ids::{GroupId, OrgId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::mail::RenderedEmail;
use crate::rules::Rule;
use crate::state::{DesiredState, FailureClass, ProductAccount, SyncStatus};

/// An organization's own settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub default_language: String,
    pub created: String,
    /// Attributes of the custom SCIM extension this organization captures.
    #[serde(default)]
    pub custom_attributes: Vec<String>,
}

/// Sync on/off.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSettings {
    pub enabled: bool,
    pub changed_at: Option<String>,
    pub changed_by: Option<String>,
}

/// Organizations and their tokens.
pub trait Organizations: Sync {
    /// MUST return `Conflict` when the organization exists.
    fn create_org(&self, org: &Organization)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces an organization's settings. MUST return `NotFound` when it
    /// does not exist.
    fn update_org(&self, org: &Organization)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when the organization does not exist.
    fn get_org(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;
    fn put_token(&self, token: &StoredToken)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when there is no such token.
    fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<StoredToken>, StoreError>> + Send;
}

/// A stored user with the SCIM attributes it was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub user: DirectoryUser,
    pub attributes: Value,
}

/// The replicated directory.
pub trait Directory: Sync {
    /// MUST return `Conflict` when the organization already has a user whose
    /// userName is equal ignoring case.
    fn create_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_user(
        &self,
        org: &OrgId,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;
    /// Case-insensitive lookup.
    fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;
    /// Replaces a user. MUST return `Conflict` when the stored version is not
    /// `expected_version` or the new userName is taken by another user.
    fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Users whose externalId is exactly `external_id` (at most `limit`).
    fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;
    /// Users whose email equals `email` ignoring case (at most `limit`).
    fn find_users_by_email(
        &self,
        org: &OrgId,
        email: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;
    /// Groups whose displayName equals `name` ignoring case (at most `limit`).
    fn find_groups_by_name(
        &self,
        org: &OrgId,
        name: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DirectoryGroup>, StoreError>> + Send;
    /// A page of users in id order, after `start_after`.
    fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<StoredUser>, Option<UserId>), StoreError>> + Send;
    /// MUST return `Conflict` when the id exists.
    fn create_group(
        &self,
        org: &OrgId,
        group: &DirectoryGroup,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn get_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> impl Future<Output = Result<Option<DirectoryGroup>, StoreError>> + Send;
    /// A page of groups in id order, after `start_after`.
    fn list_groups(
        &self,
        org: &OrgId,
        start_after: Option<&GroupId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError>> + Send;
    /// MUST return `Conflict` when the stored version is not `group.version - 1`.
    fn update_group(
        &self,
        org: &OrgId,
        group: &DirectoryGroup,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a group item (its memberships are removed first, by the
    /// caller, with `remove_members`). Deleting a missing group is harmless.
    fn delete_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Adds memberships; adding an existing one is harmless.
    fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Removes memberships; removing a missing one is harmless.
    fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A page of a group's members in id order, after `start_after`.
    fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<UserId>, Option<UserId>), StoreError>> + Send;
    /// Every group the user is a member of (strongly consistent).
    fn groups_of(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> impl Future<Output = Result<BTreeSet<GroupId>, StoreError>> + Send;
}

/// Rules and sync settings.
pub trait Configuration: Sync {
    /// Every rule of the organization and its sync settings, read together.
    fn rules_and_sync(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<(Vec<Rule>, SyncSettings), StoreError>> + Send;
    /// MUST return `Conflict` when a rule with this id exists (callers check
    /// that its priority is free).
    fn create_rule(
        &self,
        org: &OrgId,
        rule: &Rule,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Desired and applied state, sync status, activity, sent emails.
pub trait SyncState: Sync {
    /// The user's desired state and sync status, read together.
    fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> impl Future<Output = Result<(Option<DesiredState>, Option<SyncStatus>), StoreError>> + Send;
    /// Stores a desired state. MUST return `Conflict` unless the stored
    /// generation is `expected_generation` (`None`: nothing stored).
    fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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
    fn append_activity(
        &self,
        org: &OrgId,
        entry: &ActivityEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Newest first; `before` is the last id of the previous page.
    fn activity(
        &self,
        org: &OrgId,
        before: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<ActivityEntry>, Option<String>), StoreError>> + Send;
    /// Claims the right to send one email. MUST return `Conflict` when it was
    /// claimed before.
    fn claim_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Gives a claim back after a failed send, so that a retry may send.
    fn release_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
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
}

/// The mail queue.
pub trait MailQueue: Sync {
    fn send_mail(&self, job: &MailJob) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What the product API did with an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountWrite {
    Created,
    Updated,
}

/// The product API's refusals, classified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProductApiError {
    #[error("the email already has an account elsewhere")]
    ExistingAccount,
    #[error("out of licenses for {product}")]
    OutOfLicenses { product: String },
    #[error("the product API refused the user data: {0}")]
    InvalidUserData(String),
    /// 429: retry after the given number of seconds.
    #[error("rate limited")]
    RateLimited { retry_after_seconds: u64 },
    /// 5xx, timeouts, connection failures.
    #[error("product API unavailable: {0}")]
    Unavailable(String),
}

impl ProductApiError {
    pub fn class(&self) -> FailureClass {
        match self {
            ProductApiError::ExistingAccount => FailureClass::ExistingAccount,
            ProductApiError::OutOfLicenses { .. } => FailureClass::OutOfLicenses,
            ProductApiError::InvalidUserData(_) => FailureClass::InvalidUserData,
            ProductApiError::RateLimited { .. } | ProductApiError::Unavailable(_) => {
                FailureClass::ProductApiUnavailable
            }
        }
    }
}

/// The external product API (DESIGN §5). Safe to call twice with the same state.
pub trait ProductApi: Sync {
    fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> impl Future<Output = Result<AccountWrite, ProductApiError>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The message was refused (bad address, unverified sender): do not retry.
    #[error("email refused: {0}")]
    Rejected(String),
    #[error("email service unavailable")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends one email.
pub trait MailSender: Sync {
    fn send(
        &self,
        to: &str,
        email: &RenderedEmail,
    ) -> impl Future<Output = Result<(), MailError>> + Send;
}
