//! Admin API routes, written against the core ports.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
use user_sync_core::auth::{AuthError, StoredToken, TokenKind, authenticate};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{
    Configuration, DeadLetters, Directory, FanOuts, Organization, Organizations, ProductApi,
    SyncSettings, SyncState, Templates,
};
use user_sync_core::rules::Rule;
use user_sync_core::state::Outcome;

use crate::PREFIX;
use crate::activity;
use crate::catalog;
use crate::custom_attributes;
use crate::explain::explain;
use crate::failures;
use crate::groups;
use crate::guardrail;
use crate::progress;
use crate::rules::Ctx;
use crate::templates;
use crate::users;

/// Attempts when a rule changed while sync was being switched.
const WRITE_ATTEMPTS: usize = 3;

/// Default and largest page of activity entries.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Where the problem types live: `urn:user-sync:problem:{code}`. Stable: a
/// client may match on `type` (or on the same `code`).
pub const PROBLEM_TYPE_PREFIX: &str = "urn:user-sync:problem:";

/// The one error format of the admin API: RFC 9457 problem details
/// (`application/problem+json`) with `type`, `title`, `status`, `detail`,
/// and the code itself as the extension member `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The problem's `title`: its code in words ("precondition_failed" →
    /// "Precondition failed"), the same for every occurrence of the type.
    pub fn title(&self) -> String {
        let words = self.code.replace('_', " ");
        let mut chars = words.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
            .unwrap_or_default()
    }

    pub fn body(&self) -> Value {
        json!({
            "type": format!("{PROBLEM_TYPE_PREFIX}{}", self.code),
            "title": self.title(),
            "status": self.status,
            "detail": self.message,
            "code": self.code,
        })
    }

    pub fn response(&self) -> ApiGatewayV2httpResponse {
        // the only resources that refuse a method are the read-only ones
        let allow = [("allow", "GET".to_owned())];
        let extra: &[(&str, String)] = if self.status == 405 { &allow } else { &[] };
        response(
            self.status,
            "application/problem+json",
            self.body().to_string(),
            extra,
        )
    }
}

pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::new(404, "not_found", "not found"),
        StoreError::Conflict(_) => ApiError::new(
            409,
            "conflict",
            "the resource was changed or exists already",
        ),
        StoreError::Invalid(_) => {
            ApiError::new(400, "invalid_request", "the request could not be stored")
        }
        StoreError::Transient(source) => {
            warn!(error = %source, "storage temporarily unavailable");
            ApiError::new(503, "unavailable", "temporarily unavailable, retry later")
        }
        StoreError::Permanent(source) => {
            warn!(error = %source, "storage failure");
            ApiError::new(500, "internal", "internal error")
        }
    }
}

fn ok(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    response(status, "application/json", body.to_string(), &[])
}

pub(crate) fn now() -> String {
    user_sync_core::time::format(time::OffsetDateTime::now_utc())
}

