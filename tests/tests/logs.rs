//! No secrets or personal data in the logs. This binary is its own process
//! with its own stack: it installs a subscriber that captures every log line
//! (every level down to debug, as text and as JSON, the AWS emulator's
//! output included) before the stack starts, runs a realistic flow, then
//! fails if a token, an email address or a user's name appears in any line.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use user_sync_tests::{
    PATCH_OP, PIPELINE, TestOrg, UserBuilder, api_url, emails_to, eventually, scim_url, stack,
};

/// Everything logged, as written.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the capturing subscriber for the whole process: the stack's
/// functions, runner, simulator and emulator all log through it.
fn capture() -> Captured {
    let captured = Captured::default();
    let (text, json) = (captured.clone(), captured.clone());
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("debug"))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || text.clone()),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(move || json.clone()),
        )
        .try_init()
        .expect("the capturing subscriber is the first one");
    captured
}

async fn person(org: &TestOrg, email: &str, given: &str, family: &str) -> String {
    let user = UserBuilder::person(email, given, family)
        .attr("displayName", json!(format!("{given} {family}")));
    org.scim().create_user(user).await
}

/// Every email address in `text` (a plain scan: local part, `@`, a dotted
/// domain).
fn email_addresses(text: &str) -> Vec<String> {
    let local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let domain = |c: char| c.is_ascii_alphanumeric() || ".-".contains(c);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| local(*c))
            .last()
            .map(|(i, _)| i);
        let end = text[at + 1..]
            .char_indices()
            .take_while(|(_, c)| domain(*c))
            .last()
            .map(|(i, c)| at + 1 + i + c.len_utf8());
        if let (Some(start), Some(end)) = (start, end) {
            let host = text[at + 1..end].trim_end_matches('.');
            if host.contains('.') && host.rsplit('.').next().is_some_and(|tld| tld.len() >= 2) {
                found.push(text[start..at + 1 + host.len()].to_owned());
            }
        }
    }
    found
}

#[test]
fn the_email_scan_finds_addresses_and_nothing_else() {
    assert_eq!(
        email_addresses("to=ada.x-1@example.com, from \"b+c@mail.example.org\". a@b @ x@y"),
        ["ada.x-1@example.com", "b+c@mail.example.org"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_run_logs_no_token_email_or_name() {
    let captured = capture();
    let _ = stack();
    let a = TestOrg::new("logs").await;
    let org = a.org_id.clone();
    let people = [
        (
            format!("first.{org}@example.com"),
            "Isembard",
            "Thistlewood",
        ),
        (
            format!("second.{org}@example.com"),
            "Perpetua",
            "Quillfeather",
        ),
    ];
    let mut users = Vec::new();
    for (email, given, family) in &people {
        users.push(person(&a, email, given, family).await);
    }
    a.simulator()
        .control(
            "PUT",
            &format!("/orgs/{org}/seats"),
            Some(json!({"G2W": 1})),
        )
        .await;
    let group = a.scim().group("Finance Team").await;
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    a.scim().members(&group, "add", &refs).await;
    a.admin().rule(json!({"groupId": group, "description": "Finance", "products": ["G2W"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    // one seat: one account, one out_of_licenses failure
    eventually("an out_of_licenses failure", PIPELINE, || async {
        let f = a.admin().get("/sync/failures").await;
        (f.body["failures"][0]["class"] == "out_of_licenses").then_some(())
    })
    .await;
    let d = a.admin().get("/sync/failures/out_of_licenses").await;
    assert_eq!(d.status, 200, "{}", d.body);
    // more seats, then Retry sync: both accounts, both welcome emails
    a.simulator()
        .control(
            "PUT",
            &format!("/orgs/{org}/seats"),
            Some(json!({"G2W": 5})),
        )
        .await;
    eventually("the retry moved the job", PIPELINE, || async {
        let r = a
            .admin()
            .post("/sync/retry", json!({"class": "out_of_licenses"}))
            .await;
        (r.body["jobs"] == 1).then_some(())
    })
    .await;
    for u in &users {
        a.until(u, "an active account", |x| x["status"] == "active")
            .await;
    }
    for (email, _, _) in &people {
        eventually("the welcome email", PIPELINE, || async {
            (!emails_to(&a.client, email).await.is_empty()).then_some(())
        })
        .await;
    }

    // the admin reads and previews; the directory changes a name
    for path in [
        format!("/users/{}/assignment", users[0]),
        "/users".to_owned(),
        "/activity".to_owned(),
        "/groups".to_owned(),
    ] {
        let r = a.admin().get(&path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let preview = a
        .admin()
        .post(
            "/templates/default/preview",
            json!({"userId": users[1], "language": "en"}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let (status, body) = a
        .scim()
        .send(
            "PATCH",
            &format!("/Users/{}", users[0]),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "name.familyName", "value": "Thistlewood-Grey"}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    // rejected tokens: made up, and each token on the other API
    let forged = "usk_forged_0123456789abcdefghijklmnopqrstuv";
    let scim_users = scim_url("/Users");
    let api_rules = api_url("/rules");
    for (url, token) in [
        (&scim_users, forged),
        (&api_rules, forged),
        (&scim_users, a.admin_token.as_str()),
        (&api_rules, a.scim_token.as_str()),
    ] {
        let (status, _) = a.client.send("GET", url, Some(token), None).await;
        assert!(status == 401 || status == 403, "{url}: {status}");
    }
    // a duplicate userName, refused
    let (status, _) = a
        .scim()
        .send(
            "POST",
            "/Users",
            Some(json!({"userName": people[0].0.to_uppercase(), "active": true})),
        )
        .await;
    assert_eq!(status, 409);
    // let the last invocations finish logging
    tokio::time::sleep(Duration::from_secs(2)).await;

    let log = captured.text();
    let lines: Vec<&str> = log.lines().collect();
    // the capture saw the pipeline and the emulator
    for expected in [
        "account reconciled",
        "welcome email sent",
        "local_stack::emulator",
    ] {
        assert!(log.contains(expected), "nothing logged \"{expected}\"");
    }
    let mut secrets: Vec<(&str, String)> = vec![
        ("the SCIM token", a.scim_token.clone()),
        ("the admin token", a.admin_token.clone()),
        ("a forged token", forged.to_owned()),
        (
            "the product API key",
            local_stack::PRODUCT_API_KEY.to_owned(),
        ),
    ];
    for (email, given, family) in &people {
        secrets.push(("an email address", (*email).clone()));
        secrets.push(("an email address", email.to_uppercase()));
        secrets.push(("a given name", (*given).to_owned()));
        secrets.push(("a family name", (*family).to_owned()));
    }
    let mut leaks = Vec::new();
    for line in &lines {
        let lower = line.to_lowercase();
        for (what, value) in &secrets {
            if lower.contains(&value.to_lowercase()) {
                leaks.push(format!("{what}: {line}"));
            }
        }
        // a credential after its scheme, in any header or message
        for (at, scheme) in line.match_indices("Bearer ") {
            if line[at + scheme.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric())
            {
                leaks.push(format!("a bearer credential: {line}"));
            }
        }
        for address in email_addresses(line) {
            if address != local_stack::MAIL_FROM_ADDRESS {
                leaks.push(format!("an email address ({address}): {line}"));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "{} of {} log lines leak:\n{}",
        leaks.len(),
        lines.len(),
        leaks.join("\n")
    );
}
