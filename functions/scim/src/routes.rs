//! SCIM routes, written against the core ports.

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::{Value, json};
use tracing::{info, warn};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::auth::{AuthError, TokenKind, authenticate};
use user_sync_core::directory::{DirectoryGroup, DirectoryUser, relink, returning_from};
use user_sync_core::ids::{GroupId, OrgId, UserId, new_id};
use user_sync_core::ports::{Directory, Organizations, StoredUser, Tokens};
use user_sync_core::ratelimit::{Admission, RateCounters, RateGate};
use user_sync_core::scim::cursor::{self, Listing};
use user_sync_core::scim::custom;
use user_sync_core::scim::discovery;
use user_sync_core::scim::filter::{Filter, IndexHint, parse_filter};
use user_sync_core::scim::group::{MAX_MEMBERS_PER_REQUEST, parse_group, render_group};
use user_sync_core::scim::patch::{apply_ops, member_changes, mentions_schema, parse_patch};
use user_sync_core::scim::user::{parse_user, render_user, strip_never_returned};
use user_sync_core::scim::{
    CUSTOM_USER_SCHEMA, IfMatch, LIST_RESPONSE_SCHEMA, Projection, ScimError, etag, parse_if_match,
};

use crate::{PREFIX, SCIM_JSON, scim_error};

/// Default and largest page size.
pub const DEFAULT_COUNT: usize = 100;
pub const MAX_COUNT: usize = 200;

fn now() -> String {
    user_sync_core::time::format(time::OffsetDateTime::now_utc())
}

fn fresh_id() -> Result<String, ScimError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| ScimError::internal())?;
    Ok(new_id(b))
}

fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found("resource not found"),
        StoreError::Conflict(_) => ScimError::precondition_failed(),
        StoreError::Invalid(_) => ScimError::invalid_value("the request could not be stored"),
        StoreError::Transient(source) => {
            warn!(error = %source, "storage temporarily unavailable");
            ScimError::unavailable()
        }
        StoreError::Permanent(source) => {
            warn!(error = %source, "storage failure");
            ScimError::internal()
        }
    }
}

fn ok(status: u16, body: &Value, version: Option<u64>) -> ApiGatewayV2httpResponse {
    let mut extra = Vec::new();
    if let Some(v) = version {
        extra.push(("etag", etag(v)));
    }
    response(status, SCIM_JSON, body.to_string(), &extra)
}

/// `201 Created`, with the resource's URI in `Location` (RFC 7644 §3.3),
/// the same as its `meta.location`.
fn created(body: &Value, version: u64) -> ApiGatewayV2httpResponse {
    let mut extra = vec![("etag", etag(version))];
    if let Some(location) = body["meta"]["location"].as_str() {
        extra.push(("location", location.to_owned()));
    }
    response(201, SCIM_JSON, body.to_string(), &extra)
}

fn parse_json(req: &HttpRequest) -> Result<Value, ScimError> {
    if let Some(ct) = req.header("content-type") {
        let ct = ct.to_ascii_lowercase();
        if !ct.contains("json") {
            return Err(ScimError::new(
                415,
                None,
                "content type must be application/scim+json or application/json",
            ));
        }
    }
    serde_json::from_slice(&req.body)
        .map_err(|_| ScimError::invalid_syntax("the body is not valid JSON"))
}

fn base_url(req: &HttpRequest) -> String {
    req.base_url(PREFIX)
}

/// Routes one request. Every error is a SCIM error response. `gate` holds
/// the organization's request rate.
pub async fn route<S: Directory + Organizations + Tokens, C: RateCounters>(
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

async fn route_inner<S: Directory + Organizations + Tokens, C: RateCounters>(
    store: &S,
    gate: &RateGate<C>,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let Some(segments) = req.segments_after(PREFIX) else {
        return Err(ScimError::not_found("no such endpoint"));
    };
    let token = match authenticate(store, req.header("authorization"), TokenKind::Scim).await {
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
    let base = base_url(req);
    let method = req.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["ServiceProviderConfig"]) => Ok(ok(
            200,
            &discovery::service_provider_config(DEFAULT_COUNT, MAX_COUNT, &base),
            None,
        )),
        ("GET", [kind @ ("ResourceTypes" | "Schemas")]) => {
            discover(store, org, kind, None, &base).await
        }
        ("GET", [kind @ ("ResourceTypes" | "Schemas"), id]) => {
            discover(store, org, kind, Some(id), &base).await
        }
        (_, ["ServiceProviderConfig" | "ResourceTypes" | "Schemas", ..]) => {
            Err(method_not_allowed())
        }
        ("POST", ["Users"]) => create_user(store, org, req, &base).await,
        ("GET", ["Users"]) => list_users(store, org, &ListQuery::from_query(req)?, &base).await,
        ("POST", [".search"]) => {
            search_everything(
                store,
                org,
                &ListQuery::from_search(&parse_json(req)?)?,
                &base,
            )
            .await
        }
        ("POST", ["Users", ".search"]) => {
            list_users(
                store,
                org,
                &ListQuery::from_search(&parse_json(req)?)?,
                &base,
            )
            .await
        }
        ("GET", ["Groups"]) => list_groups(store, org, &ListQuery::from_query(req)?, &base).await,
        ("POST", ["Groups", ".search"]) => {
            list_groups(
                store,
                org,
                &ListQuery::from_search(&parse_json(req)?)?,
                &base,
            )
            .await
        }
        ("GET", ["Users", id]) => {
            let u = load_user(store, org, id).await?;
            if let Some(r) = not_modified(req, u.user.version) {
                return Ok(r);
            }
            let captured = captured_for(store, org, &u.attributes).await?;
            let shown = custom::visible(&captured, &u.attributes);
            Ok(ok(
                200,
                &projection(req)?.apply(render_user(&u.user, &shown, &base)),
                Some(u.user.version),
            ))
        }
        ("PUT", ["Users", id]) => replace_user(store, org, id, req, &base).await,
        ("PATCH", ["Users", id]) => patch_user(store, org, id, req, &base).await,
        ("DELETE", ["Users", id]) => delete_user(store, org, id, req).await,
        ("POST", ["Groups"]) => create_group(store, org, req, &base).await,
        ("GET", ["Groups", id]) => {
            let g = load_group(store, org, id).await?;
            if let Some(r) = not_modified(req, g.version) {
                return Ok(r);
            }
            let projection = projection(req)?;
            let members = if projection.wants("members") {
                Some(all_members(store, org, &g.id).await?)
            } else {
                None
            };
            let body = projection.apply(render_group(&g, members.as_deref(), &base));
            if body.to_string().len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            Ok(ok(200, &body, Some(g.version)))
        }
        ("PATCH", ["Groups", id]) => patch_group(store, org, id, req, &base).await,
        ("PUT", ["Groups", id]) => replace_group(store, org, id, req, &base).await,
        ("DELETE", ["Groups", id]) => delete_group(store, org, id, req).await,
        (_, ["Users" | "Groups"] | ["Users" | "Groups", _]) => Err(method_not_allowed()),
        _ => Err(ScimError::not_found("no such endpoint")),
    }
}

