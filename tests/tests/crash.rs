//! The local runner killed (SIGKILL) in the middle of syncing 500 users,
//! then started again: every user converges, every directory change that
//! got a 2xx from SCIM is reflected, and nobody gets a second welcome email.
//!
//! The runner is a process of its own (`crash-runner`); the AWS emulator and
//! the product API simulator run outside it, as DynamoDB, SQS, SES and the
//! product API do outside Lambda, so the kill loses exactly what a crashed
//! Lambda loses: the invocations in flight. The identity provider retries
//! what got no answer, as Okta and Entra ID do. After the restart the
//! stream is read again from its start (`TRIM_HORIZON`) and messages that
//! were in flight come back after their visibility timeout (180 s), so the
//! run takes a few minutes; `scripts/test` runs it unless `--quick` is given.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use serde_json::{Value, json};
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::ids::OrgId;
use user_sync_tests::onboard::{Onboarding, emails_by_recipient};
use user_sync_tests::{TestOrg, Urls, services_outside_a_stack};

const USERS: usize = 500;
/// Users deactivated by the identity provider during the run.
const LEAVERS: usize = 10;
/// Accounts at the product API when the runner is killed.
const KILL_AT: usize = 150;
const CONVERGE: Duration = Duration::from_secs(900);

/// A runner process, killed (`SIGKILL`) and waited for when dropped, so
/// that a failing test leaves none behind.
struct Runner(Child);

