//! The SCIM side: a client of the organization's SCIM endpoint, and what it
//! holds, read into the connector's terms.
//!
//! The client honours `429 Retry-After`, retries `5xx` answers and timeouts
//! with a bounded, jittered backoff, and never logs the token, a body or a
//! personal attribute: only the method, the resource type, the status and
//! `scimType`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

pub const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const LIST_RESPONSE_PAGE: usize = 200;
/// Attempts of one request (the first included) before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Largest answer read (a page is at most 5 MiB).
const MAX_ANSWER: usize = 8 * 1024 * 1024;
/// Most pages read of one listing (200 × 1,000 = 200,000 resources).
const MAX_PAGES: usize = 1000;

/// What went wrong talking to the SCIM endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ScimError {
    /// The endpoint refused the request; retrying the same will not help.
    #[error("{method} {resource}: HTTP {status}{}", scim_type.as_ref().map(|t| format!(" ({t})")).unwrap_or_default())]
    Refused {
        method: &'static str,
        resource: &'static str,
        status: u16,
        scim_type: Option<String>,
    },
    /// The token was refused (401/403): nothing will work until it is fixed.
    #[error(
        "{method} {resource}: the SCIM token was refused (HTTP {status}); check scim.token_env / scim.token_file"
    )]
    Unauthorized {
        method: &'static str,
        resource: &'static str,
        status: u16,
    },
    /// Still failing after every attempt (5xx, 429, timeouts, connection
    /// errors).
    #[error("{method} {resource}: no answer after {attempts} attempts: {last}")]
    Unavailable {
        method: &'static str,
        resource: &'static str,
        attempts: u32,
        last: String,
    },
    /// An answer that is not what SCIM says it should be.
    #[error("{method} {resource}: unexpected answer: {0}", .detail)]
    Protocol {
        method: &'static str,
        resource: &'static str,
        detail: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl ScimError {
    /// Whether the whole run must stop (no later request can succeed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Unauthorized { .. } | Self::Client(_))
    }
}

/// A user as the endpoint holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldUser {
    pub id: String,
    pub external_id: Option<String>,
    pub user_name: String,
    pub active: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The primary address first.
    pub emails: Vec<String>,
    pub phone_numbers: Vec<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub division: Option<String>,
    /// The manager's SCIM id.
    pub manager: Option<String>,
    pub custom: BTreeMap<String, String>,
}

/// A group as the endpoint holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeldGroup {
    pub id: String,
    pub external_id: Option<String>,
    pub display_name: String,
    /// Member user ids.
    pub members: Vec<String>,
}

fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn values(v: &Value, key: &str) -> Vec<String> {
    let mut list: Vec<(bool, String)> = v
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| {
                    let primary = e.get("primary").and_then(Value::as_bool).unwrap_or(false);
                    string(e, "value").map(|s| (primary, s))
                })
                .collect()
        })
        .unwrap_or_default();
    // the primary first, the others in the order served
    list.sort_by_key(|(primary, _)| !*primary);
    list.into_iter().map(|(_, s)| s).collect()
}

impl HeldUser {
    /// Reads a served User; `None` without an `id` or a `userName`.
    pub fn from_scim(v: &Value) -> Option<Self> {
        let active = match v.get("active") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
            _ => true,
        };
        let name = v.get("name").cloned().unwrap_or(Value::Null);
        let ent = v.get(ENTERPRISE).cloned().unwrap_or(Value::Null);
        let manager = match ent.get("manager") {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(m) => string(m, "value"),
            None => None,
        };
        let custom = v
            .get(CUSTOM)
            .and_then(Value::as_object)
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            id: string(v, "id")?,
            external_id: string(v, "externalId"),
            user_name: string(v, "userName")?,
            active,
            given_name: string(&name, "givenName"),
            family_name: string(&name, "familyName"),
            display_name: string(v, "displayName"),
            emails: values(v, "emails"),
            phone_numbers: values(v, "phoneNumbers"),
            employee_number: string(&ent, "employeeNumber"),
            department: string(&ent, "department"),
            cost_center: string(&ent, "costCenter"),
            division: string(&ent, "division"),
            manager,
            custom,
        })
    }
}

