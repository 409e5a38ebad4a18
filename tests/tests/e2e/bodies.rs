//! Admin API bodies from the admin's side: one spelling (camelCase) in and
//! out, a manager's `managedGroups` reaching the rule and the product
//! account, a misspelt field at any depth refused with `422 unknown_field`
//! naming it, and rules stored before `managedGroups` was renamed still read.

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use user_sync_tests::{assert_problem, sdk_config, stack};

use crate::admin::{TestOrg, id};

fn manager(groups: &[&str]) -> Value {
    json!({"type": "manager", "privileges": ["manage_users"], "managedGroups": groups})
}

/// Sets up the privilege and the user groups [`manager`] names.
async fn manager_catalogue(a: &TestOrg) {
    user_sync_tests::set_catalog(
        a,
        json!({
            "privileges": [{"id": "manage_users", "name": "Manage users"}],
            "userGroups": [{"id": "sales", "name": "Sales"}, {"id": "support", "name": "Support"}]
        }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_rule_gives_its_managed_groups_to_the_rule_and_the_account() {
    let a = TestOrg::new("manager").await;
    manager_catalogue(&a).await;
    let ada = a.scim().user("ada").await;
    let owner = a.scim().user("owner").await;
    let it = a.scim().group_with("IT Admins", &[&ada]).await;
    let owners = a.scim().group_with("Owners", &[&owner]).await;
    a.admin()
        .rule(json!({"groupId": owners, "adminRole": {"type": "full_admin"}}))
        .await;
    let created = a
        .admin().rule(json!({"groupId": it, "products": ["G2M"], "adminRole": manager(&["sales", "support"])}))
        .await;
    assert_eq!(created["adminRole"], manager(&["sales", "support"]));
    let read = a.admin().get(&format!("/rules/{}", id(&created))).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["adminRole"], manager(&["sales", "support"]));

    assert_eq!(a.admin().sync(true, true).await.status, 200);
    let account = a
        .until(&ada, "a manager of sales and support", |x| {
            x["role"] == "manager"
        })
        .await;
    assert_eq!(account["managedGroups"], json!(["sales", "support"]));
    assert_eq!(account["privileges"], json!(["manage_users"]));

    // explain serves the same spelling
    let e = a.admin().get(&format!("/users/{ada}/assignment")).await;
    assert_eq!(e.status, 200, "{}", e.body);
    assert_eq!(
        e.body["assignment"]["adminRole"],
        manager(&["sales", "support"])
    );
    assert!(!e.body.to_string().contains("managed_groups"), "{}", e.body);
}

/// The rules as listed: their ids and versions.
async fn rules(a: &TestOrg) -> Vec<(String, u64)> {
    let list = a.admin().get("/rules").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (id(r), r["version"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_field_at_any_depth_is_422_naming_it_and_nothing_is_stored() {
    let a = TestOrg::new("misspelt").await;
    manager_catalogue(&a).await;
    let g = a.scim().group("Sales").await;
    let role_fields = "expected `privileges` or `managedGroups`";
    let cases = [
        (
            json!({"groupId": g, "adminRole": {"type": "manager", "managed_groups": ["sales"]}}),
            format!("adminRole.managed_groups: unknown field, {role_fields}"),
        ),
        (
            json!({"groupId": g, "adminRole": {"type": "manager", "managedGroup": ["sales"]}}),
            format!("adminRole.managedGroup: unknown field, {role_fields}"),
        ),
        (
            json!({"groupId": g, "adminRole": {"type": "full_admin", "managedGroups": []}}),
            "adminRole.managedGroups: unknown field, no other field is allowed here".to_owned(),
        ),
        (
            json!({"groupId": g, "descripton": "Sales", "adminRole": {"type": "full_admin"}}),
            "descripton: unknown field, expected one of `groupId`, `description`, `priority`, \
             `products`, `adminRole`, `userGroup`, `deviceGroups`, `settingsTemplate`, \
             `emailTemplate`, `language`, `confirm`"
                .to_owned(),
        ),
    ];
    for (body, detail) in &cases {
        let r = a.admin().post("/rules", body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
        assert_eq!(r.content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(r.body["code"], "unknown_field");
        assert_eq!(r.body["type"], "urn:user-sync:problem:unknown_field");
        assert_eq!(r.body["detail"], detail.as_str(), "{body}");
    }
    // a preview names the field inside its change
    let r = a
        .admin()
        .post(
            "/rules/preview",
            json!({"change": {"kind": "create", "rule": cases[1].0}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["detail"],
        format!("change.rule.adminRole.managedGroup: unknown field, {role_fields}")
    );
    assert!(rules(&a).await.is_empty(), "nothing was stored");

    // a write to a rule: refused, the rule as it was
    let rule = a
        .admin()
        .rule(json!({"groupId": g, "adminRole": manager(&["sales"])}))
        .await;
    let before = rules(&a).await;
    let r = a
        .admin()
        .patch_rule(
            &rule,
            json!({"adminRole": {"type": "manager", "managed_groups": ["support"]}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["detail"],
        format!("adminRole.managed_groups: unknown field, {role_fields}")
    );
    let r = a
        .admin()
        .if_match(
            "PUT",
            &format!("/rules/{}", id(&rule)),
            Some(&json!({"groupId": g, "adminRole": manager(&["support"]), "descripton": "x"})),
            &format!("\"{}\"", rule["version"]),
        )
        .await;
    assert_problem(&r, 422, "unknown_field");
    assert_eq!(rules(&a).await, before);
    let read = a.admin().get(&format!("/rules/{}", id(&rule))).await;
    assert_eq!(read.body["adminRole"], manager(&["sales"]));
    let history = a.admin().get("/activity").await;
    assert_eq!(
        history.body["items"].as_array().unwrap().len(),
        1,
        "only the one rule created: {}",
        history.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_stored_with_managed_groups_reads_back_as_managed_groups() {
    let a = TestOrg::new("old-rule").await;
    manager_catalogue(&a).await;
    let g = a.scim().group("Sales").await;
    let rule = a
        .admin()
        .rule(json!({"groupId": g, "adminRole": manager(&["sales"])}))
        .await;

    // the rule item as it was written before the rename
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let key = [
        ("pk", format!("{}#CONFIG", a.org_id)),
        ("sk", format!("RULE#{}", id(&rule))),
    ];
    let mut get = ddb.get_item().table_name(&stack().directory_table);
    for (k, v) in &key {
        get = get.key(*k, AttributeValue::S(v.clone()));
    }
    let mut item = get.send().await.unwrap().item.unwrap();
    let stored = item["rule"].as_s().unwrap().clone();
    assert!(stored.contains("\"managedGroups\""), "{stored}");
    let old = stored.replace("\"managedGroups\"", "\"managed_groups\"");
    item.insert("rule".into(), AttributeValue::S(old));
    ddb.put_item()
        .table_name(&stack().directory_table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let list = a.admin().get("/rules").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["rules"][0]["adminRole"], manager(&["sales"]));
    let read = a.admin().get(&format!("/rules/{}", id(&rule))).await;
    assert_eq!(read.body["adminRole"], manager(&["sales"]));

    // a change to another field keeps the managed groups, in the new shape
    let r = a
        .admin()
        .patch_rule(&read.body, json!({"description": "Sales managers"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["adminRole"], manager(&["sales"]));
    let mut get = ddb.get_item().table_name(&stack().directory_table);
    for (k, v) in &key {
        get = get.key(*k, AttributeValue::S(v.clone()));
    }
    let item = get.send().await.unwrap().item.unwrap();
    let stored = item["rule"].as_s().unwrap();
    assert!(stored.contains("\"managedGroups\":[\"sales\"]"), "{stored}");
}