fn method_not_allowed() -> ScimError {
    ScimError::new(405, None, "method not allowed on this endpoint")
}

/// `/ResourceTypes` and `/Schemas`, whole or one by id, as this
/// organization sees them (its custom attributes included).
async fn discover<S: Organizations>(
    store: &S,
    org: &OrgId,
    kind: &str,
    id: Option<&str>,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let custom = custom_attributes(store, org).await?;
    let (all, what) = if kind == "Schemas" {
        (discovery::schemas(base, &custom), "schema")
    } else {
        (discovery::resource_types(base, &custom), "resource type")
    };
    let body = match id {
        None => {
            let n = all.len();
            list_response(all, n, 1)
        }
        Some(id) => all
            .into_iter()
            .find(|r| r["id"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id)))
            .ok_or_else(|| ScimError::not_found(format!("no such {what}")))?,
    };
    Ok(ok(200, &body, None))
}

/// The attributes of the custom extension this organization captures.
async fn custom_attributes<S: Organizations>(
    store: &S,
    org: &OrgId,
) -> Result<Vec<String>, ScimError> {
    Ok(store
        .get_org(org)
        .await
        .map_err(store_error)?
        .map(|o| o.custom_attributes)
        .unwrap_or_default())
}

/// The custom extension of a POST or PUT body as it is kept
/// ([`custom::keep_captured`]; the organization is read only when there is
/// one).
async fn check_custom_object<S: Organizations>(
    store: &S,
    org: &OrgId,
    attributes: &mut Value,
) -> Result<(), ScimError> {
    if !custom::has_custom_values(attributes) {
        return Ok(());
    }
    let captured = custom_attributes(store, org).await?;
    custom::keep_captured(&captured, attributes, custom::Source::Request)
}

/// The organization's custom attributes when `attributes` hold custom
/// values (what [`custom::visible`] needs), else none (no read).
async fn captured_for<S: Organizations>(
    store: &S,
    org: &OrgId,
    attributes: &Value,
) -> Result<Vec<String>, ScimError> {
    if custom::has_custom_values(attributes) {
        custom_attributes(store, org).await
    } else {
        Ok(Vec::new())
    }
}

/// `GET` with `If-None-Match` naming the current version: `304`.
fn not_modified(req: &HttpRequest, version: u64) -> Option<ApiGatewayV2httpResponse> {
    let v = req.header("if-none-match")?;
    let matches = v.split(',').any(|tag| match parse_if_match(tag) {
        Some(IfMatch::Any) => true,
        Some(IfMatch::Version(x)) => x == version,
        None => false,
    });
    matches.then(|| response(304, SCIM_JSON, String::new(), &[("etag", etag(version))]))
}

async fn load_user<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
) -> Result<StoredUser, ScimError> {
    let Ok(id) = UserId::parse(id) else {
        return Err(ScimError::not_found("user not found"));
    };
    // a deleted user is gone for SCIM (RFC 7644 §3.6): 404 for every operation
    store
        .get_user(org, &id)
        .await
        .map_err(store_error)?
        .filter(|u| !u.user.deleted)
        .ok_or_else(|| ScimError::not_found("user not found"))
}

async fn load_group<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
) -> Result<DirectoryGroup, ScimError> {
    let Ok(id) = GroupId::parse(id) else {
        return Err(ScimError::not_found("group not found"));
    };
    store
        .get_group(org, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ScimError::not_found("group not found"))
}

fn check_if_match(req: &HttpRequest, version: u64) -> Result<(), ScimError> {
    match req.header("if-match").map(parse_if_match) {
        None | Some(Some(IfMatch::Any)) => Ok(()),
        Some(Some(IfMatch::Version(v))) if v == version => Ok(()),
        Some(_) => Err(ScimError::precondition_failed()),
    }
}

async fn create_user<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let mut input = parse_user(&parse_json(req)?)?;
    check_custom_object(store, org, &mut input.attributes).await?;
    let at = now();
    let user = DirectoryUser {
        id: UserId::parse(&fresh_id()?).map_err(|_| ScimError::internal())?,
        user_name: input.user_name,
        external_id: input.external_id,
        active: input.active,
        deleted: false,
        given_name: input.given_name,
        family_name: input.family_name,
        email: input.email,
        locale: input.locale,
        created: at.clone(),
        last_modified: at.clone(),
        version: 1,
        link: Default::default(),
    };
    let mut stored = StoredUser {
        user,
        attributes: input.attributes,
    };
    for _ in 0..CREATE_ATTEMPTS {
        // a returning person takes over the account its deleted self had
        let found = match stored.user.external_id.as_deref().filter(|x| !x.is_empty()) {
            Some(x) => {
                store
                    .find_users_by_external_id(org, x, RETURNING_CANDIDATES)
                    .await
            }
            None => {
                store
                    .deleted_users_named(org, &stored.user.user_name, RETURNING_CANDIDATES)
                    .await
            }
        }
        .map_err(store_error)?;
        let previous = returning_from(&stored.user, found.iter().map(|u| &u.user))
            .and_then(|p| found.iter().find(|u| u.user.id == p.id));
        let written = match previous {
            Some(previous) => {
                stored.user.link = Default::default();
                let mut attributes = previous.attributes.clone();
                strip_never_returned(&mut attributes);
                let handed_over = StoredUser {
                    user: relink(&previous.user, &mut stored.user, &at),
                    attributes,
                };
                store
                    .create_returning_user(org, &stored, &previous.user, &handed_over)
                    .await
            }
            None => store.create_user(org, &stored).await,
        };
        match written {
            Ok(()) => {
                info!(
                    org = %org,
                    user_id = %stored.user.id,
                    relinked_from = ?stored.user.link.relinked_from,
                    "user created"
                );
                return Ok(created(
                    &render_user(&stored.user, &stored.attributes, base),
                    1,
                ));
            }
            Err(StoreError::Conflict(_)) => {
                // the userName is taken: by a live user (409), or by a user
                // an earlier version deleted without freeing its name, which
                // is deleted now as a deletion does today, and tried again
                let holder = store
                    .find_user_by_user_name(org, &stored.user.user_name)
                    .await
                    .map_err(store_error)?;
                match holder {
                    Some(h) if h.user.deleted => {
                        let again = tombstone(&h, &at);
                        match store.delete_user(org, &h.user, &again).await {
                            Ok(()) | Err(StoreError::Conflict(_)) => {}
                            Err(e) => return Err(store_error(e)),
                        }
                    }
                    Some(_) => {
                        return Err(ScimError::uniqueness(
                            "a user with this userName already exists",
                        ));
                    }
                    // the deleted user relinked to moved on meanwhile: again
                    None => {}
                }
            }
            Err(e) => return Err(store_error(e)),
        }
    }
    Err(ScimError::uniqueness(
        "a user with this userName already exists",
    ))
}

