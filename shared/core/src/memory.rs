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
    AccountWrite, Configuration, Directory, EmailClaim, FanOuts, JobQueue, MailQueue, Organization,
    Organizations, ProductApi, ProductApiError, RuleSet, RuleWrite, Seats, StoredUser,
    SyncSettings, SyncState, UserStates, UserStatus,
};
use crate::progress::SyncSummary;
use crate::ratelimit::RateCounters;
use crate::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, ProductAccount,
    SyncStatus,
};

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

impl Organizations for MemoryStore {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.with_org(&org.id, |o| {
            if o.org.is_some() {
                return Err(StoreError::Conflict("organization exists".to_owned()));
            }
            o.org = Some(org.clone());
            Ok(())
        })
    }

    async fn update_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.with_org(&org.id, |o| match &mut o.org {
            None => Err(StoreError::NotFound),
            Some(stored) if stored.version != org.version => Err(StoreError::Conflict(
                "the organization was changed since it was read".to_owned(),
            )),
            Some(stored) => {
                *stored = org.clone();
                stored.version += 1;
                Ok(())
            }
        })
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.with_org(org, |o| o.org.clone()))
    }

    async fn list_orgs(
        &self,
        _cursor: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        Err(unsupported())
    }

    async fn put_token(&self, token: &StoredToken) -> Result<(), StoreError> {
        self.with_org(&token.org_id, |o| {
            o.tokens.insert(token.token_id.clone(), token.clone())
        });
        Ok(())
    }

    async fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.with_org(org, |o| o.tokens.get(token_id).cloned()))
    }

    async fn list_tokens(&self, org: &OrgId) -> Result<Vec<StoredToken>, StoreError> {
        Ok(self.with_org(org, |o| o.tokens.values().cloned().collect()))
    }

    async fn delete_token(&self, org: &OrgId, token_id: &str) -> Result<(), StoreError> {
        self.with_org(org, |o| o.tokens.remove(token_id));
        Ok(())
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

impl Directory for MemoryStore {
    async fn create_user(&self, org: &OrgId, user: &StoredUser) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let name = user.user.user_name.to_lowercase();
            if o.user_names.contains_key(&name) {
                return Err(StoreError::Conflict("userName taken".to_owned()));
            }
            if o.users.contains_key(&user.user.id) {
                return Err(StoreError::Conflict("id taken".to_owned()));
            }
            o.user_names.insert(name, user.user.id.clone());
            o.put_user(user);
            Ok(())
        })
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| o.users.get(id).cloned()))
    }

    async fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.user_names
                .get(&user_name.to_lowercase())
                .and_then(|id| o.users.get(id))
                .cloned()
        }))
    }

    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            match o.users.get(&user.user.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            let old_name = previous.user_name.to_lowercase();
            let new_name = user.user.user_name.to_lowercase();
            if old_name != new_name {
                if o.user_names.contains_key(&new_name) {
                    return Err(StoreError::Conflict("userName taken".to_owned()));
                }
                o.user_names.remove(&old_name);
                o.user_names.insert(new_name, user.user.id.clone());
            }
            o.put_user(user);
            Ok(())
        })
    }

    async fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let name = user.user.user_name.to_lowercase();
            if o.user_names.contains_key(&name) || o.users.contains_key(&user.user.id) {
                return Err(StoreError::Conflict("userName or id taken".to_owned()));
            }
            match o.users.get(&previous.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            if let Some(ids) = o.deleted_names.get_mut(&previous.user_name.to_lowercase()) {
                ids.remove(&previous.id);
            }
            o.user_names.insert(name, user.user.id.clone());
            o.put_user(user);
            o.put_user(handed_over);
            Ok(())
        })
    }

    async fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            match o.users.get(&previous.id) {
                Some(stored) if stored.user.version == previous.version => {}
                _ => return Err(StoreError::Conflict("version moved on".to_owned())),
            }
            let name = previous.user_name.to_lowercase();
            if o.user_names.get(&name) == Some(&previous.id) {
                o.user_names.remove(&name);
            }
            o.deleted_names
                .entry(name)
                .or_default()
                .insert(previous.id.clone());
            o.put_user(deleted);
            Ok(())
        })
    }

    async fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.deleted_names
                .get(&user_name.to_lowercase())
                .into_iter()
                .flatten()
                .filter_map(|id| o.users.get(id).cloned())
                .take(limit)
                .collect()
        }))
    }

    async fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            o.external_ids
                .get(external_id)
                .into_iter()
                .flatten()
                .filter_map(|id| o.users.get(id).cloned())
                .take(limit)
                .collect()
        }))
    }

    async fn find_users_by_email(
        &self,
        _org: &OrgId,
        _email: &str,
        _limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        Err(unsupported())
    }

    async fn find_groups_by_name(
        &self,
        _org: &OrgId,
        _name: &str,
        _limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        Err(unsupported())
    }

    async fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        let (users, next) = self.with_org(org, |o| {
            page(o.users.range::<UserId, _>(after(start_after)), limit)
        });
        self.users_listed
            .fetch_add(users.len(), std::sync::atomic::Ordering::Relaxed);
        Ok((users, next))
    }

    async fn create_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn get_group(
        &self,
        _org: &OrgId,
        _id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        Err(unsupported())
    }

    async fn list_groups(
        &self,
        _org: &OrgId,
        _start_after: Option<&GroupId>,
        _limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        Err(unsupported())
    }

    async fn update_group(&self, _org: &OrgId, _group: &DirectoryGroup) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn delete_group(&self, _org: &OrgId, _id: &GroupId) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let members = o.members.entry(group.clone()).or_default();
            for user in users {
                members.insert(user.clone());
                o.groups_of
                    .entry(user.clone())
                    .or_default()
                    .insert(group.clone());
            }
        });
        Ok(())
    }

    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            for user in users {
                if let Some(members) = o.members.get_mut(group) {
                    members.remove(user);
                }
                if let Some(groups) = o.groups_of.get_mut(user) {
                    groups.remove(group);
                }
            }
        });
        Ok(())
    }

    async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        Ok(self.with_org(org, |o| {
            o.members.get(group).map_or((Vec::new(), None), |m| {
                page(
                    m.range::<UserId, _>(after(start_after)).map(|id| (id, id)),
                    limit,
                )
            })
        }))
    }

    async fn groups_of(&self, org: &OrgId, user: &UserId) -> Result<BTreeSet<GroupId>, StoreError> {
        Ok(self.with_org(org, |o| o.groups_of.get(user).cloned().unwrap_or_default()))
    }

    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            ids.iter()
                .filter_map(|id| o.users.get(id).cloned())
                .collect()
        }))
    }

    async fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| {
                    let among: BTreeSet<GroupId> =
                        o.groups_of.get(u)?.intersection(groups).cloned().collect();
                    (!among.is_empty()).then(|| (u.clone(), among))
                })
                .collect()
        }))
    }

    async fn user_statuses(
        &self,
        _org: &OrgId,
        _start_after: Option<&UserId>,
        _limit: usize,
    ) -> Result<(Vec<UserStatus>, Option<UserId>), StoreError> {
        Err(unsupported())
    }

    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        let n = self.with_org(org, |o| o.members.get(group).map_or(0, BTreeSet::len));
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    async fn count_users(&self, org: &OrgId) -> Result<u64, StoreError> {
        let n = self.with_org(org, |o| o.users.len());
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

impl Configuration for MemoryStore {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        // an organization without rules has sync off, at version 0
        Ok(self
            .with_org(org, |o| o.rule_set.clone())
            .unwrap_or(RuleSet {
                rules: Vec::new(),
                sync: SyncSettings {
                    enabled: false,
                    changed_at: None,
                    changed_by: None,
                },
                version: 0,
            }))
    }

    async fn write_rules(
        &self,
        _org: &OrgId,
        _write: &RuleWrite,
        _order: &[RuleId],
        _read: &RuleSet,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn put_sync(
        &self,
        _org: &OrgId,
        _sync: &SyncSettings,
        _expected_version: u64,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
}

impl FanOuts for MemoryStore {
    async fn start_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            o.fan_outs
                .entry(task.id.clone())
                .or_insert_with(|| task.clone());
        });
        Ok(())
    }

    async fn get_fan_out(&self, org: &OrgId, id: &str) -> Result<Option<FanOutTask>, StoreError> {
        Ok(self.with_org(org, |o| o.fan_outs.get(id).cloned()))
    }

    async fn advance_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.fan_outs.get_mut(&task.id) {
            Some(stored) if stored.chunk.checked_add(1) == Some(task.chunk) => {
                *stored = task.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict("the task moved on".to_owned())),
        })
    }

    async fn running_fan_outs(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> Result<Vec<FanOutTask>, StoreError> {
        let mut running: Vec<FanOutTask> = self.with_org(org, |o| {
            o.fan_outs.values().filter(|t| !t.done).cloned().collect()
        });
        running.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        running.truncate(limit);
        Ok(running)
    }
}

