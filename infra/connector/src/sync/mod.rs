//! One run of the sync: read the directory (a full read, or the changes
//! since the last marker), read what the SCIM endpoint holds, plan, check
//! the deactivation guard, send, remember the marker. A full run plans the
//! directory's users page by page as they are read (it never holds the
//! whole directory), and decides deactivations and groups once every page
//! was seen: nothing is sent before the guard weighed the whole plan.
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

use tokio::sync::mpsc;

use crate::config::Guard;
use crate::model::{ChangeMarker, Changes, Snapshot, SourceGroup, SourceUser};
use crate::scim::{ScimClient, ScimError};
use apply::Failure;
use plan::{Counts, Held, Plan, Planner};
use state::State;

/// A directory read failed; the message names no person.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DirectoryError(pub String);

/// Directory pages a full run holds while it waits for the endpoint's
/// listing to end (a page is at most [`crate::source::LOOKUP_BATCH`] users
/// from the LDAP source): the read goes on meanwhile, this far and no
/// further.
pub const BUFFERED_PAGES: usize = 20;

/// Users per page when a whole [`Snapshot`] is handed on in pages.
const SNAPSHOT_PAGE: usize = 100;

/// What a full read returns once its users were sent.
#[derive(Debug, Clone, Default)]
pub struct FullRead {
    /// The selected groups, sorted by `external_id`, members as
    /// `external_id`s.
    pub groups: Vec<SourceGroup>,
    pub marker: Option<ChangeMarker>,
}

/// Reading the directory: what the source offers the sync.
pub trait Directory {
    /// Every user and group in scope.
    fn read_full(&mut self) -> impl Future<Output = Result<Snapshot, DirectoryError>>;
    /// Every user and group in scope, the users sent to `pages` as they are
    /// read (each once, in any order); the read waits while `pages` is full.
    /// By default [`Directory::read_full`], sent in pages.
    fn read_full_paged(
        &mut self,
        pages: mpsc::Sender<Vec<SourceUser>>,
    ) -> impl Future<Output = Result<FullRead, DirectoryError>> {
        async move {
            let s = self.read_full().await?;
            let mut users = s.users;
            while !users.is_empty() {
                let rest = users.split_off(users.len().min(SNAPSHOT_PAGE));
                pages.send(users).await.map_err(|_| stopped())?;
                users = rest;
            }
            Ok(FullRead {
                groups: s.groups,
                marker: s.marker,
            })
        }
    }
    /// What changed since `since`; `None` when the marker cannot be used
    /// (another server, a restored database): a full read is needed.
    fn read_changes(
        &mut self,
        since: &ChangeMarker,
    ) -> impl Future<Output = Result<Option<Changes>, DirectoryError>>;
}

/// The error of a read whose run stopped listening.
fn stopped() -> DirectoryError {
    DirectoryError("the read was stopped: the run it was for ended".into())
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

/// A full run's read and plan: the endpoint's users and groups are listed
/// while the directory is read; the directory's users are planned page by
/// page as they arrive once the listing is in (up to [`BUFFERED_PAGES`]
/// wait meanwhile), so the run never holds the whole directory beside what
/// the endpoint holds. Returns the plan, what the endpoint holds, the read's
/// groups and marker, and the number of users read.
async fn read_and_plan<D: Directory>(
    directory: &mut D,
    client: &ScimClient,
) -> Result<(Plan, Held, FullRead, usize), Stop> {
    let (tx, mut rx) = mpsc::channel(BUFFERED_PAGES);
    let planned = async {
        let mut planner = match tokio::join!(client.users(), client.groups()) {
            (Ok(users), Ok(groups)) => Ok(Planner::new(Held::new(users, groups))),
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        // (after a failed listing the read still ends on its own: its
        // error, if it has one, is the one to tell)
        while let Some(page) = rx.recv().await {
            if let Ok(p) = &mut planner {
                p.users(page);
            }
        }
        planner
    };
    let (read, planner) = tokio::join!(directory.read_full_paged(tx), planned);
    let read = read?;
    let planner = planner?;
    if planner.users_seen() == 0 {
        return Err(Stop::EmptyDirectory);
    }
    let users = planner.users_seen();
    let (plan, held) = planner.finish(&read.groups);
    Ok((plan, held, read, users))
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
    let (kind, plan, held, marker, users, groups) = match changes {
        Some(c) => {
            let held = if c.groups.is_empty()
                && c.users.len() <= TARGETED_MAX
                && c.users.iter().all(|u| u.active)
            {
                targeted(client, &c).await?
            } else {
                let (users, groups) = tokio::join!(client.users(), client.groups());
                Held::new(users?, groups?)
            };
            let plan = plan::incremental(&c, &held);
            let (users, groups) = (c.users.len(), c.groups.len());
            (Kind::Incremental, plan, held, c.marker, users, groups)
        }
        None => {
            let (plan, held, read, users) = read_and_plan(directory, client).await?;
            let groups = read.groups.len();
            (Kind::Full, plan, held, read.marker, users, groups)
        }
    };
    tracing::info!(kind = ?kind, "directory read and compared");

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
