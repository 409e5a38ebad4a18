//! Validated organization domains on the local stack, with a real DNS server
//! (dnsmasq, started by the harness) serving the TXT records: adding a domain
//! gives a token and the record; verification fails before the record exists
//! and succeeds after; a second organization cannot verify the same domain;
//! a DNS timeout or SERVFAIL is "could not check", never verified; sync on
//! without a verified domain is refused; a user in an unverified domain
//! waits in the `unverified_domain` banner with no account and no email,
//! and verifying the domain then Retry sync provisions them; the re-check
//! flags a removed record.
//!
//! Each test has its own organization (with no domain) and its own domains
//! under `.test`; the domains are verified through `ops domains verify`,
//! which asks the harness's DNS server (`--dns-server`).

use serde_json::{Value, json};
use user_sync_tests::dns::{Zone, dns};
use user_sync_tests::{
    Client, Ran, UserBuilder, emails_to, eventually, new_org_without_domains, ops_cli, stack,
};

use crate::admin::{PIPELINE, TestOrg};

mod admin_api;

/// `ops --output json <args>` against the stack, asking the tests' DNS server.
async fn ops(args: &[&str]) -> Ran {
    let state = stack().state_table.clone();
    let server = dns().addr().to_string();
    let global = [
        "--output",
        "json",
        "--state-table",
        &state,
        "--dns-server",
        &server,
    ];
    ops_cli(&[&global[..], args].concat()).await
}

async fn admin(prefix: &str) -> TestOrg {
    new_org_without_domains(prefix).await
}

/// Adds the domain; answers the TXT record's value.
async fn add(a: &TestOrg, domain: &str) -> String {
    let added = ops(&["domains", "add", &a.org_id, domain]).await.json();
    assert_eq!(added["domain"]["status"], "pending", "{added}");
    assert_eq!(added["record"]["name"], format!("_user-sync.{domain}"));
    assert_eq!(added["record"]["type"], "TXT");
    let value = added["record"]["value"].as_str().unwrap().to_owned();
    let token = added["domain"]["token"].as_str().unwrap();
    assert_eq!(value, format!("user-sync-verification={token}"));
    value
}

async fn status(a: &TestOrg, domain: &str) -> String {
    let list = ops(&["domains", "list", &a.org_id]).await.json();
    list["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"]["domain"] == domain)
        .map(|d| d["domain"]["status"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("{domain} not listed: {list}"))
}

