//! The ops CLI against the local stack, run in-process (`ops::cli`): each
//! subcommand's effect seen from outside (the admin and SCIM APIs, the
//! queues, the product API simulator), its JSON output, its exit codes.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organizations, Tokens};
use user_sync_tests::{
    Client, api_url, control_url, eventually, ops_cli, scim_url, sdk_config, stack, unique_id,
};

use user_sync_aws::redrive::CLOCK_SKEW_MARGIN;

use crate::admin::{PIPELINE, TestOrg};
use crate::failures::{drain, fresh_queue, send_tagged};

mod settings;

mod queues;

async fn get(url: &str, token: &str) -> (u16, Value) {
    Client::new().send("GET", url, Some(token), None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_prints_working_tokens_once_and_org_list_shows_it() {
    let org = unique_id("opsorg");
    let ran = ops_cli(&["org", "create", &org, "Ops Test Inc"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    let token = |label: &str| {
        ran.out
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| panic!("no {label} in {}", ran.out))
    };
    let (scim, admin) = (token("SCIM token:"), token("admin token:"));
    assert!(ran.err.contains("shown once"), "{}", ran.err);
    // the admin token calls the admin API, the SCIM token SCIM
    assert_eq!(get(&api_url("/rules"), &admin).await.0, 200);
    assert_eq!(get(&scim_url("/Users"), &scim).await.0, 200);
    assert_eq!(get(&api_url("/rules"), &scim).await.0, 403);

    // only hashes are stored: no item holds a plain token
    let store = user_sync_tests::directory().await;
    let org_id = OrgId::parse(&org).unwrap();
    let stored = store.list_tokens(&org_id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored
            .iter()
            .all(|t| !admin.contains(&t.secret_sha256) && t.secret_sha256 != admin)
    );

    // a second time: refused, exit code 1
    let again = ops_cli(&["org", "create", &org, "Ops Test Inc"]).await;
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.err.contains("exists already"), "{}", again.err);
    assert!(again.out.is_empty());

    // json: one document with the tokens
    let other = unique_id("opsorg");
    let created = ops_cli(&["--output", "json", "org", "create", &other, "Other Co"])
        .await
        .json();
    assert_eq!(created["orgId"], other.as_str());
    let other_admin = created["adminToken"].as_str().unwrap();
    assert_eq!(get(&api_url("/rules"), other_admin).await.0, 200);

    // org list: both, with what their items hold, and no secrets
    let listed = ops_cli(&["org", "list", "--output", "json"]).await;
    let orgs = listed.json()["organizations"].as_array().unwrap().clone();
    let mine = orgs
        .iter()
        .find(|o| o["id"] == org.as_str())
        .unwrap_or_else(|| panic!("{org} not listed"));
    assert_eq!(mine["name"], "Ops Test Inc");
    assert_eq!(mine["suspensionGuardrailPercent"], 10);
    assert!(mine["created"].as_str().unwrap().starts_with("20"));
    assert!(orgs.iter().any(|o| o["id"] == other.as_str()));
    assert!(!listed.out.contains(&admin) && !listed.out.contains(other_admin));
    let text = ops_cli(&["org", "list"]).await;
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.out.starts_with("ID "), "{}", text.out);
    assert!(
        text.out
            .lines()
            .any(|l| l.starts_with(&org) && l.ends_with("Ops Test Inc")),
        "{}",
        text.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_listed_and_refused_after_revoke() {
    let a = TestOrg::new("opstoken").await;
    let org = a.org_id.as_str();
    let created = ops_cli(&[
        "token",
        "create",
        org,
        "admin",
        "Night Shift",
        "--output",
        "json",
    ])
    .await
    .json();
    let (token_id, token) = (
        created["tokenId"].as_str().unwrap().to_owned(),
        created["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(created["kind"], "admin");
    let rules = api_url("/rules");
    assert_eq!(get(&rules, &token).await.0, 200);

    let listed = eventually("the token is listed", Duration::from_secs(10), || async {
        let ran = ops_cli(&["--output", "json", "token", "list", org]).await;
        let tokens = ran.json()["tokens"].as_array().unwrap().clone();
        tokens
            .iter()
            .any(|t| t["tokenId"] == token_id.as_str())
            .then_some((ran, tokens))
    })
    .await;
    let (ran, tokens) = listed;
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    assert!(tokens.iter().any(|t| t["name"] == "Night Shift"));
    assert!(!ran.out.contains(&token), "never a secret in a listing");
    let text = ops_cli(&["token", "list", org]).await;
    assert!(text.out.starts_with("TOKEN ID"), "{text:?}");
    assert!(text.out.contains("Night Shift"));

    let revoked = ops_cli(&["token", "revoke", org, &token_id]).await;
    assert_eq!(revoked.code, 0, "{revoked:?}");
    assert_eq!(get(&rules, &token).await.0, 401);
    assert_eq!(get(&rules, &a.admin_token).await.0, 200);
    let again = ops_cli(&["token", "revoke", org, &token_id]).await;
    assert_eq!(again.code, 1, "{again:?}");

    // a SCIM token works for SCIM only
    let scim = ops_cli(&["--output", "json", "token", "create", org, "scim", "Okta"])
        .await
        .json();
    let scim = scim["token"].as_str().unwrap();
    assert_eq!(get(&scim_url("/Users"), scim).await.0, 200);

    // usage errors and missing organizations
    assert_eq!(
        ops_cli(&["token", "create", org, "root", "x"]).await.code,
        2
    );
    assert_eq!(
        ops_cli(&["token", "create", org, "admin", "Sync user"])
            .await
            .code,
        2
    );
    let missing = ops_cli(&["token", "list", &unique_id("nobody")]).await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.err.contains("does not exist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_moves_a_job_that_keeps_failing_once_per_run() {
    let s = stack();
    let a = TestOrg::new("opsstorm").await;
    let org = a.org_id.clone();
    let seats = control_url(&format!("/orgs/{org}/seats"));
    let (status, _) = a
        .client
        .send("PUT", &seats, None, Some(&json!({"G2W": 0})))
        .await;
    assert_eq!(status, 200);
    let ada = a.scim().user("ada").await;
    let group = a.scim().group_with("Everyone", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2W"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    let calls_url = control_url(&format!("/calls?org={org}"));
    let calls = || async {
        let (_, body) = a.client.send("GET", &calls_url, None, None).await;
        body["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["userKey"] == ada.as_str())
            .count()
    };
    let attempts = || async {
        let (_, d) = get(
            &api_url("/sync/failures/out_of_licenses?product=G2W"),
            &a.admin_token,
        )
        .await;
        d["users"][0]["attempts"].as_u64()
    };
    eventually("ada runs out of licenses", PIPELINE, || async {
        (attempts().await == Some(1)).then_some(())
    })
    .await;
    // dead-lettered before the run starts, beyond the clock-skew margin
    tokio::time::sleep(CLOCK_SKEW_MARGIN + Duration::from_secs(1)).await;
    let before = calls().await;

    let q = &s.queues;
    let redrive = || {
        let args = [
            "--output",
            "json",
            "--jobs-queue-url",
            &q["JobsQueue"],
            "--jobs-dlq-url",
            &q["JobsDeadLetterQueue"],
            "--mail-queue-url",
            &q["MailQueue"],
            "--mail-dlq-url",
            &q["MailDeadLetterQueue"],
            "dlq",
            "redrive",
            "--org",
            &org,
            "--rate",
            "1000",
        ]
        .map(str::to_owned);
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            // a run that moved the job again each time it failed again
            // would never end
            tokio::time::timeout(Duration::from_secs(120), ops_cli(&refs))
                .await
                .expect("the redrive ended")
        }
    };
    let moved = redrive().await.json();
    assert_eq!(
        (moved["jobs"].clone(), moved["emails"].clone()),
        (json!(1), json!(0)),
        "{moved}"
    );
    assert_eq!(moved["complete"], true);
    // the moved job failed again
    eventually("the moved job failed again", PIPELINE, || async {
        (attempts().await == Some(2)).then_some(())
    })
    .await;

    // the next run, at once: the new dead-lettered copy is newer than the
    // margin, so it waits for a later run
    let again = redrive().await.json();
    assert_eq!(
        (again["jobs"].clone(), again["newer"].clone()),
        (json!(0), json!(1)),
        "{again}"
    );
    // one more call in all, no loop
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(calls().await, before + 1);
    assert_eq!(attempts().await, Some(2));
}

/// Every item of the DirectoryTable, as the emulator holds it (a `Scan`).
async fn scan_directory_table() -> Vec<user_sync_tests::Item> {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(&stack().directory_table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items.unwrap_or_default());
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

/// Writes a user item as earlier versions stored it: its SCIM attributes
/// holding the password the identity provider sent.
async fn put_old_shape_user(org: &str, id: &str, password: &str) {
    let org = OrgId::parse(org).unwrap();
    let mut user = user_sync_core::memory::member(&user_sync_core::ids::UserId::parse(id).unwrap());
    user.user_name = format!("{id}.{org}@example.com");
    user.email = Some(user.user_name.clone());
    let attributes = json!({
        "userName": user.user_name,
        "name": {"givenName": "Member"},
        "emails": [{"value": user.user_name, "primary": true}],
        // attribute names are case-insensitive in SCIM
        if id.ends_with('2') { "Password" } else { "password" }: password,
    });
    let item = user_sync_aws::dynamo::items::UserItem::new(&org, &user, attributes.to_string());
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    ddb.put_item()
        .table_name(&stack().directory_table)
        .set_item(Some(serde_dynamo::to_item(&item).unwrap()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrub_secrets_removes_passwords_earlier_versions_stored() {
    let a = TestOrg::new("opsscrub").await;
    let b = TestOrg::new("opsscrub").await;
    let org = a.org_id.as_str();
    // a user the current SCIM endpoint stored (it never keeps a password),
    // and users as earlier versions stored them
    let ada = a.scim().user("ada").await;
    let secrets: Vec<String> = (0..3).map(|i| unique_id(&format!("s3cr3t{i}"))).collect();
    put_old_shape_user(org, "old-1", &secrets[0]).await;
    put_old_shape_user(org, "old-2", &secrets[1]).await;
    put_old_shape_user(b.org_id.as_str(), "old-3", &secrets[2]).await;
    let holding = |items: &[user_sync_tests::Item]| {
        secrets
            .iter()
            .filter(|s| items.iter().any(|i| format!("{i:?}").contains(s.as_str())))
            .count()
    };
    assert_eq!(holding(&scan_directory_table().await), 3);

    // one organization: its two, with progress on stderr
    let ran = ops_cli(&["scrub-secrets", org]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(
        ran.err
            .contains(&format!("... {org}: 3 users examined, 2 scrubbed")),
        "{ran:?}"
    );
    assert!(
        ran.out
            .contains(&format!("organization {org}: 2 of 3 users scrubbed")),
        "{ran:?}"
    );
    assert!(
        ran.out
            .contains("scrubbed 2 of 3 users in 1 organization(s)"),
        "{ran:?}"
    );
    assert_eq!(holding(&scan_directory_table().await), 1);

    // every organization: the other one's too
    let all = ops_cli(&["--output", "json", "scrub-secrets", "--all"])
        .await
        .json();
    let rows = all["organizations"].as_array().unwrap();
    let row = |o: &str| rows.iter().find(|r| r["orgId"] == o).cloned().unwrap();
    assert_eq!(row(b.org_id.as_str())["scrubbed"], 1);
    assert_eq!(row(org)["scrubbed"], 0);

    // the password is nowhere in the table, under any case
    let items = scan_directory_table().await;
    assert_eq!(holding(&items), 0);
    for id in ["old-1", "old-2"] {
        let pk = format!("{org}#USER#{id}");
        let item = items
            .iter()
            .find(|i| {
                i["pk"].as_s().is_ok_and(|p| *p == pk) && i["sk"].as_s().is_ok_and(|s| s == "USER")
            })
            .unwrap_or_else(|| panic!("{pk} is gone"));
        let attributes = item["attributes"].as_s().unwrap().to_lowercase();
        assert!(!attributes.contains("password"), "{attributes}");
        assert_eq!(item["version"].as_n().unwrap(), "2");
    }

    // a second run scrubs nothing; the users are still served
    let again = ops_cli(&["--output", "json", "scrub-secrets", org])
        .await
        .json();
    assert_eq!(again["examined"], 3);
    assert_eq!(again["scrubbed"], 0);
    for id in [ada.as_str(), "old-1", "old-2"] {
        let (status, user) = a.scim().send("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(status, 200, "{user}");
    }

    // an organization that does not exist: exit 1
    let missing = ops_cli(&["scrub-secrets", &unique_id("nowhere")]).await;
    assert_eq!(missing.code, 1, "{missing:?}");
    assert!(missing.err.contains("does not exist"), "{missing:?}");
}
