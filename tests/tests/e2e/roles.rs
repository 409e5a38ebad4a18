//! Roles and API keys: every operation of the OpenAPI document called with a
//! viewer key (the reads answer, every write is refused 403 naming the role
//! it needs, nothing changes), an operator key (Retry sync, but no rule
//! change), an expired key (401), the organization's keys listed without
//! secrets, and `ops token create/list/revoke` with roles.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_core::auth::{Role, issue};
use user_sync_core::ports::Tokens;
use user_sync_tests::{Client, api_url, eventually, ops_cli};

use crate::admin::TestOrg;
use crate::hostile::{first_difference, seed, settled_snapshot};

/// A key of `role` for `org`, issued by `ops token create … --role`; the
/// organization seen through it.
async fn with_key(org: &TestOrg, role: &str, name: &str) -> (TestOrg, String) {
    let ran = ops_cli(&[
        "--output",
        "json",
        "token",
        "create",
        &org.org_id,
        "admin",
        name,
        "--role",
        role,
    ])
    .await
    .json();
    assert_eq!(ran["role"], role, "{ran}");
    let mut seen = org.clone();
    seen.admin_token = ran["token"].as_str().unwrap().to_owned();
    (seen, ran["tokenId"].as_str().unwrap().to_owned())
}

/// Every authenticated operation of the document: (method, path, the role
/// it declares). Only the document and the sign-in page's read are open.
async fn operations() -> Vec<(String, String, String)> {
    let (status, doc) = Client::new()
        .send("GET", &api_url("/openapi.json"), None, None)
        .await;
    assert_eq!(status, 200);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path.strip_prefix("/api/v1").unwrap_or(path).to_owned();
        for method in ["get", "put", "post", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            // open to anyone (the document itself, the sign-in page's
            // read): no role, and no security scheme
            if op["security"].as_array().is_some_and(Vec::is_empty) {
                assert!(op.get("x-required-role").is_none(), "{method} {path}");
                assert!(
                    ["/openapi.json", "/sign-in/{orgId}"].contains(&path.as_str()),
                    "{method} {path} is open to anyone"
                );
                continue;
            }
            let role = op["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} declares no x-required-role"));
            assert!(
                op["description"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(role),
                "{method} {path}: its description names the role"
            );
            ops.push((method.to_uppercase(), path.clone(), role.to_owned()));
        }
    }
    assert!(ops.len() >= 40, "the document lists {}", ops.len());
    ops
}

fn body_for(method: &str, path: &str, s: &crate::hostile::Seed) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    let rule =
        json!({"groupId": s.group, "products": ["G2M"], "adminRole": {"type": "full_admin"}});
    Some(match path {
        "/rules" | "/rules/{ruleId}" => rule,
        "/rules/{ruleId}/move" => json!({"direction": "up"}),
        "/rules/order" => json!({"ruleIds": [s.rule]}),
        "/rules/preview" => json!({"change": {"kind": "delete", "id": s.rule}}),
        "/sync" => json!({"enabled": true, "confirm": true}),
        "/sync/retry" => json!({"userId": s.user}),
        "/sync/drift-check" => json!({"driftCheck": "daily"}),
        "/templates" | "/templates/{templateId}" => json!({"name": "Viewer's", "variants": {
            "en": {"subject": "Hi {{firstName}}", "body": "Hello"}}}),
        "/templates/{templateId}/preview" => json!({}),
        "/activity/settings" => json!({"retentionDays": 400}),
        "/custom-attributes" => json!({"attributes": ["costCenter"]}),
        "/domains" => json!({"domain": "viewer.example.org"}),
        _ => json!({}),
    })
}

