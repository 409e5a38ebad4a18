//! The function's scheduled invocation: the EventBridge schedule in
//! `template.yaml` (`DomainRecheck`) invokes it with a scheduled event
//! instead of an HTTP request, and it re-checks every organization's
//! verified domains (`user_sync_core::domains::recheck_every_organization`,
//! the decision `ops domains recheck` makes too).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_runtime::LambdaEvent;
use serde_json::{Value, json};
use user_sync_core::clock::Clock;
use user_sync_core::domains::{RecheckRun, recheck_every_organization};

use crate::Deps;

/// Time kept free at the end of a scheduled run: no organization is started
/// with less left before the function's deadline.
pub const RUN_MARGIN: Duration = Duration::from_secs(10);

/// What invoked the function.
#[derive(Debug)]
pub enum Invocation {
    /// An EventBridge scheduled event (`source` `aws.events`, `detail-type`
    /// `Scheduled Event`).
    Scheduled,
    /// The same, from the drift check's rule
    /// ([`crate::drift_schedule::is_drift_rule`]).
    DriftCheck,
    /// An API Gateway (HTTP API, payload 2.0) request.
    Http(Box<ApiGatewayV2httpRequest>),
}

impl Invocation {
    /// Tells the event's shape; anything not a scheduled event must be an
    /// HTTP API request, else it is refused (the invocation fails).
    pub fn parse(event: Value) -> Result<Self, serde_json::Error> {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        if field("source") == Some("aws.events") && field("detail-type") == Some("Scheduled Event")
        {
            if crate::drift_schedule::is_drift_rule(&event) {
                return Ok(Self::DriftCheck);
            }
            return Ok(Self::Scheduled);
        }
        serde_json::from_value(event).map(|r| Self::Http(Box::new(r)))
    }
}

/// The handler for either shape: an HTTP request is answered by
/// [`crate::handle`]; a scheduled event runs the domain re-check and
/// answers its counts.
pub async fn handle_event(
    deps: &Deps,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let LambdaEvent { payload, context } = event;
    match Invocation::parse(payload)? {
        Invocation::Http(req) => {
            let response = crate::handle(deps, LambdaEvent::new(*req, context)).await?;
            Ok(serde_json::to_value(response)?)
        }
        Invocation::DriftCheck => crate::drift_schedule::pass(deps, context.deadline).await,
        Invocation::Scheduled => {
            let run = recheck(deps, context.deadline).await?;
            Ok(json!({
                "organizations": run.organizations,
                "domains": run.domains,
                "changed": run.changed,
                "couldNotCheck": run.could_not_check,
                "failedOrganizations": run.failed_organizations,
                "complete": run.complete,
            }))
        }
    }
}

/// One scheduled re-check, until `deadline` (milliseconds since the epoch,
/// the invocation's) less [`RUN_MARGIN`]. Logs counts only.
pub async fn recheck(deps: &Deps, deadline: u64) -> Result<RecheckRun, lambda_runtime::Error> {
    let stop_at = UNIX_EPOCH + Duration::from_millis(deadline);
    let keep_going = move || {
        SystemTime::now()
            .checked_add(RUN_MARGIN)
            .is_some_and(|t| t < stop_at)
    };
    let run = recheck_every_organization(
        &deps.directory,
        &deps.dns,
        &deps.state,
        deps.clock.now(),
        &keep_going,
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "the domain re-check could not list the organizations");
        e
    })?;
    // one set of fields, at the level the outcome calls for
    macro_rules! log_run {
        ($level:ident, $message:literal) => {
            tracing::$level!(
                organizations = run.organizations,
                domains = run.domains,
                changed = run.changed,
                could_not_check = run.could_not_check,
                failed_organizations = run.failed_organizations,
                $message
            )
        };
    }
    if run.complete {
        log_run!(info, "domain re-check done");
    } else {
        log_run!(
            warn,
            "domain re-check stopped before the function's deadline; the organizations not reached wait for the next run"
        );
    }
    Ok(run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_event_is_told_from_an_http_request() {
        let scheduled = json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": "2026-12-04T18:00:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/user-sync-DomainRecheck"],
            "detail": {}
        });
        assert!(matches!(
            Invocation::parse(scheduled).unwrap(),
            Invocation::Scheduled
        ));
        let http = json!({
            "version": "2.0",
            "routeKey": "ANY /api/v1/{proxy+}",
            "rawPath": "/api/v1/domains",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "http": {"method": "GET", "path": "/api/v1/domains", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "routeKey": "ANY /api/v1/{proxy+}", "stage": "$default", "requestId": "r", "apiId": "a",
                "accountId": "1", "domainName": "d", "domainPrefix": "d", "time": "t", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        let Invocation::Http(req) = Invocation::parse(http).unwrap() else {
            panic!("an HTTP request");
        };
        assert_eq!(req.raw_path.as_deref(), Some("/api/v1/domains"));
        // the sample event of events/api/
        let sample: Value = serde_json::from_str(include_str!(
            "../../../events/api/scheduled-domain-recheck.json"
        ))
        .unwrap();
        assert!(matches!(
            Invocation::parse(sample).unwrap(),
            Invocation::Scheduled
        ));
        // another source is not the schedule, nor an HTTP request: refused
        let other = json!({"source": "aws.s3", "detail-type": "Scheduled Event"});
        assert!(Invocation::parse(other).is_err());
    }
}
