//! Admin API routes, written against the core ports.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::{info, warn};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, Subject};
use user_sync_core::auth::{AuthError, StoredToken, TokenKind, authenticate};
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{
    Configuration, Directory, FanOuts, JobQueue, MailQueue, Organization, Organizations,
    ProductApi, SyncSettings, SyncState, Templates, Tokens,
};
use user_sync_core::ratelimit::{Admission, RateCounters, RateGate};
use user_sync_core::service::sync::SyncService;
use user_sync_core::state::Outcome;

use crate::PREFIX;
use crate::activity;
use crate::catalog;
use crate::custom_attributes;
use crate::explain::explain;
use crate::failures::{self, RetryQueues};
use crate::groups;
use crate::openapi::{self, Op};
use crate::progress;
use crate::rules::Ctx;
use crate::templates;
use crate::users;

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
    /// For `405`: the methods the resource allows.
    pub allow: Option<String>,
    /// For `429`: seconds until the organization may call again.
    pub retry_after: Option<u64>,
}

/// An error's body: RFC 9457 problem details.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Problem {
    /// `urn:user-sync:problem:{code}`: stable, for clients to match on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The code in words, the same for every occurrence of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, naming the field when there is one.
    pub detail: String,
    /// The error code (docs/admin-api.md#errors lists them).
    pub code: String,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after: None,
        }
    }

    pub fn with_allow(mut self, allow: String) -> Self {
        self.allow = Some(allow);
        self
    }

    /// `429 rate_limited`: the organization sent more than its limit in
    /// this window.
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self {
            retry_after: Some(retry_after_seconds),
            ..Self::new(
                429,
                "rate_limited",
                format!(
                    "too many requests for this organization; retry after {retry_after_seconds} seconds"
                ),
            )
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

    pub fn body(&self) -> Problem {
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{}", self.code),
            title: self.title(),
            status: self.status,
            detail: self.message.clone(),
            code: self.code.to_owned(),
        }
    }

    pub fn response(&self) -> ApiGatewayV2httpResponse {
        let headers: Vec<(&str, String)> = (self.allow.iter().map(|a| ("allow", a.clone())))
            .chain(self.retry_after.map(|s| ("retry-after", s.to_string())))
            // RFC 9110 §15.5.2: a 401 names the scheme to authenticate with
            .chain((self.status == 401).then(|| {
                (
                    "www-authenticate",
                    "Bearer realm=\"user-sync-admin\"".to_owned(),
                )
            }))
            .collect();
        response(
            self.status,
            "application/problem+json",
            serde_json::to_string(&self.body()).unwrap_or_default(),
            &headers,
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

/// A JSON response: `body` is the type the endpoint's schema is derived
/// from.
pub(crate) fn json_response<T: Serialize>(
    status: u16,
    body: &T,
    headers: &[(&str, String)],
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let text = serde_json::to_string(body).map_err(|e| {
        warn!(error = %e, "a response could not be serialized");
        ApiError::new(500, "internal", "internal error")
    })?;
    Ok(response(status, "application/json", text, headers))
}

/// `200 OK` with a JSON body.
pub(crate) fn ok<T: Serialize>(body: &T) -> Result<ApiGatewayV2httpResponse, ApiError> {
    json_response(200, body, &[])
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

/// Longest `search` text.
pub const MAX_SEARCH: usize = 256;

/// The `search` query parameter: lowercased and trimmed, `None` when empty.
pub(crate) fn search(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(raw) = req.query.get("search") else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_SEARCH {
        return Err(ApiError::new(
            400,
            "invalid_query",
            format!("search: at most {MAX_SEARCH} characters"),
        ));
    }
    let s = raw.trim().to_lowercase();
    Ok((!s.is_empty()).then_some(s))
}

/// Longest product id of the `product` query parameter.
pub const MAX_PRODUCT: usize = 200;

/// The `product` query parameter.
pub(crate) fn product(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let product = req.query.get("product").cloned();
    if product
        .as_ref()
        .is_some_and(|p| p.is_empty() || p.chars().count() > MAX_PRODUCT)
    {
        return Err(ApiError::new(
            400,
            "invalid_query",
            format!("product: 1 to {MAX_PRODUCT} characters"),
        ));
    }
    Ok(product)
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

/// The request's JSON body: always an object. See [`body_from_slice`].
pub(crate) fn parse_body<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    body_from_slice(&req.body)
}

/// A JSON body: always an object, read whole before its type is. Text that
/// is not JSON is `400 invalid_body`; a field the body's type does not
/// have, at any depth, `422 unknown_field` (see [`body_from_value`]).
pub(crate) fn body_from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde would read a struct from an array too
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            400,
            "invalid_body",
            "the body must be a JSON object",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "invalid_body", format!("invalid JSON body: {e}")))?;
    body_from_value(value, "")
}

