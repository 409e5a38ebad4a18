//! What one job did, as the worker's metrics (see `user_sync_aws::metrics`):
//! one line per job, and a failure's class as a dimension of its own line.

use std::sync::Mutex;

use user_sync_aws::metrics::{FAILURE_CLASS, Line, Unit, name};
use user_sync_core::activity::Action;
use user_sync_core::job::EntitlementJob;
use user_sync_core::state::FailureClass;

/// How a job ended, as far as the metrics tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Nothing to write (no desired state, already applied, taken over).
    Unchanged,
    /// The product API wrote the account; the change's end-to-end latency
    /// when the job carried its origin.
    Written(Action, Option<u64>),
    /// An attempt failed with this class.
    Failed(FailureClass),
}

/// The job being handled's outcome, set by whichever path ends it.
#[derive(Debug, Default)]
pub(crate) struct JobLine(Mutex<Option<Seen>>);

impl JobLine {
    pub(crate) fn set(&self, seen: Seen) {
        if let Ok(mut s) = self.0.lock() {
            *s = Some(seen);
        }
    }

    /// Writes the job's line (none when the job ended without an outcome:
    /// a store error retries it). The organization and the change are
    /// properties, not dimensions.
    pub(crate) fn emit(&self, job: &EntitlementJob, correlation_id: &str) {
        let Some(seen) = self.0.lock().ok().and_then(|s| *s) else {
            return;
        };
        let count = |line: Line, metric: &str| line.metric(metric, Unit::Count, 1);
        let line = match seen {
            Seen::Unchanged => count(Line::new("worker"), name::ACCOUNTS_UNCHANGED),
            Seen::Failed(class) => count(
                Line::new("worker").dimension(FAILURE_CLASS, class.as_str()),
                name::SYNC_FAILURES,
            ),
            Seen::Written(action, latency) => {
                let metric = match action {
                    Action::AccountCreated => name::ACCOUNTS_CREATED,
                    Action::AccountSuspended => name::ACCOUNTS_SUSPENDED,
                    _ => name::ACCOUNTS_UPDATED,
                };
                let line = count(Line::new("worker"), metric);
                match latency {
                    Some(ms) => line.metric(name::CHANGE_LATENCY, Unit::Milliseconds, ms),
                    None => line,
                }
            }
        };
        line.property("OrgId", job.org_id.as_str())
            .property("CorrelationId", correlation_id)
            .emit();
    }
}
