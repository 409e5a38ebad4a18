//! From "these users are affected" to stored desired states and jobs, and
//! fan-out tasks processed a bounded chunk at a time.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use tracing::{debug, info};
use user_sync_core::StoreError;
use user_sync_core::clock::Clock;
use user_sync_core::fanout::{FanOutScope, FanOutTask, Source};
use user_sync_core::ids::{GroupId, OrgId, RuleId, UserId};
use user_sync_core::job::EntitlementJob;
use user_sync_core::language::account_language;
use user_sync_core::ports::{
    Configuration, DesiredWrite, Directory, FanOuts, JobQueue, Organizations, ReconcileInputs,
    ReconcileReads, StoredUser, SyncSettings, SyncState,
};
use user_sync_core::rules::preview::moved;
use user_sync_core::rules::{Rule, RuleIndex};
use user_sync_core::state::{
    Computed, Decision, DesiredState, SyncStatus, decide, decide_forced, unchanged,
};

use crate::Affected;
use crate::kept_rules::KeptRules;
use crate::languages::DefaultLanguages;
use crate::tally::Tally;

/// An organization's configuration, read once per batch.
#[derive(Debug, Clone)]
pub struct Context {
    pub rules: Vec<Rule>,
    /// The rules by group: every user of the batch is assigned through it.
    pub index: RuleIndex,
    pub sync: SyncSettings,
    /// The groups the rules name: the only memberships that matter.
    pub rule_groups: BTreeSet<GroupId>,
    /// The organization's default language: the account's language when
    /// neither a rule nor the directory gives one.
    pub default_language: Option<String>,
}

impl Context {
    pub fn new(rules: Vec<Rule>, sync: SyncSettings, default_language: Option<String>) -> Self {
        let rule_groups = rules.iter().map(|r| r.group_id.clone()).collect();
        Self {
            index: RuleIndex::new(&rules),
            rules,
            sync,
            rule_groups,
            default_language,
        }
    }
}

/// Users per fan-out chunk: one chunk is one invocation's work, far within
/// the function's timeout at any group size.
pub const CHUNK: usize = 500;
/// Desired-state writes in flight at once.
const WRITE_CONCURRENCY: usize = 16;
/// Attempts when another invocation moved a user's generation meanwhile.
const CONFLICT_ATTEMPTS: usize = 3;

pub struct Reconciler<'a, D, S, R, Q> {
    pub directory: &'a D,
    pub state: &'a S,
    /// Users, memberships and states read together.
    pub reads: &'a R,
    pub jobs: &'a Q,
    /// The organizations' default languages, kept while the instance is warm.
    pub languages: &'a DefaultLanguages,
    /// The organizations' rules, kept while their version does not move.
    pub rules: &'a KeptRules,
    /// The time tasks and desired states are stamped with.
    pub clock: &'a dyn Clock,
    /// What the record being processed did, for its metrics line.
    pub tally: Tally,
}

/// What every decision of one reconcile shares.
struct Round<'r> {
    org: &'r OrgId,
    ctx: &'r Context,
    /// Why the users are reconciled (a stream sequence number or a chunk).
    cause: &'r str,
    /// A forced reconcile (see [`decide_forced`]).
    force: bool,
    clock: &'r dyn Clock,
}

/// One user's decision, ready to be written.
struct Pending {
    user: UserId,
    next: DesiredState,
    expected: Option<u64>,
    job: bool,
}

