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
//! `cargo bench -p user-sync-tests --bench calls` prints the calls per
//! function, then what the changes use of each billed AWS service (the
//! request units DynamoDB bills, from the emulator's record; the functions'
//! invocations and billed milliseconds, from the local runner) and that
//! priced with AWS's public prices: the cost of 1,000 users onboarded and of
//! a rule change on a 10,000-member group. (Calls the local runner makes as Lambda's event sources —
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
    service: String,
    action: String,
    resources: Vec<String>,
    /// DynamoDB's read and write request units for it.
    read_units: f64,
    write_units: f64,
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
                service: c["service"].as_str().unwrap_or_default().to_owned(),
                read_units: c["units"]["read"].as_f64().unwrap_or(0.0),
                write_units: c["units"]["write"].as_f64().unwrap_or(0.0),
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

/// What a change used of each service AWS bills for.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    lambda_requests: f64,
    /// Billed milliseconds, summed over the invocations.
    lambda_ms: f64,
    read_units: f64,
    write_units: f64,
    sqs_requests: f64,
    emails: f64,
    http_requests: f64,
}

impl Usage {
    fn times(self, k: f64) -> Self {
        Self {
            lambda_requests: self.lambda_requests * k,
            lambda_ms: self.lambda_ms * k,
            read_units: self.read_units * k,
            write_units: self.write_units * k,
            sqs_requests: self.sqs_requests * k,
            emails: self.emails * k,
            http_requests: self.http_requests * k,
        }
    }

    /// Lambda's GB-seconds at the template's 256 MB.
    fn gb_seconds(self) -> f64 {
        self.lambda_ms / 1000.0 * LAMBDA_MEMORY_GB
    }
}

/// Every function's invocation counters now.
fn invocations() -> BTreeMap<&'static str, local_stack::InvocationStats> {
    FUNCTIONS.iter().map(|f| (*f, stack().stats(f))).collect()
}

/// What `calls`, made between the counters `before` and `after`, used. The
/// queue event sources' own requests (a receive and a delete per batch) are
/// counted as two per worker or mailer invocation; the stream's reads are
/// free for Lambda.
fn usage(
    calls: &[Call],
    before: &BTreeMap<&'static str, local_stack::InvocationStats>,
    after: &BTreeMap<&'static str, local_stack::InvocationStats>,
) -> Usage {
    let mut u = Usage::default();
    for f in FUNCTIONS {
        let n = after[f].invocations.saturating_sub(before[f].invocations) as f64;
        u.lambda_requests += n;
        u.lambda_ms += after[f].billed_ms.saturating_sub(before[f].billed_ms) as f64;
        match f {
            "scim" | "api" => u.http_requests += n,
            "worker" | "mailer" => u.sqs_requests += 2.0 * n,
            _ => {}
        }
    }
    for c in calls {
        u.read_units += c.read_units;
        u.write_units += c.write_units;
        if c.service == "sqs" {
            u.sqs_requests += 1.0;
        }
        if c.action == "SendEmail" {
            u.emails += 1.0;
        }
    }
    u
}

/// A service, its price as written, what one unit costs, and the units a
/// usage holds.
type Price = (&'static str, &'static str, f64, fn(Usage) -> f64);

/// The template's function memory (`MemorySize: 256`), in GB.
const LAMBDA_MEMORY_GB: f64 = 0.25;

/// AWS's public on-demand prices in US East (N. Virginia), in US dollars,
/// as AWS's price pages give them in 2025 (DynamoDB on-demand after its
/// 2024-11-01 reduction), past the free tiers: (service, price as written,
/// what one unit costs, the units of a usage).
const PRICES: [Price; 7] = [
    ("Lambda requests", "$0.20 per million", 0.20e-6, |u| {
        u.lambda_requests
    }),
    (
        "Lambda duration (arm64, 256 MB)",
        "$0.0000133334 per GB-second",
        0.000_013_333_4,
        Usage::gb_seconds,
    ),
    (
        "DynamoDB reads (on-demand)",
        "$0.125 per million RRU",
        0.125e-6,
        |u| u.read_units,
    ),
    (
        "DynamoDB writes (on-demand)",
        "$0.625 per million WRU",
        0.625e-6,
        |u| u.write_units,
    ),
    (
        "SQS (standard)",
        "$0.40 per million requests",
        0.40e-6,
        |u| u.sqs_requests,
    ),
    ("SES", "$0.10 per 1,000 emails", 0.10e-3, |u| u.emails),
    (
        "API Gateway (HTTP API)",
        "$1.00 per million requests",
        1.00e-6,
        |u| u.http_requests,
    ),
];