/// Creates a user with this email; answers its id.
async fn user(a: &TestOrg, email: &str) -> String {
    a.scim()
        .create_user(UserBuilder::person(email, "Dee", "Test"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_domain_is_verified_once_its_record_is_published_and_by_one_organization_only() {
    let a = admin("dom-a").await;
    let domain = dns().new_domain();
    let value = add(&a, &domain).await;

    // before the record exists
    let early = ops(&["domains", "verify", &a.org_id, &domain]).await;
    assert_eq!(early.code, 1, "{early:?}");
    assert!(early.err.contains("was not found"), "{early:?}");
    assert_eq!(status(&a, &domain).await, "pending");

    // another record at the name does not verify it
    dns()
        .publish(&domain, &["user-sync-verification=not-the-token"])
        .await;
    let wrong = ops(&["domains", "verify", &a.org_id, &domain]).await;
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert_eq!(status(&a, &domain).await, "pending");

    // published (with another TXT record beside it)
    dns().publish(&domain, &["v=spf1 -all", &value]).await;
    let verified = ops(&["domains", "verify", &a.org_id, &domain]).await.json();
    assert_eq!(verified["domain"]["status"], "verified", "{verified}");
    assert_eq!(verified["domain"]["verifiedBy"], "ops");
    assert!(verified["domain"]["verifiedAt"].is_string());

    // a second organization publishes its own record too: refused
    let b = admin("dom-b").await;
    let theirs = add(&b, &domain).await;
    assert_ne!(theirs, value);
    dns().publish(&domain, &[&value, &theirs]).await;
    let second = ops(&["domains", "verify", &b.org_id, &domain]).await;
    assert_eq!(second.code, 1, "{second:?}");
    assert!(second.err.contains("another organization"), "{second:?}");
    assert_eq!(status(&b, &domain).await, "pending");
    assert_eq!(status(&a, &domain).await, "verified");

    // the ops override gives it to the second; the first's lapses
    let claimed = ops(&["domains", "claim", &b.org_id, &domain]).await.json();
    assert_eq!(claimed["domain"]["status"], "verified");
    assert_eq!(status(&a, &domain).await, "lapsed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_failure_is_could_not_check_and_never_verifies() {
    let a = admin("dom-fail").await;
    for zone in [Zone::ServFail, Zone::Silent] {
        let domain = dns().new_domain();
        add(&a, &domain).await;
        dns().set(&domain, zone.clone()).await;
        let r = ops(&["domains", "verify", &a.org_id, &domain]).await;
        assert_eq!(r.code, 1, "{zone:?}: {r:?}");
        assert!(r.err.contains("could not be checked"), "{zone:?}: {r:?}");
        assert!(!r.err.contains("was not found"), "{zone:?}: {r:?}");
        assert_eq!(status(&a, &domain).await, "pending", "{zone:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recheck_flags_a_verified_domain_whose_record_was_removed() {
    let a = admin("dom-re").await;
    let domain = dns().new_domain();
    let value = add(&a, &domain).await;
    dns().publish(&domain, &[&value]).await;
    ops(&["domains", "verify", &a.org_id, &domain]).await.json();

    let kept = ops(&["domains", "recheck", &a.org_id]).await.json();
    assert_eq!(kept["rechecked"][0]["status"], "verified", "{kept}");

    // a failed lookup changes nothing
    dns().set(&domain, Zone::ServFail).await;
    let failed = ops(&["domains", "recheck", &a.org_id]).await.json();
    assert_eq!(failed["rechecked"][0]["status"], "verified", "{failed}");

    dns().unpublish(&domain).await;
    let flagged = ops(&["domains", "recheck", &a.org_id]).await.json();
    assert_eq!(
        flagged["rechecked"][0]["status"], "record_missing",
        "{flagged}"
    );
    assert!(
        flagged["rechecked"][0]["result"]
            .as_str()
            .unwrap()
            .contains("flagged"),
        "{flagged}"
    );
    assert_eq!(status(&a, &domain).await, "record_missing");

    // the admin reads it in the activity history, after ops' own changes
    let history = a.admin().get("/activity").await;
    let entries: Vec<(String, String)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"]["kind"] == "domain")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("domain_record_missing".to_owned(), "Sync user".to_owned()),
            ("domain_verified".to_owned(), "ops".to_owned()),
            ("domain_added".to_owned(), "ops".to_owned()),
        ],
        "{}",
        history.body
    );
    let missing = &history.body["items"][0];
    assert!(missing["details"]["lapsesAt"].is_string(), "{missing}");
}

/// The schedule in `template.yaml` (the api function's `DomainRecheck`
/// event), run by the local runner every 2 s instead of its rate: a verified
/// domain whose record is removed is flagged by the scheduled run alone (no
/// `ops` here), with its activity entry, and the admin API's listing warns
/// the admin with the date the grace period ends. A stack of its own, so
/// the other tests' re-checks through `ops` see only their own runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_recheck_flags_a_removed_record_and_warns_the_admin() {
    use std::time::Duration;

    use local_stack::{Stack, StackOptions};
    use user_sync_core::ids::OrgId;

    let calls = std::env::temp_dir().join(format!(
        "user-sync-scheduled-calls-{}.jsonl",
        std::process::id()
    ));
    let mut options = StackOptions::new(user_sync_tests::repo_root());
    options.schedule_every = Some(Duration::from_secs(2));
    options.record_calls = Some(calls.clone());
    options
        .parameters
        .insert("DnsServer".to_owned(), dns().addr().to_string());
    let stack = Stack::start(options)
        .await
        .unwrap_or_else(|e| panic!("the scheduled stack could not start: {e}"));
    let org = OrgId::parse("dom-sched").unwrap();
    let created = stack.create_organization(&org, "Scheduled").await.unwrap();
    let token = created.admin_token.clone();
    let c = Client::new();
    let api = |path: &str| format!("{}{path}", stack.api_url);

    let domain = dns().new_domain();
    let (status, added) = c
        .send(
            "POST",
            &api("/domains"),
            Some(&token),
            Some(&json!({"domain": domain})),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    let value = added["record"]["value"].as_str().unwrap().to_owned();
    dns().publish(&domain, &[&value]).await;
    let (status, verified) = c
        .send(
            "POST",
            &api(&format!("/domains/{domain}/verify")),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{verified}");
    assert_eq!(verified["status"], "verified", "{verified}");
    assert!(verified.get("warning").is_none(), "{verified}");

    // the domain as `GET /domains` lists it, once `ready` holds for it (the
    // scheduled runs are awaited)
    let listed_when = |what: &'static str, ready: fn(&Value) -> bool| {
        let (c, url, token, domain) = (c.clone(), api("/domains"), token.clone(), domain.clone());
        user_sync_tests::eventually(what, Duration::from_secs(30), move || {
            let (c, url, token, domain) = (c.clone(), url.clone(), token.clone(), domain.clone());
            async move {
                let (status, list) = c.send("GET", &url, Some(&token), None).await;
                assert_eq!(status, 200, "{list}");
                let d = list["domains"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|d| d["domain"] == domain.as_str())
                    .cloned()
                    .unwrap_or_else(|| panic!("{domain} not listed: {list}"));
                ready(&d).then_some(d)
            }
        })
    };
    // the scheduled runs find the record and keep the domain verified
    let checked = listed_when("a scheduled run checks the record", |d| {
        d["lastChecked"].is_string()
    })
    .await;
    assert_eq!(checked["status"], "verified", "{checked}");

    dns().unpublish(&domain).await;
    let flagged = listed_when("the scheduled run flags the domain", |d| {
        d["status"] == "record_missing"
    })
    .await;
    let lapses_at = flagged["lapsesAt"].as_str().unwrap().to_owned();
    let warning = flagged["warning"]
        .as_str()
        .unwrap_or_else(|| panic!("{flagged}"));
    assert!(warning.contains(&lapses_at), "{warning}");
    assert!(
        warning.contains(&format!("_user-sync.{domain}")),
        "{warning}"
    );
    assert!(warning.contains("no account and no email"), "{warning}");

    // the activity entry, written by the scheduled run (no ops ran here)
    let (status, history) = c.send("GET", &api("/activity"), Some(&token), None).await;
    assert_eq!(status, 200, "{history}");
    let entries: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject"]["kind"] == "domain" && e["subject"]["id"] == domain.as_str())
        .collect();
    let missing: Vec<&&Value> = entries
        .iter()
        .filter(|e| e["action"] == "domain_record_missing")
        .collect();
    assert_eq!(
        missing.len(),
        1,
        "flagged once, whatever the runs: {history}"
    );
    assert_eq!(missing[0]["actor"], "Sync user", "{history}");
    assert_eq!(
        missing[0]["details"]["lapsesAt"],
        lapses_at.as_str(),
        "{history}"
    );
    assert!(stack.invocations("api") > 0);

    // published again: the next run restores it, and the warning goes
    dns().publish(&domain, &[&value]).await;
    let restored = listed_when("the scheduled run restores the domain", |d| {
        d["status"] == "verified"
    })
    .await;
    assert!(restored.get("warning").is_none(), "{restored}");

    // every AWS call the api function made, the scheduled runs' included,
    // is granted by its role (docs/permissions.md); the runs listed the
    // organizations with a Scan
    let logical = user_sync_tests::logical_ids(
        &stack.directory_table,
        &stack.state_table,
        &stack.product_api_key_secret,
        &stack.queues,
    );
    let granted = local_stack::permissions::table_pairs("ApiRole");
    let text = std::fs::read_to_string(&calls).unwrap();
    let mut scans = 0;
    for line in text.lines() {
        let call: Value = serde_json::from_str(line).unwrap();
        if call["key"] != "api" {
            continue;
        }
        let (service, action) = (
            call["service"].as_str().unwrap(),
            call["action"].as_str().unwrap(),
        );
        if (service, action) == ("dynamodb", "Scan") {
            scans += 1;
        }
        let resources = user_sync_tests::call_resources(&call);
        let needed =
            local_stack::permissions::needed(service, action, &resources, &logical).unwrap();
        let missing: Vec<_> = needed.difference(&granted).collect();
        assert!(missing.is_empty(), "{line}: ApiRole lacks {missing:?}");
    }
    assert!(scans > 0, "no Scan recorded for the scheduled runs");
    stack.shutdown().await;
    let _ignored = std::fs::remove_file(&calls);
}
