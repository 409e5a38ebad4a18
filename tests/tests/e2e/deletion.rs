//! What an identity provider sends at the SCIM boundary, kept or discarded
//! as RFC 7643 / 7644 say: a password is accepted and never kept, a created
//! resource's URI is in `Location`, a deleted user is gone for SCIM while
//! its product account is suspended and kept, and a returning person takes
//! that account over again.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_tests::{
    PATCH_OP, TestOrg, UserBuilder, control_url, emails_to, enc, eventually, new_org, ops_cli,
    stack,
};

const PIPELINE: Duration = Duration::from_secs(90);
const PASSWORD: &str = "Pa55-never-kept-7f3c91";

struct Idp {
    org: TestOrg,
}

impl Idp {
    async fn new(prefix: &str) -> Self {
        Self {
            org: new_org(prefix).await,
        }
    }

    async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.org.scim().send(method, path, body).await
    }

    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.org.admin().send(method, path, body).await
    }

    /// Okta's create, password push on: the body carries a password.
    async fn okta_create(&self, user_name: &str, external_id: Option<&str>) -> Value {
        let mut body =
            UserBuilder::person(user_name, "Grace", "Hopper").attr("password", json!(PASSWORD));
        if let Some(x) = external_id {
            body = body.external_id(x);
        }
        let (status, user) = self.scim("POST", "/Users", Some(body.build())).await;
        assert_eq!(status, 201, "{user}");
        user
    }

    /// A group with `members`, a Full Admin rule for it, and sync on.
    async fn entitle(&self, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let (status, group) = self
            .scim(
                "POST",
                "/Groups",
                Some(json!({"displayName": "Engineering", "members": members})),
            )
            .await;
        assert_eq!(status, 201, "{group}");
        let group_id = group["id"].as_str().unwrap().to_owned();
        self.org.admin().rule_and_sync(json!({"groupId": group_id, "products": ["G2M"], "adminRole": {"type": "full_admin"}})).await;
        group_id
    }

    fn account_url(&self, key: &str) -> String {
        control_url(&format!("/accounts/{}/{key}", self.org.org_id))
    }

    async fn account_with_status(&self, key: &str, status: &str) -> Value {
        self.org
            .until(key, &format!("the account {status}"), |a| {
                a["status"] == status
            })
            .await
    }

    async fn activity(&self) -> Vec<Value> {
        let (_, a) = self.admin("GET", "/activity?limit=200", None).await;
        a["items"].as_array().cloned().unwrap_or_default()
    }
}

