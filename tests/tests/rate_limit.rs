//! Per-organization rate limits, on a stack of its own with low limits: 3
//! SCIM and 2 admin requests per second, i.e. 30 and 20 per 10-second window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use user_sync_tests::{
    Answer, Client, StackInfo, UserBuilder, enc, new_org, stack_with_parameters,
};

const SCIM_BUDGET: usize = 30;
const ADMIN_BUDGET: usize = 20;
const WINDOW_MS: u128 = 10_000;

fn stack() -> &'static StackInfo {
    stack_with_parameters(&[
        ("ScimRequestsPerSecondPerOrg", "3"),
        ("AdminRequestsPerSecondPerOrg", "2"),
    ])
}

/// Waits for the start of the next counting window, so a test's requests
/// all fall in one window.
async fn next_window() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let wait = WINDOW_MS - now % WINDOW_MS + 50;
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap())).await;
}

/// `n` requests, 5 at a time.
async fn burst(n: usize, request: impl Fn() -> tokio::task::JoinHandle<Answer>) -> Vec<Answer> {
    let mut answers = Vec::new();
    for _ in 0..n.div_ceil(5) {
        let batch: Vec<_> = (0..5).map(|_| request()).collect();
        for h in batch {
            answers.push(h.await.unwrap());
        }
    }
    answers.truncate(n);
    answers
}

