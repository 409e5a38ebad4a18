//! Sync progress for `GET /sync`: the organization's users by sync status,
//! its failures by class, the jobs in flight, the users waiting for Retry
//! sync, and the last change the pipeline processed. Only this
//! organization's items are read (never the shared queues' depths).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use user_sync_core::activity::{Action, ActivityFilter, SYNC_USER};
use user_sync_core::clock::{Clock, SystemClock};
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{Directory, SyncState};
use user_sync_core::progress::SyncCounts;
use user_sync_core::state::{Failure, FailureClass};

use crate::errors::{ApiError, store_error};

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
static RECENT: Mutex<BTreeMap<OrgId, (Instant, Progress)>> = Mutex::new(BTreeMap::new());

fn recent(org: &OrgId) -> Option<Progress> {
    let recent = RECENT.lock().ok()?;
    recent
        .get(org)
        .filter(|(at, _)| at.elapsed() < REUSE_FOR)
        .map(|(_, v)| v.clone())
}

fn remember(org: &OrgId, value: &Progress) {
    if let Ok(mut recent) = RECENT.lock() {
        recent.retain(|_, (at, _)| at.elapsed() < REUSE_FOR);
        recent.insert(org.clone(), (Instant::now(), value.clone()));
    }
}

/// Failed users of one class (and product, for `out_of_licenses`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailedCount {
    pub class: FailureClass,
    pub product: Option<String>,
    pub count: u64,
}

/// The newest change the pipeline processed.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LastChange {
    pub at: String,
    pub action: Action,
}

/// The `progress` object of `GET /sync` (docs/admin-api.md says what each
/// figure means).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// When the users were counted (a large organization's count is reused
    /// for a minute).
    pub counted_at: String,
    /// Users of the organization.
    pub total: u64,
    /// Users counted: `total` when `exact`.
    pub counted: u64,
    pub exact: bool,
    pub in_sync: u64,
    pub pending: u64,
    pub failed: u64,
    pub not_synced: u64,
    /// Users no rule has ever given an account: nothing to apply, not in sync.
    pub no_rule: u64,
    /// Users the directory deactivated or deleted before any rule gave them
    /// an account: no account, nothing to apply, not in sync.
    pub inactive: u64,
    /// Users whose account is suspended, as desired (no rule matches them
    /// any more, or the directory deactivated or deleted them).
    pub suspended: u64,
    /// Users who should have an active account: in sync, pending or failed
    /// (the "of M" in "N of M in sync").
    pub entitled: u64,
    /// Failed users by failure class.
    pub failed_by_class: BTreeMap<String, u64>,
    pub failures: Vec<FailedCount>,
    /// Users whose job is queued or being applied.
    pub jobs_in_flight: u64,
    /// Users whose failure waits for Retry sync.
    pub dead_lettered: u64,
    pub last_change_processed: Option<LastChange>,
}

/// The `progress` object of `GET /sync`.
pub async fn progress<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
) -> Result<Progress, ApiError> {
    if let Some(v) = recent(org) {
        return Ok(v);
    }
    let started = Instant::now();
    let counted_at = SystemClock.timestamp();
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
    let failed_by_class = failures.iter().fold(BTreeMap::new(), |mut m, c| {
        *m.entry(c.failure.class.as_str().to_owned()).or_default() += c.users;
        m
    });
    let failures = failures
        .iter()
        .map(|c| FailedCount {
            class: c.failure.class,
            product: c.failure.product.clone(),
            count: c.users,
        })
        .collect();
    let (entries, _) = state
        .activity(org, &ActivityFilter::default(), None, ACTIVITY_LOOKBACK)
        .await
        .map_err(store_error)?;
    let last_change_processed = entries
        .iter()
        .find(|e| e.actor == SYNC_USER)
        .map(|e| LastChange {
            at: e.at.clone(),
            action: e.action,
        });
    let progress = Progress {
        counted_at,
        total,
        counted: counts.users,
        exact,
        in_sync: counts.in_sync,
        pending: counts.pending,
        failed: counts.failed,
        not_synced: counts.not_synced,
        no_rule: counts.no_rule,
        inactive: counts.inactive,
        suspended: counts.suspended,
        entitled: counts.entitled(),
        failed_by_class,
        failures,
        jobs_in_flight: counts.pending,
        dead_lettered: counts.dead_lettered,
        last_change_processed,
    };
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
        domain: None,
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
