//! Failures and Retry sync: `GET /sync/failures` (one entry per failure
//! currently affecting users: the banners), `GET /sync/failures/{class}`
//! (its users, paginated: the banner's details), `POST /sync/retry` (sends
//! the organization's failed jobs and welcome emails again).

use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::info;
use user_sync_aws::http::HttpRequest;
use user_sync_core::activity::{Action, Subject, SubjectKind};
use user_sync_core::clock::Clock;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{Directory, JobQueue, MailQueue, ProductApi, SyncState};
use user_sync_core::retry::{Retry, RetryReport, RetrySelection};
use user_sync_core::sso::Caller;
use user_sync_core::state::{FailedUser, Failure, FailureClass, FailureCount};

use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::query::{cursor, limit, product};
use crate::routes::{ok, record_admin_change};

/// Users listed with each entry of the summary; the details page the rest.
const USERS_IN_SUMMARY: usize = 10;
/// How long one Retry sync request may look at failures (API Gateway
/// answers within 30 s); a retry left incomplete is completed by asking
/// again (what it sent is skipped then).
const RETRY_BUDGET: Duration = Duration::from_secs(20);

/// A failed user, with what the directory says of them.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedUserView {
    pub user_id: UserId,
    pub user_name: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub attempts: u32,
    pub failed_at: String,
}

/// One failure class (and product, for `out_of_licenses`): a banner.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureDetails {
    pub class: FailureClass,
    pub product: Option<String>,
    /// The email domain to verify, for `unverified_domain`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Users failed with it.
    pub count: u64,
    /// The banner's message.
    pub message: String,
    /// Transient failures are retried on their own as well.
    pub retried_automatically: bool,
    /// The first users (the summary), or a page of them (the details).
    pub users: Vec<FailedUserView>,
    pub next_cursor: Option<String>,
}

/// `GET /sync/failures`: one entry per failure currently affecting users.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FailureSummary {
    pub failures: Vec<FailureDetails>,
}

/// What Retry sync did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RetryResult {
    #[serde(flatten)]
    pub report: RetryReport,
}

fn parse_class(s: &str) -> Result<FailureClass, ApiError> {
    serde_json::from_value(Value::String(s.to_owned())).map_err(|_| {
        ApiError::new(
            404,
            ErrorCode::NotFound,
            "no such failure class (out_of_licenses, existing_account, invalid_user_data, product_api_unavailable, email_failed, unverified_domain)",
        )
    })
}

/// The users of a page, with what the directory says of them.
async fn user_views<D: Directory>(
    directory: &D,
    org: &OrgId,
    users: &[FailedUser],
) -> Result<Vec<FailedUserView>, ApiError> {
    let ids: Vec<UserId> = users.iter().map(|u| u.user_id.clone()).collect();
    let stored = directory.get_users(org, &ids).await.map_err(store_error)?;
    Ok(users
        .iter()
        .map(|f| {
            let user = stored.iter().find(|s| s.user.id == f.user_id);
            FailedUserView {
                user_id: f.user_id.clone(),
                user_name: user.map(|s| s.user.user_name.clone()),
                name: user.and_then(|s| s.user.full_name()),
                email: user.and_then(|s| s.user.email.clone()),
                attempts: f.attempts,
                failed_at: f.at.clone(),
            }
        })
        .collect())
}

fn entry(
    count: &FailureCount,
    users: Vec<FailedUserView>,
    next_cursor: Option<String>,
) -> FailureDetails {
    FailureDetails {
        class: count.failure.class,
        product: count.failure.product.clone(),
        domain: count.failure.domain.clone(),
        count: count.users,
        message: count.failure.message(count.users),
        retried_automatically: !count.failure.class.is_permanent(),
        users,
        next_cursor,
    }
}

/// `GET /sync/failures`.
pub async fn summary<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let counts = state.failure_counts(org).await.map_err(store_error)?;
    let mut entries = Vec::with_capacity(counts.len());
    for count in &counts {
        let (users, next) = state
            .failed_users(org, &count.failure, None, USERS_IN_SUMMARY)
            .await
            .map_err(store_error)?;
        let views = user_views(directory, org, &users).await?;
        entries.push(entry(count, views, next.map(|n| n.to_string())));
    }
    ok(&FailureSummary { failures: entries })
}

/// `GET /sync/failures/{class}?product=&cursor=&limit=`.
pub async fn details<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    class: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let class = parse_class(class)?;
    let product = product(req)?;
    let domain = match req.query.get("domain") {
        None => None,
        Some(d) => Some(
            user_sync_core::domains::DomainName::parse(d)
                .map_err(|e| ApiError::new(400, ErrorCode::InvalidQuery, e.to_string()))?
                .to_string(),
        ),
    };
    let failure = Failure {
        class,
        product,
        domain,
    };
    let limit = limit(req)?;
    let after = cursor(req, |c| UserId::parse(c).ok())?;
    let counts = state.failure_counts(org).await.map_err(store_error)?;
    let count = counts
        .into_iter()
        .find(|c| c.failure == failure)
        .unwrap_or(FailureCount {
            failure: failure.clone(),
            users: 0,
        });
    let (users, next) = state
        .failed_users(org, &failure, after.as_ref(), limit)
        .await
        .map_err(store_error)?;
    let views = user_views(directory, org, &users).await?;
    ok(&entry(&count, views, next.map(|n| n.to_string())))
}

/// The body of `POST /sync/retry`; empty or `{}` retries every failure.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryBody {
    #[serde(default)]
    class: Option<FailureClass>,
    #[serde(default)]
    user_id: Option<String>,
}

/// The queues Retry sync sends the organization's failed jobs and welcome
/// emails to (never the dead-letter queues: it reads none).
#[derive(Debug)]
pub struct RetryQueues<Q, M> {
    pub jobs: Q,
    pub mail: M,
}

/// `POST /sync/retry`: the organization's failed users sent again, from its
/// own failure records (`user_sync_core::retry`).
pub async fn retry<S, Q, M, P, K>(
    state: &S,
    queues: &RetryQueues<Q, M>,
    product_api: &P,
    clock: &K,
    caller: &Caller,
    body: Json<'_, RetryBody>,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
    K: Clock,
{
    let body = body.read()?;
    let user = match &body.user_id {
        None => None,
        Some(u) => Some(UserId::parse(u).map_err(|e| {
            ApiError::new(400, ErrorCode::InvalidBody, format!("userId {}", e.reason))
        })?),
    };
    let selection = RetrySelection {
        class: body.class,
        user,
    };
    let retry = Retry {
        state,
        jobs: &queues.jobs,
        mail: &queues.mail,
        product_api,
    };
    let report = retry
        .run(
            &caller.org,
            &selection,
            clock.now(),
            Instant::now() + RETRY_BUDGET,
        )
        .await
        .map_err(store_error)?;
    record_admin_change(
        state,
        clock,
        caller,
        Action::SyncRetried,
        Subject {
            kind: SubjectKind::Sync,
            id: "sync".into(),
        },
        |e| {
            e.failure_class = body.class;
            e.details = json!({
                "userId": selection.user,
                "jobs": report.jobs,
                "emails": report.emails,
                "skipped": report.skipped,
                "examined": report.examined,
                "complete": report.complete,
                "causeStillPresent": report.cause_still_present,
                "shortages": report.shortages,
            });
        },
    )
    .await?;
    info!(
        org = %caller.org,
        jobs = report.jobs,
        emails = report.emails,
        skipped = report.skipped,
        examined = report.examined,
        complete = report.complete,
        cause_still_present = report.cause_still_present,
        "retry sync"
    );
    ok(&RetryResult { report })
}