/// Attempts at creating a user when a concurrent write got in the way.
const CREATE_ATTEMPTS: usize = 3;
/// Deleted users examined for a returning person.
const RETURNING_CANDIDATES: usize = 20;

/// `user` marked deleted, as a new version.
fn tombstone(user: &StoredUser, at: &str) -> StoredUser {
    let mut next = user.clone();
    next.user.deleted = true;
    next.user.active = false;
    next.user.version += 1;
    next.user.last_modified = at.to_owned();
    if let Some(obj) = next.attributes.as_object_mut() {
        obj.insert("active".into(), json!(false));
    }
    // what an earlier version kept is dropped with this write
    strip_never_returned(&mut next.attributes);
    next
}

async fn replace_user<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let current = load_user(store, org, id).await?;
    check_if_match(req, current.user.version)?;
    let mut input = parse_user(&parse_json(req)?)?;
    check_custom_object(store, org, &mut input.attributes).await?;
    // a replace that does not assert `active` leaves it as it is (RFC 7644
    // §3.5.1): leaving it out never reactivates anyone
    if input.attributes.get("active").is_none() {
        input.active = current.user.active;
        if let (Some(obj), Some(active)) = (
            input.attributes.as_object_mut(),
            current.attributes.get("active"),
        ) {
            obj.insert("active".into(), active.clone());
        }
    }
    save_user(store, org, current, input, base).await
}

async fn patch_user<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let current = load_user(store, org, id).await?;
    check_if_match(req, current.user.version)?;
    let ops = parse_patch(&parse_json(req)?)?;
    let mut resource = current.attributes.as_object().cloned().unwrap_or_default();
    resource.insert("userName".into(), json!(current.user.user_name));
    if let Some(x) = &current.user.external_id {
        resource.insert("externalId".into(), json!(x));
    }
    let custom = if mentions_schema(&ops, CUSTOM_USER_SCHEMA)
        || custom::has_custom_values(&current.attributes)
    {
        custom_attributes(store, org).await?
    } else {
        Vec::new()
    };
    apply_ops(&mut resource, &ops, &custom)?;
    let input = parse_user(&Value::Object(resource))?;
    save_user(store, org, current, input, base).await
}

async fn save_user<S: Directory>(
    store: &S,
    org: &OrgId,
    current: StoredUser,
    input: user_sync_core::scim::user::UserInput,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let mut user = current.user.clone();
    user.user_name = input.user_name;
    user.external_id = input.external_id;
    user.active = input.active;
    user.given_name = input.given_name;
    user.family_name = input.family_name;
    user.email = input.email;
    user.locale = input.locale;
    let next = StoredUser {
        user,
        attributes: input.attributes,
    };
    // nothing changed: no write, no stream record, same version
    if next.user == current.user && next.attributes == current.attributes {
        return Ok(ok(
            200,
            &render_user(&current.user, &current.attributes, base),
            Some(current.user.version),
        ));
    }
    let mut next = next;
    // reactivation by the directory clears the deleted mark
    if next.user.active && !current.user.active {
        next.user.deleted = false;
    }
    next.user.version = current.user.version + 1;
    next.user.last_modified = now();
    match store.replace_user(org, &current.user, &next).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            // either the version moved on or the new userName is taken
            let taken = next.user.user_name.to_lowercase() != current.user.user_name.to_lowercase();
            return Err(if taken {
                ScimError::uniqueness("a user with this userName already exists")
            } else {
                ScimError::precondition_failed()
            });
        }
        Err(e) => return Err(store_error(e)),
    }
    info!(org = %org, user_id = %next.user.id, version = next.user.version, "user updated");
    Ok(ok(
        200,
        &render_user(&next.user, &next.attributes, base),
        Some(next.user.version),
    ))
}

async fn delete_user<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let current = load_user(store, org, id).await?;
    check_if_match(req, current.user.version)?;
    // its memberships go first: groups no longer list it, and the evaluator
    // sees each one go
    let groups = store
        .groups_of(org, &current.user.id)
        .await
        .map_err(store_error)?;
    for group in &groups {
        store
            .remove_members(org, group, std::slice::from_ref(&current.user.id))
            .await
            .map_err(store_error)?;
        touch_group(store, org, group).await.map_err(store_error)?;
    }
    let next = tombstone(&current, &now());
    store
        .delete_user(org, &current.user, &next)
        .await
        .map_err(store_error)?;
    info!(org = %org, user_id = %next.user.id, groups = groups.len(), "user deleted in the directory: its account is suspended");
    Ok(response(204, SCIM_JSON, String::new(), &[]))
}

/// Most users or groups a filter that no index serves may examine; over it
/// the filter is refused (`invalidFilter`) instead of timing out.
pub const MAX_SCAN: usize = 10_000;

fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// What a list request asks for, from the query string or a `.search` body.
struct ListQuery {
    filter: Option<Filter>,
    /// The filter as sent, which a cursor is bound to.
    filter_text: Option<String>,
    start_index: usize,
    count: usize,
    /// `Some` (empty for the first page) when the client asks for cursor
    /// pagination (RFC 9865); index-based otherwise.
    cursor: Option<String>,
    projection: Projection,
}

fn query_param<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `attributes` / `excludedAttributes` of a GET.
fn projection(req: &HttpRequest) -> Result<Projection, ScimError> {
    Projection::parse(
        query_param(req, "attributes"),
        query_param(req, "excludedAttributes"),
    )
}

fn integer(v: Option<&Value>, what: &str) -> Result<Option<i64>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value(format!("{what} must be an integer"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ScimError::invalid_value(format!("{what} must be an integer"))),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{what} must be an integer"
        ))),
    }
}

fn positive(v: Option<&Value>, what: &str) -> Result<Option<usize>, ScimError> {
    Ok(integer(v, what)?.map(|n| usize::try_from(n.max(0)).unwrap_or(0)))
}

/// The `cursor` of a request: a string (empty for the first page).
fn cursor_param(v: Option<&Value>) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(c)) => Ok(Some(c.trim().to_owned())),
        Some(_) => Err(ScimError::new(
            400,
            Some("invalidCursor"),
            "cursor must be a string (empty for the first page)",
        )),
    }
}