/// The `limit` query parameter: a page size.
pub(crate) fn limit(req: &HttpRequest) -> Result<usize, ApiError> {
    match req.query.get("limit") {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::new(
                400,
                "invalid_query",
                format!("limit must be 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

/// The `cursor` query parameter, as given by a previous page.
pub(crate) fn cursor<'r, T>(
    req: &'r HttpRequest,
    parse: fn(&'r str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    match req.query.get("cursor") {
        None => Ok(None),
        Some(c) => parse(c)
            .map(Some)
            .ok_or_else(|| ApiError::new(400, "invalid_query", "cursor is not one this API gave")),
    }
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
        .ok_or_else(|| ApiError::new(404, "not_found", "no such organization"))
}

/// Records an admin's change in the activity history, with the admin
/// token's name as actor; `fill` adds the details.
pub(crate) async fn record_admin_change<S: SyncState>(
    state: &S,
    token: &StoredToken,
    at: String,
    action: Action,
    subject: Subject,
    fill: impl FnOnce(&mut ActivityEntry),
) -> Result<(), ApiError> {
    let mut entry = ActivityEntry::new(
        at.clone(),
        &format!("{action:?}#{at}"),
        &token.name,
        action,
        subject,
        Outcome::Success,
    );
    fill(&mut entry);
    state
        .append_activity(&token.org_id, &entry)
        .await
        .map_err(store_error)
}

pub(crate) fn parse_body<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::new(400, "invalid_body", format!("invalid JSON body: {e}")))
}

/// Routes one request. `login_url` is the product's login URL (template
/// previews show it).
pub async fn route<D, S, P, Q>(
    directory: &D,
    state: &S,
    product_api: &P,
    dead_letters: &Q,
    login_url: &str,
    req: &HttpRequest,
) -> ApiGatewayV2httpResponse
where
    D: Directory + Configuration + Organizations + FanOuts + Templates,
    S: SyncState,
    P: ProductApi,
    Q: DeadLetters,
{
    match route_inner(directory, state, product_api, dead_letters, login_url, req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

async fn route_inner<D, S, P, Q>(
    directory: &D,
    state: &S,
    product_api: &P,
    dead_letters: &Q,
    login_url: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations + FanOuts + Templates,
    S: SyncState,
    P: ProductApi,
    Q: DeadLetters,
{
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ApiError::new(404, "not_found", "no such endpoint"));
    };
    let token = match authenticate(directory, req.header("authorization"), TokenKind::Admin).await {
        Ok(t) => t,
        Err(AuthError::Unavailable(e)) => return Err(store_error(e)),
        Err(AuthError::WrongKind) => {
            info!("a SCIM token on the admin API");
            return Err(ApiError::new(
                403,
                "forbidden",
                "this is a SCIM token; the admin API takes the organization's admin token",
            ));
        }
        Err(e) => {
            info!(reason = %e, "admin request refused");
            return Err(ApiError::new(
                401,
                "unauthorized",
                "a valid admin bearer token is required",
            ));
        }
    };
    let rules = Ctx {
        directory,
        state,
        product_api,
        token: &token,
    };
    let templates = templates::Ctx {
        directory,
        state,
        token: &token,
        login_url,
    };
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["rules"]) => rules.list().await,
        ("POST", ["rules"]) => rules.create(req).await,
        ("POST", ["rules", "preview"]) => rules.preview(req).await,
        ("PUT", ["rules", "order"]) => rules.reorder(req).await,
        ("GET", ["rules", id]) => rules.get(id).await,
        ("PUT", ["rules", id]) => rules.replace(id, req, false).await,
        ("PATCH", ["rules", id]) => rules.replace(id, req, true).await,
        ("DELETE", ["rules", id]) => rules.delete(id, req).await,
        ("POST", ["rules", id, "move"]) => rules.move_rule(id, req).await,
        ("GET", ["sync"]) => {
            let (_, sync) = directory
                .rules_and_sync(&token.org_id)
                .await
                .map_err(store_error)?;
            // rule changes and sync-on being applied, with their progress
            let running: Vec<Value> = directory
                .running_fan_outs(&token.org_id, 20)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|t| {
                    json!({
                        "id": t.id,
                        "reason": t.reason,
                        "usersReconciled": t.users,
                        "jobsEnqueued": t.jobs,
                        "startedAt": t.created_at,
                        "updatedAt": t.updated_at,
                    })
                })
                .collect();
            let progress = progress::progress(directory, state, &token.org_id).await?;
            let mut body = json!(sync);
            if let Some(o) = body.as_object_mut() {
                o.insert("fanOuts".into(), json!(running));
                o.insert("progress".into(), progress);
            }
            Ok(ok(200, &body))
        }
        ("PUT", ["sync"]) => put_sync(directory, state, &token, req).await,
        ("GET", ["sync", "failures"]) => failures::summary(directory, state, &token.org_id).await,
        ("GET", ["sync", "failures", class]) => {
            failures::details(directory, state, &token.org_id, class, req).await
        }
        ("POST", ["sync", "retry"]) => failures::retry(state, dead_letters, &token, req).await,
        ("GET", ["catalog"]) => catalog::get(directory, &token).await,
        ("PUT", ["catalog"]) => catalog::put(directory, state, &token, req).await,
        ("GET", ["activity"]) => activity::list(directory, state, &token.org_id, req).await,
        ("GET", ["activity", "export"]) => {
            activity::export(directory, state, &token.org_id, req).await
        }
        ("GET", ["activity", "settings"]) => activity::settings(directory, &token.org_id).await,
        ("PUT", ["activity", "settings"]) => {
            activity::put_settings(directory, state, &token, req).await
        }
        ("GET", ["users", id, "assignment"]) => explain(directory, state, &token.org_id, id).await,
        ("GET", ["users"]) => users::list(directory, state, &token.org_id, req).await,
        ("GET", ["users", id]) => users::get(directory, state, &token.org_id, id).await,
        ("GET", ["custom-attributes"]) => custom_attributes::get(directory, &token.org_id).await,
        ("PUT", ["custom-attributes"]) => {
            custom_attributes::put(directory, state, &token, req).await
        }
        ("GET", ["groups"]) => groups::list(directory, &token.org_id, req).await,
        ("GET", ["groups", id]) => groups::get(directory, &token.org_id, id).await,
        ("GET", ["groups", id, "members"]) => {
            groups::members(directory, &token.org_id, id, req).await
        }
        (_, ["groups"] | ["groups", _] | ["groups", _, "members"]) => Err(groups::read_only()),
        ("GET", ["templates"]) => templates.list().await,
        ("POST", ["templates"]) => templates.create(req).await,
        ("GET", ["templates", id]) => templates.get(id).await,
        ("PUT", ["templates", id]) => templates.replace(id, req).await,
        ("DELETE", ["templates", id]) => templates.delete(id, req).await,
        ("POST", ["templates", id, "preview"]) => templates.preview(id, req).await,
        _ => Err(ApiError::new(404, "not_found", "no such endpoint")),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    enabled: bool,
    /// Go ahead although the guardrail would refuse.
    #[serde(default)]
    confirm: bool,
}

