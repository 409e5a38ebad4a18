//! In-memory ports, for the domain services' unit tests and for benchmarks
//! that measure our own code without a database: organizations and tokens,
//! the directory, the rules and sync switch, welcome-email templates, domains and
//! their claims, fan-out tasks, desired states,
//! sync statuses, activity, email claims and failures, the jobs and mail
//! queues and their dead letters, the product API, the mail sender and the
//! rate counters, in maps behind one mutex.
//!
//! Each fake honours the contract its port states (conflicts included), and
//! the same checks run against it and against the DynamoDB adapters
//! ([`crate::contract`]). Time comes from an injected [`Clock`]
//! ([`MemoryStore::with_clock`]), so a test can make an email claim stale or
//! an activity entry expire.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use crate::StoreError;
use crate::activity::{ActivityEntry, ActivityFilter};
use crate::auth::StoredToken;
use crate::clock::{Clock, SystemClock};
use crate::directory::{DirectoryGroup, DirectoryStatus, DirectoryUser};
use crate::fanout::FanOutTask;
use crate::ids::{GroupId, OrgId, RuleId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::ports::{
    AccountWrite, ActivityLog, Configuration, DeadLetters, DeliveryToken, DesiredStates,
    DesiredWrite, EmailClaim, EmailClaims, EmailKey, FailureIndex, FanOuts, Groups, JobQueue,
    MailQueue, Memberships, OfferedProduct, Organization, Organizations, ProductApi,
    ProductApiError, RedriveReport, RedriveSelection, RuleSet, RuleWrite,
    STALE_EMAIL_CLAIM_SECONDS, Seats, StoredUser, SyncOutcomes, SyncSettings, Tokens, UserLookup,
    UserStates, UserStatus, Users,
};
use crate::progress::{DesiredSummary, SyncSummary};
use crate::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, ProductAccount,
    RemoteAccount, SyncStatus,
};

mod activity;
mod configuration;
mod counters;
mod domains;
mod email_claims;
mod fan_outs;
mod fixtures;
mod groups;
mod joint_reads;
mod mail_sender;
mod organizations;
mod product_api;
mod queues;
mod sso;
mod sync_state;
mod templates;
mod users;

pub use counters::MemoryCounters;
pub use fixtures::{ada_desired, ada_facts, applied_status, member, product_rule};
pub use mail_sender::{MemoryMailSender, SentEmail};
pub use product_api::MemoryProductApi;

/// What a fake answers for a method it does not implement.
#[allow(dead_code)]
fn unsupported() -> StoreError {
    StoreError::Invalid("not implemented by the in-memory store".to_owned())
}

/// One organization's data.
#[derive(Default)]
struct OrgTables {
    org: Option<Organization>,
    tokens: HashMap<String, StoredToken>,
    users: BTreeMap<UserId, StoredUser>,
    /// lowercased userName → id (the userName index)
    user_names: HashMap<String, UserId>,
    /// lowercased userName → the deleted users that had it
    deleted_names: HashMap<String, BTreeSet<UserId>>,
    /// externalId → the users that have it (the externalId index)
    external_ids: HashMap<String, BTreeSet<UserId>>,
    groups: BTreeMap<GroupId, DirectoryGroup>,
    members: HashMap<GroupId, BTreeSet<UserId>>,
    groups_of: HashMap<UserId, BTreeSet<GroupId>>,
    rule_set: Option<RuleSet>,
    fan_outs: BTreeMap<String, FanOutTask>,
    desired: HashMap<UserId, DesiredState>,
    statuses: BTreeMap<UserId, SyncStatus>,
    /// welcome-email failures
    mail_failures: BTreeMap<UserId, FailedUser>,
    /// activity entries by id, with the time (Unix seconds) each expires
    activity: BTreeMap<String, (ActivityEntry, i64)>,
    /// (user, email key) → the claim
    email_claims: HashMap<(UserId, String), Claim>,
    /// welcome-email templates by id
    templates: BTreeMap<crate::ids::TemplateId, crate::ports::StoredTemplate>,
    domains: BTreeMap<crate::domains::DomainName, crate::domains::OrgDomain>,
    /// The index of deleted users a returning person could take over, by
    /// the keys it finds them by ([`crate::ports::ReturningIndex`]).
    returnable: HashMap<crate::directory::ReturningKey, BTreeSet<UserId>>,
    /// Whether every such deleted user is filed in `returnable`.
    returnable_indexed: bool,
}

