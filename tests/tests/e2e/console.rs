//! The admin console in a real browser: Debian's chromium, driven by
//! `tests/console/workflows.mjs` (playwright-core), against the local stack.
//! This test prepares an organization the way an identity provider and ops
//! would (a catalogue, four users, two directory groups), then runs the
//! script, which clicks through the admin's workflows and saves a
//! screenshot of each screen. Chromium and the script's packages are
//! installed by `scripts/setup`; without them the test fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use user_sync_tests::{Urls, repo_root, stack, target_dir};

use crate::admin::TestOrg;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Where the screenshots go: beside the build, ignored by git.
fn screenshot_dir() -> PathBuf {
    target_dir().join("console-screenshots")
}

/// Runs a browser test (`node <script>` with the console's URL, the
/// browser and `env`), which must end with "all steps passed" within
/// `minutes`; its output goes to the test's.
#[allow(clippy::print_stdout)] // the browser's steps belong in the test log
async fn browser_test(script: &Path, env: &[(&str, String)], minutes: u64) {
    let script = script.to_owned();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .env("CONSOLE_URL", Urls::of_stack().console())
            .envs(env)
            .env("CHROMIUM", CHROMIUM)
            .output()
    });
    let out = tokio::time::timeout(Duration::from_secs(minutes * 60), run)
        .await
        .unwrap_or_else(|_| panic!("the browser test finished within {minutes} minutes"))
        .expect("the browser test's thread")
        .expect("node runs (scripts/setup installs it with the project's tools)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "the browser test failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("all steps passed"),
        "the browser test ended early:\n{stdout}"
    );
}

