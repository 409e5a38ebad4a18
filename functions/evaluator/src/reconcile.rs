//! From "these users are affected" to stored desired states and jobs.

use std::collections::{BTreeSet, HashMap};

use futures::StreamExt;
use tracing::{debug, info};
use user_sync_core::StoreError;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::job::EntitlementJob;
use user_sync_core::ports::{Configuration, Directory, JobQueue, SyncSettings, SyncState};
use user_sync_core::rules::{Rule, effective_assignment};
use user_sync_core::state::{Decision, decide};

use crate::Affected;

/// An organization's configuration, read once per batch.
#[derive(Debug, Clone)]
pub struct Context {
    pub rules: Vec<Rule>,
    pub sync: SyncSettings,
}

/// Users reconciled at once during a fan-out.
const FAN_OUT_CONCURRENCY: usize = 8;
/// Page size when listing members or users.
const PAGE: usize = 200;
/// Attempts when another invocation moved a user's generation meanwhile.
const CONFLICT_ATTEMPTS: usize = 3;

pub struct Reconciler<'a, D, S, Q> {
    pub directory: &'a D,
    pub state: &'a S,
    pub jobs: &'a Q,
}

impl<D, S, Q> Reconciler<'_, D, S, Q>
where
    D: Directory + Configuration,
    S: SyncState,
    Q: JobQueue,
{
    pub async fn apply(
        &self,
        contexts: &mut HashMap<OrgId, Context>,
        affected: Affected,
    ) -> Result<(), StoreError> {
        let org = match &affected {
            Affected::Nobody => return Ok(()),
            Affected::Users(org, _) | Affected::Groups(org, _) | Affected::Everyone(org) => {
                org.clone()
            }
        };
        // A rule or sync change alters the configuration itself: what was
        // read earlier in this batch is stale now.
        if matches!(affected, Affected::Groups(..) | Affected::Everyone(_)) {
            contexts.remove(&org);
        }
        if !contexts.contains_key(&org) {
            let (rules, sync) = self.directory.rules_and_sync(&org).await?;
            contexts.insert(org.clone(), Context { rules, sync });
        }
        let Some(ctx) = contexts.get(&org) else {
            return Ok(());
        };
        if !ctx.sync.enabled {
            // nothing is applied while sync is off; turning it on reconciles everyone
            debug!(org = %org, "sync is off");
            return Ok(());
        }
        match affected {
            Affected::Nobody => Ok(()),
            Affected::Users(_, users) => self.users(&org, ctx, users.into_iter().collect()).await,
            Affected::Groups(_, groups) => self.groups(&org, ctx, groups).await,
            Affected::Everyone(_) => self.everyone(&org, ctx).await,
        }
    }

    async fn groups(
        &self,
        org: &OrgId,
        ctx: &Context,
        groups: BTreeSet<GroupId>,
    ) -> Result<(), StoreError> {
        for group in groups {
            let mut after: Option<UserId> = None;
            loop {
                let (members, next) = self
                    .directory
                    .members(org, &group, after.as_ref(), PAGE)
                    .await?;
                self.users(org, ctx, members).await?;
                match next {
                    Some(n) => after = Some(n),
                    None => break,
                }
            }
        }
        Ok(())
    }

    async fn everyone(&self, org: &OrgId, ctx: &Context) -> Result<(), StoreError> {
        let mut after: Option<UserId> = None;
        loop {
            let (users, next) = self.directory.list_users(org, after.as_ref(), PAGE).await?;
            self.users(org, ctx, users.into_iter().map(|u| u.user.id).collect())
                .await?;
            match next {
                Some(n) => after = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// Reconciles users and sends their jobs in batches.
    async fn users(
        &self,
        org: &OrgId,
        ctx: &Context,
        users: Vec<UserId>,
    ) -> Result<(), StoreError> {
        let results: Vec<Result<Option<EntitlementJob>, StoreError>> = futures::stream::iter(users)
            .map(|user| self.user(org, ctx, user))
            .buffer_unordered(FAN_OUT_CONCURRENCY)
            .collect()
            .await;
        let mut jobs = Vec::new();
        let mut first_error = None;
        for r in results {
            match r {
                Ok(Some(job)) => jobs.push(job),
                Ok(None) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        // send what was decided even if another user failed: the retry
        // re-decides (and resends) only what is still outstanding
        self.jobs.send_jobs(&jobs).await?;
        if !jobs.is_empty() {
            info!(org = %org, jobs = jobs.len(), "jobs enqueued");
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Computes and stores one user's desired state; returns the job to send.
    async fn user(
        &self,
        org: &OrgId,
        ctx: &Context,
        user_id: UserId,
    ) -> Result<Option<EntitlementJob>, StoreError> {
        for _ in 0..CONFLICT_ATTEMPTS {
            let Some(user) = self.directory.get_user(org, &user_id).await? else {
                return Ok(None);
            };
            let groups = self.directory.groups_of(org, &user_id).await?;
            let facts = user.user.facts();
            let assignment = effective_assignment(facts.status, &groups, &ctx.rules);
            let (stored, status) = self.state.user_state(org, &user_id).await?;
            let applied = status.map_or(0, |s| s.applied_generation);
            let now = user_sync_core::time::format(time::OffsetDateTime::now_utc());
            let expected = stored.as_ref().map(|s| s.generation);
            let job = |generation| EntitlementJob {
                org_id: org.clone(),
                user_id: user_id.clone(),
                generation,
            };
            let outcome = match decide(stored.as_ref(), applied, facts, assignment, now) {
                Decision::Nothing => return Ok(None),
                Decision::Resend(g) => return Ok(Some(job(g))),
                Decision::StoreOnly(next) => self
                    .state
                    .put_desired(org, &user_id, &next, expected)
                    .await
                    .map(|()| None),
                Decision::Apply(next) => {
                    let g = next.generation;
                    self.state
                        .put_desired(org, &user_id, &next, expected)
                        .await
                        .map(|()| Some(job(g)))
                }
            };
            match outcome {
                Err(StoreError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(StoreError::Conflict("the desired state kept moving".into()))
    }
}