impl ListQuery {
    fn from_parts(
        filter: Option<&str>,
        start_index: Option<&Value>,
        count: Option<&Value>,
        cursor: Option<&Value>,
        projection: Projection,
    ) -> Result<Self, ScimError> {
        let filter_text = filter
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned);
        let filter = match &filter_text {
            Some(f) => Some(parse_filter(f)?),
            None => None,
        };
        let cursor = cursor_param(cursor)?;
        if cursor.is_some() {
            if start_index.is_some_and(|v| !v.is_null()) {
                return Err(ScimError::invalid_value(
                    "startIndex and cursor cannot be combined: send startIndex for index-based pagination, cursor for cursor pagination",
                ));
            }
            return Ok(Self {
                filter,
                filter_text,
                start_index: 1,
                count: cursor::cursor_count(integer(count, "count")?, DEFAULT_COUNT, MAX_COUNT)?,
                cursor,
                projection,
            });
        }
        Ok(Self {
            filter,
            filter_text,
            // startIndex below 1 is read as 1; count below 0 as 0 (RFC 7644 §3.4.2.4)
            start_index: positive(start_index, "startIndex")?.unwrap_or(1).max(1),
            count: positive(count, "count")?
                .unwrap_or(DEFAULT_COUNT)
                .min(MAX_COUNT),
            cursor: None,
            projection,
        })
    }

    fn from_query(req: &HttpRequest) -> Result<Self, ScimError> {
        let q = |k: &str| {
            req.query
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| Value::String(v.clone()))
        };
        let filter = req
            .query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("filter"))
            .map(|(_, v)| v.as_str());
        Self::from_parts(
            filter,
            q("startIndex").as_ref(),
            q("count").as_ref(),
            q("cursor").as_ref(),
            projection(req)?,
        )
    }

    fn from_search(body: &Value) -> Result<Self, ScimError> {
        let Some(obj) = body.as_object() else {
            return Err(ScimError::invalid_syntax(
                "the body must be a SearchRequest object",
            ));
        };
        let get = |k: &str| {
            obj.iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        };
        let filter = match get("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(f)) => Some(f.as_str()),
            Some(_) => return Err(ScimError::invalid_filter("filter must be a string")),
        };
        let names = |k: &str| -> Result<Option<String>, ScimError> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(list)) => list
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<String>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| {
                        ScimError::invalid_value(format!("{k} must be an array of strings"))
                    }),
                Some(_) => Err(ScimError::invalid_value(format!(
                    "{k} must be an array of strings"
                ))),
            }
        };
        let projection = Projection::parse(
            names("attributes")?.as_deref(),
            names("excludedAttributes")?.as_deref(),
        )?;
        Self::from_parts(
            filter,
            get("startIndex"),
            get("count"),
            get("cursor"),
            projection,
        )
    }
}

/// Largest response body a listing builds: under Lambda's 6 MB limit for a
/// synchronous response, with room for the headers.
pub const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// One page of a listing, built while the matches are found: every match is
/// counted, only the page's are kept (projected), and the page ends early
/// (fewer than `count`, which RFC 7644 §3.4.2.4 allows: the client goes on
/// from `startIndex + itemsPerPage`) before it would pass
/// [`MAX_RESPONSE_BYTES`].
struct Page<'q> {
    q: &'q ListQuery,
    total: usize,
    resources: Vec<Value>,
    bytes: usize,
    full: bool,
}

impl<'q> Page<'q> {
    fn new(q: &'q ListQuery) -> Self {
        Self {
            q,
            total: 0,
            resources: Vec::new(),
            bytes: 0,
            full: false,
        }
    }

    /// Whether the next match would be one of the page's.
    fn wants_next(&self) -> bool {
        !self.full && self.total + 1 >= self.q.start_index && self.resources.len() < self.q.count
    }

    /// Counts a match; keeps it when the page wants it (`resource` is
    /// called only then).
    fn add(&mut self, resource: impl FnOnce() -> Value) -> Result<(), ScimError> {
        if self.wants_next() {
            let shown = self.q.projection.apply(resource());
            let size = shown.to_string().len();
            if self.bytes + size > MAX_RESPONSE_BYTES {
                if self.resources.is_empty() {
                    return Err(too_large());
                }
                self.full = true;
            } else {
                self.bytes += size;
                self.resources.push(shown);
            }
        }
        self.total += 1;
        Ok(())
    }

    fn response(self) -> Value {
        list_response(self.resources, self.total, self.q.start_index)
    }
}

/// A single resource larger than a response may be.
fn too_large() -> ScimError {
    ScimError::new(
        400,
        Some("tooMany"),
        "the resource is larger than a response may be; ask for fewer attributes (excludedAttributes=members)",
    )
}

