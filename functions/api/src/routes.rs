//! The admin API's router: finds a request's endpoint in the table
//! (`endpoints`), authenticates it (the organization is the token's),
//! admits it under the organization's rate limit and calls its handler.
//! Also the answers and records handlers share.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde::Serialize;
use tracing::{info, warn};
use user_sync_aws::correlation::{AdminActor, admin_change};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_aws::oidc::looks_like_jwt;
use user_sync_core::access;
use user_sync_core::activity::{Action, ActivityEntry, Subject};
use user_sync_core::auth::{AuthError, StoredToken, TokenKind, authenticate};
use user_sync_core::clock::Clock;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organization, Organizations, SyncState, Tokens};
use user_sync_core::ratelimit::Admission;
use user_sync_core::sso::{Caller, SsoConfigs, refuses_key_from_browser};
use user_sync_core::state::Outcome;

use crate::PREFIX;
use crate::endpoints::endpoints;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::registry::{Answer, Backend, Call, find};

/// Routes one request.
pub async fn route<X: Backend>(backend: &X, req: &HttpRequest) -> ApiGatewayV2httpResponse {
    // HEAD is GET without the body (RFC 9110 §9.3.2)
    let head = req.method == "HEAD";
    let get;
    let req = if head {
        get = {
            let mut r = req.clone();
            r.method = "GET".to_owned();
            r
        };
        &get
    } else {
        req
    };
    let mut answer = match route_inner(backend, req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    };
    if head {
        answer.body = None;
    }
    answer
}

async fn route_inner<X: Backend>(backend: &X, req: &HttpRequest) -> Answer {
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ApiError::new(404, ErrorCode::NotFound, "no such endpoint"));
    };
    let table = endpoints::<X>();
    let (endpoint, params) = find(&table, &req.method, &segments)?;
    if let Some(answer) = endpoint.public_answer() {
        return answer;
    }
    if let Some(pending) = endpoint.open(backend, &params) {
        return pending.await;
    }
    let caller = caller(backend, req).await?;
    if let Err(refusal) = access::check(endpoint.spec.id, caller.role) {
        info!(org = %caller.org, operation = endpoint.spec.id, role = %caller.role, "refused for the caller's role");
        return Err(ApiError::new(
            403,
            ErrorCode::Forbidden,
            refusal.to_string(),
        ));
    }
    match backend.gate().admit(&caller.org).await {
        Admission::Admitted => {}
        Admission::Limited {
            retry_after_seconds,
        } => {
            info!(org = %caller.org, retry_after_seconds, "admin request over the organization's rate limit");
            return Err(ApiError::rate_limited(retry_after_seconds));
        }
        Admission::Unchecked(e) => {
            warn!(error = %e, "the request rate could not be counted; request admitted");
        }
    }
    let actor = AdminActor {
        name: caller.name.clone(),
        subject: caller.subject.clone(),
    };
    admin_change(
        actor,
        endpoint.call(&Call::new(backend, &caller, req, params)),
    )
    .await
}

/// The request's caller: a person when the bearer token is a JWT (see
/// `sso`), else an admin key.
async fn caller<X: Backend>(backend: &X, req: &HttpRequest) -> Result<Caller, ApiError> {
    let bearer = req.header("authorization").and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    });
    if let Some(token) = bearer.filter(|t| looks_like_jwt(t)) {
        return crate::sso::person(backend, token).await;
    }
    let token = admin_token(backend, req).await?;
    let now = backend.clock().now();
    if token.expired(now) {
        info!(org = %token.org_id, token_id = %token.token_id, "an expired admin key");
        return Err(ApiError::new(
            401,
            ErrorCode::Unauthorized,
            "this key has expired; ask for a new one",
        ));
    }
    refuse_key_from_browser(backend, req, &token.org_id).await?;
    mark_used(backend, &token, now).await;
    Ok(Caller::key(&token, crate::sso::correlation_id()))
}

