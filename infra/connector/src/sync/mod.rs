//! One run of the sync: read the directory (a full read, or the changes
//! since the last marker), read what the SCIM endpoint holds, plan, check
//! the deactivation guard, send, remember the marker.
//!
//! - [`plan`]: the pure comparison.
//! - [`apply`]: sending a plan.
//! - [`state`]: what a run leaves for the next one.

pub mod apply;
pub mod plan;
pub mod state;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

use crate::config::Guard;
use crate::model::{ChangeMarker, Changes, Snapshot};
use crate::scim::{ScimClient, ScimError};
use apply::Failure;
use plan::{Counts, Held, Plan};
use state::State;

/// A directory read failed; the message names no person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// Reading the directory: what the source offers the sync.
pub trait Directory {
    /// Every user and group in scope.
    fn read_full(&mut self) -> impl Future<Output = Result<Snapshot, DirectoryError>>;
    /// What changed since `since`; `None` when the marker cannot be used
    /// (another server, a restored database): a full read is needed.
    fn read_changes(
        &mut self,
        since: &ChangeMarker,
    ) -> impl Future<Output = Result<Option<Changes>, DirectoryError>>;
}

/// How a run is asked to behave.
#[derive(Debug, Clone)]
pub struct Options {
    /// Print the plan, send nothing.
    pub dry_run: bool,
    /// Go ahead past the deactivation guard, this run.
    pub allow_deactivations: bool,
    /// A full read even when an incremental one would do.
    pub force_full: bool,
    pub guard: Guard,
    /// A full run at least this often.
    pub full_every: Duration,
    pub concurrency: usize,
}

/// Whether a run read everything or the changes since a marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Kind {
    Full,
    Incremental,
}

