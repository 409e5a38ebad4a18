//! The latency of one change, measured twice: by the harness (from sending
//! the SCIM request to seeing the product API simulator's record of the call
//! that applies it, as the pipeline bench times it) and by the worker's
//! `ChangeLatency` metric line (from the SCIM function's origin of the change
//! to the product API's answer). The bench and the observability test both
//! time changes with [`one_change_at_a_time`].
//!
//! The functions run in this process, so the metric and the harness read the
//! same wall clock: each time here is the time since the Unix epoch.

#![allow(clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::PATCH_OP;
use crate::onboard::Onboarding;

/// The organization's metric lines so far (the test stack keeps them in
/// memory), parsed.
pub fn metric_lines(org: &str) -> Vec<Value> {
    user_sync_aws::metrics::recorded()
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("an EMF line is JSON"))
        .filter(|v| v["OrgId"] == org)
        .collect()
}

/// The worker's `ChangeLatency` values (milliseconds) on `lines`, sorted: one
/// value or an array per line.
pub fn latencies(lines: &[Value]) -> Vec<u64> {
    let mut out: Vec<u64> = lines
        .iter()
        .filter(|v| v["Function"] == "worker")
        .flat_map(|v| match &v["ChangeLatency"] {
            Value::Array(values) => values.iter().filter_map(Value::as_u64).collect::<Vec<_>>(),
            other => other.as_u64().into_iter().collect(),
        })
        .collect();
    out.sort_unstable();
    out
}

/// The `p`th percentile of sorted `values` (nearest rank, as CloudWatch's
/// percentile statistics are).
pub fn percentile<T: Copy + Default>(values: &[T], p: usize) -> T {
    let rank = (values.len() * p).div_ceil(100).max(1);
    values.get(rank - 1).copied().unwrap_or_default()
}

/// The worker's `ChangeLatency` for change `correlation_id` of `org`, once
/// its line is written: a cheap look at the lines in memory (only those
/// naming the change are parsed).
fn change_latency(org: &str, correlation_id: &str) -> Option<u64> {
    user_sync_aws::metrics::recorded()
        .iter()
        .filter(|l| l.contains(correlation_id))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["OrgId"] == org && v["Function"] == "worker")
        .filter(|v| v["CorrelationId"] == correlation_id)
        .find_map(|v| v["ChangeLatency"].as_u64())
}

/// Now, as the time since the Unix epoch (the metric's clock).
fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
}

/// One change timed both ways (times since the Unix epoch).
#[derive(Debug, Clone)]
pub struct TimedChange {
    /// The SCIM answer's `X-Correlation-Id`: the worker's line and the
    /// product API call carry it.
    pub correlation_id: String,
    /// The SCIM request sent.
    pub sent: Duration,
    /// Its answer received (the change's origin is before this).
    pub answered: Duration,
    /// The last look at the simulator's calls that did not find the call
    /// (sent before the simulator recorded it).
    pub not_yet: Duration,
    /// The look that found it (answered after the simulator recorded it).
    pub call_seen: Duration,
    /// The worker's metric line found (written after the product API's
    /// answer).
    pub line_seen: Duration,
    /// The worker's `ChangeLatency`, in milliseconds.
    pub metric_ms: u64,
}

impl TimedChange {
    /// The harness's measurement, as the bench reports it: request sent →
    /// the simulator's call seen.
    pub fn observed(&self) -> Duration {
        self.call_seen.saturating_sub(self.sent)
    }

    /// What the metric must contain: the change began before its answer
    /// arrived and ended after the simulator recorded the call, itself after
    /// the last look that did not find it. Zero when the call was recorded
    /// before the answer arrived.
    pub fn inner(&self) -> Duration {
        self.not_yet.saturating_sub(self.answered)
    }

    /// What must contain the metric: the change began after the request was
    /// sent and ended before its metric line was found.
    pub fn outer(&self) -> Duration {
        self.line_seen.saturating_sub(self.sent)
    }

    /// The metric as a duration.
    pub fn metric(&self) -> Duration {
        Duration::from_millis(self.metric_ms)
    }
}

/// `changes` SCIM PATCHes of `user` (a new family name each), one at a time
/// with `gap` between them so that each starts on a stack idle of this
/// organization's work; each timed by the harness and by the worker's
/// metric. `user` must already have its account, and `on`'s organization no
/// other user (its call log stays short to poll). `patience` bounds one
/// change.
pub async fn one_change_at_a_time(
    on: &Onboarding,
    user: &str,
    changes: usize,
    gap: Duration,
    patience: Duration,
) -> Vec<TimedChange> {
    let org = on.org.org_id.clone();
    // the first change too starts on a stack idle of this organization's
    // work: the onboarding's records evaluated and its outcome recorded, so
    // that no earlier job (or stream record batched with the change's) takes
    // the change's product API call under its own correlation id
    crate::eventually("the organization idle", patience, || async {
        let sync = on.org.admin().read("/sync").await;
        let idle = sync["progress"]["pending"] == 0
            && sync["fanOuts"].as_array().is_some_and(Vec::is_empty);
        idle.then_some(())
    })
    .await;
    tokio::time::sleep(gap).await;
    let mut timed = Vec::with_capacity(changes);
    for n in 0..changes {
        let sent = now();
        let a = on
            .scim(
                "PATCH",
                &format!("/Users/{user}"),
                Some(json!({"schemas": [PATCH_OP], "Operations": [
                    {"op": "replace", "path": "name.familyName", "value": format!("Changed{n}")}]})),
            )
            .await;
        let answered = now();
        assert_eq!(a.status, 200, "{}", a.body);
        let id = a.correlation_id.clone().expect("X-Correlation-Id");
        let (mut not_yet, mut call_seen, mut line) = (sent, None, None);
        let (call_seen, metric_ms, line_seen) = loop {
            if call_seen.is_none() {
                let look = now();
                let calls = on.calls(Some(user)).await;
                if calls.iter().any(|c| c["correlationId"] == id.as_str()) {
                    call_seen = Some(now());
                } else {
                    not_yet = look;
                }
            }
            if line.is_none() {
                line = change_latency(&org, &id).map(|ms| (ms, now()));
            }
            if let (Some(call), Some((ms, seen))) = (call_seen, line) {
                break (call, ms, seen);
            }
            assert!(
                now().saturating_sub(sent) < patience,
                "change {n} ({id}): no product API call or metric line after {patience:?}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        timed.push(TimedChange {
            correlation_id: id,
            sent,
            answered,
            not_yet,
            call_seen,
            line_seen,
            metric_ms,
        });
        // the next change starts on an idle stack
        tokio::time::sleep(gap).await;
    }
    timed
}