/// Users matching a filter, as one page: from an index when the filter is
/// one identity providers send, else by examining at most [`MAX_SCAN`]
/// users. Deleted users are omitted from every result (RFC 7644 §3.6).
async fn find_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
    page: &mut Page<'_>,
) -> Result<(), ScimError> {
    // the organization's custom attributes, read only once a user with
    // custom values is to be shown
    let mut captured: Option<Vec<String>> = None;
    let render = |u: &StoredUser, captured: &Option<Vec<String>>| {
        let captured = captured.as_deref().unwrap_or_default();
        render_user(&u.user, &custom::visible(captured, &u.attributes), base)
    };
    if let Some(f) = &q.filter {
        let hint = f.index_hint();
        let candidates = indexed_users(store, org, hint).await?;
        if let Some(mut candidates) = candidates {
            // the index narrows; the whole filter decides
            candidates.retain(|u| !u.user.deleted);
            candidates.sort_by(|a, b| a.user.id.cmp(&b.user.id));
            let before = page.total;
            load_captured(store, org, &candidates, &mut captured).await?;
            for u in &candidates {
                let resource = render(u, &captured);
                if f.matches(&resource) {
                    page.add(|| resource)?;
                }
            }
            // the email index holds each user's primary (or work) address
            // only: a secondary one is found by examining the users
            if !(page.total == before && matches!(hint, Some(IndexHint::Email(_)))) {
                return Ok(());
            }
        }
    }
    let mut seen = 0usize;
    let mut after: Option<UserId> = None;
    loop {
        let (users, next) = store
            .list_users(org, after.as_ref(), 200)
            .await
            .map_err(store_error)?;
        seen += users.len();
        if seen > MAX_SCAN {
            return Err(match q.filter {
                Some(_) => ScimError::invalid_filter(format!(
                    "this filter is answered by examining every user, and the organization has more than {MAX_SCAN}; \
                     use userName eq or id eq"
                )),
                None => ScimError::new(
                    400,
                    Some("tooMany"),
                    format!("the organization has more than {MAX_SCAN} users; use a filter"),
                ),
            });
        }
        load_captured(store, org, &users, &mut captured).await?;
        for u in users.iter().filter(|u| !u.user.deleted) {
            match &q.filter {
                Some(f) => {
                    let resource = render(u, &captured);
                    if f.matches(&resource) {
                        page.add(|| resource)?;
                    }
                }
                // without a filter, only the page's users are rendered
                None => page.add(|| render(u, &captured))?,
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => return Ok(()),
        }
    }
}

/// The users an index finds for a filter's hint (a bounded set the whole
/// filter then decides on), or `None` when no index serves the filter.
async fn indexed_users<S: Directory>(
    store: &S,
    org: &OrgId,
    hint: Option<IndexHint<'_>>,
) -> Result<Option<Vec<StoredUser>>, ScimError> {
    Ok(match hint {
        Some(IndexHint::UserName(name)) => Some(
            store
                .find_user_by_user_name(org, name)
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
        ),
        Some(IndexHint::Id(id)) => Some(match UserId::parse(id) {
            Ok(id) => store
                .get_user(org, &id)
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        }),
        Some(IndexHint::ExternalId(x)) => Some(
            store
                .find_users_by_external_id(org, x, MAX_COUNT)
                .await
                .map_err(store_error)?,
        ),
        Some(IndexHint::Email(e)) => Some(
            store
                .find_users_by_email(org, e, MAX_COUNT)
                .await
                .map_err(store_error)?,
        ),
        Some(IndexHint::DisplayName(_)) | None => None,
    })
}

/// Reads the organization's custom attributes into `captured` the first
/// time one of `users` holds custom values (no read otherwise).
async fn load_captured<S: Organizations>(
    store: &S,
    org: &OrgId,
    users: &[StoredUser],
    captured: &mut Option<Vec<String>>,
) -> Result<(), ScimError> {
    if captured.is_none()
        && users
            .iter()
            .any(|u| custom::has_custom_values(&u.attributes))
    {
        *captured = Some(custom_attributes(store, org).await?);
    }
    Ok(())
}

/// Attributes a Users filter cannot compare: `password` is never kept (a
/// filter on it would only be a guessing oracle), and `groups` is not part
/// of the users' representation.
const UNFILTERABLE_USER_ATTRIBUTES: [&str; 2] = ["password", "groups"];

fn check_user_filter(f: Option<&Filter>) -> Result<(), ScimError> {
    for attr in UNFILTERABLE_USER_ATTRIBUTES {
        if f.is_some_and(|f| f.names(attr)) {
            return Err(ScimError::invalid_filter(format!(
                "{attr} cannot be filtered on"
            )));
        }
    }
    Ok(())
}

/// A Groups filter may name `members` only as the membership check
/// (`id eq "…" and members[value eq "…"]`): groups are compared without
/// their members, which would give a wrong answer.
fn check_group_filter(f: Option<&Filter>) -> Result<(), ScimError> {
    match f {
        Some(f) if f.names("members") && membership_check(f).is_none() => {
            Err(ScimError::invalid_filter(
                "members can be filtered only as id eq \"…\" and members[value eq \"…\"]",
            ))
        }
        _ => Ok(()),
    }
}

async fn list_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_user_filter(q.filter.as_ref())?;
    if let Some(c) = &q.cursor {
        let after = cursor::parse_cursor(Listing::Users, q.filter_text.as_deref(), c)?;
        let mut page = CursorPage::new(q, after);
        cursor_users(store, org, q, base, &mut page).await?;
        return Ok(ok(200, &page.response(Listing::Users), None));
    }
    let mut page = Page::new(q);
    find_users(store, org, q, base, &mut page).await?;
    Ok(ok(200, &page.response(), None))
}

/// Most users or groups one cursor-paginated request examines when a filter
/// needs examining them: the page then holds fewer than `count` (maybe
/// none) and a `nextCursor` (RFC 9865 allows fewer), so the work of a
/// request stays bounded however large the organization is.
pub const CURSOR_SCAN_BUDGET: usize = 1_000;

/// Resources read per storage query while examining a filter.
const SCAN_CHUNK: usize = 200;

/// One page of a cursor-paginated listing (RFC 9865): the resources after
/// the cursor's position, in id order, and the position the next page
/// resumes after (the last resource examined, shown or not).
struct CursorPage<'q> {
    q: &'q ListQuery,
    /// The last id examined (where the next page resumes).
    position: Option<String>,
    resources: Vec<Value>,
    bytes: usize,
    /// Whether resources may follow the position.
    more: bool,
}

impl<'q> CursorPage<'q> {
    fn new(q: &'q ListQuery, after: Option<String>) -> Self {
        Self {
            q,
            position: after,
            resources: Vec::new(),
            bytes: 0,
            more: false,
        }
    }

    /// Whether the page takes another resource.
    fn has_room(&self) -> bool {
        !self.more && self.resources.len() < self.q.count
    }

    /// Whether `id` comes after the position.
    fn is_after(&self, id: &str) -> bool {
        self.position.as_deref().is_none_or(|p| id > p)
    }

    /// Examines the resource `id`: shows `resource` when it is given (a
    /// match) and the page has room. Returns whether the page went on
    /// (else the position stays before `id`, and more may follow).
    fn examine(&mut self, id: &str, resource: Option<Value>) -> Result<bool, ScimError> {
        if !self.has_room() {
            self.more = true;
            return Ok(false);
        }
        if let Some(resource) = resource {
            let shown = self.q.projection.apply(resource);
            let size = shown.to_string().len();
            if self.bytes + size > MAX_RESPONSE_BYTES {
                if self.resources.is_empty() {
                    return Err(too_large());
                }
                self.more = true;
                return Ok(false);
            }
            self.bytes += size;
            self.resources.push(shown);
        }
        self.position = Some(id.to_owned());
        Ok(true)
    }

    /// The ListResponse: `nextCursor` unless this is the last page, no
    /// `totalResults` (counting every match is the cost cursors avoid:
    /// RFC 9865 §2 lets a provider omit it) and no `startIndex`.
    fn response(self, listing: Listing) -> Value {
        let mut body = json!({
            "schemas": [LIST_RESPONSE_SCHEMA],
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        });
        if self.more
            && let Some(p) = &self.position
        {
            body["nextCursor"] = Value::String(cursor::next_cursor(
                listing,
                self.q.filter_text.as_deref(),
                p,
            ));
        }
        body
    }
}