/// Reads a body (or the part of one at `at`, such as `change.rule`) from
/// JSON already parsed. Every admin body type denies unknown fields: one is
/// `422 unknown_field`, its detail naming the field by its path
/// (`adminRole.managedGroup`) and the fields allowed there. Any other
/// mismatch (a wrong type, a missing field, an unknown enum value) is `400
/// invalid_body`, naming where it is.
pub(crate) fn body_from_value<T: DeserializeOwned>(value: Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| body_error(&e, at))
}

/// `at` and a path below it, joined: `change.rule` and `adminRole`,
/// `adminRole` and `[1]`; `.` is the root.
fn join_path(at: &str, below: &str) -> String {
    match (at, below) {
        (at, "" | ".") => at.to_owned(),
        ("", below) => below.to_owned(),
        (at, below) if below.starts_with('[') => format!("{at}{below}"),
        (at, below) => format!("{at}.{below}"),
    }
}

fn body_error(e: &serde_path_to_error::Error<serde_json::Error>, at: &str) -> ApiError {
    let message = e.inner().to_string();
    let path = join_path(at, &e.path().to_string());
    let Some((field, allowed)) = unknown_field(&message) else {
        let detail = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        return ApiError::new(400, "invalid_body", detail);
    };
    // A struct's unknown field is the path's last segment. An internally
    // tagged enum (`adminRole`, a preview's `change`) reads its fields after
    // its tag, out of the path's sight: its path ends at the enum.
    let named = matches!(
        e.path().iter().next_back(),
        Some(serde_path_to_error::Segment::Map { key }) if key == field
    );
    let path = if named { path } else { join_path(&path, field) };
    let allowed = match allowed.strip_prefix(", expected ") {
        Some(list) => format!("expected {list}"),
        None => "no other field is allowed here".to_owned(),
    };
    ApiError::new(
        422,
        "unknown_field",
        format!("{path}: unknown field, {allowed}"),
    )
}

/// The field and the rest of serde's message for a field a type denies
/// (`unknown field `{field}`, expected ...` or `..., there are no fields`).
fn unknown_field(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    [", expected ", ", there are no fields"]
        .iter()
        .filter_map(|tail| rest.find(&format!("`{tail}")))
        .min()
        .and_then(|end| {
            let (field, tail) = rest.split_at_checked(end)?;
            Some((field, tail.strip_prefix('`')?))
        })
}

/// Routes one request. `login_url` is the product's login URL (template
/// previews show it).
#[allow(clippy::too_many_arguments)]
pub async fn route<D, S, P, Q, M, C, R>(
    directory: &D,
    state: &S,
    product_api: &P,
    queues: &RetryQueues<Q, M>,
    gate: &RateGate<C>,
    login_url: &str,
    dns: &R,
    req: &HttpRequest,
) -> ApiGatewayV2httpResponse
where
    D: Directory
        + Configuration
        + Organizations
        + Tokens
        + FanOuts
        + Templates
        + user_sync_core::domains::Domains,
    S: SyncState,
    P: ProductApi,
    Q: JobQueue,
    M: MailQueue,
    C: RateCounters,
    R: user_sync_core::domains::TxtResolver,
{
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
    let mut answer = match route_inner(
        directory,
        state,
        product_api,
        queues,
        gate,
        login_url,
        dns,
        req,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => e.response(),
    };
    if head {
        answer.body = None;
    }
    answer
}