/// `/console/`, with the trailing slash no route path may end in, reaches
/// the function through the `$default` route and is sent on to the page,
/// whose relative assets then load from `/console/`; a path nothing serves
/// is the function's `404`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_with_a_trailing_slash_leads_to_its_page() {
    let base = stack()
        .api_url
        .strip_suffix("/api/v1")
        .expect("the API URL ends with /api/v1");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain.get(format!("{base}/console/")).send().await.unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "index.html");
    assert!(r.headers().contains_key("content-security-policy"));

    // as a browser follows it: the page, and its assets beside it
    let r = reqwest::get(format!("{base}/console/")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.url().path(), "/console/index.html");
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"src="app.js""#), "{page}");
    let r = reqwest::get(format!("{base}/console/app.js"))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // what no route names is answered by the function, and is not found
    for path in ["/nowhere", "/console/nothing.js", "/scim/v2", "/"] {
        let r = plain.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = plain.post(format!("{base}/console/")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_console_workflows_in_a_browser() {
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    assert!(
        scripts
            .join("node_modules")
            .join("playwright-core")
            .exists(),
        "tests/console/node_modules is missing: run scripts/setup (it runs npm ci there)"
    );

    let a = TestOrg::new("console").await;
    // the products come from the product API; Webinar takes device groups here
    a.simulator()
        .set_products(json!([
            {"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false},
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": true},
            {"id": "G2T", "name": "GoTo Training", "deviceGroups": false}
        ]))
        .await;
    let catalog = a
        .admin().if_match("PUT", "/catalog", Some(&json!({
                "privileges": [{"id": "manage_users", "name": "Manage users"}, {"id": "view_reports", "name": "View reports"}],
                "userGroups": [{"id": "sales", "name": "Sales"}, {"id": "support", "name": "Support"}],
                "deviceGroups": [{"id": "laptops", "name": "Laptops"}, {"id": "kiosks", "name": "Kiosks"}],
                "settingsTemplates": [{"id": "standard", "name": "Standard"}, {"id": "webinar-hosts", "name": "Webinar hosts"}]
            })), "*")
        .await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    let mut users = Vec::new();
    for (name, given) in [
        ("ada", "Ada"),
        ("grace", "Grace"),
        ("linus", "Linus"),
        ("hedy", "Hedy"),
    ] {
        users.push(a.scim().user_named(name, given).await);
    }
    let refs: Vec<&str> = users.iter().map(String::as_str).collect();
    a.scim().group_with("Sales Team", &refs).await;
    a.scim().group_with("IT Admins", &refs[..1]).await;
    // a group no rule names, so that the search has something to leave out
    a.scim().group_with("Support", &[]).await;
    // a domain added through the API whose record is published (the page
    // verifies it), and one the page adds
    let published = user_sync_tests::dns::dns().new_domain();
    let new_domain = user_sync_tests::dns::dns().new_domain();
    let added = a
        .admin()
        .post("/domains", json!({"domain": published}))
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    user_sync_tests::dns::dns()
        .publish(
            &published,
            &[added.body["record"]["value"].as_str().unwrap()],
        )
        .await;

    let shots = screenshot_dir();
    // screenshots of an earlier run must not count for this one
    if shots.exists() {
        std::fs::remove_dir_all(&shots).expect("remove the old screenshots");
    }
    browser_test(
        &scripts.join("workflows.mjs"),
        &[
            ("ADMIN_TOKEN", a.admin_token.clone()),
            ("ORG_ID", a.org_id.clone()),
            ("SIMULATOR_URL", stack().product_api_url.clone()),
            ("SCIM_URL", stack().scim_url.clone()),
            ("SCIM_TOKEN", a.scim_token.clone()),
            ("SCREENSHOT_DIR", shots.display().to_string()),
            ("NEW_DOMAIN", new_domain.clone()),
            ("PUBLISHED_DOMAIN", published.clone()),
        ],
        10,
    )
    .await;
    // every screen left its screenshot
    let saved = std::fs::read_dir(&shots)
        .expect("the screenshot directory")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "png"))
        .count();
    assert!(
        saved >= 20,
        "only {saved} screenshots in {}",
        shots.display()
    );
}

/// The domain warning in a real browser (`tests/console/domain-warning.mjs`):
/// a verified domain whose record the re-check found missing shows a banner
/// on every page, with the date its grace period ends and what happens then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domain_warning_banner_shows_on_every_page() {
    use user_sync_tests::dns::dns;

    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-dw").await;
    let domain = dns().new_domain();
    let added = a.admin().post("/domains", json!({"domain": domain})).await;
    assert_eq!(added.status, 201, "{}", added.body);
    dns()
        .publish(&domain, &[added.body["record"]["value"].as_str().unwrap()])
        .await;
    let verified = a
        .admin()
        .request("POST", &format!("/domains/{domain}/verify"), None, &[])
        .await;
    assert_eq!(verified.status, 200, "{}", verified.body);
    dns().unpublish(&domain).await;
    // the re-check (here through ops, as the schedule would) flags it
    let (table, state, server) = (
        stack().directory_table.clone(),
        stack().state_table.clone(),
        dns().addr().to_string(),
    );
    let line = vec![
        "ops",
        "--output",
        "json",
        "--directory-table",
        &table,
        "--state-table",
        &state,
        "--dns-server",
        &server,
        "domains",
        "recheck",
        &a.org_id,
    ];
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ops::cli::run_with(
        line,
        &user_sync_tests::sdk_config().await,
        &mut out,
        &mut err,
    )
    .await;
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let listed = a.admin().get("/domains").await;
    let flagged = listed.body["domains"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["domain"] == domain.as_str())
        .cloned()
        .unwrap();
    assert_eq!(flagged["status"], "record_missing", "{flagged}");
    let lapses_at = flagged["lapsesAt"].as_str().unwrap().to_owned();

    browser_test(
        &scripts.join("domain-warning.mjs"),
        &[
            ("ADMIN_TOKEN", a.admin_token.clone()),
            ("MISSING_DOMAIN", domain.clone()),
            ("LAPSES_AT", lapses_at.clone()),
        ],
        5,
    )
    .await;
}