impl SyncState for MemoryStore {
    async fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(Option<DesiredState>, Option<SyncStatus>), StoreError> {
        Ok(self.with_org(org, |o| {
            (o.desired.get(user).cloned(), o.statuses.get(user).cloned())
        }))
    }

    async fn user_states(&self, org: &OrgId, users: &[UserId]) -> Result<UserStates, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| {
                    let desired = o.desired.get(u).cloned();
                    let status = o.statuses.get(u).cloned();
                    (desired.is_some() || status.is_some()).then(|| (u.clone(), (desired, status)))
                })
                .collect()
        }))
    }

    async fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            if o.desired.get(user).map(|d| d.generation) != expected_generation {
                return Err(StoreError::Conflict("the generation moved on".to_owned()));
            }
            o.desired.insert(user.clone(), state.clone());
            Ok(())
        })
    }

    async fn record_outcome(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
        _entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        self.record_status(org, user, status).await
    }

    async fn append_activity(
        &self,
        _org: &OrgId,
        _entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn activity(
        &self,
        _org: &OrgId,
        _filter: &ActivityFilter,
        _before: Option<&str>,
        _limit: usize,
    ) -> Result<(Vec<ActivityEntry>, Option<String>), StoreError> {
        Err(unsupported())
    }

    async fn claim_email(
        &self,
        _org: &OrgId,
        _user: &UserId,
        _key: &str,
    ) -> Result<EmailClaim, StoreError> {
        Err(unsupported())
    }

    async fn email_sent(
        &self,
        _org: &OrgId,
        _user: &UserId,
        _key: &str,
        _entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn release_email(
        &self,
        _org: &OrgId,
        _user: &UserId,
        _key: &str,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn record_status(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let newer_success = o.statuses.get(user).is_some_and(|s| {
                s.applied_generation >= status.applied_generation && status.failure.is_none()
            });
            if newer_success {
                return Err(StoreError::Conflict("recorded before".to_owned()));
            }
            o.statuses.insert(user.clone(), status.clone());
            Ok(())
        })
    }

    async fn record_email_failure(
        &self,
        org: &OrgId,
        user: &UserId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let now = crate::time::format(time::OffsetDateTime::now_utc());
        self.with_org(org, |o| match reason {
            None => {
                o.mail_failures.remove(user);
            }
            Some(_) => {
                let f = o
                    .mail_failures
                    .entry(user.clone())
                    .or_insert_with(|| FailedUser {
                        user_id: user.clone(),
                        failure: Failure {
                            class: FailureClass::EmailFailed,
                            product: None,
                            domain: None,
                        },
                        attempts: 0,
                        at: now.clone(),
                        retried_at: None,
                    });
                f.attempts += 1;
                f.at = now;
            }
        });
        Ok(())
    }

    async fn mark_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        marked: &SyncStatus,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let waiting = o.statuses.get(user).is_some_and(|s| {
                s.last_outcome == Outcome::Failure
                    && s.applied_generation == marked.applied_generation
                    && s.retried_at
                        .as_deref()
                        .is_none_or(|r| r < not_retried_since)
            });
            if !waiting {
                return Err(StoreError::Conflict("retried or changed".to_owned()));
            }
            o.statuses.insert(user.clone(), marked.clone());
            Ok(())
        })
    }

    async fn mark_email_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        at: &str,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.mail_failures.get_mut(user) {
            Some(f)
                if f.retried_at
                    .as_deref()
                    .is_none_or(|r| r < not_retried_since) =>
            {
                f.retried_at = Some(at.to_owned());
                Ok(())
            }
            _ => Err(StoreError::Conflict("retried or gone".to_owned())),
        })
    }

    async fn failure_counts(&self, org: &OrgId) -> Result<Vec<FailureCount>, StoreError> {
        Ok(self.with_org(org, |o| {
            let mut counts: BTreeMap<(FailureClass, Option<String>), u64> = BTreeMap::new();
            for s in o.statuses.values() {
                if let Some(f) = s
                    .failure
                    .as_ref()
                    .filter(|_| s.last_outcome == Outcome::Failure)
                {
                    *counts.entry((f.class, f.product.clone())).or_default() += 1;
                }
            }
            if !o.mail_failures.is_empty() {
                counts.insert(
                    (FailureClass::EmailFailed, None),
                    u64::try_from(o.mail_failures.len()).unwrap_or(u64::MAX),
                );
            }
            counts
                .into_iter()
                .map(|((class, product), users)| FailureCount {
                    failure: Failure {
                        class,
                        product,
                        domain: None,
                    },
                    users,
                })
                .collect()
        }))
    }

    async fn failed_users(
        &self,
        org: &OrgId,
        failure: &Failure,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<FailedUser>, Option<UserId>), StoreError> {
        Ok(self.with_org(org, |o| {
            let failed: BTreeMap<UserId, FailedUser> = o
                .failed(failure)
                .into_iter()
                .map(|f| (f.user_id.clone(), f))
                .collect();
            page(failed.range::<UserId, _>(self::after(after)), limit)
        }))
    }

    async fn email_failures(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, FailedUser>, StoreError> {
        Ok(self.with_org(org, |o| {
            users
                .iter()
                .filter_map(|u| o.mail_failures.get(u).map(|f| (u.clone(), f.clone())))
                .collect()
        }))
    }

    async fn sync_summaries(
        &self,
        _org: &OrgId,
        _users: &[UserId],
    ) -> Result<HashMap<UserId, SyncSummary>, StoreError> {
        Err(unsupported())
    }
}

