//! `ops reconcile`, `ops scrub-secrets` and `ops index-deleted-users`:
//! whole-organization repairs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::clock::Clock;
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Configuration, FanOuts};
use user_sync_core::returning::{IndexCount, index_organization};
use user_sync_core::scrub::{ScrubCount, scrub_organization};

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

pub(super) async fn scrub_secrets(
    ctx: &Ctx<'_>,
    args: &OrgOrAllArgs,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let orgs = given_or_all(&store, args.org_id.clone()).await?;
    let mut total = ScrubCount::default();
    let mut rows = Vec::new();
    let mut text = Vec::new();
    for org in &orgs {
        let count = scrub_organization(&store, org, |c| {
            line(
                err,
                format!(
                    "... {org}: {} users examined, {} scrubbed",
                    c.examined, c.scrubbed
                ),
            );
        })
        .await
        .map_err(|e| {
            Failure::Failed(format!(
                "the scrub of organization {org} stopped: {e} (run it again: what was scrubbed stays scrubbed)"
            ))
        })?;
        total.examined += count.examined;
        total.scrubbed += count.scrubbed;
        text.push(format!(
            "organization {org}: {} of {} users scrubbed",
            count.scrubbed, count.examined
        ));
        rows.push(json!({
            "orgId": org,
            "examined": count.examined,
            "scrubbed": count.scrubbed,
        }));
    }
    text.push(format!(
        "scrubbed {} of {} users in {} organization(s)",
        total.scrubbed,
        total.examined,
        orgs.len()
    ));
    Ok(Report::new(
        text,
        json!({
            "organizations": rows,
            "examined": total.examined,
            "scrubbed": total.scrubbed,
        }),
    ))
}

/// `ops index-deleted-users`: files every deleted user of one organization,
/// or of all, under the keys a returning person finds it by, then marks the
/// organization indexed (see `user_sync_core::returning`).
pub(super) async fn index_deleted_users(
    ctx: &Ctx<'_>,
    args: &OrgOrAllArgs,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let orgs = given_or_all(&store, args.org_id.clone()).await?;
    let mut total = IndexCount::default();
    let mut rows = Vec::new();
    let mut text = Vec::new();
    for org in &orgs {
        let count = index_organization(&store, org, |c| {
            line(
                err,
                format!(
                    "... {org}: {} users examined, {} deleted users filed",
                    c.examined, c.filed
                ),
            );
        })
        .await
        .map_err(|e| {
            Failure::Failed(format!(
                "the index of organization {org} stopped: {e} (run it again: what was filed stays filed, and its creates look as before until it completes)"
            ))
        })?;
        total.examined += count.examined;
        total.filed += count.filed;
        text.push(format!(
            "organization {org}: {} deleted users filed of {} users; indexed",
            count.filed, count.examined
        ));
        rows.push(json!({
            "orgId": org,
            "examined": count.examined,
            "filed": count.filed,
        }));
    }
    text.push(format!(
        "filed {} deleted users of {} users in {} organization(s)",
        total.filed,
        total.examined,
        orgs.len()
    ));
    Ok(Report::new(
        text,
        json!({
            "organizations": rows,
            "examined": total.examined,
            "filed": total.filed,
        }),
    ))
}
