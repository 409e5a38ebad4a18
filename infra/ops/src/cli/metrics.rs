//! `ops metrics`: a summary of the functions' embedded-metric (EMF) lines,
//! as the local stack keeps them (`.local/metrics.jsonl`; on AWS the same
//! numbers are on the CloudWatch dashboard): per metric, function and extra
//! dimension (the failure class), the lines, the values and their sum; for
//! millisecond metrics (the change latency) p50, p95 and p99.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use user_sync_core::clock::Clock;

use super::{Ctx, Failure, MetricsArgs, Report};

/// One metric of one function (and extra dimensions, `FailureClass=…`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub metric: String,
    pub function: String,
    /// The line's other dimensions, `Name=value`, comma-separated.
    pub dimensions: String,
}

/// What the lines said about one [`Key`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub unit: String,
    /// Lines that carried it.
    pub lines: u64,
    /// Every value, in the order read.
    pub values: Vec<f64>,
}

impl Tally {
    pub fn sum(&self) -> f64 {
        self.values.iter().sum()
    }

    /// The `p`th percentile (nearest rank), if there are values.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return None;
        }
        // nearest rank: the smallest value with at least p% of values at or below it
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted.get(rank - 1).copied()
    }
}

/// The summary of a file of lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub metrics: BTreeMap<Key, Tally>,
    /// EMF lines read (with at least one metric).
    pub lines: u64,
    /// Lines that were not EMF (other output, a partial last line).
    pub skipped: u64,
    /// The first and last line's `Timestamp` (Unix milliseconds).
    pub from_ms: Option<u64>,
    pub to_ms: Option<u64>,
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Number(n) => n.as_f64().into_iter().collect(),
        Value::Array(items) => items.iter().filter_map(Value::as_f64).collect(),
        _ => Vec::new(),
    }
}

impl Summary {
    /// Adds one line; `since_ms`: lines stamped before it are left out.
    pub fn add_line(&mut self, line: &str, since_ms: Option<u64>) {
        let Ok(v) = serde_json::from_str::<Value>(line.trim()) else {
            self.skipped += 1;
            return;
        };
        let Some(aws) = v.get("_aws") else {
            self.skipped += 1;
            return;
        };
        let timestamp = aws.get("Timestamp").and_then(Value::as_u64);
        if let (Some(since), Some(t)) = (since_ms, timestamp)
            && t < since
        {
            return;
        }
        let function = v
            .get("Function")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let mut counted = false;
        for directive in aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let dimensions: Vec<String> = directive
                .get("Dimensions")
                .and_then(Value::as_array)
                .and_then(|sets| sets.first())
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|d| *d != "Function")
                .map(|d| format!("{d}={}", v.get(d).and_then(Value::as_str).unwrap_or("?")))
                .collect();
            for m in directive
                .get("Metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = m.get("Name").and_then(Value::as_str) else {
                    continue;
                };
                let values = v.get(name).map(numbers).unwrap_or_default();
                let key = Key {
                    metric: name.to_owned(),
                    function: function.clone(),
                    dimensions: dimensions.join(","),
                };
                let tally = self.metrics.entry(key).or_default();
                if tally.unit.is_empty() {
                    tally.unit = m
                        .get("Unit")
                        .and_then(Value::as_str)
                        .unwrap_or("None")
                        .to_owned();
                }
                tally.lines += 1;
                tally.values.extend(values);
                counted = true;
            }
        }
        if counted {
            self.lines += 1;
            if let Some(t) = timestamp {
                self.from_ms = Some(self.from_ms.map_or(t, |f| f.min(t)));
                self.to_ms = Some(self.to_ms.map_or(t, |l| l.max(t)));
            }
        } else {
            self.skipped += 1;
        }
    }

    /// The summary of `text`, line by line.
    pub fn of(text: &str, since_ms: Option<u64>) -> Self {
        let mut s = Self::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            s.add_line(line, since_ms);
        }
        s
    }

    fn rows(&self) -> Vec<Value> {
        self.metrics
            .iter()
            .map(|(k, t)| {
                let mut row = json!({
                    "metric": k.metric,
                    "function": k.function,
                    "unit": t.unit,
                    "lines": t.lines,
                    "values": t.values.len(),
                    "sum": t.sum(),
                });
                if !k.dimensions.is_empty() {
                    row["dimensions"] = json!(k.dimensions);
                }
                if t.unit == "Milliseconds" {
                    row["p50"] = json!(t.percentile(50.0));
                    row["p95"] = json!(t.percentile(95.0));
                    row["p99"] = json!(t.percentile(99.0));
                }
                row
            })
            .collect()
    }

    /// The JSON document of `--output json`.
    pub fn json(&self) -> Value {
        json!({
            "lines": self.lines,
            "skipped": self.skipped,
            "fromMs": self.from_ms,
            "toMs": self.to_ms,
            "metrics": self.rows(),
        })
    }

    /// The table of `--output text`.
    pub fn text(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{:<20} {:<10} {:<34} {:>8} {:>12}  latency",
            "metric", "function", "dimensions", "lines", "sum"
        )];
        for (k, t) in &self.metrics {
            let latency = if t.unit == "Milliseconds" {
                let p = |q: f64| {
                    t.percentile(q)
                        .map_or("-".to_owned(), |v| format!("{v:.0}"))
                };
                format!(
                    "p50 {} ms, p95 {} ms, p99 {} ms ({} values)",
                    p(50.0),
                    p(95.0),
                    p(99.0),
                    t.values.len()
                )
            } else {
                String::new()
            };
            let sum = if t.unit == "Milliseconds" {
                "-".to_owned()
            } else {
                format!("{}", t.sum())
            };
            out.push(
                format!(
                    "{:<20} {:<10} {:<34} {:>8} {:>12}  {latency}",
                    k.metric, k.function, k.dimensions, t.lines, sum
                )
                .trim_end()
                .to_owned(),
            );
        }
        out.push(format!(
            "{} lines{}",
            self.lines,
            if self.skipped > 0 {
                format!(" ({} other lines skipped)", self.skipped)
            } else {
                String::new()
            }
        ));
        out
    }
}