/// Users after the page's position, as one cursor page: from an index
/// when the filter is one identity providers send (a bounded set), else by
/// reading the organization's users in id order from the position on,
/// only as many as the page needs (without a filter) or at most
/// [`CURSOR_SCAN_BUDGET`] (with one). Deleted users are omitted.
async fn cursor_users<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
    page: &mut CursorPage<'_>,
) -> Result<(), ScimError> {
    let mut captured: Option<Vec<String>> = None;
    let render = |u: &StoredUser, captured: &Option<Vec<String>>| {
        let captured = captured.as_deref().unwrap_or_default();
        render_user(&u.user, &custom::visible(captured, &u.attributes), base)
    };
    if let Some(f) = &q.filter {
        let hint = f.index_hint();
        let candidates = indexed_users(store, org, hint).await?;
        if let Some(mut candidates) = candidates {
            candidates.retain(|u| !u.user.deleted);
            candidates.sort_by(|a, b| a.user.id.cmp(&b.user.id));
            load_captured(store, org, &candidates, &mut captured).await?;
            let matches: Vec<(&StoredUser, Value)> = candidates
                .iter()
                .map(|u| (u, render(u, &captured)))
                .filter(|(_, r)| f.matches(r))
                .collect();
            // as in index-based listings: a secondary address is found by
            // examining the users
            if !(matches.is_empty() && matches!(hint, Some(IndexHint::Email(_)))) {
                for (u, resource) in matches {
                    if page.is_after(u.user.id.as_str())
                        && !page.examine(u.user.id.as_str(), Some(resource))?
                    {
                        break;
                    }
                }
                return Ok(());
            }
        }
    }
    let mut examined = 0usize;
    loop {
        let wanted = match q.filter {
            // without a filter every user read is shown (but deleted ones)
            None => q.count.saturating_sub(page.resources.len()).max(1),
            Some(_) => SCAN_CHUNK,
        }
        .min(CURSOR_SCAN_BUDGET - examined);
        let after = match page.position.as_deref() {
            Some(p) => Some(UserId::parse(p).map_err(|_| ScimError::internal())?),
            None => None,
        };
        let (users, next) = store
            .list_users(org, after.as_ref(), wanted)
            .await
            .map_err(store_error)?;
        examined += users.len();
        load_captured(store, org, &users, &mut captured).await?;
        for u in &users {
            let resource = if u.user.deleted {
                None
            } else {
                let resource = render(u, &captured);
                match &q.filter {
                    Some(f) if !f.matches(&resource) => None,
                    _ => Some(resource),
                }
            };
            if !page.examine(u.user.id.as_str(), resource)? {
                return Ok(());
            }
        }
        if next.is_none() {
            return Ok(());
        }
        if !page.has_room() || examined >= CURSOR_SCAN_BUDGET {
            page.more = true;
            return Ok(());
        }
    }
}

/// Entra's membership check: `id eq "group" and members[value eq "user"]`.
fn membership_check(f: &Filter) -> Option<(&str, &str)> {
    let Filter::And(a, b) = f else {
        return None;
    };
    let (id, members) = match (a.equality_on("id"), b.equality_on("id")) {
        (Some(id), None) => (id, b.as_ref()),
        (None, Some(id)) => (id, a.as_ref()),
        _ => return None,
    };
    match members {
        Filter::ValuePath { path, filter }
            if path.schema.is_none()
                && path.sub.is_none()
                && path.attr.eq_ignore_ascii_case("members") =>
        {
            filter.equality_on("value").map(|user| (id, user))
        }
        _ => None,
    }
}

async fn list_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_group_filter(q.filter.as_ref())?;
    let with_members = q.projection.wants("members");
    if let Some(c) = &q.cursor {
        let after = cursor::parse_cursor(Listing::Groups, q.filter_text.as_deref(), c)?;
        let mut page = CursorPage::new(q, after);
        cursor_groups(store, org, q, with_members, base, &mut page).await?;
        return Ok(ok(200, &page.response(Listing::Groups), None));
    }
    let mut page = Page::new(q);
    // the membership check reads one group and one user's groups
    if let Some((group, user)) = q.filter.as_ref().and_then(membership_check) {
        let (Ok(group_id), Ok(user_id)) = (GroupId::parse(group), UserId::parse(user)) else {
            return Ok(ok(200, &page.response(), None));
        };
        let Some(g) = store.get_group(org, &group_id).await.map_err(store_error)? else {
            return Ok(ok(200, &page.response(), None));
        };
        let is_member = store
            .groups_of(org, &user_id)
            .await
            .map_err(store_error)?
            .contains(&group_id);
        if is_member {
            page.add(|| {
                render_group(
                    &g,
                    with_members.then_some(std::slice::from_ref(&user_id)),
                    base,
                )
            })?;
        }
        return Ok(ok(200, &page.response(), None));
    }
    let indexed: Option<Vec<DirectoryGroup>> = match q.filter.as_ref().and_then(Filter::index_hint)
    {
        Some(IndexHint::DisplayName(name)) => Some(
            store
                .find_groups_by_name(org, name, MAX_COUNT)
                .await
                .map_err(store_error)?,
        ),
        Some(IndexHint::Id(id)) => Some(match GroupId::parse(id) {
            Ok(id) => store
                .get_group(org, &id)
                .await
                .map_err(store_error)?
                .into_iter()
                .collect(),
            Err(_) => Vec::new(),
        }),
        _ => None,
    };
    let mut matches = Vec::new();
    if let Some(groups) = indexed {
        for g in groups {
            let resource = render_group(&g, None, base);
            if q.filter.as_ref().is_none_or(|f| f.matches(&resource)) {
                matches.push((g, resource));
            }
        }
        matches.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    } else {
        matches = scan_groups(store, org, q.filter.as_ref(), base).await?;
    }
    page_groups(store, org, matches, with_members, base, &mut page).await?;
    Ok(ok(200, &page.response(), None))
}

