//! Our own metrics, in CloudWatch's embedded metric format (EMF): one JSON
//! object per line on stdout, which CloudWatch Logs turns into metrics. No
//! API call, no permission, nothing to wait for.
//!
//! Namespace `UserSync`; every line has the dimension `Function`, and the
//! failures' lines `FailureClass` too. There is no organization dimension:
//! a metric's cost grows with its dimension values, and the number of
//! organizations is not bounded; the organization and the correlation id of
//! a line are plain properties (searchable in Logs Insights, not metrics).
//! No line holds personal data: names, counts, durations and ids only.
//!
//! ```text
//! {"_aws":{"Timestamp":1733380000000,"CloudWatchMetrics":[{"Namespace":"UserSync",
//!  "Dimensions":[["Function"]],"Metrics":[{"Name":"AccountsCreated","Unit":"Count"}]}]},
//!  "Function":"worker","AccountsCreated":1,"OrgId":"acme","CorrelationId":"Zx1…"}
//! ```

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;

/// The namespace of every metric.
pub const NAMESPACE: &str = "UserSync";

/// The metrics, by name: the contract the dashboard and alarms read.
pub mod name {
    /// Users whose desired state the evaluator computed (Count, evaluator).
    pub const USERS_RECONCILED: &str = "UsersReconciled";
    /// Jobs the evaluator sent (Count, evaluator).
    pub const JOBS_SENT: &str = "JobsSent";
    /// Users a running fan-out has yet to reach, as far as it knows (Count, evaluator).
    pub const FAN_OUT_REMAINING: &str = "FanOutRemaining";
    /// Accounts the product API created (Count, worker).
    pub const ACCOUNTS_CREATED: &str = "AccountsCreated";
    /// Accounts the product API updated (relinked ones included) (Count, worker).
    pub const ACCOUNTS_UPDATED: &str = "AccountsUpdated";
    /// Accounts suspended (Count, worker).
    pub const ACCOUNTS_SUSPENDED: &str = "AccountsSuspended";
    /// Jobs with nothing to write: already applied, no desired state, taken
    /// over (Count, worker).
    pub const ACCOUNTS_UNCHANGED: &str = "AccountsUnchanged";
    /// Failed attempts, by `FailureClass` (Count, worker).
    pub const SYNC_FAILURES: &str = "SyncFailures";
    /// Accounts the drift check corrected (Count, worker).
    pub const DRIFT_CORRECTED: &str = "DriftCorrected";
    /// From the change's origin to the product API's answer (Milliseconds, worker).
    pub const CHANGE_LATENCY: &str = "ChangeLatency";
    /// Welcome emails sent (Count, mailer).
    pub const EMAILS_SENT: &str = "EmailsSent";
    /// Welcome emails that failed, refused or to be retried (Count, mailer).
    pub const EMAILS_FAILED: &str = "EmailsFailed";
}

/// The dimension every line has.
pub const FUNCTION: &str = "Function";
/// The dimension of `SyncFailures`.
pub const FAILURE_CLASS: &str = "FailureClass";

/// A metric's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One EMF line under construction: metrics and properties are written as
/// they are added, into the line's two parts (definitions, values).
#[derive(Debug)]
pub struct Line {
    dimensions: String,
    definitions: String,
    values: String,
    metrics: usize,
}

/// Writes `s` as a JSON string, escaped in place (no allocation of its own).
fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _infallible = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Line {
    /// A line of `function` (`scim`, `api`, `evaluator`, `worker`, `mailer`).
    pub fn new(function: &str) -> Self {
        let mut line = Self {
            dimensions: String::from("\"Function\""),
            definitions: String::new(),
            values: String::with_capacity(256),
            metrics: 0,
        };
        line.values.push_str("\"Function\":");
        json_str(&mut line.values, function);
        line
    }

    /// Adds a dimension (beside `Function`) to every metric of the line.
    #[must_use]
    pub fn dimension(mut self, name: &str, value: &str) -> Self {
        self.dimensions.push(',');
        json_str(&mut self.dimensions, name);
        self.property(name, value)
    }

    /// Adds a property: a value searchable in the logs, not a metric.
    #[must_use]
    pub fn property(mut self, name: &str, value: &str) -> Self {
        self.values.push(',');
        json_str(&mut self.values, name);
        self.values.push(':');
        json_str(&mut self.values, value);
        self
    }

    fn define(&mut self, name: &str, unit: Unit) {
        if self.metrics > 0 {
            self.definitions.push(',');
        }
        self.metrics += 1;
        self.definitions.push_str("{\"Name\":");
        json_str(&mut self.definitions, name);
        let _infallible = write!(self.definitions, ",\"Unit\":\"{}\"}}", unit.as_str());
        self.values.push(',');
        json_str(&mut self.values, name);
        self.values.push(':');
    }

    /// Adds a metric with one value.
    #[must_use]
    pub fn metric(mut self, name: &str, unit: Unit, value: u64) -> Self {
        self.define(name, unit);
        let _infallible = write!(self.values, "{value}");
        self
    }

    /// Adds a metric with several values (at most 100 per line, as EMF
    /// allows; the rest are dropped). No values: no metric.
    #[must_use]
    pub fn metric_values(mut self, name: &str, unit: Unit, values: &[u64]) -> Self {
        if values.is_empty() {
            return self;
        }
        self.define(name, unit);
        self.values.push('[');
        for (i, v) in values.iter().take(MAX_VALUES).enumerate() {
            if i > 0 {
                self.values.push(',');
            }
            let _infallible = write!(self.values, "{v}");
        }
        self.values.push(']');
        self
    }

    /// Whether the line has a metric (a line without one is not written).
    pub fn is_empty(&self) -> bool {
        self.metrics == 0
    }

    /// The finished line, stamped `timestamp_ms` (Unix milliseconds).
    pub fn finish(self, timestamp_ms: u64) -> String {
        format!(
            "{{\"_aws\":{{\"Timestamp\":{timestamp_ms},\"CloudWatchMetrics\":[{{\"Namespace\":\"{NAMESPACE}\",\"Dimensions\":[[{}]],\"Metrics\":[{}]}}]}},{}}}",
            self.dimensions, self.definitions, self.values
        )
    }

    /// Writes the line, stamped now, unless it has no metric.
    pub fn emit(self) {
        if self.is_empty() {
            return;
        }
        write_line(&self.finish(crate::correlation::now_ms()));
    }
}