fn usage_row(name: &str, u: Usage) {
    println!(
        "| {name} | {:.2} | {:.0} | {:.4} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
        u.lambda_requests,
        u.lambda_ms,
        u.gb_seconds(),
        u.read_units,
        u.write_units,
        u.sqs_requests,
        u.emails,
        u.http_requests,
    );
}

/// The cost of `a` and `b` by service, their totals, and which service
/// dominates each.
fn cost_table(a_name: &str, a: Usage, b_name: &str, b: Usage) {
    let dollars = |x: f64| {
        if x >= 1.0 {
            format!("${x:.2}")
        } else {
            format!("${x:.4}")
        }
    };
    let total = |u: Usage| PRICES.iter().map(|(_, _, p, f)| p * f(u)).sum::<f64>();
    let (ta, tb) = (total(a), total(b));
    println!("| service | price (us-east-1) | {a_name} | {b_name} |");
    println!("|---|---|---|---|");
    for (service, price, p, f) in PRICES {
        let (ca, cb) = (p * f(a), p * f(b));
        println!(
            "| {service} | {price} | {} ({:.0} %) | {} ({:.0} %) |",
            dollars(ca),
            100.0 * ca / ta.max(f64::MIN_POSITIVE),
            dollars(cb),
            100.0 * cb / tb.max(f64::MIN_POSITIVE),
        );
    }
    println!(
        "| **total** | | **{}** | **{}** |",
        dollars(ta),
        dollars(tb)
    );
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
    let before = invocations();
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
    let onboarding_usage = usage(&onboarding, &before, &invocations());

    // 2. a no-op PATCH
    let before = invocations();
    o.scim(
        "PATCH",
        &format!("/Users/{user}"),
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": true}]}),
    )
    .await;
    let noop = record.until_quiet(quiet).await;
    let noop_usage = usage(&noop, &before, &invocations());

    // 3. a membership change
    let h = o.group("Webinar Hosts").await;
    o.api("POST", "/rules", json!({"groupId": h, "products": ["G2W"]}))
        .await;
    record.until_quiet(quiet).await;
    let before = invocations();
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
    let membership_usage = usage(&membership, &before, &invocations());

    // 4. a rule change on a group of 1,000 members
    let k = GroupId::parse(&o.group("Everyone").await).unwrap();
    let org_id = OrgId::parse(&o.org.org_id).unwrap();
    put_members(&org_id, &k, MEMBERS).await;
    // the new members are evaluated (no rule names their group yet)
    record.until_quiet(Duration::from_secs(5)).await;
    let before = invocations();
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
    let fan_out_usage = usage(&fan_out, &before, &invocations()).times(1.0 / MEMBERS as f64);

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

    println!();
    println!(
        "What each change used of the services AWS bills (DynamoDB's request units as the emulator's record sizes them; Lambda's invocations and billed milliseconds as the local runner timed them, against the emulator; two SQS requests per worker or mailer invocation for the queue event source's receive and delete):"
    );
    println!();
    println!(
        "| change | Lambda invocations | billed ms | GB-s (256 MB) | DynamoDB RRU | DynamoDB WRU | SQS requests | SES emails | HTTP API requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    usage_row("onboarding one user", onboarding_usage);
    usage_row("no-op PATCH", noop_usage);
    usage_row("membership change", membership_usage);
    usage_row(
        &format!("rule change on a {MEMBERS}-member group, per user"),
        fan_out_usage,
    );
    println!();
    println!(
        "Priced (1,000 users onboarded: 1,000 times one user's onboarding, each alone; the rule change: its per-user figure times 10,000):"
    );
    println!();
    cost_table(
        "1,000 users onboarded",
        onboarding_usage.times(1_000.0),
        "10,000-member rule change",
        fan_out_usage.times(10_000.0),
    );
}