/// Groups after the page's position, as one cursor page: the membership
/// check and the indexed filters read a bounded set; any other listing
/// reads the organization's groups in id order from the position on, at
/// most [`CURSOR_SCAN_BUDGET`] of them. Members are read only for the
/// groups shown.
async fn cursor_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    with_members: bool,
    base: &str,
    page: &mut CursorPage<'_>,
) -> Result<(), ScimError> {
    let indexed: Option<Vec<DirectoryGroup>> =
        if let Some((group, user)) = q.filter.as_ref().and_then(membership_check) {
            let (Ok(group_id), Ok(user_id)) = (GroupId::parse(group), UserId::parse(user)) else {
                return Ok(());
            };
            let is_member = store
                .groups_of(org, &user_id)
                .await
                .map_err(store_error)?
                .contains(&group_id);
            Some(if is_member {
                store
                    .get_group(org, &group_id)
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .collect()
            } else {
                Vec::new()
            })
        } else {
            match q.filter.as_ref().and_then(Filter::index_hint) {
                Some(IndexHint::DisplayName(name)) => Some(
                    store
                        .find_groups_by_name(org, name, MAX_COUNT)
                        .await
                        .map_err(store_error)?,
                ),
                Some(IndexHint::Id(id)) => Some(match GroupId::parse(id) {
                    Ok(id) => store
                        .get_group(org, &id)
                        .await
                        .map_err(store_error)?
                        .into_iter()
                        .collect(),
                    Err(_) => Vec::new(),
                }),
                _ => None,
            }
        };
    let membership = q.filter.as_ref().and_then(membership_check).is_some();
    let full = async |g: &DirectoryGroup| -> Result<Value, ScimError> {
        let members = all_members(store, org, &g.id).await?;
        Ok(render_group(g, Some(&members), base))
    };
    if let Some(mut groups) = indexed {
        groups.sort_by(|a, b| a.id.cmp(&b.id));
        for g in groups {
            let resource = render_group(&g, None, base);
            // the membership check matched already (members are not compared)
            let matches = membership || q.filter.as_ref().is_none_or(|f| f.matches(&resource));
            if !matches || !page.is_after(g.id.as_str()) {
                continue;
            }
            let shown = if with_members && page.has_room() {
                full(&g).await?
            } else {
                resource
            };
            if !page.examine(g.id.as_str(), Some(shown))? {
                break;
            }
        }
        return Ok(());
    }
    let mut examined = 0usize;
    loop {
        let wanted = match q.filter {
            None => q.count.saturating_sub(page.resources.len()).max(1),
            Some(_) => SCAN_CHUNK,
        }
        .min(CURSOR_SCAN_BUDGET - examined);
        let after = match page.position.as_deref() {
            Some(p) => Some(GroupId::parse(p).map_err(|_| ScimError::internal())?),
            None => None,
        };
        let (groups, next) = store
            .list_groups(org, after.as_ref(), wanted)
            .await
            .map_err(store_error)?;
        examined += groups.len();
        for g in &groups {
            let resource = render_group(g, None, base);
            let shown = if q.filter.as_ref().is_some_and(|f| !f.matches(&resource)) {
                None
            } else if with_members && page.has_room() {
                Some(full(g).await?)
            } else {
                Some(resource)
            };
            if !page.examine(g.id.as_str(), shown)? {
                return Ok(());
            }
        }
        if next.is_none() {
            return Ok(());
        }
        if !page.has_room() || examined >= CURSOR_SCAN_BUDGET {
            page.more = true;
            return Ok(());
        }
    }
}

/// Adds matching groups to a page, with their members unless excluded
/// (read only for the groups the page shows).
async fn page_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    matches: Vec<(DirectoryGroup, Value)>,
    with_members: bool,
    base: &str,
    page: &mut Page<'_>,
) -> Result<(), ScimError> {
    for (g, resource) in matches {
        if with_members && page.wants_next() {
            let members = all_members(store, org, &g.id).await?;
            let full = render_group(&g, Some(&members), base);
            page.add(|| full)?;
        } else {
            page.add(|| resource)?;
        }
    }
    Ok(())
}

/// Members read per storage query (each query returns at most 1 MB anyway).
const MEMBERS_PAGE: usize = 5_000;

async fn all_members<S: Directory>(
    store: &S,
    org: &OrgId,
    group: &GroupId,
) -> Result<Vec<UserId>, ScimError> {
    let mut out = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let (ids, next) = store
            .members(org, group, after.as_ref(), MEMBERS_PAGE)
            .await
            .map_err(store_error)?;
        out.extend(ids);
        match next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

fn member_ids(values: Vec<String>) -> Result<Vec<UserId>, ScimError> {
    values
        .iter()
        .map(|v| {
            UserId::parse(v).map_err(|_| {
                let shown: String = v.chars().take(64).collect();
                ScimError::invalid_value(format!("member value {shown:?} is not a user id"))
            })
        })
        .collect()
}

/// Member values that name users of this organization (deduplicated, in
/// order): a value that is not the id of one of its users (another
/// organization's, a group's, a deleted user's, made up) is `invalidValue`,
/// never stored.
async fn users_of_org<S: Directory>(
    store: &S,
    org: &OrgId,
    values: Vec<String>,
) -> Result<Vec<UserId>, ScimError> {
    if values.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_MEMBERS_PER_REQUEST} members per request"
        )));
    }
    let mut ids = member_ids(values)?;
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    let found: BTreeSet<UserId> = store
        .get_users(org, &ids)
        .await
        .map_err(store_error)?
        .into_iter()
        .filter(|u| !u.user.deleted)
        .map(|u| u.user.id)
        .collect();
    if let Some(missing) = ids.iter().find(|id| !found.contains(*id)) {
        let shown: String = missing.as_str().chars().take(64).collect();
        return Err(ScimError::invalid_value(format!(
            "member value {shown:?} is not a user of this organization"
        )));
    }
    Ok(ids)
}

async fn create_group<S: Directory>(
    store: &S,
    org: &OrgId,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let input = parse_group(&parse_json(req)?)?;
    let members = users_of_org(store, org, input.members).await?;
    let at = now();
    let group = DirectoryGroup {
        id: GroupId::parse(&fresh_id()?).map_err(|_| ScimError::internal())?,
        display_name: input.display_name,
        external_id: input.external_id,
        created: at.clone(),
        last_modified: at,
        version: 1,
    };
    store.create_group(org, &group).await.map_err(store_error)?;
    store
        .add_members(org, &group.id, &members)
        .await
        .map_err(store_error)?;
    info!(org = %org, group_id = %group.id, members = members.len(), "group created");
    Ok(created(
        &render_group(&group, Some(&members), base),
        group.version,
    ))
}

async fn patch_group<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let changes = member_changes(&parse_patch(&parse_json(req)?)?)?;
    // what is added is checked and capped; what is removed is only deleted
    // (the body's size bounds it)
    let add = users_of_org(store, org, changes.add).await?;
    let mut remove_named = member_ids(changes.remove)?;
    let mut attempt = 0;
    let group = loop {
        let current = load_group(store, org, id).await?;
        check_if_match(req, current.version)?;
        if changes
            .id
            .as_deref()
            .is_some_and(|id| id != current.id.as_str())
        {
            return Err(ScimError::new(400, Some("mutability"), "id is read-only"));
        }
        let mut group = current.clone();
        if let Some(name) = &changes.display_name {
            group.display_name.clone_from(name);
        }
        if let Some(external_id) = &changes.external_id {
            group.external_id.clone_from(external_id);
        }
        let mut remove = std::mem::take(&mut remove_named);
        if changes.remove_all {
            let keep: BTreeSet<&UserId> = add.iter().collect();
            let existing = all_members(store, org, &group.id).await?;
            remove.extend(existing.into_iter().filter(|m| !keep.contains(m)));
        }
        match save_group(store, org, &current, group, &add, &remove).await {
            Ok(g) => {
                info!(org = %org, group_id = %g.id, added = add.len(), removed = remove.len(), "group patched");
                break g;
            }
            // another write moved the version on: without If-Match the
            // client asked for no particular version, so apply to the new one
            Err(StoreError::Conflict(_))
                if req.header("if-match").is_none() && attempt + 1 < GROUP_WRITE_ATTEMPTS =>
            {
                attempt += 1;
                remove_named = remove;
            }
            Err(e) => return Err(store_error(e)),
        }
    };
    if !projection(req)?.wants("members") {
        return Ok(response(
            204,
            SCIM_JSON,
            String::new(),
            &[("etag", etag(group.version))],
        ));
    }
    let members = all_members(store, org, &group.id).await?;
    Ok(ok(
        200,
        &render_group(&group, Some(&members), base),
        Some(group.version),
    ))
}