/// `401` for a key a browser sends when the organization turned token
/// sign-in off; the organization's configuration is read only for
/// requests from a browser.
async fn refuse_key_from_browser<X: Backend>(
    backend: &X,
    req: &HttpRequest,
    org: &OrgId,
) -> Result<(), ApiError> {
    if !refuses_key_from_browser(false, |h| req.header(h).is_some()) {
        return Ok(());
    }
    let Some(config) = backend
        .directory()
        .get_sso(org)
        .await
        .map_err(store_error)?
    else {
        return Ok(());
    };
    if refuses_key_from_browser(config.token_sign_in, |h| req.header(h).is_some()) {
        info!(org = %org, "a key from a browser with token sign-in off");
        return Err(ApiError::new(
            401,
            ErrorCode::Unauthorized,
            format!(
                "token sign-in is turned off for this organization: sign in with {}",
                config.name
            ),
        ));
    }
    Ok(())
}

/// Records the key's use, at most once per interval (a conditional write);
/// a failure is logged, never the request's.
async fn mark_used<X: Backend>(backend: &X, token: &StoredToken, now: time::OffsetDateTime) {
    let cutoff = StoredToken::last_used_cutoff(now);
    if token
        .last_used_at
        .as_deref()
        .is_some_and(|last| last >= cutoff.as_str())
    {
        return;
    }
    let at = user_sync_core::time::format(now);
    if let Err(e) = backend
        .directory()
        .mark_token_used(&token.org_id, &token.token_id, &at, &cutoff)
        .await
    {
        warn!(error = %e, "the key's last use could not be recorded");
    }
}

/// The request's admin token: `401` without a valid one, `403` for a SCIM
/// token.
async fn admin_token<X: Backend>(backend: &X, req: &HttpRequest) -> Result<StoredToken, ApiError> {
    match authenticate(
        backend.directory(),
        req.header("authorization"),
        TokenKind::Admin,
    )
    .await
    {
        Ok(t) => Ok(t),
        Err(AuthError::Unavailable(e)) => Err(store_error(e)),
        Err(AuthError::WrongKind) => {
            info!("a SCIM token on the admin API");
            Err(ApiError::new(
                403,
                ErrorCode::Forbidden,
                "this is a SCIM token; the admin API takes the organization's admin token",
            ))
        }
        Err(e) => {
            info!(reason = %e, "admin request refused");
            Err(ApiError::new(
                401,
                ErrorCode::Unauthorized,
                ApiError::BAD_CREDENTIAL,
            ))
        }
    }
}

/// A JSON response: `body` is the type the endpoint's schema is derived
/// from.
pub(crate) fn json_response<T: Serialize>(
    status: u16,
    body: &T,
    headers: &[(&str, String)],
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| {
        warn!(error = %e, "a response could not be serialized");
        ApiError::internal()
    })?;
    Ok(response(status, "application/json", text, headers))
}

/// `200 OK` with a JSON body.
pub(crate) fn ok<T: Serialize>(body: &T) -> Result<ApiGatewayV2httpResponse, ApiError> {
    json_response(200, body, &[])
}

/// The token's organization (`404` if it was removed meanwhile).
pub(crate) async fn organization<D: Organizations>(
    directory: &D,
    org: &OrgId,
) -> Result<Organization, ApiError> {
    directory
        .get_org(org)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::new(404, ErrorCode::NotFound, "no such organization"))
}

/// Records an admin's change in the activity history, at the clock's time,
/// with the caller's name as actor; `fill` adds the details.
pub(crate) async fn record_admin_change<S: SyncState>(
    state: &S,
    clock: &impl Clock,
    caller: &Caller,
    action: Action,
    subject: Subject,
    fill: impl FnOnce(&mut ActivityEntry),
) -> Result<(), ApiError> {
    let at = clock.timestamp();
    let mut entry = ActivityEntry::new(
        at.clone(),
        &format!("{action:?}#{at}"),
        &caller.name,
        action,
        subject,
        Outcome::Success,
    );
    entry.actor_subject = caller.subject.clone();
    entry.correlation_id = caller.correlation_id.clone();
    fill(&mut entry);
    state
        .append_activity(&caller.org, &entry)
        .await
        .map_err(store_error)
}