/// Why a run stopped before sending anything.
#[derive(Debug, thiserror::Error)]
pub enum Stop {
    /// The deactivation guard: the run would deactivate too many users.
    #[error(
        "stopped by the deactivation guard: this run would deactivate {would} of the {active} users kept active (limits: {max} users or {share:.0} %); nothing was changed. Check the scope and mapping; if these deactivations are intended, run once with --allow-deactivations"
    )]
    Guard {
        would: usize,
        active: usize,
        max: u64,
        share: f64,
        report: Box<Report>,
    },
    /// The directory search returned no user at all.
    #[error(
        "the directory returned no user in scope: refusing to treat that as everyone leaving; nothing was changed. Check [directory], [scope] and the service account's rights"
    )]
    EmptyDirectory,
    #[error("reading the directory failed: {0}")]
    Directory(#[from] DirectoryError),
    #[error("the SCIM endpoint: {0}")]
    Scim(#[from] ScimError),
    #[error("the state file: {0}")]
    State(#[from] state::StateError),
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub kind: Kind,
    pub dry_run: bool,
    /// Users and groups read from the directory.
    pub directory_users: usize,
    pub directory_groups: usize,
    /// What the plan asked for.
    pub planned: Counts,
    /// What was done (zero on a dry run).
    pub done: Counts,
    pub failures: Vec<Failure>,
    /// SCIM requests sent.
    pub reads: u64,
    pub writes: u64,
    pub duration_ms: u64,
    /// The plan itself, on a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
}

/// Changed users up to which an incremental run without group changes or
/// disabled users looks them (and their managers) up one by one instead of
/// listing every user the endpoint holds. (A run that deactivates lists
/// everything: the guard weighs deactivations against every active user.)
const TARGETED_MAX: usize = 100;

/// What the endpoint holds for an incremental run that changed users only:
/// each changed user and its manager, looked up by `externalId` (nothing at
/// all when nothing changed).
async fn targeted(client: &ScimClient, changes: &Changes) -> Result<Held, ScimError> {
    let mut wanted: Vec<&str> = Vec::new();
    for u in &changes.users {
        wanted.push(&u.external_id);
        if let Some(m) = &u.enterprise.manager {
            wanted.push(m);
        }
    }
    wanted.sort_unstable();
    wanted.dedup();
    let mut users = Vec::with_capacity(wanted.len());
    for x in wanted {
        users.extend(client.user_by_external_id(x).await?);
    }
    Ok(Held::new(users, Vec::new()))
}

/// Whether the guard lets `plan` through.
pub fn guard_allows(plan: &Plan, held_active: usize, guard: &Guard) -> bool {
    let would = plan.deactivation_count();
    if would == 0 {
        return true;
    }
    let over_count = would as u64 > guard.max_deactivations;
    let share = would as f64 / held_active.max(1) as f64;
    let over_share = share > guard.max_share;
    !(over_count || over_share)
}

/// One run. The state in `state_path` says whether an incremental read is
/// possible and is updated after a run that sent everything it planned.
pub async fn run<D: Directory>(
    directory: &mut D,
    client: &ScimClient,
    state_path: &std::path::Path,
    options: &Options,
) -> Result<Report, Stop> {
    let started = Instant::now();
    let reads_before = client.reads();
    let writes_before = client.writes();
    let mut state = State::load(state_path)?;
    let now = SystemTime::now();
    let full_due = options.force_full
        || state.full_needed
        || state.marker.is_none()
        || state
            .last_full
            .is_none_or(|t| now.duration_since(t).unwrap_or_default() >= options.full_every);

    let changes = match (&state.marker, full_due) {
        (Some(marker), false) => {
            let c = directory.read_changes(marker).await?;
            if c.is_none() {
                tracing::info!("the change marker cannot be used here: reading everything");
            }
            c
        }
        _ => None,
    };
    let (kind, snapshot, changes, listed) = match changes {
        Some(c) => (Kind::Incremental, None, Some(c), None),
        None => {
            // a full run compares with everything the endpoint holds: both
            // sides are read at once
            let (s, users, groups) =
                tokio::join!(directory.read_full(), client.users(), client.groups());
            let s = s?;
            if s.users.is_empty() {
                return Err(Stop::EmptyDirectory);
            }
            (Kind::Full, Some(s), None, Some((users, groups)))
        }
    };
    tracing::info!(kind = ?kind, "directory read");

    let held = match (&changes, listed) {
        (_, Some((users, groups))) => Held::new(users?, groups?),
        (Some(c), None)
            if c.groups.is_empty()
                && c.users.len() <= TARGETED_MAX
                && c.users.iter().all(|u| u.active) =>
        {
            targeted(client, c).await?
        }
        _ => Held::new(client.users().await?, client.groups().await?),
    };
    let (plan, marker, users, groups) = match (&snapshot, &changes) {
        (Some(s), _) => (
            plan::full(s, &held),
            s.marker.clone(),
            s.users.len(),
            s.groups.len(),
        ),
        (None, Some(c)) => (
            plan::incremental(c, &held),
            c.marker.clone(),
            c.users.len(),
            c.groups.len(),
        ),
        (None, None) => (Plan::default(), state.marker.clone(), 0, 0),
    };
    drop(snapshot);
    drop(changes);

    let mut report = Report {
        kind,
        dry_run: options.dry_run,
        directory_users: users,
        directory_groups: groups,
        planned: plan.counts(),
        done: Counts::default(),
        failures: Vec::new(),
        reads: 0,
        writes: 0,
        duration_ms: 0,
        plan: None,
    };
    let finish = |mut report: Report| {
        report.reads = client.reads() - reads_before;
        report.writes = client.writes() - writes_before;
        report.duration_ms = started.elapsed().as_millis() as u64;
        report
    };

    let active = held.active_users();
    if !options.allow_deactivations && !guard_allows(&plan, active, &options.guard) {
        let mut r = finish(report);
        r.plan = options.dry_run.then(|| plan.clone());
        return Err(Stop::Guard {
            would: plan.deactivation_count(),
            active,
            max: options.guard.max_deactivations,
            share: options.guard.max_share * 100.0,
            report: Box::new(r),
        });
    }
    if options.dry_run {
        report.plan = Some(plan);
        return Ok(finish(report));
    }

    let mut ids: HashMap<String, String> = held
        .users
        .iter()
        .map(|(x, u)| (x.clone(), u.id.clone()))
        .collect();
    drop(held);
    let applied = apply::apply(client, &plan, &mut ids, options.concurrency).await?;
    report.done = applied.done;
    report.failures = applied.failures;

    // the marker moves on only when everything planned was sent; members
    // an incremental read could not resolve, or failures, call for a full
    // read next time
    let complete = report.failures.is_empty() && plan.unresolved_members == 0;
    // (an incremental read without a marker keeps the one it started from)
    if complete && (marker.is_some() || kind == Kind::Full) {
        state.marker = marker;
    }
    state.full_needed = !complete;
    if kind == Kind::Full && complete {
        state.last_full = Some(now);
    }
    state.save(state_path)?;
    Ok(finish(report))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use plan::{Deactivate, Why};

    fn deactivations(n: usize) -> Plan {
        Plan {
            deactivations: (0..n)
                .map(|i| Deactivate {
                    id: format!("id{i}"),
                    external_id: format!("x{i}"),
                    why: Why::LeftScope,
                })
                .collect(),
            ..Plan::default()
        }
    }

    #[test]
    fn the_guard_stops_over_either_bound() {
        let guard = Guard {
            max_deactivations: 5,
            max_share: 0.10,
        };
        assert!(guard_allows(&deactivations(0), 0, &guard));
        assert!(guard_allows(&deactivations(5), 100, &guard));
        // over the count
        assert!(!guard_allows(&deactivations(6), 1000, &guard));
        // over the share
        assert!(!guard_allows(&deactivations(2), 10, &guard));
        assert!(guard_allows(&deactivations(1), 10, &guard));
    }
}