/// Attempts at a group write when another write moved its version on.
const GROUP_WRITE_ATTEMPTS: usize = 3;

/// Writes a group's new name and externalId and its membership changes. The
/// group's version changes whenever any of them does (RFC 7644 §3.14: its
/// members are part of it), written conditioned on the old one, before the
/// memberships.
async fn save_group<S: Directory>(
    store: &S,
    org: &OrgId,
    current: &DirectoryGroup,
    mut group: DirectoryGroup,
    add: &[UserId],
    remove: &[UserId],
) -> Result<DirectoryGroup, StoreError> {
    if group != *current || !add.is_empty() || !remove.is_empty() {
        group.version = current.version + 1;
        group.last_modified = now();
        store.update_group(org, &group).await?;
    }
    store.remove_members(org, &group.id, remove).await?;
    store.add_members(org, &group.id, add).await?;
    Ok(group)
}

/// A new version of a group whose members changed from the user's side (a
/// deleted user left it).
async fn touch_group<S: Directory>(
    store: &S,
    org: &OrgId,
    group: &GroupId,
) -> Result<(), StoreError> {
    for _ in 0..GROUP_WRITE_ATTEMPTS {
        let Some(mut g) = store.get_group(org, group).await? else {
            return Ok(());
        };
        g.version += 1;
        g.last_modified = now();
        match store.update_group(org, &g).await {
            Err(StoreError::Conflict(_)) => {}
            other => return other,
        }
    }
    Err(StoreError::Conflict(
        "the group kept changing meanwhile".to_owned(),
    ))
}

/// `PUT /Groups/{id}`: the new display name and the whole member list.
async fn replace_group<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let input = parse_group(&parse_json(req)?)?;
    let wanted = users_of_org(store, org, input.members).await?;
    let wanted_set: BTreeSet<&UserId> = wanted.iter().collect();
    let mut attempt = 0;
    let group = loop {
        let current = load_group(store, org, id).await?;
        check_if_match(req, current.version)?;
        let mut group = current.clone();
        group.display_name.clone_from(&input.display_name);
        group.external_id.clone_from(&input.external_id);
        let existing: BTreeSet<UserId> = all_members(store, org, &group.id)
            .await?
            .into_iter()
            .collect();
        let remove: Vec<UserId> = existing
            .iter()
            .filter(|m| !wanted_set.contains(m))
            .cloned()
            .collect();
        let add: Vec<UserId> = wanted_set
            .iter()
            .filter(|m| !existing.contains(**m))
            .map(|m| (*m).clone())
            .collect();
        match save_group(store, org, &current, group, &add, &remove).await {
            Ok(g) => {
                info!(org = %org, group_id = %g.id, added = add.len(), removed = remove.len(), "group replaced");
                break g;
            }
            Err(StoreError::Conflict(_))
                if req.header("if-match").is_none() && attempt + 1 < GROUP_WRITE_ATTEMPTS =>
            {
                attempt += 1;
            }
            Err(e) => return Err(store_error(e)),
        }
    };
    let members: Vec<UserId> = wanted_set.into_iter().cloned().collect();
    Ok(ok(
        200,
        &render_group(&group, Some(&members), base),
        Some(group.version),
    ))
}

/// `DELETE /Groups/{id}`: the directory says the group is gone. Its
/// memberships go first (the evaluator sees each one), then the group.
async fn delete_group<S: Directory>(
    store: &S,
    org: &OrgId,
    id: &str,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    let group = load_group(store, org, id).await?;
    check_if_match(req, group.version)?;
    let members = all_members(store, org, &group.id).await?;
    store
        .remove_members(org, &group.id, &members)
        .await
        .map_err(store_error)?;
    store
        .delete_group(org, &group.id)
        .await
        .map_err(store_error)?;
    info!(org = %org, group_id = %group.id, members = members.len(), "group deleted");
    Ok(response(204, SCIM_JSON, String::new(), &[]))
}

/// `POST /.search` at the root: users, then groups (without members), that
/// match the filter.
async fn search_everything<S: Directory + Organizations>(
    store: &S,
    org: &OrgId,
    q: &ListQuery,
    base: &str,
) -> Result<ApiGatewayV2httpResponse, ScimError> {
    check_user_filter(q.filter.as_ref())?;
    check_group_filter(q.filter.as_ref())?;
    if q.cursor.is_some() {
        return Err(ScimError::new(
            400,
            Some("invalidCursor"),
            "cursor: cursor pagination is offered on /Users, /Groups and their .search; this root search pages by startIndex",
        ));
    }
    let mut page = Page::new(q);
    find_users(store, org, q, base, &mut page).await?;
    for (_, resource) in scan_groups(store, org, q.filter.as_ref(), base).await? {
        page.add(|| resource)?;
    }
    Ok(ok(200, &page.response(), None))
}

/// Every group of the organization that matches `filter` (evaluated without
/// members), examining at most [`MAX_SCAN`] groups.
async fn scan_groups<S: Directory>(
    store: &S,
    org: &OrgId,
    filter: Option<&Filter>,
    base: &str,
) -> Result<Vec<(DirectoryGroup, Value)>, ScimError> {
    let mut matches = Vec::new();
    let mut seen = 0usize;
    let mut after: Option<GroupId> = None;
    loop {
        let (groups, next) = store
            .list_groups(org, after.as_ref(), 200)
            .await
            .map_err(store_error)?;
        seen += groups.len();
        if seen > MAX_SCAN {
            return Err(ScimError::invalid_filter(format!(
                "the organization has more than {MAX_SCAN} groups; use displayName eq or id eq"
            )));
        }
        for g in groups {
            let resource = render_group(&g, None, base);
            if filter.is_none_or(|f| f.matches(&resource)) {
                matches.push((g, resource));
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => return Ok(matches),
        }
    }
}
