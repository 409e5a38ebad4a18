//! The stream-lag path: the `StreamIteratorAgeAlarm` notifies the
//! `StreamLagTopic` SNS topic, which invokes the function; each alarm
//! notification going into `ALARM` starts a forced reconcile of every
//! organization with sync on (`StreamLagService`: deduplicated by the
//! alarm's state change, one running reconcile per organization, a
//! `reconcile_started` entry with `why: stream_lag`).
//!
//! An invocation that could not reach every organization (the function's
//! deadline, a storage error) fails: Lambda invokes it again (an SNS
//! invocation is asynchronous, tried twice more), and where the reconcile
//! started already nothing new starts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use tracing::{error, info, warn};
use user_sync_core::clock::SystemClock;
use user_sync_core::ports::Organizations;
use user_sync_core::service::stream_lag::{AlarmNotification, StreamLagService};

use crate::Deps;

/// Time kept free at the end of an invocation: no organization is started
/// with less left before the function's deadline.
pub const RUN_MARGIN: Duration = Duration::from_secs(10);

/// Whether the event is an SNS notification (rather than an SQS batch).
pub fn is_sns(event: &Value) -> bool {
    event["Records"][0]["EventSource"] == "aws:sns"
}

/// The alarm notifications an SNS event carries; a message that is not one
/// is logged and skipped (nothing to do from it).
pub fn alarms(event: &Value) -> Vec<AlarmNotification> {
    let records = event["Records"].as_array().map_or(&[][..], Vec::as_slice);
    records
        .iter()
        .filter_map(|r| {
            let message = r["Sns"]["Message"].as_str().unwrap_or_default();
            match AlarmNotification::from_message(message) {
                Ok(a) => Some(a),
                Err(e) => {
                    warn!(error = %e, "an SNS message that is not an alarm notification; skipped");
                    None
                }
            }
        })
        .collect()
}

/// Handles an SNS event of alarm notifications, listing organizations from
/// `orgs` (the directory table on Lambda), until the invocation's deadline.
/// Answers the counts; fails when any notification was not carried through.
pub async fn handle_alarms<O: Organizations>(
    deps: &Deps,
    orgs: &O,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    let stop_at = UNIX_EPOCH + Duration::from_millis(context.deadline);
    let keep_going = move || {
        SystemTime::now()
            .checked_add(RUN_MARGIN)
            .is_some_and(|t| t < stop_at)
    };
    let service = StreamLagService {
        orgs,
        directory: &deps.directory,
        activity: &deps.state,
        clock: &SystemClock,
    };
    let mut out = Vec::new();
    let mut unfinished = 0;
    for alarm in alarms(&payload) {
        let report = service
            .reconcile_lagging(&alarm, &keep_going)
            .await
            .inspect_err(|e| error!(error = %e, "the organizations could not be listed"))?;
        info!(
            alarm = %alarm.alarm_name,
            state = %alarm.new_state_value,
            organizations = report.organizations,
            started = report.started.len(),
            covered = report.covered.len(),
            sync_off = report.sync_off,
            failed = report.failed,
            complete = report.complete,
            "stream-lag alarm handled"
        );
        if !report.finished() {
            unfinished += 1;
        }
        out.push(json!({
            "taskId": alarm.task_id(),
            "state": alarm.new_state_value,
            "organizations": report.organizations,
            "started": report.started.len(),
            "covered": report.covered.len(),
            "syncOff": report.sync_off,
            "failed": report.failed,
            "complete": report.complete,
        }));
    }
    if unfinished > 0 {
        warn!(
            unfinished,
            "not every organization was reached; the invocation is tried again"
        );
        return Err("not every organization was reached".into());
    }
    Ok(json!({ "alarms": out }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../../events/repair/stream-lag-alarm.json");

    #[test]
    fn the_sample_sns_event_is_a_stream_lag_alarm() {
        let event: Value = serde_json::from_str(SAMPLE).unwrap();
        assert!(is_sns(&event));
        let alarms = alarms(&event);
        assert_eq!(alarms.len(), 1);
        assert!(alarms[0].is_stream_lag());
        assert_eq!(alarms[0].task_id(), "repair-lag-20261205070000");
    }

    #[test]
    fn an_sqs_batch_is_not_sns_and_a_foreign_message_is_skipped() {
        assert!(!is_sns(
            &json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]})
        ));
        let event = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "hello"}}]});
        assert!(is_sns(&event));
        assert!(alarms(&event).is_empty());
    }
}
