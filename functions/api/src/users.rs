//! Directory users with their sync status: `GET /users` (paginated,
//! searchable, filtered by sync status or failure class) and
//! `GET /users/{id}` (the same, with the directory attributes we keep).

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use user_sync_aws::http::HttpRequest;
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{Directory, Organizations, StoredUser, SyncState};
use user_sync_core::progress::{DesiredSummary, UserSyncStatus};
use user_sync_core::rules::AdminRole;
use user_sync_core::scim::{CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA};
use user_sync_core::state::{DesiredState, FailedUser, Failure, FailureClass, Outcome, SyncStatus};

use crate::errors::{ApiError, ErrorCode, store_error};
use crate::query::{MAX_LIMIT, cursor, limit, product, search};
use crate::routes::ok;

/// Users one filtered request reads at most; the cursor carries on.
const SEARCH_SCAN: usize = 2_000;

/// A user and their sync status: one item of `GET /users`.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserItem {
    pub id: UserId,
    pub user_name: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub directory_status: DirectoryStatus,
    pub sync_status: UserSyncStatus,
    pub last_outcome: Option<Outcome>,
    /// The product API's failure, else the welcome email's.
    pub failure: Option<Failure>,
    pub attempts: Option<u32>,
    pub last_attempt_at: Option<String>,
    pub applied_generation: Option<u64>,
    pub desired_generation: Option<u64>,
    /// What the rules give the user (`null`: nothing decided yet).
    pub products: Option<BTreeSet<String>>,
    pub admin_role: Option<AdminRole>,
}

/// A page of users.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub items: Vec<UserItem>,
    /// `null`: the last page.
    pub next_cursor: Option<String>,
}

/// The directory attributes kept of a user.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAttributes {
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub created: String,
    pub last_modified: String,
    /// The enterprise extension's attributes, as the directory sent them.
    pub enterprise: Value,
}

/// `GET /users/{id}`: the listing's item, with the directory attributes and
/// the values of the organization's custom attributes.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[serde(flatten)]
    pub item: UserItem,
    pub directory: DirectoryAttributes,
    pub custom_attributes: Map<String, Value>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(400, ErrorCode::InvalidQuery, message)
}

/// What a listing keeps.
#[derive(Debug, Default)]
struct Filter {
    /// Lowercased; part of the userName, the email or the person's name.
    search: Option<String>,
    status: Option<UserSyncStatus>,
}

impl Filter {
    fn any(&self) -> bool {
        self.search.is_some() || self.status.is_some()
    }

    fn matches_text(&self, u: &StoredUser) -> bool {
        self.search.as_ref().is_none_or(|s| {
            u.user.user_name.to_lowercase().contains(s.as_str())
                || u.user
                    .email
                    .as_ref()
                    .is_some_and(|e| e.to_lowercase().contains(s.as_str()))
                || u.user
                    .full_name()
                    .is_some_and(|n| n.to_lowercase().contains(s.as_str()))
        })
    }
}

fn parse_filter(req: &HttpRequest) -> Result<(Filter, Option<FailureClass>), ApiError> {
    let search = search(req)?;
    let status = match req.query.get("status") {
        None => None,
        Some(s) => Some(
            serde_json::from_value::<UserSyncStatus>(Value::String(s.clone())).map_err(|_| {
                invalid("status must be in_sync, pending, failed, not_synced, no_rule, inactive or suspended")
            })?,
        ),
    };
    let class = match req.query.get("failureClass") {
        None => None,
        Some(c) => Some(
            serde_json::from_value::<FailureClass>(Value::String(c.clone())).map_err(|_| {
                invalid("failureClass must be out_of_licenses, existing_account, invalid_user_data, product_api_unavailable, email_failed or unverified_domain")
            })?,
        ),
    };
    if class.is_some() && status.is_some_and(|s| s != UserSyncStatus::Failed) {
        return Err(invalid(
            "failureClass lists failed users: leave status out or set it to failed",
        ));
    }
    Ok((Filter { search, status }, class))
}

