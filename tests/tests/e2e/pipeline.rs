//! An identity provider's SCIM calls and an admin's API calls, through
//! DynamoDB, the stream, the evaluator, SQS, the worker, the product API
//! (simulator), the mail queue, the mailer and SES (emulator).

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_tests::{
    Client, UserBuilder, api_url, control_url, emails_to, eventually, new_org, scim_url, stack,
};

const PIPELINE: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_change_travels_through_the_whole_pipeline() {
    let org = new_org("e2e").await;
    let c = Client::new();
    let email = format!("ada.{}@example.com", org.org_id);

    // the identity provider creates a user (as Okta sends it) and a group
    let (status, user) = org
        .scim()
        .send(
            "POST",
            "/Users",
            Some(
                UserBuilder::person(&email, "Ada", "Lovelace")
                    .attr("locale", json!("en-US"))
                    .external_id("00u-ada")
                    .build(),
            ),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let user_id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["meta"]["version"], "W/\"1\"");

    let (status, found) = org
        .scim()
        .send(
            "GET",
            &format!(
                "/Users?filter=userName%20eq%20%22{}%22",
                email.to_uppercase()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        found["totalResults"], 1,
        "userName lookup is case-insensitive: {found}"
    );

    let (status, group) = org
        .scim()
        .send(
            "POST",
            "/Groups",
            Some(json!({"displayName": "EMEA Analysts"})),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap().to_owned();

    let (status, patched) = org
        .scim()
        .send(
            "PATCH",
            &format!("/Groups/{group_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "members", "value": [{"value": user_id}]}]
            })),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["members"][0]["value"], user_id.as_str());

    // the admin: sync cannot go on without a Full Admin rule
    let (status, refused) = org
        .admin()
        .send("PUT", "/sync", Some(json!({"enabled": true})))
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "full_admin_rule_required");

    let (status, rule) = org
        .admin()
        .send(
            "POST",
            "/rules",
            Some(json!({
                "groupId": group_id,
                "description": "EMEA Analysts",
                "products": ["G2M", "G2T"],
                "adminRole": {"type": "full_admin"}
            })),
        )
        .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["priority"], 1);

    // nothing is applied while sync is off
    tokio::time::sleep(Duration::from_secs(2)).await;
    let account_url = control_url(&format!("/accounts/{}/{user_id}", org.org_id));
    let (status, _) = c.send("GET", &account_url, None, None).await;
    assert_eq!(status, 404, "no account before sync is on");

    let (status, sync) = org
        .admin()
        .send("PUT", "/sync", Some(json!({"enabled": true})))
        .await;
    assert_eq!(status, 200, "{sync}");
    assert_eq!(sync["enabled"], true);

    // the product API holds the account with the rule's products and role
    let account: Value = eventually("the account in the product API", PIPELINE, || async {
        let (status, a) = c.send("GET", &account_url, None, None).await;
        (status == 200).then_some(a)
    })
    .await;
    assert_eq!(account["status"], "active");
    assert_eq!(account["products"], json!(["G2M", "G2T"]));
    assert_eq!(account["role"], "full_admin");
    assert_eq!(account["email"], email.as_str());

    // exactly one welcome email, read back from the emulator's SES
    let sent = eventually("the welcome email", PIPELINE, || async {
        let sent = emails_to(&c, &email).await;
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["subject"], "Welcome to Test Company");
    assert!(sent[0]["body"].as_str().unwrap().contains("Hello Ada,"));

    // the activity history has the pipeline's entries, actor "Sync user"
    let activity_url = api_url("/activity");
    let entries = eventually("activity entries", PIPELINE, || async {
        let (_, a) = c
            .send("GET", &activity_url, Some(&org.admin_token), None)
            .await;
        let items = a["items"].as_array().cloned().unwrap_or_default();
        let has = |action: &str| {
            items
                .iter()
                .any(|e| e["action"] == action && e["actor"] == "Sync user")
        };
        (has("account_created") && has("welcome_email_sent")).then_some(items)
    })
    .await;
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "rule_created" && e["actor"] == "Admin")
    );
    assert!(entries.iter().any(|e| e["action"] == "sync_enabled"));

    // Entra deactivates the user: suspended, not deleted, and no second email
    let (status, deactivated) = org
        .scim()
        .send(
            "PATCH",
            &format!("/Users/{user_id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
            })),
        )
        .await;
    assert_eq!(status, 200, "{deactivated}");
    assert_eq!(deactivated["active"], false);

    let suspended: Value = eventually("the account suspended", PIPELINE, || async {
        let (_, a) = c.send("GET", &account_url, None, None).await;
        (a["status"] == "suspended").then_some(a)
    })
    .await;
    assert_eq!(suspended["products"], json!([]));
    assert_eq!(suspended["role"], "none");
    assert_eq!(suspended["email"], email.as_str(), "the account is kept");

    eventually(
        "the suspension in the activity history",
        PIPELINE,
        || async {
            let (_, a) = c
                .send("GET", &activity_url, Some(&org.admin_token), None)
                .await;
            let items = a["items"].as_array().cloned().unwrap_or_default();
            items
                .iter()
                .any(|e| e["action"] == "account_suspended" && e["actor"] == "Sync user")
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        emails_to(&c, &email).await.len(),
        1,
        "no second welcome email"
    );

    // the user stays visible to SCIM, inactive
    let (status, still) = org
        .scim()
        .send("GET", &format!("/Users/{user_id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(still["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_scoped_to_their_kind_and_organization() {
    let a = new_org("iso").await;
    let b = new_org("iso").await;
    let c = Client::new();

    let (status, group) = a
        .scim()
        .send("POST", "/Groups", Some(json!({"displayName": "Sales"})))
        .await;
    assert_eq!(status, 201);
    let group_id = group["id"].as_str().unwrap();

    // org B cannot see org A's group, even by id
    let (status, _) = b
        .scim()
        .send("GET", &format!("/Groups/{group_id}"), None)
        .await;
    assert_eq!(status, 404);
    // nor name it in a rule
    let (status, err) = b
        .admin()
        .send("POST", "/rules", Some(json!({"groupId": group_id})))
        .await;
    assert_eq!(status, 422, "{err}");

    // a SCIM token cannot call the admin API (403: it is valid, of the
    // wrong kind), an admin token cannot call SCIM
    let (status, body) = c
        .send("GET", &api_url("/rules"), Some(&a.scim_token), None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["type"], "urn:user-sync:problem:forbidden");
    // without a token, or with an unknown one: 401, as problem details
    let (status, body) = c.send("GET", &api_url("/rules"), None, None).await;
    assert_eq!(status, 401);
    assert_eq!(body["status"], 401);
    assert_eq!(body["code"], "unauthorized");
    let (status, body) = c
        .send("GET", &scim_url("/Users"), Some(&a.admin_token), None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    // a token with a wrong secret is refused
    let forged = format!("{}0", &a.admin_token[..a.admin_token.len() - 1]);
    let forged = if forged == a.admin_token {
        format!("{}1", &a.admin_token[..a.admin_token.len() - 1])
    } else {
        forged
    };
    let (status, _) = c.send("GET", &api_url("/rules"), Some(&forged), None).await;
    assert_eq!(status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_conflicts_and_bad_input_get_scim_errors() {
    let org = new_org("scim").await;
    let c = Client::new();
    let users = scim_url("/Users");

    let (status, _) = c
        .send(
            "POST",
            &users,
            Some(&org.scim_token),
            Some(&json!({"userName": "Grace@Example.com"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, dup) = c
        .send(
            "POST",
            &users,
            Some(&org.scim_token),
            Some(&json!({"userName": "grace@example.com"})),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(dup["scimType"], "uniqueness");

    let (status, bad) = c
        .send(
            "POST",
            &users,
            Some(&org.scim_token),
            Some(&json!({"name": {"givenName": "x"}})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (status, _) = c
        .send(
            "GET",
            &format!("{users}/does-not-exist"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, bad) = c
        .send(
            "GET",
            &format!("{users}?filter=title%20like%20%22x%22"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(bad["scimType"], "invalidFilter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tokens_are_named_listed_and_revoked_at_once() {
    use user_sync_core::auth::TokenKind;
    use user_sync_core::ids::OrgId;
    use user_sync_core::ports::Tokens;

    let org = new_org("tokens").await;
    let org_id = OrgId::parse(&org.org_id).unwrap();
    let store = user_sync_tests::directory().await;
    let (token_id, alice) = ops::create_token(&store, &org_id, TokenKind::Admin, "Alice Admin")
        .await
        .unwrap();
    assert!(alice.starts_with("us_admin_"));
    for bad in ["", "Sync user", "two\nlines"] {
        assert!(
            ops::create_token(&store, &org_id, TokenKind::Admin, bad)
                .await
                .is_err(),
            "{bad:?}"
        );
    }
    let listed = eventually(
        "the new token is listed",
        Duration::from_secs(10),
        || async {
            let tokens = store.list_tokens(&org_id).await.unwrap();
            tokens
                .iter()
                .any(|t| t.token_id == token_id)
                .then_some(tokens)
        },
    )
    .await;
    assert_eq!(listed.len(), 3, "the organization's two tokens and Alice's");

    // her changes carry her name
    let c = Client::new();
    let (status, _) = c
        .send(
            "PUT",
            &api_url("/sync"),
            Some(&alice),
            Some(&json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let put = c
        .request(
            "PUT",
            &api_url("/catalog"),
            Some(&alice),
            Some(&json!({"userGroups": [{"id": "sales", "name": "Sales"}]})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let (_, history) = c
        .send(
            "GET",
            &api_url("/activity?action=catalog_changed"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(history["items"][0]["actor"], "Alice Admin");

    // revoked: refused at once; the organization's own admin token still works
    ops::revoke_token(&store, &org_id, &token_id).await.unwrap();
    let (status, _) = c.send("GET", &api_url("/rules"), Some(&alice), None).await;
    assert_eq!(status, 401);
    let (status, _) = org.admin().send("GET", "/rules", None).await;
    assert_eq!(status, 200);
    assert!(matches!(
        ops::revoke_token(&store, &org_id, &token_id).await,
        Err(user_sync_core::StoreError::NotFound)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_errors_are_problem_details() {
    let s = stack();
    let org = new_org("problems").await;
    let c = Client::new();
    let call = |method: &'static str, path: &'static str, body: Option<Value>| {
        let c = &c;
        let token = org.admin_token.clone();
        async move {
            c.request(
                method,
                &format!("{}{path}", s.api_url),
                Some(&token),
                body.as_ref(),
                &[],
            )
            .await
        }
    };
    let cases = [
        // over the size cap
        (
            call(
                "POST",
                "/rules",
                Some(json!({"description": "x".repeat(70 * 1024)})),
            )
            .await,
            413,
            "payload_too_large",
        ),
        // an unknown field, named
        (
            call(
                "PUT",
                "/sync",
                Some(json!({"enabled": true, "force": true})),
            )
            .await,
            422,
            "unknown_field",
        ),
        (call("GET", "/nowhere", None).await, 404, "not_found"),
        (
            call("POST", "/groups", Some(json!({"displayName": "x"}))).await,
            405,
            "read_only",
        ),
    ];
    for (a, status, code) in cases {
        assert_eq!(a.status, status, "{}", a.body);
        assert_eq!(
            a.content_type.as_deref(),
            Some("application/problem+json"),
            "{code}"
        );
        assert_eq!(a.body["type"], format!("urn:user-sync:problem:{code}"));
        assert_eq!(a.body["status"], status);
        assert!(a.body["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(a.body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let unknown = call(
        "PUT",
        "/sync",
        Some(json!({"enabled": true, "force": true})),
    )
    .await;
    assert!(
        unknown.body["detail"].as_str().unwrap().contains("force"),
        "{}",
        unknown.body
    );
}
