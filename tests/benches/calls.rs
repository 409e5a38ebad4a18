//! AWS requests per synced user, counted on the local stack: the AWS
//! emulator records every call each function makes (`record_calls`), and
//! this bench reads the record around four changes:
//!
//! 1. onboarding: the identity provider creates a user and adds it to a
//!    group that a rule names (sync on), until the account and the welcome
//!    email exist;
//! 2. a no-op PATCH (`active: true`, as Entra ID sends periodically);
//! 3. a membership change (the user joins a second group whose rule adds a
//!    product);
//! 4. a rule change on a group of 1,000 members (the fan-out), per user.
//!
//! `cargo bench -p user-sync-tests --bench calls` prints one table; the
//! DynamoDB, SQS and SES calls are what the bill and DynamoDB capacity scale
//! with on AWS. (Calls the local runner makes as Lambda's event sources —
//! receiving and deleting queue messages, reading the stream — are Lambda's,
//! not the functions', and are not counted.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::ids::{GroupId, OrgId};
use user_sync_tests::{
    PATCH_OP, TestOrg, UserBuilder, emails_to, eventually, new_org, put_members, stack,
};

const MEMBERS: usize = 1_000;
const FUNCTIONS: [&str; 5] = ["scim", "api", "evaluator", "worker", "mailer"];

/// One recorded call.
#[derive(Debug, Clone)]
struct Call {
    function: String,
    action: String,
    resources: Vec<String>,
}

/// Reads the record from where the previous read stopped.
struct Record {
    offset: usize,
}

impl Record {
    fn new() -> Self {
        let mut r = Self { offset: 0 };
        let _ = r.read();
        r
    }