async fn put_sync<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations,
    S: SyncState,
{
    let body: SyncBody = parse_body(req)?;
    let org = &token.org_id;
    let mut written = None;
    for _ in 0..WRITE_ATTEMPTS {
        let set = directory.rule_set(org).await.map_err(store_error)?;
        let rules = set.rules();
        if body.enabled && !rules.iter().any(Rule::grants_full_admin) {
            return Err(ApiError::new(
                409,
                "full_admin_rule_required",
                "sync cannot be turned on until at least one rule grants Full Admin",
            ));
        }
        if set.sync.enabled == body.enabled {
            return Ok(ok(200, &json!(set.sync)));
        }
        if body.enabled && !body.confirm {
            let g = guardrail::verdict(directory, org, &rules, &rules, true)
                .await
                .map_err(store_error)?;
            if g.confirmation_required {
                return Err(ApiError::new(
                    409,
                    "mass_suspension",
                    g.message("turning sync on"),
                ));
            }
        }
        let sync = SyncSettings {
            enabled: body.enabled,
            changed_at: Some(now()),
            changed_by: Some(token.name.clone()),
        };
        match directory.put_sync(org, &sync, set.version).await {
            Ok(()) => {
                written = Some(sync);
                break;
            }
            // a rule changed meanwhile: check again
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(store_error(e)),
        }
    }
    let Some(sync) = written else {
        return Err(ApiError::new(
            409,
            "conflict",
            "the rules kept changing while this request was applied; retry",
        ));
    };
    let at = sync.changed_at.clone().unwrap_or_else(now);
    let action = if body.enabled {
        Action::SyncEnabled
    } else {
        Action::SyncDisabled
    };
    record_admin_change(
        state,
        token,
        at,
        action,
        Subject {
            kind: SubjectKind::Sync,
            id: "sync".into(),
        },
        |_| {},
    )
    .await?;
    info!(org = %org, enabled = body.enabled, "sync switched");
    Ok(ok(200, &json!(sync)))
}
