//! What one stream record did, as the evaluator's metrics (see
//! `user_sync_aws::metrics`): one line per record that reconciled users or
//! moved a fan-out.

use std::sync::Mutex;

use user_sync_aws::metrics::{Line, Unit, name};
use user_sync_core::ids::OrgId;

/// The counts of the record being processed.
#[derive(Debug, Default)]
pub struct Tally(Mutex<Counts>);

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    reconciled: bool,
    users: u64,
    jobs: u64,
    /// Users the fan-out this record moved has yet to reach.
    remaining: Option<u64>,
}

impl Tally {
    /// Users reconciled and jobs sent.
    pub(crate) fn reconciled(&self, users: usize, jobs: usize) {
        if let Ok(mut c) = self.0.lock() {
            c.reconciled = true;
            c.users += u64::try_from(users).unwrap_or(u64::MAX);
            c.jobs += u64::try_from(jobs).unwrap_or(u64::MAX);
        }
    }

    /// A fan-out's chunk is done: this many users are left (when known).
    pub(crate) fn fan_out(&self, remaining: Option<u64>) {
        if let Ok(mut c) = self.0.lock() {
            c.remaining = remaining;
        }
    }

    /// Writes the record's line (none when it did nothing) and starts over.
    /// The organization and the change are properties, not dimensions.
    pub(crate) fn emit(&self, org: Option<&OrgId>, correlation_id: &str) {
        let Ok(mut c) = self.0.lock() else {
            return;
        };
        let counts = std::mem::take(&mut *c);
        drop(c);
        let mut line = Line::new("evaluator");
        if counts.reconciled {
            line = line
                .metric(name::USERS_RECONCILED, Unit::Count, counts.users)
                .metric(name::JOBS_SENT, Unit::Count, counts.jobs);
        }
        if let Some(remaining) = counts.remaining {
            line = line.metric(name::FAN_OUT_REMAINING, Unit::Count, remaining);
        }
        if let Some(org) = org {
            line = line.property("OrgId", org.as_str());
        }
        line.property("CorrelationId", correlation_id).emit();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::Value;
    use user_sync_aws::metrics::{record, recorded};

    use super::*;

    fn lines_of(id: &str) -> Vec<Value> {
        recorded()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["CorrelationId"] == id)
            .collect()
    }

    #[test]
    fn one_line_per_record_then_counts_start_over() {
        record();
        let tally = Tally::default();
        let org = OrgId::parse("acme").unwrap();
        tally.reconciled(500, 3);
        tally.reconciled(2, 1);
        tally.fan_out(Some(120));
        tally.emit(Some(&org), "t-1");
        tally.emit(Some(&org), "t-1");
        let lines = lines_of("t-1");
        assert_eq!(lines.len(), 1, "a record that did nothing writes no line");
        assert_eq!(lines[0]["Function"], "evaluator");
        assert_eq!(lines[0]["UsersReconciled"], 502);
        assert_eq!(lines[0]["JobsSent"], 4);
        assert_eq!(lines[0]["FanOutRemaining"], 120);
        assert_eq!(lines[0]["OrgId"], "acme");
    }
}