impl HeldGroup {
    /// Reads a served Group; `None` without an `id`.
    pub fn from_scim(v: &Value) -> Option<Self> {
        let mut members: Vec<String> = v
            .get("members")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|m| string(m, "value")).collect())
            .unwrap_or_default();
        members.sort();
        members.dedup();
        Some(Self {
            id: string(v, "id")?,
            external_id: string(v, "externalId"),
            display_name: string(v, "displayName").unwrap_or_default(),
            members,
        })
    }
}

/// Requests sent, by kind (for the summary and the tests' "no write" check).
#[derive(Debug, Default)]
pub struct Counters {
    pub reads: AtomicU64,
    pub writes: AtomicU64,
    pub retries: AtomicU64,
}

/// A client of one organization's SCIM endpoint.
#[derive(Debug)]
pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    token: String,
    pub counters: Counters,
}

/// One answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl ScimClient {
    /// `base` is the SCIM base URL without a trailing slash.
    pub fn new(base: &str, token: String, timeout: Duration) -> Result<Self, ScimError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("user-sync-connector/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ScimError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
            counters: Counters::default(),
        })
    }

    /// Requests that changed something, sent so far.
    pub fn writes(&self) -> u64 {
        self.counters.writes.load(Ordering::Relaxed)
    }

    /// Requests that read, sent so far.
    pub fn reads(&self) -> u64 {
        self.counters.reads.load(Ordering::Relaxed)
    }

    /// One request, with the retries described in the module. With
    /// `retry_unsure` false (a create), a request whose effect is unknown
    /// (a timeout, a 5xx) is not sent again: `Ok(None)` says so, and the
    /// caller looks before trying again.
    async fn send(
        &self,
        method: &'static str,
        resource: &'static str,
        path_and_query: &str,
        body: Option<&Value>,
        retry_unsure: bool,
    ) -> Result<Option<Answer>, ScimError> {
        let url = format!("{}{}", self.base, path_and_query);
        let mut last = String::new();
        for attempt in 1..=MAX_ATTEMPTS {
            let m = reqwest::Method::from_bytes(method.as_bytes())
                .map_err(|e| ScimError::Client(e.to_string()))?;
            let mut req = self
                .http
                .request(m, &url)
                .bearer_auth(&self.token)
                .header("accept", "application/scim+json");
            if let Some(b) = body {
                req = req
                    .header("content-type", "application/scim+json")
                    .body(b.to_string());
            }
            if method == "GET" {
                self.counters.reads.fetch_add(1, Ordering::Relaxed);
            } else {
                self.counters.writes.fetch_add(1, Ordering::Relaxed);
            }
            let wait = match req.send().await {
                Err(e) => {
                    last = if e.is_timeout() {
                        "timed out".to_owned()
                    } else if e.is_connect() {
                        "cannot connect".to_owned()
                    } else {
                        "the connection failed".to_owned()
                    };
                    if !retry_unsure {
                        tracing::warn!(method, resource, attempt, reason = %last, "SCIM request without an answer");
                        return Ok(None);
                    }
                    backoff(attempt)
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let bytes = resp.bytes().await.map_err(|_| ScimError::Protocol {
                        method,
                        resource,
                        detail: format!("HTTP {status} with an unreadable body"),
                    })?;
                    if bytes.len() > MAX_ANSWER {
                        return Err(ScimError::Protocol {
                            method,
                            resource,
                            detail: format!("an answer of {} bytes", bytes.len()),
                        });
                    }
                    let body: Value = if bytes.is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
                    };
                    match status {
                        429 => {
                            last = "HTTP 429".to_owned();
                            retry_after
                                .unwrap_or_else(|| backoff(attempt))
                                .min(MAX_WAIT)
                        }
                        500..=599 => {
                            last = format!("HTTP {status}");
                            if !retry_unsure {
                                tracing::warn!(
                                    method,
                                    resource,
                                    attempt,
                                    status,
                                    "SCIM request failed on the server"
                                );
                                return Ok(None);
                            }
                            retry_after
                                .unwrap_or_else(|| backoff(attempt))
                                .min(MAX_WAIT)
                        }
                        401 | 403 => {
                            return Err(ScimError::Unauthorized {
                                method,
                                resource,
                                status,
                            });
                        }
                        _ => return Ok(Some(Answer { status, body })),
                    }
                }
            };
            if attempt < MAX_ATTEMPTS {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
                tracing::info!(method, resource, attempt, wait_ms = wait.as_millis() as u64, reason = %last, "retrying a SCIM request");
                tokio::time::sleep(wait).await;
            }
        }
        Err(ScimError::Unavailable {
            method,
            resource,
            attempts: MAX_ATTEMPTS,
            last,
        })
    }

    /// A request that is safe to send again.
    async fn call(
        &self,
        method: &'static str,
        resource: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ScimError> {
        self.send(method, resource, path, body, true)
            .await?
            .ok_or_else(|| ScimError::Protocol {
                method,
                resource,
                detail: "no answer".into(),
            })
    }

    fn refused(method: &'static str, resource: &'static str, a: &Answer) -> ScimError {
        ScimError::Refused {
            method,
            resource,
            status: a.status,
            scim_type: a
                .body
                .get("scimType")
                .and_then(Value::as_str)
                .map(|s| s.chars().take(40).collect()),
        }
    }

    /// Every resource of a listing, page by page by cursor (RFC 9865: each
    /// page reads from where the previous one ended, so enumerating an
    /// organization costs one read per resource, at any size). A page may
    /// hold fewer resources than asked for, or none, and still not be the
    /// last: the listing ends with the first page without `nextCursor`.
    async fn list(
        &self,
        resource: &'static str,
        query: &str,
        mut each: impl FnMut(&Value),
    ) -> Result<(), ScimError> {
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let path = format!(
                "/{resource}?cursor={}&count={LIST_RESPONSE_PAGE}{query}",
                encode(&cursor)
            );
            let a = self.call("GET", resource, &path, None).await?;
            if a.status != 200 {
                return Err(Self::refused("GET", resource, &a));
            }
            let protocol = |detail: &str| ScimError::Protocol {
                method: "GET",
                resource,
                detail: detail.to_owned(),
            };
            let resources = match a.body.get("Resources") {
                None | Some(Value::Null) => &[][..],
                Some(Value::Array(r)) => r.as_slice(),
                Some(_) => return Err(protocol("Resources is not an array")),
            };
            for r in resources {
                each(r);
            }
            match a.body.get("nextCursor") {
                None | Some(Value::Null) => return Ok(()),
                Some(Value::String(next)) if !next.is_empty() && *next != cursor => {
                    cursor.clone_from(next);
                }
                Some(_) => return Err(protocol("nextCursor is not a new cursor")),
            }
        }
        Err(ScimError::Protocol {
            method: "GET",
            resource,
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    /// Every user of the organization.
    pub async fn users(&self) -> Result<Vec<HeldUser>, ScimError> {
        let mut out = Vec::new();
        self.list("Users", "", |r| out.extend(HeldUser::from_scim(r)))
            .await?;
        Ok(out)
    }

    /// Every group of the organization, with its members.
    pub async fn groups(&self) -> Result<Vec<HeldGroup>, ScimError> {
        let mut out = Vec::new();
        self.list("Groups", "", |r| out.extend(HeldGroup::from_scim(r)))
            .await?;
        Ok(out)
    }

    /// The first resource a filter finds.
    async fn find(&self, resource: &'static str, filter: &str) -> Result<Option<Value>, ScimError> {
        let path = format!("/{resource}?filter={}", encode(filter));
        let a = self.call("GET", resource, &path, None).await?;
        if a.status != 200 {
            return Err(Self::refused("GET", resource, &a));
        }
        Ok(a.body
            .get("Resources")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .cloned())
    }

    /// The user with this `externalId`, if any.
    pub async fn user_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<HeldUser>, ScimError> {
        let filter = format!("externalId eq {}", json!(external_id));
        Ok(self
            .find("Users", &filter)
            .await?
            .and_then(|v| HeldUser::from_scim(&v)))
    }

    /// The group with this `externalId`, if any.
    pub async fn group_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<HeldGroup>, ScimError> {
        let filter = format!("externalId eq {}", json!(external_id));
        Ok(self
            .find("Groups", &filter)
            .await?
            .and_then(|v| HeldGroup::from_scim(&v)))
    }

    /// Creates a resource that carries `externalId`; a create whose outcome
    /// is unknown is looked up by that `externalId` before it is sent again,
    /// so that it is never made twice. Returns the new resource's id.
    async fn create(
        &self,
        resource: &'static str,
        external_id: &str,
        body: &Value,
    ) -> Result<String, ScimError> {
        let path = format!("/{resource}");
        for attempt in 1..=MAX_ATTEMPTS {
            match self
                .send("POST", resource, &path, Some(body), false)
                .await?
            {
                Some(a) if a.status == 201 || a.status == 200 => {
                    return string(&a.body, "id").ok_or_else(|| ScimError::Protocol {
                        method: "POST",
                        resource,
                        detail: "a created resource without an id".into(),
                    });
                }
                Some(a) => return Err(Self::refused("POST", resource, &a)),
                None => {
                    let found = match resource {
                        "Users" => self.user_by_external_id(external_id).await?.map(|u| u.id),
                        _ => self.group_by_external_id(external_id).await?.map(|g| g.id),
                    };
                    if let Some(id) = found {
                        return Ok(id);
                    }
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff(attempt)).await;
                }
            }
        }
        Err(ScimError::Unavailable {
            method: "POST",
            resource,
            attempts: MAX_ATTEMPTS,
            last: "no answer".into(),
        })
    }

    /// `POST /Users`.
    pub async fn create_user(&self, external_id: &str, body: &Value) -> Result<String, ScimError> {
        self.create("Users", external_id, body).await
    }

    /// `POST /Groups`.
    pub async fn create_group(&self, external_id: &str, body: &Value) -> Result<String, ScimError> {
        self.create("Groups", external_id, body).await
    }

    /// `PATCH /{resource}/{id}` with these operations.
    pub async fn patch(
        &self,
        resource: &'static str,
        id: &str,
        operations: Vec<Value>,
    ) -> Result<(), ScimError> {
        let body = json!({"schemas": [PATCH_OP], "Operations": operations});
        let path = format!("/{resource}/{}", encode(id));
        let a = self.call("PATCH", resource, &path, Some(&body)).await?;
        match a.status {
            200 | 204 => Ok(()),
            _ => Err(Self::refused("PATCH", resource, &a)),
        }
    }
}

/// Exponential backoff from 250 ms, at most 16 s, with up to 50 % jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 250u64.saturating_mul(1u64 << attempt.min(6)).min(16_000);
    let mut r = [0u8; 2];
    let jitter = match getrandom::fill(&mut r) {
        Ok(()) => u64::from(u16::from_le_bytes(r)) * (base / 2) / u64::from(u16::MAX),
        Err(_) => 0,
    };
    Duration::from_millis(base + jitter)
}

/// Percent-encodes a query value or a path segment.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_served_user_is_read_with_its_extensions() {
        let u = HeldUser::from_scim(&json!({
            "id": "u1", "externalId": "x1", "userName": "ada@example.com",
            "active": "False",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "other@example.com"}, {"value": "ada@example.com", "primary": true}],
            ENTERPRISE: {"department": "R&D", "manager": {"value": "m1", "displayName": "M"}},
            CUSTOM: {"badgeNumber": "B7"}
        }))
        .unwrap();
        assert!(!u.active);
        assert_eq!(u.emails, ["ada@example.com", "other@example.com"]);
        assert_eq!(u.department.as_deref(), Some("R&D"));
        assert_eq!(u.manager.as_deref(), Some("m1"));
        assert_eq!(u.custom["badgeNumber"], "B7");
        assert!(HeldUser::from_scim(&json!({"userName": "no id"})).is_none());
    }

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) >= Duration::from_millis(500));
        assert!(backoff(1) <= Duration::from_millis(750));
        assert!(backoff(30) <= Duration::from_millis(24_000));
    }

    #[test]
    fn filters_are_encoded() {
        assert_eq!(
            encode("externalId eq \"a b\""),
            "externalId%20eq%20%22a%20b%22"
        );
    }
}
