//! The whole pipeline on the local stack (the AWS emulator, the runner with
//! every function, the product API simulator), with the template's default
//! parameters:
//!
//! 1. 1,000 users (`PIPELINE_USERS` sets the number) created through SCIM
//!    (8 requests at a time, memberships 100 per PATCH, as an identity
//!    provider pushes) into a group that a rule names, sync on: the time
//!    from the first request to the last account at the product API and to
//!    the last welcome email, and the rate; the worker's `ChangeLatency`
//!    p50/p95/p99 over the accounts, as the dashboard would show them; and
//!    the CPU time the AWS emulator and this process (the functions, the
//!    runner, the simulator, the harness) spent meanwhile, from `/proc`;
//! 2. the latency of one change on an idle stack: 50 SCIM PATCHes (a new
//!    family name), one at a time, each timed from the request to the
//!    product API call that applies it; p50 and p95, beside the same
//!    changes' `ChangeLatency` metric (`user_sync_tests::latency`, which
//!    the observability test shares);
//! 3. a rule change on a group of 10,000 members (written straight into the
//!    directory, evaluated before the rule exists): the time from the rule's
//!    creation to the 10,000th account. `PIPELINE_FAN_OUT_MEMBERS` sets the
//!    number of members (`0` skips this part).
//!
//! `cargo bench -p user-sync-tests --bench pipeline` prints one table.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_core::ids::{GroupId, OrgId};
use user_sync_tests::latency::{
    TimedChange, latencies as latencies_of, metric_lines, one_change_at_a_time, percentile,
};
use user_sync_tests::onboard::Onboarding;
use user_sync_tests::{new_org, put_members, stack};

const USERS: usize = 1_000;
const CHANGES: usize = 50;
const FAN_OUT_MEMBERS: usize = 10_000;
/// How long any one part may take before the bench gives up.
const PATIENCE: Duration = Duration::from_secs(1_800);

/// The functions' own calls (each calls with its name as access key id);
/// the local runner's event source pollers call too, and are left out.
const FUNCTIONS: [&str; 5] = ["scim", "api", "evaluator", "worker", "mailer"];

/// Counts the functions' AWS calls as the emulator records them, reading
/// only what was appended since the last look.
#[derive(Default)]
struct Calls {
    offset: u64,
    /// Every call of the five functions.
    total: usize,
    /// The mailer's `SendEmail` calls: the welcome emails SES accepted.
    emails: usize,
}

impl Calls {
    fn update(&mut self) -> &Self {
        use std::io::{Read, Seek, SeekFrom};
        let Ok(mut file) = std::fs::File::open(&stack().aws_calls) else {
            return self;
        };
        let mut new = String::new();
        if file.seek(SeekFrom::Start(self.offset)).is_err()
            || file.read_to_string(&mut new).is_err()
        {
            return self;
        }
        // whole lines only
        let end = new.rfind('\n').map_or(0, |i| i + 1);
        for line in new[..end].lines() {
            let Ok(call) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if FUNCTIONS.iter().any(|f| call["key"] == *f) {
                self.total += 1;
                if call["key"] == "mailer" && call["action"] == "SendEmail" {
                    self.emails += 1;
                }
            }
        }
        self.offset += end as u64;
        self
    }
}

/// Waits until the functions have made no AWS call for `quiet`.
async fn until_quiet(calls: &mut Calls, quiet: Duration) {
    let mut last = (calls.update().total, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = calls.update().total;
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() >= quiet {
            return;
        }
    }
}

/// CPU seconds (user and system) process `pid` has used, from
/// `/proc/{pid}/stat` (`utime` and `stime`, in clock ticks of 1/100 s).
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // the fields after the command, which is in parentheses and may hold spaces
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // utime and stime are the 14th and 15th fields; the state, the 3rd, is
    // the first after the command
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// The AWS emulator's process id: this process's child running
/// `moto_server.py`.
fn emulator_pid() -> Option<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().into_owned();
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let parent = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .to_owned();
        (cmdline.contains("moto_server.py") && parent == me).then_some(pid)
    })
}

