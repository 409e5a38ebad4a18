//! In-memory ports, for benchmarks that measure our own code without a
//! database, and for the domain services' unit tests: organizations and
//! tokens, the directory, the rules and sync switch, fan-out tasks, desired
//! states, sync statuses and failures, the jobs and mail queues, the product
//! API's seats, and the rate counters, in maps behind one mutex.
//!
//! What the benchmarked paths reach is implemented with the contract its
//! port states (conflicts included); every other method answers
//! [`StoreError::Invalid`] (never a panic), so a path that reaches one shows
//! up as a failed check.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::StoreError;
use crate::activity::{ActivityEntry, ActivityFilter};
use crate::auth::StoredToken;
use crate::directory::{DirectoryGroup, DirectoryUser};
use crate::fanout::FanOutTask;
use crate::ids::{GroupId, OrgId, RuleId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::ports::{
    AccountWrite, ActivityLog, Configuration, DesiredStates, EmailClaim, EmailClaims, FailureIndex,
    FanOuts, Groups, JobQueue, MailQueue, Memberships, Organization, Organizations, ProductApi,
    ProductApiError, RuleSet, RuleWrite, Seats, StoredUser, SyncOutcomes, SyncSettings, Tokens,
    UserLookup, UserStates, UserStatus, Users,
};
use crate::progress::SyncSummary;
use crate::ratelimit::RateCounters;
use crate::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, ProductAccount,
    SyncStatus,
};

mod configuration;
pub mod domains;
mod fan_outs;
mod groups;
mod organizations;
mod product_api;
mod queues;
mod sync_state;
pub mod templates;
mod users;

fn unsupported() -> StoreError {
    StoreError::Invalid("not implemented by the in-memory store".to_owned())
}

/// An active directory user named after its id (`{id}@example.com`), as
/// benchmarks fill a directory with.
pub fn member(id: &UserId) -> DirectoryUser {
    DirectoryUser {
        id: id.clone(),
        user_name: format!("{id}@example.com"),
        external_id: None,
        active: true,
        deleted: false,
        given_name: Some("Member".into()),
        family_name: None,
        email: Some(format!("{id}@example.com")),
        locale: None,
        created: "2026-11-22T00:00:00Z".into(),
        last_modified: "2026-11-22T00:00:00Z".into(),
        version: 1,
        link: Default::default(),
    }
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
    members: HashMap<GroupId, BTreeSet<UserId>>,
    groups_of: HashMap<UserId, BTreeSet<GroupId>>,
    rule_set: Option<RuleSet>,
    fan_outs: BTreeMap<String, FanOutTask>,
    desired: HashMap<UserId, DesiredState>,
    statuses: BTreeMap<UserId, SyncStatus>,
    /// welcome-email failures
    mail_failures: BTreeMap<UserId, FailedUser>,
}

impl OrgTables {
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
}

/// Every store port in memory.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
    /// Users returned by `list_users` so far (what a listing reads).
    users_listed: std::sync::atomic::AtomicUsize,
}

impl MemoryStore {
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
}

/// The keys after `start_after`.
fn after(start_after: Option<&UserId>) -> (Bound<&UserId>, Bound<&UserId>) {
    (
        start_after.map_or(Bound::Unbounded, Bound::Excluded),
        Bound::Unbounded,
    )
}

/// The first `limit` of `items` (in id order), and the cursor of the next
/// page when there is one.
fn page<'a, T: Clone + 'a>(
    mut items: impl Iterator<Item = (&'a UserId, &'a T)>,
    limit: usize,
) -> (Vec<T>, Option<UserId>) {
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
        if let Some(x) = &user.user.external_id {
            self.external_ids
                .entry(x.clone())
                .or_default()
                .insert(user.user.id.clone());
        }
    }
}

/// The product API's seats per product; it answers `Unavailable` while
/// `down`, and takes every account.
#[derive(Default)]
pub struct MemoryProductApi {
    pub seats: Mutex<BTreeMap<String, Seats>>,
    pub down: bool,
}

/// The organizations' shared request counts.
#[derive(Default)]
pub struct MemoryCounters {
    counts: Mutex<HashMap<(OrgId, String, u64), u32>>,
}

impl RateCounters for MemoryCounters {
    async fn take(
        &self,
        org: &OrgId,
        scope: &str,
        window: u64,
        amount: u32,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts
            .entry((org.clone(), scope.to_owned(), window))
            .or_insert(0);
        match count.checked_add(amount) {
            Some(next) if next <= limit => {
                *count = next;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