pub(super) async fn metrics(ctx: &Ctx<'_>, args: &MetricsArgs) -> Result<Report, Failure> {
    let path = args.file.clone().ok_or_else(|| {
        Failure::Usage(
            "no metrics file: set METRICS_FILE or --file (the local stack keeps its functions' \
             metric lines in .local/metrics.jsonl; source .local/ops.env)"
                .into(),
        )
    })?;
    let text = read(&path)?;
    let since_ms = args.since_minutes.map(|m| {
        let now = u64::try_from(ctx.clock.now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        now.saturating_sub(m.saturating_mul(60_000))
    });
    let summary = Summary::of(&text, since_ms);
    Ok(Report::new(summary.text(), summary.json()))
}

fn read(path: &Path) -> Result<String, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        // no function has written a metric yet
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(Failure::Failed(format!("{}: {e}", path.display()))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn emf(
        t: u64,
        function: &str,
        dims: &[(&str, &str)],
        metrics: &[(&str, &str, Value)],
    ) -> String {
        let mut names = vec![json!("Function")];
        names.extend(dims.iter().map(|(d, _)| json!(d)));
        let defs: Vec<Value> = metrics
            .iter()
            .map(|(n, u, _)| json!({"Name": n, "Unit": u}))
            .collect();
        let mut v = json!({
            "_aws": {"Timestamp": t, "CloudWatchMetrics": [
                {"Namespace": "UserSync", "Dimensions": [names], "Metrics": defs}
            ]},
            "Function": function,
        });
        for (d, value) in dims {
            v[*d] = json!(value);
        }
        for (n, _, value) in metrics {
            v[*n] = value.clone();
        }
        v.to_string()
    }

    fn synthetic() -> String {
        let mut lines = vec![
            emf(
                1_000,
                "evaluator",
                &[],
                &[
                    ("UsersReconciled", "Count", json!(3)),
                    ("JobsSent", "Count", json!(2)),
                ],
            ),
            emf(
                2_000,
                "worker",
                &[],
                &[("AccountsCreated", "Count", json!(1))],
            ),
            emf(
                3_000,
                "worker",
                &[],
                &[("AccountsCreated", "Count", json!(1))],
            ),
            emf(
                3_500,
                "worker",
                &[("FailureClass", "out_of_licenses")],
                &[("SyncFailures", "Count", json!(1))],
            ),
            "local-stack: a line that is not a metric".to_owned(),
            "{\"_aws\": {\"Timestamp\": 1".to_owned(),
        ];
        // 100 latencies: 1..=100 ms, in two lines
        let first: Vec<u64> = (1..=60).collect();
        let second: Vec<u64> = (61..=100).collect();
        lines.push(emf(
            4_000,
            "worker",
            &[],
            &[("ChangeLatency", "Milliseconds", json!(first))],
        ));
        lines.push(emf(
            5_000,
            "worker",
            &[],
            &[("ChangeLatency", "Milliseconds", json!(second))],
        ));
        lines.join("\n")
    }

    fn tally<'a>(s: &'a Summary, metric: &str, function: &str, dims: &str) -> &'a Tally {
        &s.metrics[&Key {
            metric: metric.into(),
            function: function.into(),
            dimensions: dims.into(),
        }]
    }

    #[test]
    fn counts_are_summed_per_metric_function_and_class() {
        let s = Summary::of(&synthetic(), None);
        assert_eq!(s.lines, 6);
        assert_eq!(s.skipped, 2);
        assert_eq!(tally(&s, "AccountsCreated", "worker", "").sum(), 2.0);
        assert_eq!(tally(&s, "AccountsCreated", "worker", "").lines, 2);
        assert_eq!(tally(&s, "UsersReconciled", "evaluator", "").sum(), 3.0);
        assert_eq!(tally(&s, "JobsSent", "evaluator", "").sum(), 2.0);
        let failures = tally(&s, "SyncFailures", "worker", "FailureClass=out_of_licenses");
        assert_eq!(failures.sum(), 1.0);
        assert_eq!((s.from_ms, s.to_ms), (Some(1_000), Some(5_000)));
    }

    #[test]
    fn latency_percentiles_are_nearest_rank_over_every_value() {
        let s = Summary::of(&synthetic(), None);
        let latency = tally(&s, "ChangeLatency", "worker", "");
        assert_eq!(latency.values.len(), 100);
        assert_eq!(latency.percentile(50.0), Some(50.0));
        assert_eq!(latency.percentile(95.0), Some(95.0));
        assert_eq!(latency.percentile(99.0), Some(99.0));
        assert_eq!(Tally::default().percentile(50.0), None);
        let one = Tally {
            values: vec![7.0],
            ..Tally::default()
        };
        assert_eq!(one.percentile(99.0), Some(7.0));
    }

    #[test]
    fn since_leaves_older_lines_out() {
        let s = Summary::of(&synthetic(), Some(3_000));
        assert!(!s.metrics.keys().any(|k| k.metric == "UsersReconciled"));
        assert_eq!(tally(&s, "AccountsCreated", "worker", "").sum(), 1.0);
    }

    #[test]
    fn the_json_and_text_reports_agree() {
        let s = Summary::of(&synthetic(), None);
        let j = s.json();
        assert_eq!(j["lines"], 6);
        let rows = j["metrics"].as_array().unwrap();
        let latency = rows
            .iter()
            .find(|r| r["metric"] == "ChangeLatency")
            .unwrap();
        assert_eq!(latency["p95"], 95.0);
        assert_eq!(latency["values"], 100);
        let failures = rows.iter().find(|r| r["metric"] == "SyncFailures").unwrap();
        assert_eq!(failures["dimensions"], "FailureClass=out_of_licenses");
        let text = s.text().join("\n");
        assert!(
            text.contains("p50 50 ms, p95 95 ms, p99 99 ms (100 values)"),
            "{text}"
        );
        assert!(text.contains("FailureClass=out_of_licenses"), "{text}");
        assert!(text.ends_with("6 lines (2 other lines skipped)"), "{text}");
    }
}