#[allow(clippy::too_many_arguments)]
async fn route_inner<D, S, P, Q, M, C, R>(
    directory: &D,
    state: &S,
    product_api: &P,
    queues: &RetryQueues<Q, M>,
    gate: &RateGate<C>,
    login_url: &str,
    dns: &R,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory
        + Configuration
        + Organizations
        + Tokens
        + FanOuts
        + Templates
        + user_sync_core::domains::Domains,
    S: SyncState,
    P: ProductApi,
    Q: JobQueue,
    M: MailQueue,
    C: RateCounters,
    R: user_sync_core::domains::TxtResolver,
{
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ApiError::new(404, "not_found", "no such endpoint"));
    };
    let (endpoint, params) = openapi::find(&req.method, &segments)?;
    if endpoint.op == Op::OpenApi {
        return Ok(response(
            200,
            "application/json",
            openapi::document().to_owned(),
            &[],
        ));
    }
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
    match gate.admit(&token.org_id).await {
        Admission::Admitted => {}
        Admission::Limited {
            retry_after_seconds,
        } => {
            info!(org = %token.org_id, retry_after_seconds, "admin request over the organization's rate limit");
            return Err(ApiError::rate_limited(retry_after_seconds));
        }
        Admission::Unchecked(e) => {
            warn!(error = %e, "the request rate could not be counted; request admitted");
        }
    }
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
    let org = &token.org_id;
    // the table gave as many parameters as the path has
    let id = params.first().copied().unwrap_or_default();
    match endpoint.op {
        // served above, before authentication
        Op::OpenApi => Err(ApiError::new(500, "internal", "internal error")),
        Op::ListRules => rules.list().await,
        Op::CreateRule => rules.create(req).await,
        Op::PreviewRuleChange => rules.preview(req).await,
        Op::ReorderRules => rules.reorder(req).await,
        Op::GetRule => rules.get(id).await,
        Op::ReplaceRule => rules.replace(id, req, false).await,
        Op::PatchRule => rules.replace(id, req, true).await,
        Op::DeleteRule => rules.delete(id, req).await,
        Op::MoveRule => rules.move_rule(id, req).await,
        Op::GetSync => get_sync(directory, state, org).await,
        Op::PutSync => put_sync(directory, state, &token, req).await,
        Op::ListFailures => failures::summary(directory, state, org).await,
        Op::FailureDetails => failures::details(directory, state, org, id, req).await,
        Op::RetrySync => failures::retry(state, queues, product_api, &token, req).await,
        Op::GetCatalog => catalog::get(directory, &token).await,
        Op::PutCatalog => catalog::put(directory, state, &token, req).await,
        Op::ListActivity => activity::list(directory, state, org, req).await,
        Op::ExportActivity => activity::export(state, org, req).await,
        Op::GetActivitySettings => activity::settings(directory, org).await,
        Op::PutActivitySettings => activity::put_settings(directory, state, &token, req).await,
        Op::ListUsers => users::list(directory, state, org, req).await,
        Op::GetUser => users::get(directory, state, org, id).await,
        Op::ExplainUser => explain(directory, state, org, id).await,
        Op::GetCustomAttributes => custom_attributes::get(directory, org).await,
        Op::PutCustomAttributes => custom_attributes::put(directory, state, &token, req).await,
        Op::ListGroups => groups::list(directory, org, req).await,
        Op::GetGroup => groups::get(directory, org, id).await,
        Op::ListGroupMembers => groups::members(directory, org, id, req).await,
        Op::ListTemplates => templates.list().await,
        Op::CreateTemplate => templates.create(req).await,
        Op::GetTemplate => templates.get(id).await,
        Op::ReplaceTemplate => templates.replace(id, req).await,
        Op::DeleteTemplate => templates.delete(id, req).await,
        Op::PreviewTemplate => templates.preview(id, req).await,
        Op::ListDomains => crate::domains::list(directory, &token).await,
        Op::AddDomain => crate::domains::add(directory, state, &token, req).await,
        Op::VerifyDomain => crate::domains::verify(directory, state, dns, &token, id).await,
        Op::RemoveDomain => crate::domains::remove(directory, state, &token, id).await,
    }
}

/// A rule change or sync-on being applied, with its progress.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FanOutView {
    pub id: String,
    /// What started it: `rule` (a rule changed), `order` (the rules'
    /// order), `sync_on`, or `reconcile` (`ops reconcile`).
    pub reason: String,
    pub users_reconciled: u64,
    pub jobs_enqueued: u64,
    pub started_at: String,
    pub updated_at: String,
}

/// `GET /sync`: on or off, who switched it last, what is being applied and
/// the progress.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncView {
    #[serde(flatten)]
    pub sync: SyncSettings,
    pub fan_outs: Vec<FanOutView>,
    pub progress: progress::Progress,
}