fn waited_too_long(started: Instant, what: &str) {
    assert!(started.elapsed() < PATIENCE, "gave up waiting for {what}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs = |d: Duration| format!("{:.1} s", d.as_secs_f64());
    let per_minute = |n: usize, d: Duration| n as f64 / d.as_secs_f64() * 60.0;
    let mut rows = Vec::new();

    // 1. a thousand users (or PIPELINE_USERS)
    let users_wanted: usize = std::env::var("PIPELINE_USERS").map_or(USERS, |v| {
        v.parse().expect("PIPELINE_USERS: a number of users")
    });
    let on = Onboarding::new(new_org("bench").await);
    let mut calls = Calls::default();
    let emails_before = calls.update().emails;
    let emulator = emulator_pid().expect("the AWS emulator's process");
    let me = std::process::id().to_string();
    eprintln!("1. {users_wanted} users through SCIM");
    let cpu_before = (cpu_seconds(&emulator), cpu_seconds(&me));
    let started = Instant::now();
    let group = on.group_rule_and_sync().await;
    let users = on.create_users(0..users_wanted, 8).await;
    on.add_members(&group, &users).await;
    let pushed = started.elapsed();
    eprintln!("   pushed in {}", secs(pushed));
    let accounts_at = loop {
        let n = on.accounts().await.len();
        if n >= users_wanted {
            break started.elapsed();
        }
        waited_too_long(started, "the accounts");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!("   {users_wanted} accounts after {}", secs(accounts_at));
    let emails_at = loop {
        if calls.update().emails - emails_before >= users_wanted {
            break started.elapsed();
        }
        waited_too_long(started, "the welcome emails");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("   {users_wanted} welcome emails after {}", secs(emails_at));
    // the goal is for the default 1,000 users
    let goal = if users_wanted == USERS { "< 2 min" } else { "" };
    let cpu = (
        cpu_seconds(&emulator) - cpu_before.0,
        cpu_seconds(&me) - cpu_before.1,
    );
    rows.push(format!(
        "| {users_wanted} users pushed through SCIM (creates, then memberships 100 per PATCH) | {} | |",
        secs(pushed)
    ));
    rows.push(format!(
        "| first request → {users_wanted}th account at the product API | {} ({:.0} users/min) | {goal} |",
        secs(accounts_at),
        per_minute(users_wanted, accounts_at)
    ));
    rows.push(format!(
        "| first request → {users_wanted}th welcome email | {} ({:.0} users/min) | {goal} |",
        secs(emails_at),
        per_minute(users_wanted, emails_at)
    ));
    rows.push(format!(
        "| CPU until the last email ({} s of wall time, 2 cores): the AWS emulator / this process (functions, runner, simulator, harness) | {:.1} s / {:.1} s ({:.0} % / {:.0} % of one core) | |",
        emails_at.as_secs(),
        cpu.0,
        cpu.1,
        100.0 * cpu.0 / emails_at.as_secs_f64(),
        100.0 * cpu.1 / emails_at.as_secs_f64()
    ));
    until_quiet(&mut calls, Duration::from_secs(5)).await;
    // the same run as the dashboard shows it: the worker's ChangeLatency
    let burst = latencies_of(&metric_lines(&on.org.org_id));
    rows.push(format!(
        "| the {users_wanted} accounts' `ChangeLatency` (SCIM write → product API answer; {} values), p50 / p95 / p99 | {} / {} / {} ms | |",
        burst.len(),
        percentile(&burst, 50),
        percentile(&burst, 95),
        percentile(&burst, 99)
    ));

    // 2. one change at a time on the idle stack, in an organization of one
    // user (its call log stays short to poll)
    eprintln!("2. {CHANGES} changes, one at a time");
    let one = Onboarding::new(new_org("latency").await);
    let group = one.group_rule_and_sync().await;
    let user = one.create_user(0).await;
    one.add_members(&group, std::slice::from_ref(&user)).await;
    let started = Instant::now();
    while one.calls(Some(&user)).await.is_empty() {
        waited_too_long(started, "the first account");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    until_quiet(&mut calls, Duration::from_secs(5)).await;
    let timed =
        one_change_at_a_time(&one, &user, CHANGES, Duration::from_millis(500), PATIENCE).await;
    let mut latencies: Vec<Duration> = timed.iter().map(TimedChange::observed).collect();
    latencies.sort();
    let mut metric: Vec<Duration> = timed.iter().map(TimedChange::metric).collect();
    metric.sort();
    let pct = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    let ms = |d: Duration| format!("{} ms", d.as_millis());
    rows.push(format!(
        "| one change on an idle stack (SCIM PATCH → product API call), p50 of {CHANGES} | {} | < 1 s |",
        ms(pct(50))
    ));
    rows.push(format!(
        "| the same, p95 (fastest {}, slowest {}) | {} | |",
        ms(latencies[0]),
        ms(latencies[latencies.len() - 1]),
        ms(pct(95))
    ));
    rows.push(format!(
        "| the same changes' `ChangeLatency` (SCIM write → product API answer), p50 / p95 | {} / {} | |",
        ms(percentile(&metric, 50)),
        ms(percentile(&metric, 95))
    ));

    // 3. a rule change on a large group
    let members = std::env::var("PIPELINE_FAN_OUT_MEMBERS")
        .ok()
        .map_or(FAN_OUT_MEMBERS, |v| {
            v.parse().expect("PIPELINE_FAN_OUT_MEMBERS: a number")
        });
    if members > 0 {
        eprintln!("3. a rule change on a group of {members} members");
        let big = Onboarding::new(new_org("fanout").await);
        // sync on, with a Full Admin rule on a group of its own (empty)
        big.group_rule_and_sync().await;
        let g = big
            .scim("POST", "/Groups", Some(json!({"displayName": "Members"})))
            .await;
        assert_eq!(g.status, 201, "{}", g.body);
        let group = GroupId::parse(g.body["id"].as_str().unwrap()).unwrap();
        let org_id = OrgId::parse(&big.org.org_id).unwrap();
        put_members(&org_id, &group, members).await;
        // the new members are evaluated first (no rule names their group yet)
        until_quiet(&mut calls, Duration::from_secs(10)).await;
        eprintln!("   members written and evaluated; creating the rule");
        let started = Instant::now();
        let rule = big
            .admin(
                "POST",
                "/rules",
                Some(json!({"groupId": group, "products": ["G2T"]})),
            )
            .await;
        assert_eq!(rule.status, 201, "{}", rule.body);
        let mut reported = 0;
        let done = loop {
            let n = big.accounts().await.len();
            if n >= members {
                break started.elapsed();
            }
            if n >= reported + members / 10 {
                reported = n;
                eprintln!("   {n} accounts after {}", secs(started.elapsed()));
            }
            waited_too_long(started, "the fan-out's accounts");
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        eprintln!("   {members} accounts after {}", secs(done));
        rows.push(format!(
            "| rule change on a {members}-member group → {members}th account | {} ({:.0} users/min) | |",
            secs(done),
            per_minute(members, done)
        ));
    }

    println!();
    println!("| measurement (local stack) | result | goal |");
    println!("|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
