//! The drift check's scheduled pass: the EventBridge schedule in
//! `template.yaml` (`DriftCheck`, hourly) invokes the function with a
//! scheduled event naming its rule, and the pass starts the current
//! period's run of every organization that is due
//! (`user_sync_core::drift::start_due_drift_checks`, what `ops drift due`
//! does too). The runs themselves are fan-out tasks the evaluator and the
//! worker carry out.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use user_sync_core::clock::Clock;
use user_sync_core::drift::start_due_drift_checks;

use crate::Deps;
use crate::schedule::RUN_MARGIN;

/// The name every drift-check rule carries: the template's event is
/// `DriftCheck`, so its rule is `<stack>-ApiFunctionDriftCheck-…`.
pub const RULE_MARKER: &str = "DriftCheck";

/// Whether a scheduled event comes from the drift check's rule.
pub fn is_drift_rule(event: &Value) -> bool {
    event
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|arn| arn.contains(RULE_MARKER))
}

/// One pass, until `deadline` (milliseconds since the epoch) less
/// [`RUN_MARGIN`]; answers its counts.
pub async fn pass(deps: &Deps, deadline: u64) -> Result<Value, lambda_runtime::Error> {
    let stop_at = UNIX_EPOCH + Duration::from_millis(deadline);
    let keep_going = move || {
        SystemTime::now()
            .checked_add(RUN_MARGIN)
            .is_some_and(|t| t < stop_at)
    };
    let pass = start_due_drift_checks(&deps.directory, deps.clock.now(), &keep_going)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the drift check could not list the organizations");
            e
        })?;
    tracing::info!(
        organizations = pass.organizations,
        started = pass.started,
        not_due = pass.not_due,
        failed = pass.failed,
        complete = pass.complete,
        "drift check pass done"
    );
    Ok(json!({
        "organizations": pass.organizations,
        "started": pass.started,
        "notDue": pass.not_due,
        "failed": pass.failed,
        "complete": pass.complete,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drift_rule_is_told_from_the_domain_recheck() {
        let event = |rule: &str| {
            json!({
                "source": "aws.events",
                "detail-type": "Scheduled Event",
                "resources": [format!("arn:aws:events:us-east-1:1:rule/{rule}")],
            })
        };
        assert!(is_drift_rule(&event("user-sync-ApiFunctionDriftCheck")));
        assert!(is_drift_rule(&event("prod-ApiFunctionDriftCheck-1X2Y3Z")));
        assert!(!is_drift_rule(&event("user-sync-ApiFunctionDomainRecheck")));
        assert!(!is_drift_rule(&json!({})));
        // the sample event of events/api/
        let sample: Value = serde_json::from_str(include_str!(
            "../../../events/api/scheduled-drift-check.json"
        ))
        .unwrap_or_default();
        assert!(is_drift_rule(&sample));
    }
}