/// A user's sync as listed: one item of `GET /users`.
fn item(
    u: &StoredUser,
    desired: Option<&DesiredState>,
    status: Option<&SyncStatus>,
    email: Option<&FailedUser>,
) -> UserItem {
    let summary = desired.map(DesiredSummary::of);
    let sync = UserSyncStatus::of(summary.as_ref(), status, email.is_some());
    let job_failure = status.filter(|s| s.last_outcome == Outcome::Failure);
    // the product API's failure first; else the welcome email's
    let failure: Option<&Failure> = job_failure
        .and_then(|s| s.failure.as_ref())
        .or(email.map(|e| &e.failure));
    UserItem {
        id: u.user.id.clone(),
        user_name: u.user.user_name.clone(),
        name: u.user.full_name(),
        email: u.user.email.clone(),
        directory_status: u.user.status(),
        sync_status: sync,
        last_outcome: status.map(|s| s.last_outcome),
        failure: failure.cloned(),
        attempts: job_failure
            .map(|s| s.attempts)
            .or(email.map(|e| e.attempts))
            .or(status.map(|s| s.attempts)),
        last_attempt_at: status.map(|s| s.at.clone()),
        applied_generation: status.map(|s| s.applied_generation),
        desired_generation: desired.map(|d| d.generation),
        products: desired.map(|d| d.assignment.products.clone()),
        admin_role: desired.map(|d| d.assignment.admin_role.clone()),
    }
}

/// Of `users` (in order), those the filter keeps, appended to `found` up to
/// `limit` in all; when the page fills, the position and id of the user
/// that filled it. The states are read for the whole batch at once.
async fn keep<S: SyncState>(
    state: &S,
    org: &OrgId,
    users: &[StoredUser],
    filter: &Filter,
    found: &mut Vec<UserItem>,
    limit: usize,
) -> Result<Option<(usize, UserId)>, ApiError> {
    let candidates: Vec<(usize, &StoredUser)> = users
        .iter()
        .enumerate()
        .filter(|(_, u)| filter.matches_text(u))
        .collect();
    let ids: Vec<UserId> = candidates.iter().map(|(_, u)| u.user.id.clone()).collect();
    let (states, emails) = if ids.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        (
            state.user_states(org, &ids).await.map_err(store_error)?,
            state.email_failures(org, &ids).await.map_err(store_error)?,
        )
    };
    for (i, u) in candidates {
        let (desired, status) = states
            .get(&u.user.id)
            .map_or((None, None), |(d, s)| (d.as_ref(), s.as_ref()));
        let email = emails.get(&u.user.id);
        let keep = filter.status.is_none_or(|wanted| {
            let summary = desired.map(DesiredSummary::of);
            UserSyncStatus::of(summary.as_ref(), status, email.is_some()) == wanted
        });
        if keep {
            found.push(item(u, desired, status, email));
            if found.len() == limit {
                return Ok(Some((i, u.user.id.clone())));
            }
        }
    }
    Ok(None)
}

/// `GET /users?search=&status=&failureClass=&product=&limit=&cursor=`: in
/// id order (with `failureClass`, in the failures index's order).
pub async fn list<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    req: &HttpRequest,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let limit = limit(req)?;
    let (filter, class) = parse_filter(req)?;
    let product = product(req)?;
    if product.is_some() && class.is_none() {
        return Err(invalid(
            "product narrows a failure class: give failureClass with it",
        ));
    }
    let (items, next) = match class {
        None => {
            let after = cursor(req, |c| UserId::parse(c).ok())?;
            directory_page(directory, state, org, &filter, after, limit).await?
        }
        Some(class) => {
            let at = cursor(req, FailureCursor::parse)?;
            failures_page(directory, state, org, &filter, class, product, at, limit).await?
        }
    };
    ok(&UserPage {
        items,
        next_cursor: next,
    })
}