    /// The functions' calls since the last read.
    fn read(&mut self) -> Vec<Call> {
        let text = std::fs::read_to_string(&stack().aws_calls).unwrap_or_default();
        // only whole lines
        let end = text.rfind('\n').map_or(self.offset, |i| i + 1);
        let new = &text[self.offset.min(end)..end];
        self.offset = end;
        new.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|c| FUNCTIONS.contains(&c["key"].as_str().unwrap_or_default()))
            .map(|c| Call {
                function: c["key"].as_str().unwrap_or_default().to_owned(),
                action: c["action"].as_str().unwrap_or_default().to_owned(),
                resources: c["resources"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The calls until none has come for `quiet`.
    async fn until_quiet(&mut self, quiet: Duration) -> Vec<Call> {
        let mut calls = Vec::new();
        let mut last = Instant::now();
        loop {
            let new = self.read();
            if new.is_empty() {
                if last.elapsed() >= quiet {
                    return calls;
                }
            } else {
                last = Instant::now();
                calls.extend(new);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Calls by function.
fn by_function(calls: &[Call]) -> BTreeMap<&str, usize> {
    let mut out: BTreeMap<&str, usize> = FUNCTIONS.iter().map(|f| (*f, 0)).collect();
    for c in calls {
        *out.entry(c.function.as_str()).or_default() += 1;
    }
    out
}

/// Jobs sent (messages, not calls: a batch carries up to 10).
fn job_sends(calls: &[Call]) -> usize {
    calls
        .iter()
        .filter(|c| {
            c.action.starts_with("SendMessage")
                && c.resources.iter().any(|r| r.ends_with("/JobsQueue"))
        })
        .count()
}

fn row(name: &str, calls: &[Call], per: usize, goal: &str) {
    let f = by_function(calls);
    let per = per.max(1) as f64;
    let cell = |n: usize| format!("{:.2}", n as f64 / per);
    println!(
        "| {name} | {} | {} | {} | {} | {} | {} | {goal} |",
        cell(f["scim"]),
        cell(f["api"]),
        cell(f["evaluator"]),
        cell(f["worker"]),
        cell(f["mailer"]),
        cell(calls.len()),
    );
}

fn detail(name: &str, calls: &[Call]) {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for c in calls {
        *counts
            .entry(format!("{} {}", c.function, c.action))
            .or_default() += 1;
    }
    let listed: Vec<String> = counts.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
    println!("{name}: {}", listed.join(", "));
}

/// The answer of a request that must succeed.
fn succeeded(method: &str, path: &str, (status, v): (u16, Value)) -> Value {
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {v}"
    );
    v
}

struct Org {
    org: TestOrg,
}

impl Org {
    /// A SCIM request that must succeed.
    async fn scim(&self, method: &str, path: &str, body: Value) -> Value {
        succeeded(
            method,
            path,
            self.org.scim().send(method, path, Some(body)).await,
        )
    }

    /// An admin API request that must succeed.
    async fn api(&self, method: &str, path: &str, body: Value) -> Value {
        succeeded(
            method,
            path,
            self.org.admin().send(method, path, Some(body)).await,
        )
    }

    async fn group(&self, name: &str) -> String {
        self.org.scim().group(name).await
    }

    async fn add(&self, group: &str, user: &str) {
        self.org.scim().members(group, "add", &[user]).await;
    }

    async fn accounts(&self) -> Vec<Value> {
        let (_, v) = self
            .org
            .simulator()
            .send("GET", &format!("/accounts?org={}", self.org.org_id), None)
            .await;
        v.as_array()
            .cloned()
            .or_else(|| v["accounts"].as_array().cloned())
            .unwrap_or_default()
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quiet = Duration::from_secs(3);
    let mut record = Record::new();
    let o = Org {
        org: new_org("req").await,
    };
    let g = o.group("Sales").await;
    o.api(
        "POST",
        "/rules",
        json!({"groupId": g, "products": ["G2M"], "adminRole": {"type": "full_admin"}}),
    )
    .await;
    o.api("PUT", "/sync", json!({"enabled": true})).await;
    record.until_quiet(quiet).await;

    // 1. onboarding
    let email = format!("ada.{}@example.com", o.org.org_id);
    let u = o
        .scim(
            "POST",
            "/Users",
            UserBuilder::new(&email)
                .name("Ada", "Lovelace")
                .attr("emails", json!([{"value": email, "primary": true}]))
                .build(),
        )
        .await;
    let user = u["id"].as_str().unwrap().to_owned();
    o.add(&g, &user).await;
    eventually("the welcome email", Duration::from_secs(120), || async {
        (!emails_to(&o.org.client, &email).await.is_empty()).then_some(())
    })
    .await;
    let onboarding = record.until_quiet(quiet).await;

    // 2. a no-op PATCH
    o.scim(
        "PATCH",
        &format!("/Users/{user}"),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": true}]}),
    )
    .await;
    let noop = record.until_quiet(quiet).await;

    // 3. a membership change
    let h = o.group("Webinar Hosts").await;
    o.api("POST", "/rules", json!({"groupId": h, "products": ["G2W"]}))
        .await;
    record.until_quiet(quiet).await;
    o.add(&h, &user).await;
    eventually("the second product", Duration::from_secs(120), || async {
        o.accounts()
            .await
            .iter()
            .any(|a| a.to_string().contains("G2W"))
            .then_some(())
    })
    .await;
    let membership = record.until_quiet(quiet).await;

    // 4. a rule change on a group of 1,000 members
    let k = GroupId::parse(&o.group("Everyone").await).unwrap();
    let org_id = OrgId::parse(&o.org.org_id).unwrap();
    put_members(&org_id, &k, MEMBERS).await;
    // the new members are evaluated (no rule names their group yet)
    record.until_quiet(Duration::from_secs(5)).await;
    let started = Instant::now();
    o.api("POST", "/rules", json!({"groupId": k, "products": ["G2T"]}))
        .await;
    eventually(
        "every member's account",
        Duration::from_secs(900),
        || async { (o.accounts().await.len() > MEMBERS).then_some(()) },
    )
    .await;
    let fan_out = record.until_quiet(Duration::from_secs(5)).await;
    let elapsed = started.elapsed();

    println!();
    println!("| change | scim | api | evaluator | worker | mailer | total | goal |");
    println!("|---|---|---|---|---|---|---|---|");
    row(
        "onboarding one user (create, add to a group with a rule)",
        &onboarding,
        1,
        "≤ 12 in total",
    );
    row("no-op PATCH (active = true)", &noop, 1, "≤ 2, no job");
    row(
        "membership change (joins a second rule's group)",
        &membership,
        1,
        "",
    );
    row(
        &format!("rule change on a {MEMBERS}-member group, per user"),
        &fan_out,
        MEMBERS,
        "fan-out (evaluator) ≤ 1.5 per user",
    );
    println!();
    println!("jobs sent by the no-op PATCH: {}", job_sends(&noop));
    println!(
        "the rule change: {MEMBERS} accounts in {:.1?} on this machine's emulator",
        elapsed
    );
    println!();
    detail("onboarding", &onboarding);
    detail("no-op PATCH", &noop);
    detail("membership change", &membership);
}
