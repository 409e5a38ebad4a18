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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};
    use user_sync_aws::metrics::{record, recorded};
    use user_sync_core::ids::{OrgId, UserId};

    use super::*;

    fn job() -> EntitlementJob {
        EntitlementJob::new(
            &OrgId::parse("acme").unwrap(),
            &UserId::parse("u1").unwrap(),
            1,
        )
    }

    fn line_of(seen: Option<Seen>, id: &str) -> Option<Value> {
        record();
        let line = JobLine::default();
        if let Some(s) = seen {
            line.set(s);
        }
        line.emit(&job(), id);
        recorded()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .find(|v| v["CorrelationId"] == id)
    }

    #[test]
    fn a_created_account_counts_with_its_latency() {
        let v = line_of(
            Some(Seen::Written(Action::AccountCreated, Some(840))),
            "w-1",
        )
        .unwrap();
        assert_eq!(v["AccountsCreated"], 1);
        assert_eq!(v["ChangeLatency"], 840);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][1],
            json!({"Name": "ChangeLatency", "Unit": "Milliseconds"})
        );
    }

    #[test]
    fn a_failure_counts_under_its_class() {
        let v = line_of(Some(Seen::Failed(FailureClass::OutOfLicenses)), "w-2").unwrap();
        assert_eq!(v["SyncFailures"], 1);
        assert_eq!(v["FailureClass"], "out_of_licenses");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "FailureClass"]])
        );
    }

    #[test]
    fn relinked_counts_as_updated_and_no_outcome_writes_nothing() {
        let v = line_of(Some(Seen::Written(Action::AccountRelinked, None)), "w-3").unwrap();
        assert_eq!(v["AccountsUpdated"], 1);
        assert!(v.get("ChangeLatency").is_none());
        assert!(line_of(None, "w-4").is_none());
    }
}
