//! Organizations are isolated: A's tokens on B's ids find nothing and change
//! nothing, on every SCIM route and on every admin operation (read from the
//! OpenAPI document at run time, so a new endpoint is covered without
//! editing this file); a token works only on its own API; a revoked token is
//! refused on the very next request.

use serde_json::{Value, json};
use user_sync_core::auth::TokenKind;
use user_sync_core::ids::OrgId;
use user_sync_tests::{Client, api_url, enc, scim_url, stack};

use crate::admin::{PATCH_OP, TestOrg, id};
use crate::hostile::{first_difference, seed, settled_snapshot};

/// B's own user and group, with names A does not have.
const ONLY_B_USER: &str = "only-in-b@example.com";
const ONLY_B_GROUP: &str = "Only In B";

/// Every SCIM route, with `{user}` / `{group}` for ids and a body where the
/// route takes one.
fn scim_routes() -> Vec<(&'static str, &'static str, Option<Value>)> {
    let user = json!({"userName": "someone@example.com"});
    let group = json!({"displayName": "Someone's group"});
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    let group_patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "displayName", "value": "x"}]});
    vec![
        ("GET", "/Users", None),
        ("POST", "/Users", Some(user.clone())),
        (
            "POST",
            "/Users/.search",
            Some(json!({"filter": "userName pr"})),
        ),
        ("GET", "/Users/{user}", None),
        ("PUT", "/Users/{user}", Some(user)),
        ("PATCH", "/Users/{user}", Some(patch)),
        ("DELETE", "/Users/{user}", None),
        ("GET", "/Groups", None),
        ("POST", "/Groups", Some(group.clone())),
        (
            "POST",
            "/Groups/.search",
            Some(json!({"filter": "displayName pr"})),
        ),
        ("GET", "/Groups/{group}", None),
        ("PUT", "/Groups/{group}", Some(group)),
        ("PATCH", "/Groups/{group}", Some(group_patch)),
        ("DELETE", "/Groups/{group}", None),
        ("POST", "/.search", Some(json!({"filter": "id pr"}))),
        ("GET", "/ServiceProviderConfig", None),
        ("GET", "/ResourceTypes", None),
        ("GET", "/ResourceTypes/User", None),
        ("GET", "/Schemas", None),
        (
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        ),
    ]
}