/// The worker's line for an account the drift check corrected
/// (`functions/worker/src/drift.rs`).
pub fn drift_corrected(org: &str, correlation_id: &str) {
    Line::new("worker")
        .metric(name::DRIFT_CORRECTED, Unit::Count, 1)
        .property("OrgId", org)
        .property("CorrelationId", correlation_id)
        .emit();
}

/// Values one metric may have in one line.
pub const MAX_VALUES: usize = 100;

/// Where lines go: stdout, or a recorder (the local stack's tests).
static RECORDED: Mutex<Option<Vec<String>>> = Mutex::new(None);
/// Lines a recorder keeps at most (the oldest are dropped).
const MAX_RECORDED: usize = 100_000;

fn write_line(line: &str) {
    if let Ok(mut recorded) = RECORDED.lock()
        && let Some(lines) = recorded.as_mut()
    {
        if lines.len() >= MAX_RECORDED {
            lines.remove(0);
        }
        lines.push(line.to_owned());
        return;
    }
    // stdout is the function's log stream, where CloudWatch finds EMF; a
    // line that cannot be written is lost as a log line would be
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").is_err() {
        tracing::debug!("a metric line could not be written");
    }
}

/// From now on, this process's metric lines are kept in memory instead of
/// being printed (the functions run in-process on the local stack; its
/// tests read them with [`recorded`]).
pub fn record() {
    if let Ok(mut recorded) = RECORDED.lock() {
        recorded.get_or_insert_with(Vec::new);
    }
}

/// The lines kept since [`record`] (none without it).
pub fn recorded() -> Vec<String> {
    RECORDED
        .lock()
        .map(|r| r.clone().unwrap_or_default())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn parse(line: &str) -> Value {
        assert!(!line.contains('\n'), "one line");
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_line_parses_back_as_emf() {
        let line = Line::new("worker")
            .metric(name::ACCOUNTS_CREATED, Unit::Count, 2)
            .metric_values(name::CHANGE_LATENCY, Unit::Milliseconds, &[120, 340])
            .property("CorrelationId", "c-1")
            .finish(1_733_380_000_000);
        let v = parse(&line);
        assert_eq!(
            v["_aws"],
            json!({
                "Timestamp": 1_733_380_000_000_u64,
                "CloudWatchMetrics": [{
                    "Namespace": "UserSync",
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        {"Name": "AccountsCreated", "Unit": "Count"},
                        {"Name": "ChangeLatency", "Unit": "Milliseconds"},
                    ],
                }],
            })
        );
        assert_eq!(v["Function"], "worker");
        assert_eq!(v["AccountsCreated"], 2);
        assert_eq!(v["ChangeLatency"], json!([120, 340]));
        assert_eq!(v["CorrelationId"], "c-1");
    }

    #[test]
    fn a_dimension_is_declared_and_valued() {
        let line = Line::new("worker")
            .dimension(FAILURE_CLASS, "out_of_licenses")
            .metric(name::SYNC_FAILURES, Unit::Count, 1)
            .finish(1);
        let v = parse(&line);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function", "FailureClass"]])
        );
        assert_eq!(v["FailureClass"], "out_of_licenses");
        assert_eq!(v["SyncFailures"], 1);
    }

    #[test]
    fn strings_are_escaped_and_values_capped() {
        let many: Vec<u64> = (0..150).collect();
        let line = Line::new("we\"ird\n\\\u{1}é")
            .metric_values(name::CHANGE_LATENCY, Unit::Milliseconds, &many)
            .metric_values(name::JOBS_SENT, Unit::Count, &[])
            .finish(1);
        let v = parse(&line);
        assert_eq!(v["Function"], "we\"ird\n\\\u{1}é");
        assert_eq!(v["ChangeLatency"].as_array().unwrap().len(), MAX_VALUES);
        assert!(v.get("JobsSent").is_none(), "no values, no metric");
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn recorded_lines_are_kept_not_printed() {
        record();
        drift_corrected("acme", "c-9");
        Line::new("worker").property("OrgId", "acme").emit();
        let lines = recorded();
        let ours: Vec<Value> = lines
            .iter()
            .map(|l| parse(l))
            .filter(|v| v["CorrelationId"] == "c-9")
            .collect();
        assert_eq!(ours.len(), 1, "a line without metrics is not written");
        assert_eq!(ours[0]["DriftCorrected"], 1);
        assert_eq!(ours[0]["OrgId"], "acme");
    }

    #[test]
    fn a_line_without_metrics_is_empty() {
        assert!(Line::new("api").property("OrgId", "o").is_empty());
        assert!(
            !Line::new("api")
                .metric(name::JOBS_SENT, Unit::Count, 0)
                .is_empty()
        );
    }
}
