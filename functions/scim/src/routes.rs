//! SCIM routing: authentication, the organization's rate limit, and which
//! handler answers which method and path.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use tracing::{info, warn};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::auth::{AuthError, PresentedToken, TokenKind, authenticate_presented};
use user_sync_core::clock::{RandomIds, SystemClock};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Directory, Organizations, TokenReads, Tokens};
use user_sync_core::ratelimit::{Admission, RateCounters, RateGate};
use user_sync_core::scim::ScimError;
use user_sync_core::service::scim_first_read::{FirstKeys, FirstRead, authenticate_with};
use user_sync_core::service::scim_groups::ScimGroups;
use user_sync_core::service::scim_users::ScimUsers;

use crate::discovery::{discover, service_provider_config};
use crate::listing::{list_groups, list_users, search_everything};
use crate::query::ListQuery;
use crate::render::{parse_json, store_error};
use crate::{PREFIX, SCIM_JSON, groups, scim_error, users};

/// What every handler of one request needs: the store, the authenticated
/// organization, the base URL of its resources, and what the request read
/// first with its token.
pub(crate) struct Ctx<'a, S> {
    pub(crate) store: &'a S,
    pub(crate) org: &'a OrgId,
    pub(crate) base: String,
    pub(crate) first: Option<FirstRead>,
}

impl<'a, S: Directory + Organizations> Ctx<'a, S> {
    pub(crate) fn users(&self) -> ScimUsers<'a, S, SystemClock, RandomIds> {
        ScimUsers::new(self.store, &SystemClock, &RandomIds).read_first(self.first.clone())
    }
}

impl<'a, S: Directory> Ctx<'a, S> {
    pub(crate) fn groups(&self) -> ScimGroups<'a, S, SystemClock, RandomIds> {
        ScimGroups::new(self.store, &SystemClock, &RandomIds).read_first(self.first.clone())
    }
}

/// What a request reads first, when it can read it with its token's item:
/// the user of `/Users/{id}`, the group and added members of a group
/// `PATCH`, whether a created user may be a returning person (whose body
/// is read here for them; a body that does not name them is refused by the
/// handler, after the token is checked).
fn first_keys(method: &str, segments: &[&str], req: &HttpRequest) -> Option<FirstKeys> {
    match (method, segments) {
        ("GET" | "PUT" | "PATCH" | "DELETE", ["Users", id]) => FirstKeys::user(id),
        ("PATCH", ["Groups", id]) => FirstKeys::group_patch(id, &parse_json(req).ok()?),
        ("POST", ["Users"]) => FirstKeys::user_create(&parse_json(req).ok()?),
        _ => None,
    }
}

/// Routes one request. Every error is a SCIM error response. `gate` holds
/// the organization's request rate.
pub async fn route<S: Directory + Organizations + Tokens + TokenReads, C: RateCounters>(
    store: &S,
    gate: &RateGate<C>,
    req: &HttpRequest,
) -> ApiGatewayV2httpResponse {
    match route_inner(store, gate, req).await {
        Ok(r) => r,
        Err(e) => scim_error(&e),
    }
}

/// `429` with `Retry-After`: the organization sent more than its limit in
/// this window. Identity providers wait and retry.
fn rate_limited(retry_after_seconds: u64) -> ApiGatewayV2httpResponse {
    let e = ScimError::new(
        429,
        None,
        format!(
            "too many requests for this organization; retry after {retry_after_seconds} seconds"
        ),
    );
    response(
        429,
        SCIM_JSON,
        e.to_json().to_string(),
        &[("retry-after", retry_after_seconds.to_string())],
    )
}

async fn route_inner<S: Directory + Organizations + Tokens + TokenReads, C: RateCounters>(
    store: &S,
    gate: &RateGate<C>,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ScimError::not_found("no such endpoint"));
    };
    let method = req.method.as_str();
    let authenticated = match req
        .header("authorization")
        .and_then(PresentedToken::from_authorization)
    {
        None => Err(AuthError::Malformed),
        Some(presented) => match first_keys(method, &segments, req) {
            // the token's item comes with the request's first read
            Some(keys) => authenticate_with(store, &presented, TokenKind::Scim, keys)
                .await
                .map(|(token, first)| (token, Some(first))),
            None => authenticate_presented(store, &presented, TokenKind::Scim)
                .await
                .map(|token| (token, None)),
        },
    };
    let (token, first) = match authenticated {
        Ok(t) => t,
        Err(AuthError::Unavailable(e)) => return Err(store_error(e)),
        Err(e) => {
            info!(reason = %e, "SCIM request refused");
            return Err(ScimError::unauthorized());
        }
    };
    let org = &token.org_id;
    match gate.admit(org).await {
        Admission::Admitted => {}
        Admission::Limited {
            retry_after_seconds,
        } => {
            info!(org = %org, retry_after_seconds, "SCIM request over the organization's rate limit");
            return Ok(rate_limited(retry_after_seconds));
        }
        Admission::Unchecked(e) => {
            warn!(error = %e, "the request rate could not be counted; request admitted");
        }
    }
    let cx = Ctx {
        store,
        org,
        base: req.base_url(PREFIX),
        first,
    };
    let base = cx.base.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["ServiceProviderConfig"]) => Ok(service_provider_config(base)),
        ("GET", [kind @ ("ResourceTypes" | "Schemas")]) => {
            discover(store, org, kind, None, base).await
        }
        ("GET", [kind @ ("ResourceTypes" | "Schemas"), id]) => {
            discover(store, org, kind, Some(id), base).await
        }
        (_, ["ServiceProviderConfig" | "ResourceTypes" | "Schemas", ..]) => {
            Err(method_not_allowed())
        }
        ("POST", ["Users"]) => users::create(&cx, req).await,
        ("GET", ["Users"]) => list_users(store, org, &ListQuery::from_query(req)?, base).await,
        ("POST", [".search"]) => {
            let q = ListQuery::from_search(&parse_json(req)?)?;
            search_everything(store, org, &q, base).await
        }
        ("POST", ["Users", ".search"]) => {
            let q = ListQuery::from_search(&parse_json(req)?)?;
            list_users(store, org, &q, base).await
        }
        ("GET", ["Groups"]) => list_groups(store, org, &ListQuery::from_query(req)?, base).await,
        ("POST", ["Groups", ".search"]) => {
            let q = ListQuery::from_search(&parse_json(req)?)?;
            list_groups(store, org, &q, base).await
        }
        ("GET", ["Users", id]) => users::get(&cx, id, req).await,
        ("PUT", ["Users", id]) => users::replace(&cx, id, req).await,
        ("PATCH", ["Users", id]) => users::patch(&cx, id, req).await,
        ("DELETE", ["Users", id]) => users::delete(&cx, id, req).await,
        ("POST", ["Groups"]) => groups::create(&cx, req).await,
        ("GET", ["Groups", id]) => groups::get(&cx, id, req).await,
        ("PATCH", ["Groups", id]) => groups::patch(&cx, id, req).await,
        ("PUT", ["Groups", id]) => groups::replace(&cx, id, req).await,
        ("DELETE", ["Groups", id]) => groups::delete(&cx, id, req).await,
        (_, ["Users" | "Groups"] | ["Users" | "Groups", _]) => Err(method_not_allowed()),
        _ => Err(ScimError::not_found("no such endpoint")),
    }
}

fn method_not_allowed() -> ScimError {
    ScimError::new(405, None, "method not allowed on this endpoint")
}