/// The console's details in a real browser (`tests/console/details.mjs`): no
/// literal "null" on a page, the focus back on what opened a dialog or moved
/// a rule, the dialogs' words, the activity filter by a person's name and
/// after a refusal, toasts beside the tables, the activity table at 768 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_details_in_a_browser() {
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-details").await;
    a.simulator()
        .set_products(json!([{"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false}]))
        .await;
    let ada = a.scim().user_named("ada", "Ada").await;
    let grace = a.scim().user_named("grace", "Grace").await;
    let pair = a.scim().group_with("Pair", &[&ada, &grace]).await;
    let solo = a.scim().group_with("Solo", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": pair, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    a.admin()
        .rule(json!({"groupId": solo, "products": ["G2M"]}))
        .await;

    browser_test(
        &scripts.join("details.mjs"),
        &[
            ("ADMIN_TOKEN", a.admin_token.clone()),
            ("ADA_EMAIL", a.email("ada")),
        ],
        6,
    )
    .await;
}

/// The users' states in a real browser (`tests/console/user-states.mjs`): a
/// user no rule has ever matched is "No rule — no account", one whose
/// account exists "Suspended"; both are counted on their own, never "In
/// sync", with the same words in the counts, the users list and the user's
/// page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_no_rule_matches_are_never_in_sync_in_the_console() {
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let s = crate::user_states::every_state("console-st").await;
    browser_test(
        &scripts.join("user-states.mjs"),
        &[
            ("ADMIN_TOKEN", s.org.admin_token.clone()),
            ("ANA_ID", s.ana.clone()),
            ("CY_ID", s.cy.clone()),
            ("DAN_ID", s.dan.clone()),
            ("EVE_ID", s.eve.clone()),
        ],
        5,
    )
    .await;
}

/// Names where a person reads (`tests/console/names.mjs`): the activity
/// history as sentences (rules by their group, kept after the group is
/// deleted; a template, products, a role and a language by name) with the
/// raw details behind a disclosure, a banner and a preview without ids,
/// a user's explain view naming the welcome email's template and language.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_names_what_it_shows_in_a_browser() {
    use crate::admin::PIPELINE;
    use user_sync_tests::eventually;

    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-names").await;
    a.simulator()
        .set_products(json!([
            {"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false},
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": false},
            {"id": "G2T", "name": "GoTo Training", "deviceGroups": false}
        ]))
        .await;
    // one Webinar seat for two people: one of them fails
    a.simulator().set_seats(json!({"G2W": 1})).await;
    let t = a
        .admin()
        .post(
            "/templates",
            json!({"name": "Welcome", "variants": {
                "en": {"subject": "Welcome, {{firstName}}", "body": "Hi {{firstName}}, {{loginUrl}}"},
                "de": {"subject": "Willkommen, {{firstName}}", "body": "Hallo {{firstName}}, {{loginUrl}}"}}}),
        )
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let template = t.body["id"].as_str().unwrap().to_owned();
    let ada = a.scim().user_named("ada", "Ada").await;
    let grace = a.scim().user_named("grace", "Grace").await;
    let engineering = a.scim().group_with("Engineering", &[&ada, &grace]).await;
    let sales = a.scim().group_with("Sales", &[&ada]).await;
    let support = a.scim().group_with("Support", &[&grace]).await;
    a.admin()
        .rule(json!({"groupId": engineering, "products": ["G2M", "G2W"],
                     "adminRole": {"type": "full_admin"}, "emailTemplate": template, "language": "de"}))
        .await;
    let sales_rule = a
        .admin()
        .rule(json!({"groupId": sales, "products": ["G2T"]}))
        .await;
    let support_rule = a
        .admin()
        .rule(json!({"groupId": support, "products": ["G2M"]}))
        .await;
    let support_id = support_rule["id"].as_str().unwrap().to_owned();
    // Support from 3 to 1; then Sales' rule and its group go
    let moved = a
        .admin()
        .post(&format!("/rules/{support_id}/move"), json!({"priority": 1}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let sales_id = sales_rule["id"].as_str().unwrap();
    let etag = a
        .admin()
        .get(&format!("/rules/{sales_id}"))
        .await
        .etag
        .unwrap();
    let deleted = a
        .admin()
        .if_match("DELETE", &format!("/rules/{sales_id}"), None, &etag)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let (status, body) = a.scim().delete(&format!("/Groups/{sales}")).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    // the welcome email's entry names its template, which may be deleted later
    let sent = eventually("a welcome email and a failure", PIPELINE, || async {
        let h = a.admin().read("/activity?limit=200").await;
        let items = h["items"].as_array().unwrap().clone();
        let sent = items
            .iter()
            .find(|e| e["action"] == "welcome_email_sent")
            .cloned();
        let failed = items.iter().any(|e| e["action"] == "sync_failed");
        sent.filter(|_| failed)
    })
    .await;
    assert_eq!(sent["details"]["templateName"], "Welcome", "{sent}");
    assert_eq!(sent["details"]["template"], template.as_str(), "{sent}");
    assert_eq!(sent["details"]["language"], "de", "{sent}");

    browser_test(
        &scripts.join("names.mjs"),
        &[
            ("ADMIN_TOKEN", a.admin_token.clone()),
            ("SUPPORT_RULE", support_id),
            ("ADA_USER", ada.clone()),
        ],
        6,
    )
    .await;
}

/// The rule form as the seeds have it (`tests/console/rule-form.mjs`): the
/// admin checkbox and the four admin role semantics as saved, a manager's
/// privileges and groups in the rules table, the template buttons, device
/// groups only for a product that takes them, the "Default" settings
/// template, the account's default language with its warning, products and
/// seats from the product API (and a message when it cannot be read), the
/// preview's "Unlimited" and "Unknown", and, for an organization whose
/// operator set up no list, the sentence saying who sets it up instead of a
/// text box.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_form_as_the_seeds_have_it_in_a_browser() {
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-form").await;
    a.simulator()
        .set_products(json!([
            {"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false},
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": false},
            {"id": "G2C", "name": "GoTo Connect", "deviceGroups": true}
        ]))
        .await;
    a.simulator().set_seats(json!({"G2W": 25})).await;
    let catalog = a
        .admin()
        .if_match(
            "PUT",
            "/catalog",
            Some(&json!({
                "privileges": [{"id": "manage_users", "name": "Manage users"}, {"id": "view_reports", "name": "View reports"}],
                "userGroups": [{"id": "sales", "name": "Sales"}, {"id": "support", "name": "Support"}],
                "deviceGroups": [{"id": "laptops", "name": "Laptops"}],
                "settingsTemplates": [{"id": "standard", "name": "Standard"}]
            })),
            "*",
        )
        .await;
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    let ada = a.scim().user_named("ada", "Ada").await;
    let grace = a.scim().user_named("grace", "Grace").await;
    let admins = a.scim().group_with("Admins", &[&ada]).await;
    a.scim().group_with("Staff", &[&ada, &grace]).await;
    a.scim().group_with("Helpdesk", &[&grace]).await;
    a.scim().group_with("Managers", &[&grace]).await;
    a.admin()
        .rule(json!({"groupId": admins, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    for (name, languages) in [
        ("Team welcome", &["en", "de"][..]),
        ("Spare", &["en"][..]),
        ("Old welcome", &["en"][..]),
    ] {
        let variants: serde_json::Map<String, serde_json::Value> = languages
            .iter()
            .map(|l| {
                (
                    (*l).to_owned(),
                    json!({"subject": "Welcome, {{firstName}}", "body": "Hi {{firstName}}, {{loginUrl}}"}),
                )
            })
            .collect();
        let t = a
            .admin()
            .post("/templates", json!({"name": name, "variants": variants}))
            .await;
        assert_eq!(t.status, 201, "{}", t.body);
    }

    // an organization whose operator set up no list
    let empty = TestOrg::new("console-form-empty").await;
    empty
        .simulator()
        .set_products(json!([{"id": "G2C", "name": "GoTo Connect", "deviceGroups": true}]))
        .await;

    browser_test(
        &scripts.join("rule-form.mjs"),
        &[
            ("ADMIN_TOKEN", a.admin_token.clone()),
            ("ORG_ID", a.org_id.clone()),
            ("SIMULATOR_URL", stack().product_api_url.clone()),
            ("EMPTY_TOKEN", empty.admin_token.clone()),
            (
                "SCREENSHOT_DIR",
                target_dir()
                    .join("console-screenshots-rule-form")
                    .display()
                    .to_string(),
            ),
        ],
        7,
    )
    .await;
}

/// Roles in a real browser (`tests/console/roles.mjs`): a viewer key sees
/// its role beside Sign out and no control it cannot use; a write forced
/// from the page is refused 403 naming the role it needs; axe-clean.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_no_write_controls_in_the_console() {
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-roles").await;
    a.simulator()
        .set_products(json!([{"id": "G2M", "name": "GoTo Meeting", "deviceGroups": false}]))
        .await;
    let ada = a.scim().user_named("ada", "Ada").await;
    let pair = a.scim().group_with("Pair", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": pair, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    let t = a
        .admin()
        .template(json!({"name": "Ours", "variants": {"en": {"subject": "Hi {{firstName}}", "body": "Hello"}}}))
        .await;
    assert_eq!(t.status, 201, "{}", t.body);
    let key = user_sync_tests::ops_cli(&[
        "--output",
        "json",
        "token",
        "create",
        &a.org_id,
        "admin",
        "Help desk",
        "--role",
        "viewer",
    ])
    .await
    .json();
    browser_test(
        &scripts.join("roles.mjs"),
        &[("VIEWER_TOKEN", key["token"].as_str().unwrap().to_owned())],
        5,
    )
    .await;
}

/// Single sign-on in a real browser (`tests/console/sso.mjs`), against the
/// tests' OpenID provider: the organization's console address offers its
/// provider and, with token sign-in off, no token form; an admin signs in
/// through the login page, changes a setting, reloads, signs out at the
/// provider too; a viewer is offered no write control; an expired sign-in
/// and a forged answer end on the sign-in page. The change is the person's
/// in the activity history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_to_the_console_through_their_identity_provider() {
    use user_sync_tests::oidc::oidc;
    let scripts = repo_root().join("tests").join("console");
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: run scripts/setup (it installs Debian's chromium)"
    );
    let a = TestOrg::new("console-sso").await;
    let ada = a.scim().user_named("ada", "Ada").await;
    let pair = a.scim().group_with("Pair", &[&ada]).await;
    a.admin()
        .rule(json!({"groupId": pair, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    let client = user_sync_tests::unique_id("console");
    oidc()
        .add_client(&client, &crate::sso::redirect_uri(&a))
        .await;
    let ran = crate::sso::sso_set(&a, oidc().issuer(), &client, &["--name", "Example IdP"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    let ran = user_sync_tests::ops_cli(&["sso", "token-sign-in", &a.org_id, "off"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");

    browser_test(&scripts.join("sso.mjs"), &[("ORG_ID", a.org_id.clone())], 6).await;

    // the change is Ada's, named by her token's claims
    let activity = a
        .admin()
        .read("/activity?action=custom_attributes_changed")
        .await;
    let entry = &activity["items"][0];
    assert_eq!(entry["actor"], "Ada Admin", "{activity}");
    assert_eq!(entry["actorSubject"], "ada", "{activity}");
    assert_eq!(
        a.admin().read("/custom-attributes").await["attributes"],
        json!(["badgeNumber"])
    );
}
