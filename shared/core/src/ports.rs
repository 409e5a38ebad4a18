//! Ports: one trait per capability the functions need. Adapters live in
//! `user-sync-aws`; the business logic is written against these traits.
//!
//! Every method returns domain types and a [`StoreError`] (or the port's own
//! error) whose variants are the contract stated on each method.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use serde_json::Value;

use crate::StoreError;
use crate::activity::{ActivityEntry, ActivityFilter};
use crate::auth::StoredToken;
use crate::directory::{DirectoryGroup, DirectoryStatus, DirectoryUser};
use crate::fanout::FanOutTask;
use crate::ids::{GroupId, OrgId, RuleId, TemplateId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::mail::{EmailTemplate, RenderedEmail};
use crate::progress::SyncSummary;
use crate::rules::Rule;
use crate::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, ProductAccount, SyncStatus,
};

/// An organization's own settings.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub default_language: String,
    pub created: String,
    /// Attributes of the custom SCIM extension this organization captures.
    #[serde(default)]
    pub custom_attributes: Vec<String>,
    /// A rule change or sync-on that would suspend more than this share of
    /// the organization's users (in percent) needs `"confirm": true`.
    #[serde(default = "default_guardrail_percent")]
    pub suspension_guardrail_percent: u8,
    /// Days the activity history is kept; `None`: the stack's default
    /// (`ActivityRetentionDays`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_retention_days: Option<u32>,
    /// What rules may name; `None`: not configured, rules are not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<crate::catalog::Catalog>,
    /// The stored organization's version: one more with every write (see
    /// [`Organizations::update_org`]).
    #[serde(default)]
    pub version: u64,
    /// The versions (ETags) of the settings admins replace with `If-Match`.
    #[serde(default)]
    pub setting_versions: crate::organization::SettingVersions,
}

/// The default mass-suspension guardrail: 10 % of the organization's users.
pub const DEFAULT_GUARDRAIL_PERCENT: u8 = 10;

fn default_guardrail_percent() -> u8 {
    DEFAULT_GUARDRAIL_PERCENT
}