impl JobQueue for MemoryStore {
    async fn send_jobs(&self, jobs: &[EntitlementJob]) -> Result<(), StoreError> {
        self.tables().jobs.extend_from_slice(jobs);
        Ok(())
    }

    async fn dead_letter(
        &self,
        _job: &EntitlementJob,
        _class: FailureClass,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn retry_after(&self, _receipt_handle: &str, _seconds: u32) -> Result<(), StoreError> {
        Err(unsupported())
    }

    async fn defer(&self, job: &EntitlementJob, _seconds: u32) -> Result<(), StoreError> {
        self.tables().jobs.push(job.clone());
        Ok(())
    }
}

impl MailQueue for MemoryStore {
    async fn send_mail(&self, job: &MailJob) -> Result<(), StoreError> {
        self.tables().mails.push(job.clone());
        Ok(())
    }

    async fn dead_letter_mail(&self, _job: &MailJob) -> Result<(), StoreError> {
        Err(unsupported())
    }
}

/// The product API's seats per product; it answers `Unavailable` while
/// `down`, and takes every account.
#[derive(Default)]
pub struct MemoryProductApi {
    pub seats: Mutex<BTreeMap<String, Seats>>,
    pub down: bool,
}

impl ProductApi for MemoryProductApi {
    async fn put_account(
        &self,
        _org: &OrgId,
        _user_key: &UserId,
        _account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        Ok(AccountWrite::Updated)
    }

    async fn seats(&self, _org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        if self.down {
            return Err(ProductApiError::Unavailable("down".to_owned()));
        }
        Ok(self
            .seats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
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
