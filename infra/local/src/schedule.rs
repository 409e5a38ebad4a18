//! `Schedule` events (EventBridge rules): the runner invokes the function
//! with a scheduled event at the rule's rate, as EventBridge does, or at a
//! shorter period the stack was started with (`StackOptions::schedule_every`).

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::functions::ScheduledFunction;
use crate::shutdown::Shutdown;

/// A `Schedule` event's `Properties` in template.yaml (the ones the runner
/// reads; `Description` and the others are for EventBridge).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleEventProperties {
    /// `rate(…)`.
    pub schedule: String,
    #[serde(default, deserialize_with = "crate::flex::opt_bool")]
    pub enabled: Option<bool>,
}

/// One schedule: its function, its rule's name and the period between runs.
pub struct ScheduleMapping {
    /// `<Function>.Events.<Name>`, for logs.
    pub name: String,
    /// The rule's name in the event's `resources`.
    pub rule: String,
    pub period: Duration,
    pub function: ScheduledFunction,
}

/// The period of an EventBridge `rate(…)` expression (`rate(1 hour)`,
/// `rate(6 hours)`, `rate(30 minutes)`, `rate(1 day)`). A `cron(…)`
/// expression is refused: the runner drives rates only.
pub fn parse_rate(expression: &str) -> Result<Duration, String> {
    let inner = expression
        .trim()
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| {
            format!(
                "{expression:?} is not a rate(…) expression (the local runner drives rates only)"
            )
        })?;
    let (value, unit) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("{expression:?}: expected rate(<value> <unit>)"))?;
    let value: u64 = value
        .parse()
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| format!("{expression:?}: the value must be a positive whole number"))?;
    let seconds = match (value, unit.trim()) {
        (1, "minute") | (2.., "minutes") => 60,
        (1, "hour") | (2.., "hours") => 3_600,
        (1, "day") | (2.., "days") => 86_400,
        _ => {
            return Err(format!(
                "{expression:?}: the unit must be minute(s), hour(s) or day(s), singular for 1"
            ));
        }
    };
    value
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{expression:?} is too long"))
}

/// The event EventBridge sends for a scheduled rule.
pub fn scheduled_event(rule_arn: &str, at: SystemTime) -> Value {
    let time = time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    json!({
        "version": "0",
        "id": crate::functions::request_id(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": crate::resolve::ACCOUNT_ID,
        "time": time,
        "region": crate::resolve::REGION,
        "resources": [rule_arn],
        "detail": {}
    })
}

/// Invokes the function every `period` (the first time one period after
/// the start, as a new rule does) until the stack stops. A failed run is
/// logged (no retry: on AWS, Lambda retries the asynchronous invocation
/// twice); the next one comes at the next period, as on AWS once
/// those are spent.
pub async fn run(mapping: ScheduleMapping, mut shutdown: Shutdown) {
    let rule_arn = format!(
        "arn:aws:events:{}:{}:rule/{}",
        crate::resolve::REGION,
        crate::resolve::ACCOUNT_ID,
        mapping.rule
    );
    loop {
        if shutdown.sleep(mapping.period).await {
            return;
        }
        let invocation = mapping
            .function
            .invoke(scheduled_event(&rule_arn, SystemTime::now()))
            .await;
        match invocation.result {
            Ok(answer) => {
                tracing::info!(schedule = %mapping.name, %answer, "scheduled run done");
            }
            Err(e) => {
                tracing::error!(schedule = %mapping.name, error = %e, "scheduled run failed");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_read_as_eventbridge_writes_them() {
        assert_eq!(
            parse_rate("rate(6 hours)").unwrap(),
            Duration::from_secs(21_600)
        );
        assert_eq!(
            parse_rate("rate(1 minute)").unwrap(),
            Duration::from_secs(60)
        );
        assert_eq!(
            parse_rate("rate(1 day)").unwrap(),
            Duration::from_secs(86_400)
        );
        assert_eq!(
            parse_rate("rate(30 minutes)").unwrap(),
            Duration::from_secs(1_800)
        );
        for bad in [
            "rate(1 hours)",
            "rate(2 hour)",
            "rate(0 minutes)",
            "rate(-1 days)",
            "rate(6 weeks)",
            "rate(6hours)",
            "cron(0 12 * * ? *)",
            "6 hours",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_template_schedules_the_domain_recheck_on_the_api_function() {
        use crate::template::{EventKind, ResourceKind, Template};
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml");
        let template = Template::load(&path).unwrap();
        let schedules: Vec<(String, String)> = template
            .resources
            .iter()
            .filter_map(|r| match &r.kind {
                ResourceKind::Function(f) => Some((f, r.logical_id.clone())),
                _ => None,
            })
            .flat_map(|(f, id)| {
                f.events
                    .iter()
                    .filter(|e| matches!(e.kind, EventKind::Schedule(_)))
                    .map(move |e| (id.clone(), e.name.clone()))
            })
            .collect();
        assert_eq!(
            schedules,
            [
                ("ApiFunction".to_owned(), "DomainRecheck".to_owned()),
                ("ApiFunction".to_owned(), "DriftCheck".to_owned())
            ]
        );
        assert_eq!(
            template.parameters["DomainRecheckRate"]
                .as_ref()
                .and_then(serde_yaml::Value::as_str),
            Some("6 hours")
        );
    }

    #[test]
    fn the_event_is_an_eventbridge_scheduled_event() {
        let e = scheduled_event("arn:aws:events:us-east-1:1:rule/r", SystemTime::UNIX_EPOCH);
        assert_eq!(e["source"], "aws.events");
        assert_eq!(e["detail-type"], "Scheduled Event");
        assert_eq!(e["time"], "1970-01-01T00:00:00Z");
        assert_eq!(e["resources"][0], "arn:aws:events:us-east-1:1:rule/r");
    }
}
