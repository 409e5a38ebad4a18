//! Admin API routes, written against the core ports.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::{info, warn};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
use user_sync_core::auth::{AuthError, StoredToken, TokenKind, authenticate};
use user_sync_core::ids::{GroupId, RuleId, new_id};
use user_sync_core::ports::{Configuration, Directory, Organizations, SyncSettings, SyncState};
use user_sync_core::rules::{AdminRole, Priority, Rule};
use user_sync_core::state::Outcome;

use crate::PREFIX;

/// Default and largest page of activity entries.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;
/// Most rules per organization.
pub const MAX_RULES: usize = 500;

/// The one error format of the admin API: `{"error": {"code", "message"}}`.
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

    pub fn response(&self) -> ApiGatewayV2httpResponse {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        response(self.status, "application/json", body.to_string(), &[])
    }
}

fn store_error(e: StoreError) -> ApiError {
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

fn now() -> String {
    user_sync_core::time::format(time::OffsetDateTime::now_utc())
}

fn parse_body<T: serde::de::DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::new(400, "invalid_body", format!("invalid JSON body: {e}")))
}

/// Routes one request.
pub async fn route<D, S>(directory: &D, state: &S, req: &HttpRequest) -> ApiGatewayV2httpResponse
where
    D: Directory + Configuration + Organizations,
    S: SyncState,
{
    match route_inner(directory, state, req).await {
        Ok(r) => r,
        Err(e) => e.response(),
    }
}

async fn route_inner<D, S>(
    directory: &D,
    state: &S,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + Organizations,
    S: SyncState,
{
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ApiError::new(404, "not_found", "no such endpoint"));
    };
    let token = match authenticate(directory, req.header("authorization"), TokenKind::Admin).await {
        Ok(t) => t,
        Err(AuthError::Unavailable(e)) => return Err(store_error(e)),
        Err(e) => {
            info!(reason = %e, "admin request refused");
            return Err(ApiError::new(
                401,
                "unauthorized",
                "a valid admin bearer token is required",
            ));
        }
    };
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["rules"]) => {
            let (rules, _) = directory
                .rules_and_sync(&token.org_id)
                .await
                .map_err(store_error)?;
            Ok(ok(200, &json!({"rules": rules})))
        }
        ("POST", ["rules"]) => create_rule(directory, state, &token, req).await,
        ("GET", ["sync"]) => {
            let (_, sync) = directory
                .rules_and_sync(&token.org_id)
                .await
                .map_err(store_error)?;
            Ok(ok(200, &json!(sync)))
        }
        ("PUT", ["sync"]) => put_sync(directory, state, &token, req).await,
        ("GET", ["activity"]) => activity(state, &token, req).await,
        _ => Err(ApiError::new(404, "not_found", "no such endpoint")),
    }
}

/// The body of `POST /rules`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewRule {
    group_id: String,
    #[serde(default)]
    description: String,
    priority: Option<u32>,
    #[serde(default)]
    products: BTreeSet<String>,
    #[serde(default)]
    admin_role: Option<AdminRole>,
    #[serde(default)]
    user_group: Option<String>,
    #[serde(default)]
    device_groups: BTreeSet<String>,
    #[serde(default)]
    settings_template: Option<String>,
    #[serde(default)]
    email_template: Option<String>,
    #[serde(default)]
    language: Option<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(422, "invalid_rule", message)
}

fn bounded(set: &BTreeSet<String>, what: &str) -> Result<(), ApiError> {
    if set.len() > 100 || set.iter().any(|s| s.is_empty() || s.len() > 200) {
        return Err(invalid(format!(
            "{what}: at most 100 names of 1 to 200 characters"
        )));
    }
    Ok(())
}