fn fill(path: &str, s: &crate::hostile::Seed) -> String {
    path.replace("{ruleId}", &s.rule)
        .replace("{templateId}", &s.template)
        .replace("{userId}", &s.user)
        .replace("{groupId}", &s.group)
        .replace("{class}", "out_of_licenses")
        .replace("{domain}", "example.com")
        .replace("/activity/export", "/activity/export?format=jsonl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_a_viewer_reads_everything_and_every_write_is_refused_with_nothing_changed() {
    let org = TestOrg::new("roles-viewer").await;
    let s = seed(&org).await;
    let (viewer, _) = with_key(&org, "viewer", "Help desk").await;
    let before = settled_snapshot(&org).await;
    let mut refused = 0;
    for (method, path, role) in operations().await {
        let url = fill(&path, &s);
        let answer = viewer
            .admin()
            .if_match(&method, &url, body_for(&method, &path, &s).as_ref(), "*")
            .await;
        if role == "viewer" {
            assert_ne!(answer.status, 403, "{method} {url}: {}", answer.body);
            assert!(answer.status < 500, "{method} {url}: {}", answer.body);
            if method == "GET" && !path.contains("{class}") {
                assert_eq!(answer.status, 200, "{method} {url}: {}", answer.body);
            }
        } else {
            assert_eq!(answer.status, 403, "{method} {url}: {}", answer.body);
            assert_eq!(answer.body["code"], "forbidden", "{method} {url}");
            assert_eq!(
                answer.body["detail"],
                format!("this needs the {role} role; your key is a viewer key"),
                "{method} {url}"
            );
            refused += 1;
        }
    }
    // rules (6), sync, drift check, retry, catalogue, attributes, retention,
    // templates (3), domains (3), keys at the time of writing
    assert!(refused >= 18, "{refused} operations refused");
    let after = settled_snapshot(&org).await;
    if let Some(diff) = first_difference(&before, &after, "org") {
        panic!("the viewer's calls changed the organization: {diff}");
    }
    // who am I: the key's name and role
    let me = viewer.admin().read("/me").await;
    assert_eq!(me["role"], "viewer");
    assert_eq!(me["name"], "Help desk");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_an_operator_retries_but_edits_no_rule() {
    let org = TestOrg::new("roles-operator").await;
    let s = seed(&org).await;
    let (operator, _) = with_key(&org, "operator", "On call").await;
    let retried = operator.admin().retry(json!({"userId": s.user})).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    let rule = json!({"groupId": s.group, "products": ["G2M"], "adminRole": {"type": "user"}});
    let created = operator.admin().post("/rules", rule).await;
    assert_eq!(created.status, 403, "{}", created.body);
    assert_eq!(
        created.body["detail"],
        "this needs the admin role; your key is an operator key"
    );
    assert_eq!(operator.admin().get("/rules").await.status, 200);
    assert_eq!(operator.admin().get("/keys").await.status, 403);
    assert_eq!(
        org.admin().read("/rules").await["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_an_expired_key_is_refused_401() {
    let org = TestOrg::new("roles-expired").await;
    let store = user_sync_tests::directory().await;
    let key = issue(
        &org.id(),
        user_sync_core::auth::TokenKind::Admin,
        "Old",
        [3; 40],
        "2026-01-01T00:00:00.000Z".into(),
    )
    .with_role(Role::Admin)
    .expiring(Some("2026-01-02T00:00:00.000Z".into()));
    store.put_token(&key.stored).await.unwrap();
    let mut expired = org.clone();
    expired.admin_token = key.plain.clone();
    let answer = expired.admin().get("/rules").await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert_eq!(answer.body["code"], "unauthorized");
    let answer = expired.admin().post("/rules", json!({})).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    // a key with an expiry ahead works
    let ran = ops_cli(&[
        "--output",
        "json",
        "token",
        "create",
        &org.org_id,
        "admin",
        "Quarterly",
        "--expires-in",
        "90d",
    ])
    .await
    .json();
    let mut fresh = org.clone();
    fresh.admin_token = ran["token"].as_str().unwrap().to_owned();
    let me = fresh.admin().read("/me").await;
    assert!(me["expiresAt"].as_str().is_some_and(|t| t > "2026"), "{me}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_keys_are_listed_without_secrets_with_their_last_use_and_revoked_by_ops() {
    let org = TestOrg::new("roles-keys").await;
    let (viewer, viewer_id) = with_key(&org, "viewer", "Auditor").await;
    assert_eq!(viewer.admin().get("/rules").await.status, 200);

    // ops token list: kind, role, expiry, last use; never a secret
    let listed = ops_cli(&["--output", "json", "token", "list", &org.org_id])
        .await
        .json();
    let text = listed.to_string();
    let mine = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tokenId"] == viewer_id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(mine["role"], "viewer");
    assert_eq!(mine["name"], "Auditor");
    let secret = viewer.admin_token.rsplit('.').next().unwrap();
    assert!(!text.contains(secret));
    let scim = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "scim")
        .cloned()
        .unwrap();
    assert_eq!(scim["role"], Value::Null, "SCIM tokens have no role");

    // GET /keys: admin keys only, no secret nor hash, the last use recorded
    let keys = eventually(
        "the viewer key's last use is recorded",
        Duration::from_secs(10),
        || async {
            let keys = org.admin().read("/keys").await;
            keys["keys"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["id"] == viewer_id.as_str() && k["lastUsedAt"].is_string())
                .then_some(keys)
        },
    )
    .await;
    let text = keys.to_string();
    assert!(!text.contains(secret));
    assert!(
        !text.contains("secret") && !text.contains("Sha256"),
        "{text}"
    );
    let list = keys["keys"].as_array().unwrap();
    assert!(list.len() >= 2, "{keys}");
    for k in list {
        for field in ["id", "name", "role", "createdAt"] {
            assert!(k[field].is_string(), "{field}: {k}");
        }
    }
    assert_eq!(viewer.admin().get("/keys").await.status, 403);
    // another organization's keys are never listed
    let other = TestOrg::new("roles-keys-other").await;
    let other_id = other.admin_token.split('.').nth(1).unwrap();
    assert!(!list.iter().any(|k| k["id"] == other_id), "{keys}");
    let theirs = other.admin().read("/keys").await;
    let their_list = theirs["keys"].as_array().unwrap();
    assert!(their_list.iter().any(|k| k["id"] == other_id), "{theirs}");
    assert!(
        !their_list.iter().any(|k| k["id"] == viewer_id.as_str()),
        "{theirs}"
    );

    // ops token revoke: refused at once
    let ran = ops_cli(&["token", "revoke", &org.org_id, &viewer_id]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    assert_eq!(viewer.admin().get("/rules").await.status, 401);
    // a role for a SCIM token is refused
    let ran = ops_cli(&[
        "token",
        "create",
        &org.org_id,
        "scim",
        "IdP",
        "--role",
        "viewer",
    ])
    .await;
    assert_eq!(ran.code, 1, "{ran:?}");
}