/// One email's claim: when it was claimed, and whether it was sent.
#[derive(Debug, Clone, Copy)]
struct Claim {
    claimed_at: OffsetDateTime,
    sent: bool,
}

impl OrgTables {
    /// Files a deleted user under each key it can be found by.
    fn file_returnable(&mut self, deleted: &DirectoryUser) {
        for key in crate::directory::ReturningKey::all_of(deleted) {
            self.returnable
                .entry(key)
                .or_default()
                .insert(deleted.id.clone());
        }
    }

    /// Takes a deleted user out of the index (a returning person took it
    /// over).
    fn unfile_returnable(&mut self, taken: &DirectoryUser) {
        for key in crate::directory::ReturningKey::all_of(taken) {
            if let Some(ids) = self.returnable.get_mut(&key) {
                ids.remove(&taken.id);
                if ids.is_empty() {
                    self.returnable.remove(&key);
                }
            }
        }
    }

    /// The users a failure affects, in id order.
    fn failed(&self, failure: &Failure) -> Vec<FailedUser> {
        if failure.class == FailureClass::EmailFailed {
            return self.mail_failures.values().cloned().collect();
        }
        self.statuses
            .iter()
            .filter(|(_, s)| {
                s.last_outcome == Outcome::Failure && s.failure.as_ref() == Some(failure)
            })
            .map(|(user, s)| FailedUser {
                user_id: user.clone(),
                failure: failure.clone(),
                attempts: s.attempts,
                at: s.at.clone(),
                retried_at: s.retried_at.clone(),
            })
            .collect()
    }
}

#[derive(Default)]
struct Tables {
    orgs: HashMap<OrgId, OrgTables>,
    jobs: Vec<EntitlementJob>,
    mails: Vec<MailJob>,
    /// dead-lettered jobs, with the class they were tagged with
    dead_jobs: Vec<(EntitlementJob, FailureClass)>,
    dead_mails: Vec<MailJob>,
    /// received jobs made invisible: (delivery, seconds)
    delays: Vec<(DeliveryToken, u32)>,
    /// the global domain claims, by domain
    domain_claims: HashMap<crate::domains::DomainName, crate::domains::DomainClaim>,
    /// identity provider configurations, by organization
    sso: HashMap<OrgId, crate::sso::SsoConfig>,
    /// the (issuer, client id) index
    sso_clients: HashMap<(String, String), OrgId>,
}

/// The activity retention of an organization without its own, in days (the
/// stack's `ActivityRetentionDays` default).
pub const DEFAULT_ACTIVITY_RETENTION_DAYS: u32 = 365;

/// Every store port in memory.
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Users returned by `list_users` so far (what a listing reads).
    users_listed: std::sync::atomic::AtomicUsize,
    /// How many of the next group updates another writer gets in before.
    group_races: std::sync::atomic::AtomicUsize,
    clock: Arc<dyn Clock + Send + Sync>,
    activity_retention_days: u32,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            tables: Mutex::default(),
            users_listed: std::sync::atomic::AtomicUsize::new(0),
            group_races: std::sync::atomic::AtomicUsize::new(0),
            clock: Arc::new(SystemClock),
            activity_retention_days: DEFAULT_ACTIVITY_RETENTION_DAYS,
        }
    }
}