async fn create_rule<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration,
    S: SyncState,
{
    let body: NewRule = parse_body(req)?;
    let org = &token.org_id;
    let group_id = GroupId::parse(&body.group_id).map_err(|e| invalid(e.to_string()))?;
    if directory
        .get_group(org, &group_id)
        .await
        .map_err(store_error)?
        .is_none()
    {
        return Err(invalid(
            "groupId does not name a directory group of this organization",
        ));
    }
    bounded(&body.products, "products")?;
    bounded(&body.device_groups, "deviceGroups")?;
    if body.description.len() > 500 {
        return Err(invalid("description: at most 500 characters"));
    }
    let (rules, _) = directory.rules_and_sync(org).await.map_err(store_error)?;
    if rules.len() >= MAX_RULES {
        return Err(invalid(format!(
            "at most {MAX_RULES} rules per organization"
        )));
    }
    let next = u32::try_from(rules.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let priority =
        Priority::new(body.priority.unwrap_or(next)).map_err(|e| invalid(e.to_string()))?;
    if rules.iter().any(|r| r.priority == priority) {
        return Err(ApiError::new(
            409,
            "priority_taken",
            format!("another rule has priority {}", priority.get()),
        ));
    }
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).map_err(|_| ApiError::new(500, "internal", "internal error"))?;
    let rule = Rule {
        id: RuleId::parse(&new_id(random))
            .map_err(|_| ApiError::new(500, "internal", "internal error"))?,
        group_id,
        description: body.description,
        priority,
        products: body.products,
        admin_role: body.admin_role,
        user_group: body.user_group,
        device_groups: body.device_groups,
        settings_template: body.settings_template,
        email_template: body.email_template,
        language: body.language,
    };
    directory
        .create_rule(org, &rule)
        .await
        .map_err(store_error)?;
    let at = now();
    let mut entry = ActivityEntry::new(
        at,
        &format!("rule#{}", rule.id),
        &token.name,
        Action::RuleCreated,
        Subject {
            kind: SubjectKind::Rule,
            id: rule.id.to_string(),
        },
        Outcome::Success,
    );
    entry.details = json!({"priority": rule.priority.get(), "groupId": rule.group_id});
    state
        .append_activity(org, &entry)
        .await
        .map_err(store_error)?;
    info!(org = %org, rule_id = %rule.id, "rule created");
    Ok(ok(201, &json!(rule)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncBody {
    enabled: bool,
}

async fn put_sync<D, S>(
    directory: &D,
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Configuration,
    S: SyncState,
{
    let body: SyncBody = parse_body(req)?;
    let org = &token.org_id;
    let (rules, current) = directory.rules_and_sync(org).await.map_err(store_error)?;
    if body.enabled && !rules.iter().any(Rule::grants_full_admin) {
        return Err(ApiError::new(
            409,
            "full_admin_rule_required",
            "sync cannot be turned on until at least one rule grants Full Admin",
        ));
    }
    if current.enabled == body.enabled {
        return Ok(ok(200, &json!(current)));
    }
    let at = now();
    let sync = SyncSettings {
        enabled: body.enabled,
        changed_at: Some(at.clone()),
        changed_by: Some(token.name.clone()),
    };
    directory.put_sync(org, &sync).await.map_err(store_error)?;
    let action = if body.enabled {
        Action::SyncEnabled
    } else {
        Action::SyncDisabled
    };
    let entry = ActivityEntry::new(
        at.clone(),
        &format!("sync#{at}"),
        &token.name,
        action,
        Subject {
            kind: SubjectKind::Sync,
            id: "sync".into(),
        },
        Outcome::Success,
    );
    state
        .append_activity(org, &entry)
        .await
        .map_err(store_error)?;
    info!(org = %org, enabled = body.enabled, "sync switched");
    Ok(ok(200, &json!(sync)))
}

async fn activity<S: SyncState>(
    state: &S,
    token: &StoredToken,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let limit = match req.query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::new(
                    400,
                    "invalid_query",
                    format!("limit must be 1 to {MAX_LIMIT}"),
                ));
            }
        },
    };
    let cursor = req.query.get("cursor").map(String::as_str);
    if cursor.is_some_and(|c| c.len() > 512) {
        return Err(ApiError::new(400, "invalid_query", "cursor is too long"));
    }
    let (items, next) = state
        .activity(&token.org_id, cursor, limit)
        .await
        .map_err(store_error)?;
    Ok(ok(200, &json!({"items": items, "nextCursor": next})))
}