/// Every item of both tables and every message in every queue, as text.
async fn everything_stored() -> String {
    let config = user_sync_tests::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let mut all = String::new();
    for table in [&stack().directory_table, &stack().state_table] {
        let mut start = None;
        loop {
            let out = ddb
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            for item in out.items.unwrap_or_default() {
                all.push_str(&format!("{item:?}\n"));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&config);
    for url in stack().queues.values() {
        // a look without taking: messages come back at once
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        for m in out.messages.unwrap_or_default() {
            all.push_str(&format!("{:?}\n", m.body));
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_password_is_accepted_and_never_kept_anywhere() {
    let idp = Idp::new("pwd").await;
    let email = format!("grace.{}@example.com", idp.org.org_id);
    let created = idp.okta_create(&email, Some("00u-grace")).await;
    assert!(created.get("password").is_none(), "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // Okta's password sync replaces the user with a new one; a PATCH may name it
    let mut replaced = created.clone();
    replaced["password"] = json!(format!("{PASSWORD}-2"));
    let (status, put) = idp
        .scim("PUT", &format!("/Users/{id}"), Some(replaced))
        .await;
    assert_eq!(status, 200, "{put}");
    assert!(put.get("password").is_none(), "{put}");
    let (status, patched) = idp
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "password", "value": format!("{PASSWORD}-3")},
                {"op": "replace", "value": {"password": format!("{PASSWORD}-4")}}
            ]})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("password").is_none(), "{patched}");
    let (_, read) = idp.scim("GET", &format!("/Users/{id}"), None).await;
    assert!(read.get("password").is_none(), "{read}");
    let (_, asked) = idp
        .scim("GET", &format!("/Users/{id}?attributes=password"), None)
        .await;
    assert!(asked.get("password").is_none(), "{asked}");

    // /Schemas says so
    let (_, schema) = idp
        .scim(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    let password = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "password")
        .cloned()
        .unwrap();
    assert_eq!(password["mutability"], "writeOnly");
    assert_eq!(password["returned"], "never");

    // the whole onboarding runs, then nothing holds the password anywhere
    idp.entitle(&[&id]).await;
    idp.account_with_status(&id, "active").await;
    eventually("the welcome email", PIPELINE, || async {
        (!emails_to(&idp.org.client, &email).await.is_empty()).then_some(())
    })
    .await;
    let stored = everything_stored().await;
    assert!(
        stored.contains(&id),
        "the scan reads the user's items: {}",
        stored.len()
    );
    assert!(!stored.contains(PASSWORD), "a password is stored somewhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_resource_has_its_uri_in_location() {
    let idp = Idp::new("loc").await;
    for (path, body) in [
        (
            "/Users",
            json!({"userName": format!("loc.{}@example.com", idp.org.org_id)}),
        ),
        ("/Groups", json!({"displayName": "Location"})),
    ] {
        let r = idp
            .org
            .client
            .request(
                "POST",
                &format!("{}{path}", stack().scim_url),
                Some(&idp.org.scim_token),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let location = r.location.expect("a Location header");
        assert_eq!(location, r.body["meta"]["location"], "{path}");
        assert!(location.ends_with(&format!("{path}/{}", r.body["id"].as_str().unwrap())));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_user_is_gone_for_scim_and_its_account_is_suspended_and_kept() {
    let idp = Idp::new("del").await;
    let email = format!("ada.{}@example.com", idp.org.org_id);
    let user = idp.okta_create(&email, Some("00u-ada")).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let group = idp.entitle(&[&id]).await;
    idp.account_with_status(&id, "active").await;

    let (status, _) = idp.scim("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 204);

    // 404 for every operation on it
    let replace = json!({"userName": email, "active": true});
    let patch = json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": true}]});
    for (method, body) in [
        ("GET", None),
        ("PUT", Some(replace)),
        ("PATCH", Some(patch)),
        ("DELETE", None),
    ] {
        let (status, e) = idp.scim(method, &format!("/Users/{id}"), body).await;
        assert_eq!(status, 404, "{method}: {e}");
    }
    // omitted from every query
    for filter in [
        format!(r#"userName eq "{email}""#),
        r#"externalId eq "00u-ada""#.to_owned(),
        format!(r#"id eq "{id}""#),
        format!(r#"emails[type eq "work"].value eq "{email}""#),
        r#"active eq false"#.to_owned(),
    ] {
        let (_, found) = idp
            .scim("GET", &format!("/Users?filter={}", enc(&filter)), None)
            .await;
        assert_eq!(found["totalResults"], json!(0), "{filter}: {found}");
    }
    let (_, all) = idp.scim("GET", "/Users", None).await;
    assert_eq!(all["totalResults"], json!(0), "{all}");
    let (_, g) = idp.scim("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(g["members"].as_array().map_or(0, Vec::len), 0, "{g}");

    // the product account is suspended, never deleted
    let suspended = idp.account_with_status(&id, "suspended").await;
    assert_eq!(suspended["products"], json!([]));

    // the admin still sees who was suspended and why
    let (status, shown) = idp.admin("GET", &format!("/users/{id}"), None).await;
    assert_eq!(status, 200, "{shown}");
    let (status, explained) = idp
        .admin("GET", &format!("/users/{id}/assignment"), None)
        .await;
    assert_eq!(status, 200, "{explained}");
    assert!(
        explained.to_string().contains("deleted"),
        "explain says the user was deleted: {explained}"
    );
    let (_, listed) = idp.admin("GET", "/users", None).await;
    assert!(listed.to_string().contains(&id), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_person_takes_its_kept_account_over() {
    let idp = Idp::new("back").await;
    let email = format!("kay.{}@example.com", idp.org.org_id);
    let first = idp.okta_create(&email, Some("00u-kay")).await;
    let first_id = first["id"].as_str().unwrap().to_owned();
    let group = idp.entitle(&[&first_id]).await;
    idp.account_with_status(&first_id, "active").await;
    eventually("the first welcome email", PIPELINE, || async {
        (emails_to(&idp.org.client, &email).await.len() == 1).then_some(())
    })
    .await;
    let (status, _) = idp
        .scim("DELETE", &format!("/Users/{first_id}"), None)
        .await;
    assert_eq!(status, 204);
    idp.account_with_status(&first_id, "suspended").await;

    // the identity provider creates the person again, with a new userName
    // case and the same externalId: no 409, a new SCIM user
    let second = idp
        .okta_create(&email.to_uppercase(), Some("00u-kay"))
        .await;
    let second_id = second["id"].as_str().unwrap().to_owned();
    assert_ne!(second_id, first_id);
    let (status, _) = idp
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": second_id}]}]})),
        )
        .await;
    assert!(status == 200 || status == 204);

    // the kept account is reactivated, under its key, with its data
    let account = idp.account_with_status(&first_id, "active").await;
    assert_eq!(account["products"], json!(["G2M"]));
    let (status, none) = idp
        .org
        .client
        .send("GET", &idp.account_url(&second_id), None, None)
        .await;
    assert_eq!(status, 404, "no second account: {none}");

    // the history says who it was relinked from
    let entries = eventually("the relink in the activity history", PIPELINE, || async {
        let items = idp.activity().await;
        items
            .iter()
            .any(|e| e["action"] == "account_relinked" && e["subject"]["id"] == second_id.as_str())
            .then_some(items)
    })
    .await;
    let relinked = entries
        .iter()
        .find(|e| e["action"] == "account_relinked")
        .unwrap();
    assert_eq!(relinked["details"]["relinkedFrom"], first_id.as_str());
    assert_eq!(relinked["details"]["account"], first_id.as_str());
    // and no second welcome email
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(emails_to(&idp.org.client, &email).await.len(), 1);

    // without an externalId, the same userName (ignoring case) links too
    let idp2 = Idp::new("back2").await;
    let email2 = format!("lin.{}@example.com", idp2.org.org_id);
    let a = idp2.okta_create(&email2, None).await;
    let a_id = a["id"].as_str().unwrap().to_owned();
    let (status, _) = idp2.scim("DELETE", &format!("/Users/{a_id}"), None).await;
    assert_eq!(status, 204);
    let b = idp2.okta_create(&email2.to_uppercase(), None).await;
    let b_id = b["id"].as_str().unwrap();
    let stored = user_sync_tests::directory().await;
    use user_sync_core::ports::Users;
    let org = OrgId::parse(&idp2.org.org_id).unwrap();
    let b_user: DirectoryUser = stored
        .get_user(&org, &UserId::parse(b_id).unwrap())
        .await
        .unwrap()
        .unwrap()
        .user;
    assert_eq!(b_user.account_key().as_str(), a_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_deleted_by_an_earlier_version_frees_its_user_name() {
    // an earlier version kept a deleted user's userName claimed
    let idp = Idp::new("legacy").await;
    let email = format!("old.{}@example.com", idp.org.org_id);
    let user = idp.okta_create(&email, None).await;
    let id = UserId::parse(user["id"].as_str().unwrap()).unwrap();
    let org = OrgId::parse(&idp.org.org_id).unwrap();
    let store = user_sync_tests::directory().await;
    use user_sync_core::ports::Users;
    let current = store.get_user(&org, &id).await.unwrap().unwrap();
    // deleted, and holding a password, as an earlier version kept them
    let mut old = current.clone();
    old.user.deleted = true;
    old.user.active = false;
    old.user.version += 1;
    old.attributes["password"] = json!(PASSWORD);
    store.replace_user(&org, &current.user, &old).await.unwrap();

    let (status, gone) = idp.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(status, 404, "{gone}");
    let again = idp.okta_create(&email, None).await;
    let again_id = UserId::parse(again["id"].as_str().unwrap()).unwrap();
    let stored = store.get_user(&org, &again_id).await.unwrap().unwrap();
    assert_eq!(stored.user.account_key(), &id, "relinked to the old user");
    let previous = store.get_user(&org, &id).await.unwrap().unwrap();
    assert_eq!(previous.user.link.relinked_to.as_ref(), Some(&again_id));
    assert!(
        previous.attributes.get("password").is_none(),
        "the password went with the deleted user's next write: {}",
        previous.attributes
    );
}

/// Takes out of the DirectoryTable what the index of deleted users holds
/// for an organization and the given (externalId, userName) keys, as an
/// organization created before the index has it; each item must be there.
async fn as_before_the_index(org: &str, keys: &[(&str, &str)]) {
    let ddb = aws_sdk_dynamodb::Client::new(&user_sync_tests::sdk_config().await);
    let mut pks = vec![format!("{org}#ORG")];
    for (x, name) in keys {
        pks.push(format!("{org}#EXTERNALID#{x}"));
        pks.push(format!("{org}#USERNAME#{}", name.to_lowercase()));
    }
    for pk in pks {
        let gone = ddb
            .delete_item()
            .table_name(&stack().directory_table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
            .key(
                "sk",
                aws_sdk_dynamodb::types::AttributeValue::S("RETURNABLE".into()),
            )
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .unwrap();
        assert!(gone.attributes.is_some(), "{pk} held no index item");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_people_are_found_before_and_after_an_older_organization_is_indexed() {
    let idp = Idp::new("preindex").await;
    let org = idp.org.org_id.clone();
    let email = |n: &str| format!("{n}.{org}@example.com");
    let store = user_sync_tests::directory().await;
    let org_id = OrgId::parse(&org).unwrap();
    let account_key = |user: Value| {
        let store = &store;
        let org_id = &org_id;
        async move {
            use user_sync_core::ports::Users;
            let id = UserId::parse(user["id"].as_str().unwrap()).unwrap();
            let stored = store.get_user(org_id, &id).await.unwrap().unwrap();
            (id, stored.user.account_key().clone())
        }
    };
    let mut deleted = Vec::new();
    for (name, x) in [("ada", "00u-ada"), ("bob", "00u-bob")] {
        let user = idp.okta_create(&email(name), Some(x)).await;
        let id = user["id"].as_str().unwrap().to_owned();
        let (status, _) = idp.scim("DELETE", &format!("/Users/{id}"), None).await;
        assert_eq!(status, 204);
        deleted.push(id);
    }
    as_before_the_index(
        &org,
        &[("00u-ada", &email("ada")), ("00u-bob", &email("bob"))],
    )
    .await;

    // not indexed yet: a create looks for its deleted self, as before
    let (_, key) = account_key(idp.okta_create(&email("ada"), Some("00u-ada")).await).await;
    assert_eq!(key.as_str(), deleted[0], "ada relinked before the index");

    let ran = ops_cli(&["index-deleted-users", &org]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    assert!(
        ran.err.contains(&format!(
            "... {org}: 3 users examined, 1 deleted users filed"
        )),
        "{ran:?}"
    );
    assert!(
        ran.out.contains(&format!(
            "organization {org}: 1 deleted users filed of 3 users; indexed"
        )),
        "{ran:?}"
    );

    // indexed: bob, deleted before the index, was filed by it and is found
    let (_, key) = account_key(idp.okta_create(&email("bob"), Some("00u-bob")).await).await;
    assert_eq!(key.as_str(), deleted[1], "bob relinked after the index");
    // and a new person returns as nobody
    let (id, key) = account_key(idp.okta_create(&email("cy"), Some("00u-cy")).await).await;
    assert_eq!(key, id);
    let again = ops_cli(&["--output", "json", "index-deleted-users", &org])
        .await
        .json();
    assert_eq!(again["filed"], 0, "both taken over: {again}");
    assert_eq!(again["examined"], 5, "{again}");
}
