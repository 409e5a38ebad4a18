//! `ops reconcile`, `ops scrub-secrets` and `ops index-deleted-users`:
//! whole-organization repairs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::StoreError;
use user_sync_core::clock::Clock;
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Configuration, FanOuts};
use user_sync_core::returning::index_organization;
use user_sync_core::scrub::scrub_organization;

use super::{
    Ctx, Failure, OrgOrAllArgs, Out, ReconcileArgs, Report, given_or_all, line, require_org,
    store_error,
};

/// How often `reconcile` reads its task's progress.
const POLL: Duration = Duration::from_secs(1);

pub(super) fn task_json(org: &OrgId, t: &FanOutTask) -> Value {
    json!({
        "orgId": org,
        "taskId": t.id,
        "reason": t.reason,
        "done": t.done,
        "chunks": t.chunk,
        "users": t.users,
        "jobs": t.jobs,
        "startedAt": t.created_at,
        "updatedAt": t.updated_at,
    })
}

pub(super) async fn reconcile(
    ctx: &Ctx<'_>,
    args: &ReconcileArgs,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let org = &args.org_id;
    let store = ctx.directory()?;
    require_org(&store, org).await?;
    let (_, sync) = store
        .rules_and_sync(org)
        .await
        .map_err(|e| store_error("read the sync switch", e))?;
    if !sync.enabled {
        return Err(Failure::Failed(format!(
            "sync is off for organization {org}: nothing is applied while it is off, and turning it on reconciles every user"
        )));
    }
    let mut random = [0u8; 4];
    getrandom::fill(&mut random)
        .map_err(|e| Failure::Failed(format!("no random bytes for the task id: {e}")))?;
    let now = ctx.clock.now();
    let stamp = now.unix_timestamp();
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let task = FanOutTask::forced_reconcile(
        format!("reconcile-{stamp}-{suffix}"),
        user_sync_core::time::format(now),
    );
    store
        .start_fan_out(org, &task)
        .await
        .map_err(|e| store_error("start the reconcile", e))?;
    line(
        err,
        format!(
            "task {} started: every directory user of organization {org} goes to the product API again",
            task.id
        ),
    );
    if args.no_wait {
        return Ok(Report::new(
            vec![format!(
                "task {}: started (follow it in GET /sync, fanOuts)",
                task.id
            )],
            task_json(org, &task),
        ));
    }
    follow(&store, org, &task, args.timeout, err).await
}

/// Follows a fan-out task until it is done (or `timeout` seconds pass),
/// printing its progress to `err`.
pub(super) async fn follow(
    store: &user_sync_aws::dynamo::DirectoryTable,
    org: &OrgId,
    task: &FanOutTask,
    timeout: u64,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut shown = (0, 0);
    loop {
        tokio::time::sleep(POLL).await;
        let current = store
            .get_fan_out(org, &task.id)
            .await
            .map_err(|e| store_error("read the task's progress", e))?
            .ok_or_else(|| Failure::Failed(format!("task {} disappeared", task.id)))?;
        if (current.users, current.jobs) != shown {
            shown = (current.users, current.jobs);
            line(
                err,
                format!(
                    "... {} users reconciled, {} jobs sent ({} chunks)",
                    current.users, current.jobs, current.chunk
                ),
            );
        }
        if current.done {
            return Ok(Report::new(
                vec![format!(
                    "task {}: done, {} users reconciled, {} jobs sent",
                    current.id, current.users, current.jobs
                )],
                task_json(org, &current),
            ));
        }
        if Instant::now() >= deadline {
            return Err(Failure::Failed(format!(
                "task {} is still running after {} s ({} users, {} jobs so far); it goes on: follow it in GET /sync",
                current.id, timeout, current.users, current.jobs
            )));
        }
    }
}

/// A pass over every user of one organization or of all: `scrub-secrets`
/// or `index-deleted-users`. Each counts the users it examined and those it
/// did something for; the words are its own.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pass {
    /// Removes the secrets earlier versions stored with users.
    ScrubSecrets,
    /// Files the deleted users for returning people, then marks the
    /// organization indexed (see `user_sync_core::returning`).
    IndexDeletedUsers,
}

impl Pass {
    /// The JSON name of what it did.
    fn done_key(self) -> &'static str {
        match self {
            Self::ScrubSecrets => "scrubbed",
            Self::IndexDeletedUsers => "filed",
        }
    }

    /// Its line after each page, and after each organization.
    fn progress(self, org: &OrgId, examined: u64, done: u64) -> String {
        match self {
            Self::ScrubSecrets => format!("... {org}: {examined} users examined, {done} scrubbed"),
            Self::IndexDeletedUsers => {
                format!("... {org}: {examined} users examined, {done} deleted users filed")
            }
        }
    }

    fn per_org(self, org: &OrgId, examined: u64, done: u64) -> String {
        match self {
            Self::ScrubSecrets => {
                format!("organization {org}: {done} of {examined} users scrubbed")
            }
            Self::IndexDeletedUsers => {
                format!(
                    "organization {org}: {done} deleted users filed of {examined} users; indexed"
                )
            }
        }
    }

    fn total(self, examined: u64, done: u64, orgs: usize) -> String {
        match self {
            Self::ScrubSecrets => {
                format!("scrubbed {done} of {examined} users in {orgs} organization(s)")
            }
            Self::IndexDeletedUsers => {
                format!("filed {done} deleted users of {examined} users in {orgs} organization(s)")
            }
        }
    }

    fn stopped(self, org: &OrgId, e: &StoreError) -> String {
        match self {
            Self::ScrubSecrets => format!(
                "the scrub of organization {org} stopped: {e} (run it again: what was scrubbed stays scrubbed)"
            ),
            Self::IndexDeletedUsers => format!(
                "the index of organization {org} stopped: {e} (run it again: what was filed stays filed, and its creates look as before until it completes)"
            ),
        }
    }

    /// Runs over one organization: (examined, done).
    async fn run(
        self,
        store: &DirectoryTable,
        org: &OrgId,
        err: Out<'_>,
    ) -> Result<(u64, u64), StoreError> {
        match self {
            Self::ScrubSecrets => scrub_organization(store, org, |c| {
                line(&mut *err, self.progress(org, c.examined, c.scrubbed));
            })
            .await
            .map(|c| (c.examined, c.scrubbed)),
            Self::IndexDeletedUsers => index_organization(store, org, |c| {
                line(&mut *err, self.progress(org, c.examined, c.filed));
            })
            .await
            .map(|c| (c.examined, c.filed)),
        }
    }
}

/// `ops scrub-secrets` and `ops index-deleted-users`: the pass over the
/// organization given, or over every organization, with its progress on
/// stderr after each page.
pub(super) async fn whole_organization_pass(
    ctx: &Ctx<'_>,
    args: &OrgOrAllArgs,
    pass: Pass,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let orgs = given_or_all(&store, args.org_id.clone()).await?;
    let (mut examined, mut done) = (0u64, 0u64);
    let mut rows = Vec::new();
    let mut text = Vec::new();
    for org in &orgs {
        let (e, d) = pass
            .run(&store, org, &mut *err)
            .await
            .map_err(|e| Failure::Failed(pass.stopped(org, &e)))?;
        examined += e;
        done += d;
        text.push(pass.per_org(org, e, d));
        let mut row = json!({"orgId": org, "examined": e});
        row[pass.done_key()] = json!(d);
        rows.push(row);
    }
    text.push(pass.total(examined, done, orgs.len()));
    let mut out = json!({"organizations": rows, "examined": examined});
    out[pass.done_key()] = json!(done);
    Ok(Report::new(text, out))
}
