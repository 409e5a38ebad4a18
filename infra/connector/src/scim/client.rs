//! The client of one organization's SCIM endpoint: requests with retries,
//! listings, lookups, creates and patches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::held::string;
use super::{HeldGroup, HeldUser, PATCH_OP, ScimError, encode};

/// Users a listing page asks for (the endpoint's largest page).
const USERS_PAGE: usize = 200;
/// Groups a listing page asks for: the endpoint reads each group's members
/// for the page, so a page of groups costs many reads; smaller pages keep
/// each request well inside the timeout (200 groups of 50 members in one
/// page took over 30 s on a loaded machine).
const GROUPS_PAGE: usize = 50;
/// Attempts of one request (the first included) before giving up.
const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between attempts, whatever `Retry-After` says.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Largest answer read (a page is at most 5 MiB).
const MAX_ANSWER: usize = 8 * 1024 * 1024;
/// Most pages read of one listing (200,000 users, 50,000 groups).
const MAX_PAGES: usize = 1000;

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
        count: usize,
        mut each: impl FnMut(&Value),
    ) -> Result<(), ScimError> {
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let path = format!("/{resource}?cursor={}&count={count}", encode(&cursor));
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
        self.list("Users", USERS_PAGE, |r| out.extend(HeldUser::from_scim(r)))
            .await?;
        Ok(out)
    }

    /// Every group of the organization, with its members.
    pub async fn groups(&self) -> Result<Vec<HeldGroup>, ScimError> {
        let mut out = Vec::new();
        self.list("Groups", GROUPS_PAGE, |r| {
            out.extend(HeldGroup::from_scim(r));
        })
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        assert!(backoff(1) >= Duration::from_millis(500));
        assert!(backoff(1) <= Duration::from_millis(750));
        assert!(backoff(30) <= Duration::from_millis(24_000));
    }
}