/// A page of the directory listing (gsi1), filtered.
async fn directory_page<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    filter: &Filter,
    mut after: Option<UserId>,
    limit: usize,
) -> Result<(Vec<UserItem>, Option<String>), ApiError> {
    let mut found = Vec::new();
    let mut scanned = 0;
    let next = loop {
        let page = if filter.any() { MAX_LIMIT } else { limit };
        let (users, more) = directory
            .list_users(org, after.as_ref(), page)
            .await
            .map_err(store_error)?;
        scanned += users.len();
        let full_at = keep(state, org, &users, filter, &mut found, limit).await?;
        match (full_at, more) {
            // the page is full: carry on after its last user, unless that
            // was the very last one
            (Some((i, _)), None) if i + 1 == users.len() => break None,
            (Some((_, id)), _) => break Some(id.to_string()),
            (None, None) => break None,
            // a filtered listing read its share of users: the cursor carries on
            (None, Some(n)) if scanned >= SEARCH_SCAN => break Some(n.to_string()),
            (None, Some(n)) => after = Some(n),
        }
    };
    Ok((found, next))
}

/// What one failure of a class is about: the product of `out_of_licenses`,
/// the domain of `unverified_domain` (a cursor's `product` part).
fn subject(f: &Failure) -> Option<String> {
    f.product.clone().or_else(|| f.domain.clone())
}

/// Where a listing by failure class goes on: the failure (its product,
/// for `out_of_licenses`, its domain for `unverified_domain`) and the last
/// user listed of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FailureCursor {
    product: Option<String>,
    after: Option<UserId>,
}

impl FailureCursor {
    /// `{product as hex}.{userId}`, either part empty.
    fn encode(&self) -> String {
        let hex: String = self
            .product
            .as_deref()
            .unwrap_or("")
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        let after = self.after.as_ref().map_or("", |u| u.as_str());
        format!("{hex}.{after}")
    }

    fn parse(s: &str) -> Option<Self> {
        let (hex, after) = s.split_once('.')?;
        if hex.len() % 2 != 0 || hex.len() > 400 {
            return None;
        }
        let bytes = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let product = String::from_utf8(bytes).ok()?;
        let after = if after.is_empty() {
            None
        } else {
            Some(UserId::parse(after).ok()?)
        };
        Some(Self {
            product: (!product.is_empty()).then_some(product),
            after,
        })
    }
}

/// A page of the users one failure class affects, from the failures index
/// (for `out_of_licenses`, product after product).
#[allow(clippy::too_many_arguments)]
async fn failures_page<D: Directory, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    filter: &Filter,
    class: FailureClass,
    product: Option<String>,
    at: Option<FailureCursor>,
    limit: usize,
) -> Result<(Vec<UserItem>, Option<String>), ApiError> {
    // the failures of the class, in the index's order
    let failures: Vec<Failure> = match (class, product) {
        (_, Some(p)) => vec![Failure {
            class,
            product: Some(p),
            domain: None,
        }],
        (FailureClass::OutOfLicenses | FailureClass::UnverifiedDomain, None) => state
            .failure_counts(org)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|c| c.failure)
            .filter(|f| f.class == class)
            .collect(),
        (_, None) => vec![Failure {
            class,
            product: None,
            domain: None,
        }],
    };
    // where the previous page stopped: that failure, or the next one
    let (mut fi, mut after) = match at {
        None => (0, None),
        Some(c) => match failures.iter().position(|f| subject(f) == c.product) {
            Some(i) => (i, c.after),
            None => (
                failures
                    .iter()
                    .position(|f| f.product > c.product)
                    .unwrap_or(failures.len()),
                None,
            ),
        },
    };
    let mut found = Vec::new();
    let mut scanned = 0;
    let page = if filter.any() { MAX_LIMIT } else { limit };
    let cursor_at = |f: &Failure, after: Option<UserId>| {
        FailureCursor {
            product: subject(f),
            after,
        }
        .encode()
    };
    let next = loop {
        let Some(failure) = failures.get(fi) else {
            break None;
        };
        let last_failure = fi + 1 == failures.len();
        let (failed, more) = state
            .failed_users(org, failure, after.as_ref(), page)
            .await
            .map_err(store_error)?;
        scanned += failed.len();
        let ids: Vec<UserId> = failed.iter().map(|f| f.user_id.clone()).collect();
        let mut stored: HashMap<UserId, StoredUser> = if ids.is_empty() {
            HashMap::new()
        } else {
            directory
                .get_users(org, &ids)
                .await
                .map_err(store_error)?
                .into_iter()
                .map(|u| (u.user.id.clone(), u))
                .collect()
        };
        // in the index's order; a user missing from the directory is left out
        let users: Vec<StoredUser> = ids.iter().filter_map(|id| stored.remove(id)).collect();
        let full_at = keep(state, org, &users, filter, &mut found, limit).await?;
        let read_all = users.len() == failed.len();
        match (full_at, more) {
            (Some((i, _)), None) if i + 1 == users.len() && read_all && last_failure => {
                break None;
            }
            (Some((_, id)), _) => break Some(cursor_at(failure, Some(id))),
            (None, Some(n)) if scanned >= SEARCH_SCAN => break Some(cursor_at(failure, Some(n))),
            (None, Some(n)) => after = Some(n),
            (None, None) if last_failure => break None,
            (None, None) => {
                fi += 1;
                after = None;
                if scanned >= SEARCH_SCAN {
                    break failures.get(fi).map(|f| cursor_at(f, None));
                }
            }
        }
    };
    Ok((found, next))
}