fn retry_after(a: &Answer) -> u64 {
    let value = a.retry_after.as_deref().expect("a 429 has Retry-After");
    let seconds: u64 = value.parse().expect("Retry-After in seconds");
    assert!((1..=10).contains(&seconds), "Retry-After {seconds}");
    seconds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_requests_over_the_limit_get_429_with_retry_after_and_change_nothing() {
    let stack = stack();
    let (a, b) = (new_org("rate-a").await, new_org("rate-b").await);
    let client = Client::new();
    next_window().await;

    let list = format!("{}/Users", stack.scim_url);
    let answers = burst(SCIM_BUDGET + 10, || {
        let (client, url, token) = (client.clone(), list.clone(), a.scim_token.clone());
        tokio::spawn(async move { client.request("GET", &url, Some(&token), None, &[]).await })
    })
    .await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Answer> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(ok, SCIM_BUDGET, "admitted in one window");
    assert_eq!(limited.len(), 10, "refused in the same window");
    for r in &limited {
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(r.body["status"], "429");
        retry_after(r);
    }

    // over the limit, a create is refused and stores nothing
    let user = UserBuilder::person("late@example.com", "Late", "Comer").build();
    let refused = client
        .request("POST", &list, Some(&a.scim_token), Some(&user), &[])
        .await;
    assert_eq!(refused.status, 429, "{:?}", refused.body);

    // another organization has a budget of its own
    let other = client
        .request("GET", &list, Some(&b.scim_token), None, &[])
        .await;
    assert_eq!(other.status, 200, "{:?}", other.body);

    // after Retry-After, the organization is served again
    tokio::time::sleep(Duration::from_secs(retry_after(&refused))).await;
    let filter = format!("{list}?filter={}", enc("userName eq \"late@example.com\""));
    let after = client
        .request("GET", &filter, Some(&a.scim_token), None, &[])
        .await;
    assert_eq!(after.status, 200, "{:?}", after.body);
    assert_eq!(
        after.body["totalResults"], 0,
        "the refused create stored nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_requests_over_the_limit_get_429_problem_and_scim_keeps_its_own_budget() {
    let stack = stack();
    let org = new_org("rate-admin").await;
    let client = Client::new();
    next_window().await;

    let rules = format!("{}/rules", stack.api_url);
    let answers = burst(ADMIN_BUDGET + 5, || {
        let (client, url, token) = (client.clone(), rules.clone(), org.admin_token.clone());
        tokio::spawn(async move { client.request("GET", &url, Some(&token), None, &[]).await })
    })
    .await;
    assert_eq!(
        answers.iter().filter(|r| r.status == 200).count(),
        ADMIN_BUDGET
    );
    let limited: Vec<&Answer> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!(limited.len(), 5);
    for r in &limited {
        assert_eq!(r.body["code"], "rate_limited", "{:?}", r.body);
        assert_eq!(r.body["type"], "urn:user-sync:problem:rate_limited");
        assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
        retry_after(r);
    }
    // a rule refused over the limit is not created
    let create = client
        .request(
            "POST",
            &rules,
            Some(&org.admin_token),
            Some(&json!({"directoryGroup": "nobody", "products": ["G2M"]})),
            &[],
        )
        .await;
    assert_eq!(create.status, 429, "{:?}", create.body);

    // SCIM requests of the same organization are counted apart
    let scim = client
        .request(
            "GET",
            &format!("{}/Users", stack.scim_url),
            Some(&org.scim_token),
            None,
            &[],
        )
        .await;
    assert_eq!(scim.status, 200, "{:?}", scim.body);

    tokio::time::sleep(Duration::from_secs(retry_after(&create))).await;
    let after = client
        .request("GET", &rules, Some(&org.admin_token), None, &[])
        .await;
    assert_eq!(after.status, 200, "{:?}", after.body);
    assert_eq!(
        after.body["rules"],
        Value::Array(vec![]),
        "nothing was created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_a_valid_token_are_refused_before_counting() {
    let stack = stack();
    let org = new_org("rate-auth").await;
    let client = Client::new();
    next_window().await;
    let list = format!("{}/Users", stack.scim_url);
    // a guessed token spends nothing of the organization's budget
    let forged = format!("us_scim_{}.0000000000000000.{}", org.org_id, "0".repeat(64));
    for _ in 0..(SCIM_BUDGET + 5) {
        let r = client.request("GET", &list, Some(&forged), None, &[]).await;
        assert_eq!(r.status, 401);
    }
    let r = client
        .request("GET", &list, Some(&org.scim_token), None, &[])
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// The directory connector pushes more than the budget allows: it waits for
/// `Retry-After` and converges, with every user created once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_connector_waits_out_429_and_creates_every_user_once() {
    use user_sync_connector::model::{ChangeMarker, Changes, Enterprise, Snapshot, SourceUser};
    use user_sync_connector::scim::ScimClient;
    use user_sync_connector::sync::{self, Directory, DirectoryError, Options};

    struct Fixed(Snapshot);
    impl Directory for Fixed {
        async fn read_full(&mut self) -> Result<Snapshot, DirectoryError> {
            Ok(self.0.clone())
        }
        async fn read_changes(
            &mut self,
            _: &ChangeMarker,
        ) -> Result<Option<Changes>, DirectoryError> {
            Ok(None)
        }
    }

    let stack = stack();
    let org = new_org("rate-conn").await;
    let users: Vec<SourceUser> = (0..45)
        .map(|i| SourceUser {
            external_id: format!("guid-{i:02}"),
            dn: format!("CN=u{i},DC=example,DC=com"),
            user_name: format!("u{i}@{}.example.com", org.org_id),
            active: true,
            given_name: None,
            family_name: None,
            display_name: None,
            emails: vec![],
            phone_numbers: vec![],
            enterprise: Enterprise::default(),
            custom: Default::default(),
        })
        .collect();
    let client = ScimClient::new(
        &stack.scim_url,
        org.scim_token.clone(),
        Duration::from_secs(30),
    )
    .unwrap();
    let state = std::env::temp_dir().join(format!("connector-rate-{}", org.org_id));
    let options = Options {
        dry_run: false,
        allow_deactivations: false,
        force_full: false,
        guard: Default::default(),
        full_every: Duration::from_secs(3600),
        concurrency: 4,
    };
    next_window().await;
    let mut dir = Fixed(Snapshot {
        users,
        groups: vec![],
        marker: None,
    });
    let report = sync::run(&mut dir, &client, &state.join("state.json"), &options)
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.done.created, 45);
    assert!(
        client
            .counters
            .retries
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "45 creates and the reads do not fit in a window of 30: some waited"
    );
    // read through the connector's client, which waits out 429 too
    let held = client.users().await.unwrap();
    assert_eq!(held.len(), 45, "each user once");
    std::fs::remove_dir_all(&state).unwrap();
}