impl MemoryStore {
    /// An empty store whose time is `clock`'s (email claims turn stale and
    /// activity entries expire by it).
    pub fn with_clock(clock: Arc<dyn Clock + Send + Sync>) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Keeps activity entries of organizations without their own retention
    /// for `days` (by default [`DEFAULT_ACTIVITY_RETENTION_DAYS`]).
    #[must_use]
    pub fn with_activity_retention(mut self, days: u32) -> Self {
        self.activity_retention_days = days;
        self
    }

    /// Before each of the next `races` group updates, another writer
    /// updates the group first (a new version, renamed "… (renamed
    /// meanwhile)"), so that the update meets a version that moved on.
    pub fn race_group_updates(&self, races: usize) {
        self.group_races
            .store(races, std::sync::atomic::Ordering::SeqCst);
    }

    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn tables(&self) -> MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the organization's data (created empty on first use).
    fn with_org<T>(&self, org: &OrgId, f: impl FnOnce(&mut OrgTables) -> T) -> T {
        let mut t = self.tables();
        if let Some(o) = t.orgs.get_mut(org) {
            return f(o);
        }
        f(t.orgs.entry(org.clone()).or_default())
    }

    /// Users `list_users` has returned so far: the items a listing read.
    pub fn users_listed(&self) -> usize {
        self.users_listed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Directory users stored.
    pub fn user_count(&self) -> usize {
        self.tables().orgs.values().map(|o| o.users.len()).sum()
    }

    /// Stores an organization's rules and sync switch as they are.
    pub fn put_rule_set(&self, org: &OrgId, set: RuleSet) {
        self.with_org(org, |o| o.rule_set = Some(set));
    }

    /// Takes the jobs sent so far.
    pub fn take_jobs(&self) -> Vec<EntitlementJob> {
        std::mem::take(&mut self.tables().jobs)
    }

    /// Takes the mail jobs sent so far.
    pub fn take_mails(&self) -> Vec<MailJob> {
        std::mem::take(&mut self.tables().mails)
    }

    /// The jobs in the dead-letter queue, with their classes.
    pub fn dead_jobs(&self) -> Vec<(EntitlementJob, FailureClass)> {
        self.tables().dead_jobs.clone()
    }

    /// The mail jobs in the mail dead-letter queue.
    pub fn dead_mails(&self) -> Vec<MailJob> {
        self.tables().dead_mails.clone()
    }

    /// The received jobs made invisible so far, and for how long.
    pub fn delays(&self) -> Vec<(DeliveryToken, u32)> {
        self.tables().delays.clone()
    }
}

/// The keys after `start_after`.
fn after<K>(start_after: Option<&K>) -> (Bound<&K>, Bound<&K>) {
    (
        start_after.map_or(Bound::Unbounded, Bound::Excluded),
        Bound::Unbounded,
    )
}

/// The first `limit` of `items` (in id order), and the cursor of the next
/// page when there is one.
fn page<'a, K: Clone + 'a, T: Clone + 'a>(
    mut items: impl Iterator<Item = (&'a K, &'a T)>,
    limit: usize,
) -> (Vec<T>, Option<K>) {
    let mut out = Vec::new();
    let mut last = None;
    for (id, item) in items.by_ref().take(limit) {
        out.push(item.clone());
        last = Some(id);
    }
    let next = items.next().and(last).cloned();
    (out, next)
}

impl OrgTables {
    /// Stores a user, keeping the externalId index in step.
    fn put_user(&mut self, user: &StoredUser) {
        if let Some(old) = self
            .users
            .insert(user.user.id.clone(), user.clone())
            .and_then(|u| u.user.external_id)
            && let Some(ids) = self.external_ids.get_mut(&old)
        {
            ids.remove(&user.user.id);
        }
        if let Some(x) = user.user.external_id.as_ref().filter(|x| !x.is_empty()) {
            self.external_ids
                .entry(x.clone())
                .or_default()
                .insert(user.user.id.clone());
        }
    }
}