/// The organization's user `id`, or `404`.
pub(crate) async fn existing<D: Directory>(
    directory: &D,
    org: &OrgId,
    id: &str,
) -> Result<StoredUser, ApiError> {
    let not_found = || ApiError::new(404, ErrorCode::NotFound, "no such user");
    let id = UserId::parse(id).map_err(|_| not_found())?;
    directory
        .get_user(org, &id)
        .await
        .map_err(store_error)?
        .ok_or_else(not_found)
}

/// `GET /users/{id}`: the listing's item, with the directory attributes we
/// keep and the values of the organization's custom attributes.
pub async fn get<D: Directory + Organizations, S: SyncState>(
    directory: &D,
    state: &S,
    org: &OrgId,
    id: &str,
) -> Result<ApiGatewayV2httpResponse, ApiError> {
    let user = existing(directory, org, id).await?;
    let id = user.user.id.clone();
    let (desired, status) = state.user_state(org, &id).await.map_err(store_error)?;
    let emails = state
        .email_failures(org, std::slice::from_ref(&id))
        .await
        .map_err(store_error)?;
    let custom = directory
        .get_org(org)
        .await
        .map_err(store_error)?
        .map(|o| o.custom_attributes)
        .unwrap_or_default();
    ok(&UserView {
        item: item(&user, desired.as_ref(), status.as_ref(), emails.get(&id)),
        directory: DirectoryAttributes {
            external_id: user.user.external_id.clone(),
            given_name: user.user.given_name.clone(),
            family_name: user.user.family_name.clone(),
            locale: user.user.locale.clone(),
            created: user.user.created.clone(),
            last_modified: user.user.last_modified.clone(),
            enterprise: extension(&user.attributes, ENTERPRISE_USER_SCHEMA),
        },
        custom_attributes: custom_values(&user.attributes, &custom),
    })
}

/// Case-insensitive lookup of a key.
fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The object of a SCIM extension in a stored resource.
fn extension(attributes: &Value, schema: &str) -> Value {
    get_ci(attributes, schema)
        .filter(|v| v.is_object())
        .cloned()
        .unwrap_or(Value::Null)
}

/// The value of each custom attribute the organization captures: from the
/// custom extension; for a name of the enterprise extension
/// (`employeeNumber`, `costCenter`, …) the identity provider did not send in
/// the custom one, the enterprise extension's value. `null` when neither has
/// one.
fn custom_values(attributes: &Value, names: &[String]) -> Map<String, Value> {
    let custom = extension(attributes, CUSTOM_USER_SCHEMA);
    let enterprise = extension(attributes, ENTERPRISE_USER_SCHEMA);
    names
        .iter()
        .map(|n| {
            let value = get_ci(&custom, n)
                .filter(|v| !v.is_null())
                .or_else(|| get_ci(&enterprise, n).filter(|v| v.is_string()))
                .cloned()
                .unwrap_or(Value::Null);
            (n.clone(), value)
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