impl Runner {
    fn kill(&mut self) {
        let _ignored = self.0.kill();
        let _ignored = self.0.wait();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The runner process, started on `port`; returns once it serves.
async fn start_runner(aws: &str, product_api: &str, port: u16, info: &PathBuf) -> (Runner, Value) {
    let _ignored = std::fs::remove_file(info);
    let mut runner = Runner(
        Command::new(env!("CARGO_BIN_EXE_crash-runner"))
            .env("USER_SYNC_AWS_ENDPOINT_URL", aws)
            .env("USER_SYNC_PRODUCT_API_URL", product_api)
            .env("USER_SYNC_HTTP_PORT", port.to_string())
            .env("USER_SYNC_RUNNER_INFO", info)
            .stdout(Stdio::null())
            .spawn()
            .expect("start the runner"),
    );
    let start = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(info)
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            return (runner, v);
        }
        if start.elapsed() > Duration::from_secs(120) {
            runner.kill();
            panic!("the runner did not start within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long run: scripts/test runs it (cargo test -p user-sync-tests --test crash -- --ignored)"]
#[allow(clippy::print_stdout)] // the figures belong in the test log
async fn the_runner_killed_mid_sync_and_restarted_loses_nothing() {
    let (emulator, product_api) = services_outside_a_stack().await;
    let aws = emulator.endpoint_url().to_owned();

    let port = free_port();
    let info_path =
        std::env::temp_dir().join(format!("user-sync-crash-{}.json", std::process::id()));
    let (mut runner, info) = start_runner(&aws, &product_api, port, &info_path).await;

    // an organization, made as `ops org create` makes it
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&aws)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(Credentials::from_keys("local", "local", None))
        .load()
        .await;
    let table = DirectoryTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        info["directoryTable"].as_str().unwrap(),
    );
    let org_id = OrgId::parse("crash").unwrap();
    let created = ops::create_organization(&table, &org_id, "Crash Test Company")
        .await
        .unwrap();
    ops::grandfather_domains(&table, &org_id, user_sync_tests::TEST_DOMAINS)
        .await
        .unwrap();
    let on = Onboarding::new(TestOrg::from_tokens(
        org_id.as_str(),
        &created.scim_token,
        &created.admin_token,
        Urls::new(
            info["scimUrl"].as_str().unwrap(),
            info["apiUrl"].as_str().unwrap(),
            &product_api,
            &aws,
        ),
    ));
    let started = Instant::now();
    let group = on.group_rule_and_sync().await;

    // the identity provider pushes the directory, retrying through the crash
    let idp = {
        let on = on.clone();
        tokio::spawn(async move {
            let mut users = Vec::new();
            for chunk in (0..USERS).collect::<Vec<_>>().chunks(100) {
                let ids = on.create_users(chunk[0]..chunk[0] + chunk.len(), 8).await;
                on.add_members(&group, &ids).await;
                users.extend(ids);
            }
            for user in &users[..LEAVERS] {
                let a = on
                    .scim(
                        "PATCH",
                        &format!("/Users/{user}"),
                        Some(
                            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "replace", "path": "active", "value": false}]}),
                        ),
                    )
                    .await;
                assert_eq!(a.status, 200, "{}", a.body);
            }
            users
        })
    };

    // kill it in the middle of the sync
    let killed_at = loop {
        let n = on.accounts().await.len();
        if n >= KILL_AT {
            break n;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "only {n} accounts before the kill"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    runner.kill();
    let killed_after = started.elapsed();
    let (mut runner, _) = start_runner(&aws, &product_api, port, &info_path).await;
    let restarted_after = started.elapsed();

    let users = idp.await.unwrap();
    assert_eq!(users.len(), USERS);
    let pushed = started.elapsed();
    let leavers: BTreeSet<&String> = users[..LEAVERS].iter().collect();

    // every change that got a 2xx is in the directory
    let listed = on.scim("GET", "/Users?count=1", None).await;
    assert_eq!(listed.body["totalResults"], USERS);
    let g = on
        .scim("GET", &format!("/Groups/{}", users_group(&on).await), None)
        .await;
    assert_eq!(g.body["members"].as_array().unwrap().len(), USERS);

    // ... and at the product API: everyone else active with G2M; a leaver
    // suspended, or without an account if it left before one was made
    let deadline = Instant::now() + CONVERGE;
    loop {
        let accounts = on.accounts().await;
        let right = users
            .iter()
            .filter(|u| match (leavers.contains(u), accounts.get(u.as_str())) {
                (false, Some(a)) => a["products"] == json!(["G2M"]) && a["status"] == "active",
                (true, Some(a)) => a["products"] == json!([]) && a["status"] == "suspended",
                (true, None) => true,
                (false, None) => false,
            })
            .count();
        if right == USERS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{right} of {USERS} accounts converged after {CONVERGE:?}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let converged = started.elapsed();
    let failures = on.failures().await;
    assert_eq!(failures["failures"], json!([]), "{failures}");

    // one welcome email per user who stayed; at most one to a leaver
    let emails = {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let emails = emails_by_recipient(&on.org).await;
            let stayed = (LEAVERS..USERS)
                .filter(|i| emails.contains_key(&on.email(*i)))
                .count();
            if stayed == USERS - LEAVERS {
                break emails;
            }
            assert!(
                Instant::now() < deadline,
                "{stayed} of {} welcome emails",
                USERS - LEAVERS
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    // A second email is possible in one case only: the kill landed after the
    // mail service accepted an email and before the mailer recorded it; the
    // claim it left is taken over and the email sent again, marked `resent`.
    let resent = resent_welcomes(&on).await;
    let duplicated: Vec<usize> = (0..USERS)
        .filter(|i| emails.get(&on.email(*i)).copied().unwrap_or(0) > 1)
        .collect();
    for i in &duplicated {
        assert!(
            resent.contains(&users[*i]),
            "user {i} got {} welcome emails and none was a resend of an interrupted one",
            emails[&on.email(*i)]
        );
        assert_eq!(emails[&on.email(*i)], 2, "user {i}");
    }

    runner.kill();
    let _ignored = std::fs::remove_file(&info_path);
    println!(
        "crash: {USERS} users ({LEAVERS} deactivated); killed at {killed_at} accounts after {:.1} s, \
         serving again after {:.1} s; directory pushed after {:.1} s; all converged after {:.1} s; \
         {} welcome emails; {} interrupted sends taken over, {} of them a second email",
        killed_after.as_secs_f64(),
        restarted_after.as_secs_f64(),
        pushed.as_secs_f64(),
        converged.as_secs_f64(),
        emails.values().sum::<usize>(),
        resent.len(),
        duplicated.len(),
    );
    drop(emulator);
}

/// The id of the organization's one group.
async fn users_group(on: &Onboarding) -> String {
    let groups = on
        .scim("GET", "/Groups?excludedAttributes=members", None)
        .await;
    groups.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Users whose welcome email was sent by a delivery that took over an
/// interrupted one's claim (`details.resent` in the activity history).
async fn resent_welcomes(on: &Onboarding) -> BTreeSet<String> {
    let mut resent = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/activity?action=welcome_email_sent&limit=200".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", user_sync_tests::enc(c)));
        }
        let page = on.admin("GET", &path, None).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for e in page.body["items"].as_array().unwrap() {
            if e["details"]["resent"] == true {
                resent.insert(e["subject"]["id"].as_str().unwrap().to_owned());
            }
        }
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return resent,
        }
    }
}