/// Sync on/off.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
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
    /// Replaces an organization's settings when it is still stored at
    /// `org.version` (the version it was read at), storing it at
    /// `org.version + 1`. MUST return `NotFound` when it does not exist and
    /// `Conflict` when it is stored at another version (another writer got
    /// there first). Use [`crate::organization::update_organization`].
    fn update_org(&self, org: &Organization)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when the organization does not exist.
    fn get_org(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;
    /// A page of every organization (in no particular order), from the
    /// `cursor` of the previous page; the next cursor is `None` at the end.
    /// A page holds at most `limit` organizations, and may hold fewer and
    /// still have a next one (the adapter bounds what it reads per call).
    fn list_orgs(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<Organization>, Option<String>), StoreError>> + Send;
    fn put_token(&self, token: &StoredToken)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when there is no such token.
    fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> impl Future<Output = Result<Option<StoredToken>, StoreError>> + Send;
    /// The organization's tokens (their hashes included; never shown).
    fn list_tokens(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<StoredToken>, StoreError>> + Send;
    /// Revokes a token at once. MUST return `NotFound` when there is none.
    fn delete_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A stored user with the SCIM attributes it was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub user: DirectoryUser,
    pub attributes: Value,
}

/// A user's id and directory status.
pub type UserStatus = (UserId, DirectoryStatus);

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
    /// Case-insensitive lookup of the user holding a userName (a user
    /// deleted by an earlier version may still hold one).
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
    /// Creates a returning person (see [`crate::directory::returning_from`])
    /// as [`Directory::create_user`] does, and stores `handed_over` (the
    /// deleted user whose account it takes over, a new version of
    /// `previous`) in the same write. MUST return `Conflict` when the
    /// userName is taken or the deleted user is no longer at
    /// `previous.version`.
    fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes a user as SCIM does (RFC 7644 §3.6): stores `deleted` (a new
    /// version of `previous`, marked deleted) and frees its userName for
    /// another user, while [`Directory::deleted_users_named`] still finds it
    /// by that name. MUST return `Conflict` when the stored version is not
    /// `previous.version`.
    fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deleted users that were named `user_name` (ignoring case) when they
    /// were deleted (at most `limit`, strongly consistent).
    fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;
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
    /// The users that exist among `ids` (batched reads, strongly consistent);
    /// missing ids are left out.
    fn get_users(
        &self,
        org: &OrgId,
        ids: &[UserId],
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;
    /// For each of `users`, which of `groups` it is a member of (strongly
    /// consistent); users in none are left out. The adapter picks the cheaper
    /// reads: user × group keys in batches when `groups` are few (as the
    /// groups named by rules are), each user's groups otherwise.
    fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError>> + Send;
    /// A page of users' ids and directory status in id order, after
    /// `start_after` (a light listing: nothing else is read).
    fn user_statuses(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<UserStatus>, Option<UserId>), StoreError>> + Send;
    /// How many members a group has.
    fn count_members(
        &self,
        org: &OrgId,
        group: &GroupId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// How many users the organization's directory holds (deleted ones too).
    fn count_users(&self, org: &OrgId) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A rule with its storage version (its ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub rule: Rule,
    pub version: u64,
}

/// An organization's rules and sync switch, read together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSet {
    /// In priority order; priorities are dense, 1..n.
    pub rules: Vec<StoredRule>,
    pub sync: SyncSettings,
    /// Grows with every rule write and reorder (the order's ETag).
    pub version: u64,
}

impl RuleSet {
    pub fn rules(&self) -> Vec<Rule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    pub fn get(&self, id: &RuleId) -> Option<&StoredRule> {
        self.rules.iter().find(|r| &r.rule.id == id)
    }

    pub fn order(&self) -> Vec<RuleId> {
        self.rules.iter().map(|r| r.rule.id.clone()).collect()
    }
}

/// One change of the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleWrite {
    /// A new rule; MUST fail with `Conflict` when its id exists.
    Create(Rule),
    /// MUST fail with `Conflict` unless the stored rule has `expected_version`.
    Update { rule: Rule, expected_version: u64 },
    /// MUST fail with `Conflict` unless the stored rule has `expected_version`.
    Delete { id: RuleId, expected_version: u64 },
    /// Only the order changes.
    Reorder,
}

/// Rules and sync settings.
pub trait Configuration: Sync {
    /// Every rule of the organization, in priority order, with the sync
    /// switch and the configuration version.
    fn rule_set(&self, org: &OrgId) -> impl Future<Output = Result<RuleSet, StoreError>> + Send;
    /// Every rule of the organization and its sync settings, read together.
    fn rules_and_sync(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<(Vec<Rule>, SyncSettings), StoreError>> + Send {
        async move {
            let set = self.rule_set(org).await?;
            Ok((set.rules(), set.sync))
        }
    }
    /// Applies one rule change and stores `order` (every rule id, highest
    /// priority first) atomically. MUST return `Conflict` when the stored
    /// configuration is no longer `read.version`, when the sync switch is no
    /// longer `read.sync.enabled`, or as the write itself states.
    fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[RuleId],
        read: &RuleSet,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Stores the sync switch. MUST return `Conflict` when the configuration
    /// is no longer at `expected_version` (a rule changed meanwhile).
    fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A welcome-email template with its storage version (its ETag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTemplate {
    pub template: EmailTemplate,
    pub version: u64,
    pub updated_at: String,
    /// The admin token's name.
    pub updated_by: String,
}

/// Most welcome-email templates per organization.
pub const MAX_TEMPLATES: u64 = 100;

/// An organization's welcome-email templates (the shipped default is not
/// stored: see `mail::default_template`).
pub trait Templates: Sync {
    /// Every template of the organization, by name.
    fn list_templates(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Vec<StoredTemplate>, StoreError>> + Send;
    /// `None` when there is no such template.
    fn get_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
    ) -> impl Future<Output = Result<Option<StoredTemplate>, StoreError>> + Send;
    /// Stores a new template (at `template.version`). MUST return `Conflict`
    /// when its id exists or the organization has [`MAX_TEMPLATES`] already.
    fn create_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a template with `template` (its version is the new one).
    /// MUST return `Conflict` unless the stored template has
    /// `expected_version` (also when it was deleted).
    fn replace_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// MUST return `Conflict` unless the stored template has
    /// `expected_version` (also when it was deleted).
    fn delete_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Fan-out tasks: a rule change or sync-on processed in bounded chunks.
pub trait FanOuts: Sync {
    /// Starts a task. Starting one that exists (a replayed record) is
    /// harmless and changes nothing.
    fn start_fan_out(
        &self,
        org: &OrgId,
        task: &FanOutTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// `None` when there is no such task.
    fn get_fan_out(
        &self,
        org: &OrgId,
        id: &str,
    ) -> impl Future<Output = Result<Option<FanOutTask>, StoreError>> + Send;
    /// Stores a task's progress. MUST return `Conflict` unless the stored
    /// task is at chunk `task.chunk - 1` (another invocation advanced it).
    fn advance_fan_out(
        &self,
        org: &OrgId,
        task: &FanOutTask,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Tasks not done yet, oldest first (at most `limit`).
    fn running_fan_outs(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<FanOutTask>, StoreError>> + Send;
}

/// Users' desired states and sync statuses, by user.
pub type UserStates = HashMap<UserId, (Option<DesiredState>, Option<SyncStatus>)>;

/// Desired and applied state, sync status, activity, sent emails.
pub trait SyncState: Sync {
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
    /// Claims the right to send one email: [`EmailClaim::Claimed`] the first
    /// time; [`EmailClaim::Sent`] once [`SyncState::email_sent`] recorded it;
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
    /// Records a failed attempt that will be retried, without an activity
    /// entry. Like a failure in [`SyncState::record_outcome`], it MUST
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
    /// Makes a received job (named by its receipt handle) invisible for
    /// `seconds` from now, so that its next delivery waits that long.
    fn retry_after(
        &self,
        receipt_handle: &str,
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

/// What claiming an email found (see [`SyncState::claim_email`]).
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

/// One product's seats at the product API.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct Seats {
    /// `None`: unlimited.
    pub limit: Option<u64>,
    pub used: u64,
}

/// The external product API (DESIGN §5). Safe to call twice with the same state.
pub trait ProductApi: Sync {
    fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> impl Future<Output = Result<AccountWrite, ProductApiError>> + Send;
    /// Seats per product (products without a limit may be left out).
    fn seats(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<std::collections::BTreeMap<String, Seats>, ProductApiError>> + Send;
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