impl<D, S, R, Q> Reconciler<'_, D, S, R, Q>
where
    D: Directory + Configuration + FanOuts + Organizations,
    S: SyncState,
    R: ReconcileReads,
    Q: JobQueue,
{
    /// Does what one record asks; `cause` is its sequence number.
    pub async fn apply(
        &self,
        contexts: &mut HashMap<OrgId, Context>,
        affected: Affected,
        cause: &str,
    ) -> Result<(), StoreError> {
        let Some(org) = affected.org().cloned() else {
            return Ok(());
        };
        // A rule, order or sync change alters the configuration itself: what
        // was read earlier in this batch is stale now.
        if matches!(
            affected,
            Affected::Groups(..)
                | Affected::Reordered(..)
                | Affected::Everyone(_)
                | Affected::Switched(_)
        ) {
            contexts.remove(&org);
        }
        if !contexts.contains_key(&org) {
            // users of an organization whose rules this instance kept: their
            // reads and the configuration's version in one call, the rules
            // used as kept when the version is still theirs
            if let Affected::Users(_, users) = &affected
                && let Some((version, kept)) = self.rules.of(&org)
            {
                let ids: Vec<UserId> = users.iter().cloned().collect();
                let groups = kept.iter().map(|r| r.group_id.clone()).collect();
                let (mut read, stamp) = self.reads.users_with_config(&org, &ids, &groups).await?;
                if stamp.version == version {
                    let default_language = self.languages.of(self.directory, &org).await?;
                    let ctx = Context::new(kept.to_vec(), stamp.sync, default_language);
                    let ctx = contexts.entry(org.clone()).or_insert(ctx);
                    if !ctx.sync.enabled {
                        debug!(org = %org, "sync is off");
                        return Ok(());
                    }
                    let users = std::mem::take(&mut read.users);
                    return self
                        .decide(&org, ctx, users, read, cause, false)
                        .await
                        .map(drop);
                }
            }
            let set = self.directory.rule_set(&org).await?;
            let rules = set.rules();
            self.rules.keep(&org, set.version, &rules);
            // one GetItem per organization and warm instance (5 minutes)
            let default_language = self.languages.of(self.directory, &org).await?;
            contexts.insert(org.clone(), Context::new(rules, set.sync, default_language));
        }
        let Some(ctx) = contexts.get(&org) else {
            return Ok(());
        };
        if !ctx.sync.enabled {
            // nothing is applied while sync is off; turning it on reconciles
            // everyone, so a fan-out under way can stop
            debug!(org = %org, "sync is off");
            if let Affected::Chunk(_, task) = affected {
                self.cancel(&org, &task).await?;
            }
            return Ok(());
        }
        let start = |reason: &str, scope: FanOutScope| {
            FanOutTask::new(
                format!("{reason}-{cause}"),
                reason,
                scope,
                self.clock.timestamp(),
            )
        };
        match affected {
            Affected::Nobody | Affected::Switched(_) => Ok(()),
            Affected::Users(_, users) => {
                let ids: Vec<UserId> = users.into_iter().collect();
                self.reconcile_ids(&org, ctx, &ids, cause, false)
                    .await
                    .map(drop)
            }
            Affected::Groups(_, groups) => {
                let task = start(
                    "rule",
                    FanOutScope::Groups {
                        groups: groups.into_iter().collect(),
                    },
                );
                self.start(&org, &task).await
            }
            Affected::Reordered(_, old, new) => {
                let kept_old: Vec<&RuleId> = old.iter().filter(|id| new.contains(id)).collect();
                let kept_new: Vec<&RuleId> = new.iter().filter(|id| old.contains(id)).collect();
                let moved: BTreeSet<&RuleId> = moved(&kept_old, &kept_new).into_iter().collect();
                let groups: BTreeSet<GroupId> = ctx
                    .rules
                    .iter()
                    .filter(|r| moved.contains(&r.id))
                    .map(|r| r.group_id.clone())
                    .collect();
                if groups.is_empty() {
                    return Ok(());
                }
                let task = start(
                    "order",
                    FanOutScope::Groups {
                        groups: groups.into_iter().collect(),
                    },
                );
                self.start(&org, &task).await
            }
            Affected::Everyone(_) => {
                self.start(&org, &start("sync_on", FanOutScope::Everyone))
                    .await
            }
            Affected::Chunk(_, task) => self.chunk(&org, &task, ctx.default_language.clone()).await,
        }
    }

    /// Starts a fan-out, counting the users it expects to reach (its
    /// progress metric's starting point).
    async fn start(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        let expected = self.expected(org, &task.scope).await?;
        let task = FanOutTask {
            expected: Some(expected),
            ..task.clone()
        };
        info!(org = %org, task = %task.id, reason = %task.reason, expected, "fan-out started");
        self.tally.fan_out(task.remaining());
        self.directory.start_fan_out(org, &task).await
    }

    /// The users a fan-out over `scope` expects to reach (a user in two of
    /// its groups counts twice, as the fan-out reaches it twice).
    async fn expected(&self, org: &OrgId, scope: &FanOutScope) -> Result<u64, StoreError> {
        Ok(match scope {
            FanOutScope::Everyone => self.directory.count_users(org).await?,
            FanOutScope::Groups { groups } => {
                let mut n = 0u64;
                for g in groups {
                    n += self.directory.count_members(org, g).await?;
                }
                n
            }
        })
    }

    async fn cancel(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        let mut done = task.clone();
        done.chunk += 1;
        done.done = true;
        done.updated_at = self.clock.timestamp();
        match self.directory.advance_fan_out(org, &done).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {
                info!(org = %org, task = %task.id, "fan-out stopped: sync is off");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// One chunk of a fan-out task: a page of users reconciled, then the
    /// position stored, which triggers the next chunk. `default_language`
    /// is the organization's, as the batch read it.
    async fn chunk(
        &self,
        org: &OrgId,
        seen: &FanOutTask,
        default_language: Option<String>,
    ) -> Result<(), StoreError> {
        // a replayed record of a chunk done before: the stored task is ahead
        let Some(task) = self.directory.get_fan_out(org, &seen.id).await? else {
            return Ok(());
        };
        if task.done || task.chunk != seen.chunk {
            return Ok(());
        }
        // a task started elsewhere (ops) is counted at its first chunk
        let task = match task.expected {
            Some(_) => task,
            None => FanOutTask {
                expected: Some(self.expected(org, &task.scope).await?),
                ..task
            },
        };
        let after = task.position.after.as_ref();
        let (listed, next) = match task.source() {
            Source::Finished => (Listed::Ids(Vec::new()), None),
            Source::Group(group) => {
                let (ids, next) = self.directory.members(org, group, after, CHUNK).await?;
                (Listed::Ids(ids), next)
            }
            Source::Everyone => {
                let (users, next) = self.directory.list_users(org, after, CHUNK).await?;
                (Listed::Users(users), next)
            }
        };
        // The configuration is read after the users: a user the listing
        // holds that was created after sync went off cannot meet a
        // configuration read before it (the batch's may be older).
        let (rules, sync) = self.directory.rules_and_sync(org).await?;
        if !sync.enabled {
            return self.cancel(org, &task).await;
        }
        let ctx = Context::new(rules, sync, default_language);
        let cause = task.chunk_cause();
        let force = task.force;
        let (users, jobs) = match listed {
            // a drift check: the accounts are read back, nothing is decided
            listed if task.check => {
                let ids = listed.ids();
                (ids.len(), self.check_users(org, &ids, &task.id).await?)
            }
            Listed::Ids(ids) => (
                ids.len(),
                self.reconcile_ids(org, &ctx, &ids, &cause, force).await?,
            ),
            Listed::Users(users) => (
                users.len(),
                self.reconcile(org, &ctx, users, &cause, force).await?,
            ),
        };
        let advanced = task.advanced(
            u64::try_from(users).unwrap_or(u64::MAX),
            u64::try_from(jobs).unwrap_or(u64::MAX),
            next,
            self.clock.timestamp(),
        );
        info!(
            org = %org,
            task = %task.id,
            chunk = advanced.chunk,
            users = advanced.users,
            jobs = advanced.jobs,
            done = advanced.done,
            "fan-out progress"
        );
        self.tally.fan_out(advanced.remaining());
        match self.directory.advance_fan_out(org, &advanced).await {
            Ok(()) if advanced.done && advanced.check => self.drift_summary(org, &advanced).await,
            // another invocation advanced it: its record carries on
            Ok(()) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn reconcile_ids(
        &self,
        org: &OrgId,
        ctx: &Context,
        ids: &[UserId],
        cause: &str,
        force: bool,
    ) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        // the users, their memberships and their states: one batched read
        let mut read = self
            .reads
            .users_to_reconcile(org, ids, &ctx.rule_groups)
            .await?;
        let users = std::mem::take(&mut read.users);
        self.decide(org, ctx, users, read, cause, force).await
    }

    /// Reconciles listed users: their memberships and states read in one
    /// batched read, then [`Reconciler::decide`].
    async fn reconcile(
        &self,
        org: &OrgId,
        ctx: &Context,
        users: Vec<StoredUser>,
        cause: &str,
        force: bool,
    ) -> Result<usize, StoreError> {
        if users.is_empty() {
            return Ok(0);
        }
        let ids: Vec<UserId> = users.iter().map(|u| u.user.id.clone()).collect();
        let read = self
            .reads
            .states_to_reconcile(org, &ids, &ctx.rule_groups)
            .await?;
        self.decide(org, ctx, users, read, cause, force).await
    }

    /// Decides for users from what was read of them: one conditional write
    /// per changed user (every user when `force`), jobs sent in batches.
    /// Returns the number of jobs sent.
    async fn decide(
        &self,
        org: &OrgId,
        ctx: &Context,
        users: Vec<StoredUser>,
        read: ReconcileInputs,
        cause: &str,
        force: bool,
    ) -> Result<usize, StoreError> {
        if users.is_empty() {
            return Ok(0);
        }
        let ids: Vec<UserId> = users.iter().map(|u| u.user.id.clone()).collect();
        let ReconcileInputs {
            mut memberships,
            mut states,
            ..
        } = read;
        let round = Round {
            org,
            ctx,
            cause,
            force,
            clock: self.clock,
        };
        let mut jobs: Vec<EntitlementJob> = Vec::new();
        let mut writes: Vec<Pending> = Vec::new();
        for user in users {
            let id = user.user.id.clone();
            let groups = memberships.remove(&id).unwrap_or_default();
            let (stored, status) = states.remove(&id).unwrap_or_default();
            match step(&round, &user, &groups, (stored.as_ref(), status.as_ref())) {
                Step::Nothing => {}
                Step::Send(j) => jobs.push(j),
                Step::Write(w) => writes.push(*w),
            }
        }
        // the decisions stored together (a fan-out's chunk: a few calls for
        // hundreds of users); a user whose state another invocation moved
        // meanwhile is decided again from fresh reads
        let stored = self
            .state
            .put_desired_many(
                org,
                &writes
                    .iter()
                    .map(|w| DesiredWrite {
                        user: &w.user,
                        state: &w.next,
                        expected_generation: w.expected,
                    })
                    .collect::<Vec<_>>(),
            )
            .await;
        let mut first_error = None;
        let mut moved = Vec::new();
        for (w, r) in writes.into_iter().zip(stored) {
            match r {
                Ok(()) if w.job => jobs.push(EntitlementJob::of_state(org, &w.user, &w.next)),
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => moved.push(w.user),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let results: Vec<Result<Option<EntitlementJob>, StoreError>> = futures::stream::iter(moved)
            .map(|user| self.decide_again(&round, user))
            .buffer_unordered(WRITE_CONCURRENCY)
            .collect()
            .await;
        for r in results {
            match r {
                Ok(Some(j)) => jobs.push(j),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // send what was decided even if another user failed: the retry finds
        // the same cause on what this attempt stored, and resends only that
        self.jobs.send_jobs(&jobs).await?;
        self.tally.reconciled(ids.len(), jobs.len());
        if !jobs.is_empty() {
            info!(org = %org, jobs = jobs.len(), "jobs enqueued");
        }
        first_error.map_or(Ok(jobs.len()), Err)
    }

    /// Decides again for a user whose state another invocation moved after
    /// it was read, from fresh reads, and stores that decision; as long as
    /// the state keeps moving, again (up to [`CONFLICT_ATTEMPTS`] writes in
    /// all).
    async fn decide_again(
        &self,
        round: &Round<'_>,
        user: UserId,
    ) -> Result<Option<EntitlementJob>, StoreError> {
        let Round { org, ctx, .. } = *round;
        for _ in 1..CONFLICT_ATTEMPTS {
            let Some(stored_user) = self.directory.get_user(org, &user).await? else {
                return Ok(None);
            };
            let groups: BTreeSet<GroupId> = self
                .directory
                .groups_of(org, &user)
                .await?
                .intersection(&ctx.rule_groups)
                .cloned()
                .collect();
            let (stored, status) = self.state.user_state(org, &user).await?;
            let w = match step(
                round,
                &stored_user,
                &groups,
                (stored.as_ref(), status.as_ref()),
            ) {
                Step::Nothing => return Ok(None),
                Step::Send(j) => return Ok(Some(j)),
                Step::Write(w) => *w,
            };
            match self
                .state
                .put_desired(org, &w.user, &w.next, w.expected)
                .await
            {
                Ok(()) => {
                    return Ok(w
                        .job
                        .then(|| EntitlementJob::of_state(org, &w.user, &w.next)));
                }
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict("the desired state kept moving".into()))
    }
}

/// The users a chunk reads: member ids, or listed users.
enum Listed {
    Ids(Vec<UserId>),
    Users(Vec<StoredUser>),
}

impl Listed {
    fn ids(self) -> Vec<UserId> {
        match self {
            Listed::Ids(ids) => ids,
            Listed::Users(users) => users.into_iter().map(|u| u.user.id).collect(),
        }
    }
}

/// What to do for one user.
enum Step {
    Nothing,
    Send(EntitlementJob),
    Write(Box<Pending>),
}

/// Computes one user's assignment and decides against what is stored.
fn step(
    round: &Round<'_>,
    user: &StoredUser,
    groups: &BTreeSet<GroupId>,
    (stored, status): (Option<&DesiredState>, Option<&SyncStatus>),
) -> Step {
    let Round {
        org,
        ctx,
        cause,
        force,
        clock,
    } = *round;
    let facts = user.user.facts();
    let assigned = ctx.index.assign(facts.status, groups);
    let applied = status.map_or(0, |s| s.applied_generation);
    let default_language = ctx.default_language.as_deref();
    // most users of a fan-out or a batch: nothing changed, so nothing is
    // copied out of the rules
    if !force && unchanged(stored, applied, &facts, &assigned, default_language) {
        return Step::Nothing;
    }
    let assignment = assigned.to_assignment();
    let language = account_language(&assignment, &facts, default_language);
    let computed = Computed {
        facts,
        assignment,
        language,
        now: clock.timestamp(),
        cause: cause.to_owned(),
    };
    let id = user.user.id.clone();
    let expected = stored.map(|s| s.generation);
    let write = |next, job| {
        Step::Write(Box::new(Pending {
            user: id.clone(),
            next,
            expected,
            job,
        }))
    };
    let decision = if force {
        decide_forced(stored, applied, computed)
    } else {
        decide(stored, applied, computed)
    };
    match decision {
        Decision::Nothing => Step::Nothing,
        // the stored state is the one resent
        Decision::Resend(g) => Step::Send(match stored.filter(|s| s.generation == g) {
            Some(s) => EntitlementJob::of_state(org, &id, s),
            None => EntitlementJob::new(org, &id, g),
        }),
        Decision::StoreOnly(next) => write(next, false),
        Decision::Apply(next) => write(next, true),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
