//! Sync progress for `GET /sync`: the organization's users by sync status,
//! its failures by class, the jobs in flight, the users waiting for Retry
//! sync, and the last change the pipeline processed. Only this
//! organization's items are read (never the shared queues' depths).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::activity::{ActivityFilter, SYNC_USER};
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{Directory, SyncState};
use user_sync_core::progress::SyncCounts;
use user_sync_core::state::{Failure, FailureClass};

use crate::routes::{ApiError, now, store_error};

/// Users counted one by one at most; beyond, `"exact": false`.
pub const EXACT_UP_TO: u64 = 20_000;
/// Longest the count may take (API Gateway answers within 30 s).
const COUNT_BUDGET: Duration = Duration::from_secs(15);
/// Users listed per read of the directory.
const PAGE: usize = 2_500;
/// Activity entries looked at for the pipeline's newest one.
const ACTIVITY_LOOKBACK: usize = 50;
/// A count that took longer than this (a large organization) is reused by
/// this function instance for [`REUSE_FOR`]: an admin console polling
/// `GET /sync` then reads every user's state once a minute, not at every
/// poll. Smaller organizations are counted afresh every time.
const SLOW_COUNT: Duration = Duration::from_secs(1);
const REUSE_FOR: Duration = Duration::from_secs(60);

/// Recent slow counts, by organization: when they were made, and the answer.
static RECENT: Mutex<BTreeMap<OrgId, (Instant, Value)>> = Mutex::new(BTreeMap::new());

fn recent(org: &OrgId) -> Option<Value> {
    let recent = RECENT.lock().ok()?;
    recent
        .get(org)
        .filter(|(at, _)| at.elapsed() < REUSE_FOR)
        .map(|(_, v)| v.clone())
}

fn remember(org: &OrgId, value: &Value) {
    if let Ok(mut recent) = RECENT.lock() {
        recent.retain(|_, (at, _)| at.elapsed() < REUSE_FOR);
        recent.insert(org.clone(), (Instant::now(), value.clone()));
    }
}

/// The `progress` object of `GET /sync`.
pub async fn progress<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
) -> Result<Value, ApiError> {
    if let Some(v) = recent(org) {
        return Ok(v);
    }
    let started = Instant::now();
    let counted_at = now();
    let failures = state.failure_counts(org).await.map_err(store_error)?;
    let email_failed = email_failed_users(state, org).await?;
    let mut counts = SyncCounts::default();
    let mut after: Option<UserId> = None;
    let exact = loop {
        let (users, next) = directory
            .user_statuses(org, after.as_ref(), PAGE)
            .await
            .map_err(store_error)?;
        let ids: Vec<UserId> = users.into_iter().map(|(id, _)| id).collect();
        if !ids.is_empty() {
            let summaries = state.sync_summaries(org, &ids).await.map_err(store_error)?;
            for id in &ids {
                counts.add(summaries.get(id), email_failed.contains(id));
            }
        }
        match next {
            None => break true,
            Some(_) if counts.users >= EXACT_UP_TO || started.elapsed() > COUNT_BUDGET => {
                break false;
            }
            Some(n) => after = Some(n),
        }
    };
    let total = if exact {
        counts.users
    } else {
        directory.count_users(org).await.map_err(store_error)?
    };
    let by_class: serde_json::Map<String, Value> = failures
        .iter()
        .fold(
            std::collections::BTreeMap::<&str, u64>::new(),
            |mut m, c| {
                *m.entry(c.failure.class.as_str()).or_default() += c.users;
                m
            },
        )
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let failures_json: Vec<Value> = failures
        .iter()
        .map(|c| json!({"class": c.failure.class, "product": c.failure.product, "count": c.users}))
        .collect();
    let (entries, _) = state
        .activity(org, &ActivityFilter::default(), None, ACTIVITY_LOOKBACK)
        .await
        .map_err(store_error)?;
    let last = entries
        .iter()
        .find(|e| e.actor == SYNC_USER)
        .map(|e| json!({"at": e.at, "action": e.action}));
    let progress = json!({
        "countedAt": counted_at,
        "total": total,
        "counted": counts.users,
        "exact": exact,
        "inSync": counts.in_sync,
        "pending": counts.pending,
        "failed": counts.failed,
        "notSynced": counts.not_synced,
        "failedByClass": by_class,
        "failures": failures_json,
        "jobsInFlight": counts.pending,
        "deadLettered": counts.dead_lettered,
        "lastChangeProcessed": last,
    });
    if started.elapsed() > SLOW_COUNT {
        remember(org, &progress);
    }
    Ok(progress)
}

/// The users with a welcome-email failure, from the failures index (at most
/// [`EXACT_UP_TO`]).
async fn email_failed_users<S: SyncState>(
    state: &S,
    org: &OrgId,
) -> Result<HashSet<UserId>, ApiError> {
    let failure = Failure {
        class: FailureClass::EmailFailed,
        product: None,
    };
    let mut users = HashSet::new();
    let mut after = None;
    loop {
        let (page, next) = state
            .failed_users(org, &failure, after.as_ref(), PAGE)
            .await
            .map_err(store_error)?;
        users.extend(page.into_iter().map(|f| f.user_id));
        match next {
            Some(n) if (users.len() as u64) < EXACT_UP_TO => after = Some(n),
            _ => return Ok(users),
        }
    }
}