/// Every operation of the admin API's OpenAPI document that needs a token:
/// (method, path relative to /api/v1). The open ones (the document itself,
/// the sign-in page's read: no security scheme) are left out; the roles
/// tests check that they are only those two.
async fn admin_operations(c: &Client) -> Vec<(String, String)> {
    let (status, doc) = c.send("GET", &api_url("/openapi.json"), None, None).await;
    assert_eq!(status, 200);
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path.strip_prefix("/api/v1").unwrap_or(path).to_owned();
        for method in ["get", "put", "post", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            if !op["security"].as_array().is_some_and(Vec::is_empty) {
                ops.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(ops.len() >= 30, "the OpenAPI document lists {}", ops.len());
    ops
}

/// The body an operation gets: naming B's ids wherever a body can name one.
fn admin_body(method: &str, path: &str, b: &crate::hostile::Seed) -> Option<Value> {
    if method == "GET" || method == "DELETE" {
        return None;
    }
    let rule =
        json!({"groupId": b.group, "products": ["G2M"], "adminRole": {"type": "full_admin"}});
    Some(match path {
        "/rules" | "/rules/{ruleId}" => rule,
        "/rules/{ruleId}/move" => json!({"direction": "up"}),
        "/rules/order" => json!({"ruleIds": [b.rule]}),
        "/rules/preview" => json!({"ruleId": b.rule, "rule": rule}),
        "/sync" => json!({"enabled": false}),
        "/sync/retry" => json!({"userId": b.user}),
        "/templates" | "/templates/{templateId}" => json!({"name": "A's", "variants": {
            "en": {"subject": "Hi {{firstName}}", "body": "Hello"}}}),
        "/templates/{templateId}/preview" => json!({"userId": b.user}),
        _ => json!({}),
    })
}

/// Fills an OpenAPI path's parameters with B's ids.
fn with_b_ids(path: &str, b: &crate::hostile::Seed) -> String {
    path.replace("{ruleId}", &b.rule)
        .replace("{templateId}", &b.template)
        .replace("{userId}", &b.user)
        .replace("{groupId}", &b.group)
        .replace("{class}", "out_of_licenses")
}

/// Fails if an answer names any of B's ids or B's own names.
fn assert_no_b(what: &str, body: &Value, b: &crate::hostile::Seed, b_org: &str) {
    let text = body.to_string();
    for secret in [
        b.user.as_str(),
        b.user2.as_str(),
        b.group.as_str(),
        b.rule.as_str(),
        b.template.as_str(),
        b_org,
        ONLY_B_USER,
        ONLY_B_GROUP,
    ] {
        assert!(!text.contains(secret), "{what} shows B's {secret}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_a_token_on_b_ids_finds_nothing_and_changes_nothing() {
    let a = TestOrg::new("iso-a").await;
    let b = TestOrg::new("iso-b").await;
    // both organizations hold the same kind of data, under the same names
    let _a_seed = seed(&a).await;
    let bs = seed(&b).await;
    let (status, u) = b
        .scim()
        .send(
            "POST",
            "/Users",
            Some(json!({"userName": ONLY_B_USER,
            "emails": [{"value": ONLY_B_USER, "type": "work"}]})),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    let (status, g) = b
        .scim()
        .send(
            "POST",
            "/Groups",
            Some(json!({"displayName": ONLY_B_GROUP})),
        )
        .await;
    assert_eq!(status, 201, "{g}");
    assert!(!id(&g).is_empty());
    let only_b_user = ONLY_B_USER;
    let before = settled_snapshot(&b).await;

    // SCIM: B's ids in the path are not found
    for (method, path, body) in scim_routes() {
        if !path.contains('{') {
            continue;
        }
        let path = path
            .replace("{user}", &bs.user)
            .replace("{group}", &bs.group);
        let (status, answer) = a.scim().send(method, &path, body).await;
        assert_eq!(status, 404, "SCIM {method} {path}: {answer}");
        assert_eq!(
            answer["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_no_b(&format!("SCIM {method} {path}"), &answer, &bs, &b.org_id);
    }
    // SCIM searches naming B's ids or names find nothing of B's
    let filters = [
        ("/Users", format!("id eq \"{}\"", bs.user)),
        ("/Users", format!("userName eq \"{only_b_user}\"")),
        (
            "/Users",
            format!("emails[type eq \"work\"].value eq \"{only_b_user}\""),
        ),
        ("/Users", "userName co \"only-in-b\"".to_owned()),
        ("/Groups", format!("id eq \"{}\"", bs.group)),
        ("/Groups", format!("displayName eq \"{ONLY_B_GROUP}\"")),
        (
            "/Groups",
            format!(
                "id eq \"{}\" and members[value eq \"{}\"]",
                bs.group, bs.user
            ),
        ),
    ];
    for (resource, filter) in &filters {
        let (status, list) = a
            .scim()
            .send("GET", &format!("{resource}?filter={}", enc(filter)), None)
            .await;
        assert_eq!(status, 200, "{filter}: {list}");
        assert_eq!(list["totalResults"], 0, "{filter}: {list}");
        for search in [format!("{resource}/.search"), "/.search".to_owned()] {
            let (status, list) = a
                .scim()
                .send("POST", &search, Some(json!({"filter": filter})))
                .await;
            assert_eq!(status, 200, "{search} {filter}: {list}");
            assert_eq!(list["totalResults"], 0, "{search} {filter}: {list}");
        }
    }
    // A's whole lists show A's data only
    for path in ["/Users?count=200", "/Groups?count=200"] {
        let (status, list) = a.scim().send("GET", path, None).await;
        assert_eq!(status, 200);
        assert_no_b(path, &list, &bs, &b.org_id);
    }
    // naming B's user as a member of A's group does not reach B (B's user
    // is not A's: at most a membership under A's own keys)
    let a_group = a.scim().group("A's group").await;
    let (status, answer) = a
        .scim().send("PATCH",
            &format!("/Groups/{a_group}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": bs.user}]}]})),
        )
        .await;
    assert!(status < 500, "{status} {answer}");

    // the admin API: every operation of the OpenAPI document, B's ids in the
    // path, in the query and in the body
    let c = Client::new();
    let ops = admin_operations(&c).await;
    let mut named_b = 0;
    for (method, path) in &ops {
        let url = with_b_ids(path, &bs);
        let body = admin_body(method, path, &bs);
        let answer = a.admin().if_match(method, &url, body.as_ref(), "*").await;
        assert!(
            answer.status < 500,
            "{method} {url}: {} {}",
            answer.status,
            answer.body
        );
        assert_no_b(&format!("{method} {url}"), &answer.body, &bs, &b.org_id);
        let names_b = ["{ruleId}", "{templateId}", "{userId}", "{groupId}"]
            .iter()
            .any(|p| path.contains(p));
        if names_b {
            assert_eq!(answer.status, 404, "{method} {url}: {}", answer.body);
            assert_eq!(answer.body["code"], "not_found", "{method} {url}");
            named_b += 1;
        }
    }
    // rules (5), templates (4), groups (2), users (2) at the time of writing
    assert!(named_b >= 13, "{named_b} operations take an id");
    // the listings, filtered by B's ids and names: empty
    for path in [
        format!("/activity?userId={}", bs.user),
        format!("/activity?ruleId={}", bs.rule),
        format!("/activity/export?format=jsonl&userId={}", bs.user),
        format!("/activity/export?format=csv&ruleId={}", bs.rule),
        "/users?search=only-in-b".to_owned(),
        format!("/users?search={}", enc(ONLY_B_GROUP)),
        "/groups?search=only%20in%20b".to_owned(),
        "/sync/failures/out_of_licenses".to_owned(),
    ] {
        let answer = a.admin().get(&path).await;
        // a failure class with no users in A is not found
        let found =
            answer.status == 200 || (path.starts_with("/sync/failures/") && answer.status == 404);
        assert!(found, "{path}: {} {}", answer.status, answer.body);
        assert_no_b(&path, &answer.body, &bs, &b.org_id);
        if let Some(items) = answer.body["items"].as_array() {
            assert!(
                items.iter().all(|i| i["subject"]["id"] != bs.user.as_str()),
                "{path}"
            );
        }
        if let Some(text) = answer.body.as_str() {
            assert!(text.trim().lines().count() <= 1, "{path}: {text}");
        }
    }

    // B is untouched
    let after = settled_snapshot(&b).await;
    if let Some(diff) = first_difference(&before, &after, "B") {
        panic!("A's calls changed organization B: {diff}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolation_tokens_work_on_their_own_api_only_and_stop_at_once_when_revoked() {
    let a = TestOrg::new("iso-tok").await;
    let s = seed(&a).await;
    let c = Client::new();

    // the SCIM token on every admin operation: 403
    for (method, path) in admin_operations(&c).await {
        let body = admin_body(&method, &path, &s);
        let answer = c
            .request(
                &method,
                &format!("{}{}", stack().api_url, with_b_ids(&path, &s)),
                Some(&a.scim_token),
                body.as_ref(),
                &[("if-match", "*")],
            )
            .await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
        assert_eq!(answer.body["code"], "forbidden");
    }
    // the admin token on every SCIM route: 401, as a SCIM error
    for (method, path, body) in scim_routes() {
        let path = path.replace("{user}", &s.user).replace("{group}", &s.group);
        let (status, answer) = c
            .send(
                method,
                &format!("{}{path}", stack().scim_url),
                Some(&a.admin_token),
                body.as_ref(),
            )
            .await;
        assert_eq!(status, 401, "{method} {path}: {answer}");
        assert_eq!(
            answer["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }

    // new tokens work, and stop on the next request after their revocation
    let store = user_sync_tests::directory().await;
    let org_id = OrgId::parse(&a.org_id).unwrap();
    let (scim_id, scim_token) = ops::create_token(&store, &org_id, TokenKind::Scim, "Second IdP")
        .await
        .unwrap();
    let (admin_id, admin_token) =
        ops::create_token(&store, &org_id, TokenKind::Admin, "Second admin")
            .await
            .unwrap();
    let users = scim_url(&format!("/Users/{}", s.user));
    let rules = api_url("/rules");
    let (status, _) = c.send("GET", &users, Some(&scim_token), None).await;
    assert_eq!(status, 200);
    let (status, _) = c.send("GET", &rules, Some(&admin_token), None).await;
    assert_eq!(status, 200);

    ops::revoke_token(&store, &org_id, &scim_id).await.unwrap();
    let (status, answer) = c.send("GET", &users, Some(&scim_token), None).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = c
        .send(
            "PATCH",
            &users,
            Some(&scim_token),
            Some(&json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]})),
        )
        .await;
    assert_eq!(status, 401);
    // a group PATCH reads its group and the members it adds with the token
    // (a user PATCH, GET or DELETE the user): a revoked token, or the
    // organization's token with another secret, reads nothing from them
    let group = scim_url(&format!("/Groups/{}", s.group));
    let add = json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": s.user2}]}]});
    let (status, answer) = c.send("PATCH", &group, Some(&scim_token), Some(&add)).await;
    assert_eq!(status, 401, "{answer}");
    let (head, secret) = a.scim_token.rsplit_once('.').unwrap();
    let other_secret = format!(
        "{head}.{}",
        secret
            .chars()
            .map(|c| if c == '0' { '1' } else { '0' })
            .collect::<String>()
    );
    let deactivate = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    for (method, url, body) in [
        ("PATCH", &group, Some(&add)),
        ("PATCH", &users, Some(&deactivate)),
        ("DELETE", &users, None),
        ("GET", &users, None),
    ] {
        let (status, answer) = c.send(method, url, Some(&other_secret), body).await;
        assert_eq!(status, 401, "{method} {url}: {answer}");
    }
    let (status, g) = a
        .scim()
        .send("GET", &format!("/Groups/{}", s.group), None)
        .await;
    assert_eq!(status, 200);
    let members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(members, [s.user.as_str()], "no member added");
    ops::revoke_token(&store, &org_id, &admin_id).await.unwrap();
    let (status, answer) = c.send("GET", &rules, Some(&admin_token), None).await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(answer["code"], "unauthorized");
    // the organization's own tokens still work, and nothing was changed
    let (status, u) = a
        .scim()
        .send("GET", &format!("/Users/{}", s.user), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(u["active"], true);
    assert_eq!(a.admin().get("/rules").await.status, 200);
}
