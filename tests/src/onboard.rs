//! Onboarding many users the way an identity provider does, for the long
//! fault and crash runs: a group with a Full Admin rule granting `G2M`, sync
//! on, then users created and added to the group, each request retried as
//! Okta and Entra ID retry (no answer, `5xx`, `429` after `Retry-After`).

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Answer, Call, GroupBuilder, TestOrg, UserBuilder, enc, members_patch};

/// How long an identity provider keeps retrying one request.
const GIVE_UP: Duration = Duration::from_secs(300);

/// One organization's identity provider and admin, against URLs that stay
/// the same across restarts of the stack (the organization's
/// [`TestOrg::urls`]).
#[derive(Clone)]
pub struct Onboarding {
    pub org: TestOrg,
}

impl Onboarding {
    pub fn new(org: TestOrg) -> Self {
        Self { org }
    }

    /// The email (and userName) of user `i`.
    pub fn email(&self, i: usize) -> String {
        format!("user{i:04}.{}@example.com", self.org.org_id)
    }

    /// A request retried until it gets an answer other than `5xx` or `429`.
    pub async fn persist(
        &self,
        method: &str,
        url: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Answer {
        let start = Instant::now();
        loop {
            let wait = match self
                .org
                .client
                .try_request(Call {
                    method,
                    url,
                    token: Some(token),
                    body,
                    headers: &[],
                })
                .await
            {
                Ok(a) if a.status == 429 => Duration::from_secs(
                    a.retry_after
                        .as_deref()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(1),
                ),
                Ok(a) if a.status >= 500 => Duration::from_millis(500),
                Ok(a) => return a,
                Err(_) => Duration::from_millis(500),
            };
            assert!(
                start.elapsed() < GIVE_UP,
                "{method} {url}: no answer for {GIVE_UP:?}"
            );
            tokio::time::sleep(wait).await;
        }
    }

    pub async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = self.org.urls.scim(path);
        self.persist(method, &url, &self.org.scim_token, body.as_ref())
            .await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let url = self.org.urls.api(path);
        self.persist(method, &url, &self.org.admin_token, body.as_ref())
            .await
    }

    /// The simulator's control endpoint.
    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.org.simulator().control(method, path, body).await
    }

    /// A group `Everyone` with a Full Admin rule granting `G2M`, and sync
    /// on. Returns the group's id.
    pub async fn group_rule_and_sync(&self) -> String {
        let g = self
            .scim(
                "POST",
                "/Groups",
                Some(GroupBuilder::new("Everyone").build()),
            )
            .await;
        assert_eq!(g.status, 201, "{}", g.body);
        let group = g.body["id"].as_str().expect("group id").to_owned();
        let rule = self
            .admin(
                "POST",
                "/rules",
                Some(
                    json!({"groupId": group, "description": "Everyone", "products": ["G2M"],
                    "adminRole": {"type": "full_admin"}}),
                ),
            )
            .await;
        assert_eq!(rule.status, 201, "{}", rule.body);
        let sync = self
            .admin("PUT", "/sync", Some(json!({"enabled": true})))
            .await;
        assert_eq!(sync.status, 200, "{}", sync.body);
        group
    }

    /// Creates user `i` and returns its id. A create whose answer was lost
    /// (the stack died) answers `409` when tried again: the identity
    /// provider then finds the user by its userName, as Entra ID does.
    pub async fn create_user(&self, i: usize) -> String {
        let email = self.email(i);
        let body = UserBuilder::person(&email, &format!("Given{i}"), "Test").build();
        let a = self.scim("POST", "/Users", Some(body)).await;
        match a.status {
            201 => a.body["id"].as_str().expect("user id").to_owned(),
            409 => {
                let filter = enc(&format!("userName eq \"{email}\""));
                let found = self
                    .scim("GET", &format!("/Users?filter={filter}"), None)
                    .await;
                assert_eq!(found.status, 200, "{}", found.body);
                found.body["Resources"][0]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("409 for {i} but not found: {}", found.body))
                    .to_owned()
            }
            s => panic!("creating user {i}: {s} {}", a.body),
        }
    }

    /// Creates users `range`, `parallel` at a time, in order; their ids.
    pub async fn create_users(
        &self,
        range: std::ops::Range<usize>,
        parallel: usize,
    ) -> Vec<String> {
        let mut ids = Vec::new();
        let all: Vec<usize> = range.collect();
        for chunk in all.chunks(parallel.max(1)) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let me = self.clone();
                    tokio::spawn(async move { me.create_user(i).await })
                })
                .collect();
            for t in tasks {
                ids.push(t.await.expect("create task"));
            }
        }
        ids
    }

    /// Adds users to the group, 100 per PATCH (adding a member twice is a
    /// no-op, so a PATCH whose answer was lost may be sent again).
    pub async fn add_members(&self, group: &str, users: &[String]) {
        for chunk in users.chunks(100) {
            let members: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let a = self
                .scim(
                    "PATCH",
                    &format!("/Groups/{group}?excludedAttributes=members"),
                    Some(members_patch("add", &members)),
                )
                .await;
            assert!(
                a.status == 200 || a.status == 204,
                "{} {}",
                a.status,
                a.body
            );
        }
    }

    /// The organization's accounts at the product API, by user id.
    pub async fn accounts(&self) -> BTreeMap<String, Value> {
        self.org.simulator().accounts().await
    }

    /// The product API calls made for this organization, or for one of its
    /// users.
    pub async fn calls(&self, user: Option<&str>) -> Vec<Value> {
        self.org.simulator().calls(user).await
    }

    /// The product API calls of this organization, counted by status.
    pub async fn calls_by_status(&self) -> BTreeMap<u64, usize> {
        self.org.simulator().calls_by_status().await
    }

    /// `GET /sync/failures`.
    pub async fn failures(&self) -> Value {
        let a = self.admin("GET", "/sync/failures", None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        a.body
    }
}

/// Welcome emails the emulator's SES accepted (of every organization on
/// `org`'s stack), counted by recipient.
pub async fn emails_by_recipient(org: &TestOrg) -> BTreeMap<String, usize> {
    let url = org.urls.aws_data();
    let (status, data) = org.client.send("GET", &url, None, None).await;
    assert_eq!(status, 200, "moto data endpoint");
    let mut counts = BTreeMap::new();
    for m in data["ses"]["Message"].as_array().into_iter().flatten() {
        for to in m["destinations"]["ToAddresses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(to) = to.as_str() {
                *counts.entry(to.to_owned()).or_default() += 1;
            }
        }
    }
    counts
}