async fn get_sync<D, S>(
    directory: &D,
    state: &S,
    org: &OrgId,
) -> Result<ApiGatewayV2httpResponse, ApiError>
where
    D: Directory + Configuration + FanOuts,
    S: SyncState,
{
    let service = SyncService {
        config: directory,
        orgs: directory,
        domains: directory,
        directory,
        state,
        clock: &SystemClock,
    };
    let sync = service.get(org).await?;
    let fan_outs = directory
        .running_fan_outs(org, 20)
        .await
        .map_err(store_error)?
        .into_iter()
        .map(|t| FanOutView {
            id: t.id,
            reason: t.reason,
            users_reconciled: t.users,
            jobs_enqueued: t.jobs,
            started_at: t.created_at,
            updated_at: t.updated_at,
        })
        .collect();
    let progress = progress::progress(directory, state, org).await?;
    ok(&SyncView {
        sync,
        fan_outs,
        progress,
    })
}

/// The body of `PUT /sync`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncBody {
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
    D: Directory + Configuration + Organizations + user_sync_core::domains::Domains,
    S: SyncState,
{
    let body: SyncBody = parse_body(req)?;
    let service = SyncService {
        config: directory,
        orgs: directory,
        domains: directory,
        directory,
        state,
        clock: &SystemClock,
    };
    let sync = service
        .set(&token.org_id, &token.name, body.enabled, body.confirm)
        .await?;
    ok(&sync)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        #[serde(default)]
        entries: Vec<Entry>,
        #[serde(default)]
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        id: String,
    }

    fn error(body: &str) -> ApiError {
        body_from_slice::<Outer>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_body_with_known_fields_reads() {
        let body: Outer = body_from_slice(br#" {"entries":[{"id":"a"}],"count":2}"#).unwrap();
        assert_eq!((body.entries[0].id.as_str(), body.count), ("a", 2));
    }

    #[test]
    fn an_unknown_field_is_422_naming_its_path_and_the_fields_allowed() {
        let e = error(r#"{"entries":[{"id":"a"},{"idd":"b"}]}"#);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                422,
                "unknown_field",
                "entries[1].idd: unknown field, expected `id`"
            )
        );
        let e = error(r#"{"cont":1}"#);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                422,
                "unknown_field",
                "cont: unknown field, expected `entries` or `count`"
            )
        );
        // a problem document, type and all
        let problem = e.body();
        assert_eq!(problem.problem_type, "urn:user-sync:problem:unknown_field");
        assert_eq!(problem.title, "Unknown field");
        assert_eq!(problem.status, 422);
    }

    #[test]
    fn a_part_of_a_body_is_named_below_where_it_is() {
        let value = serde_json::json!({"entries": [{"id": "a", "x": 1}]});
        let e = body_from_value::<Outer>(value, "change.rule").unwrap_err();
        assert_eq!(
            e.message,
            "change.rule.entries[0].x: unknown field, expected `id`"
        );
        assert_eq!(join_path("change", "[2].id"), "change[2].id");
        assert_eq!(join_path("", "."), "");
    }

    #[test]
    fn other_mismatches_stay_400_invalid_body_naming_the_field() {
        for (body, detail) in [
            (
                r#"{"count":"3"}"#,
                "count: invalid type: string \"3\", expected u32",
            ),
            (r#"{"entries":[{}]}"#, "entries[0]: missing field `id`"),
        ] {
            let e = error(body);
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (400, "invalid_body", detail),
                "{body}"
            );
        }
        // not JSON, or not an object: before any field is looked at
        for body in [r#"{"cont":1"#, "[]", r#"{"cont":{"a":{"#] {
            let e = error(body);
            assert_eq!((e.status, e.code), (400, "invalid_body"), "{body}");
        }
    }

    #[test]
    fn a_field_name_that_mimics_the_message_is_kept_whole() {
        assert_eq!(
            unknown_field("unknown field `a`b`, expected `id`"),
            Some(("a`b", ", expected `id`"))
        );
        assert_eq!(
            unknown_field("unknown field `x`, there are no fields"),
            Some(("x", ", there are no fields"))
        );
        assert_eq!(unknown_field("missing field `id`"), None);
    }
}
