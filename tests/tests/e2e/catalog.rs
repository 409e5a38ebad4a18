//! The organization's catalogue from the admin's side: empty until set,
//! validated, rules checked against it, and not shrinkable under a rule.

use serde_json::{Value, json};

use crate::admin::Admin;

fn catalogue(products: &[&str]) -> Value {
    json!({
        "products": products.iter().map(|p| json!({"id": p, "name": format!("GoTo {p}"), "seats": 10})).collect::<Vec<_>>(),
        "privileges": [{"id": "manage_users", "name": "Manage users"}],
        "userGroups": [{"id": "sales", "name": "Sales"}],
        "deviceGroups": [{"id": "kiosks", "name": "Kiosks"}],
        "settingsTemplates": [{"id": "standard", "name": "Standard"}]
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_name_only_what_the_catalogue_offers() {
    let a = Admin::new("catalog").await;
    let empty = a.api("GET", "/catalog", None, &[]).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["configured"], false);
    assert_eq!(empty.body["products"], json!([]));

    // bad catalogues are refused, naming the field
    let mut twice = catalogue(&["G2M"]);
    twice["userGroups"] =
        json!([{"id": "sales", "name": "Sales"}, {"id": "sales", "name": "Sales 2"}]);
    let r = a.api("PUT", "/catalog", Some(twice), &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_catalog");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("userGroups:")
    );
    let r = a
        .api("PUT", "/catalog", Some(json!({"product": []})), &[])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.body["code"], "unknown_field");

    let set = a
        .api("PUT", "/catalog", Some(catalogue(&["G2M", "G2W"])), &[])
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["configured"], true);
    let got = a.api("GET", "/catalog", None, &[]).await;
    assert_eq!(got.body["products"][1]["id"], "G2W");
    assert_eq!(got.body["products"][1]["seats"], 10);

    let group = a.group("Sales").await;
    let refused = a
        .api(
            "POST",
            "/rules",
            Some(json!({"groupId": group, "products": ["G2M", "G2X"]})),
            &[],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("products: \"G2X\""),
        "{}",
        refused.body
    );
    let refused = a
        .api(
            "POST",
            "/rules",
            Some(json!({"groupId": group, "adminRole": {"type": "manager", "privileges": ["root"], "managedGroups": ["sales"]}})),
            &[],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("adminRole.privileges:"),
        "{}",
        refused.body
    );
    let rule = a
        .rule(json!({"groupId": group, "products": ["G2M"], "userGroup": "sales",
            "deviceGroups": ["kiosks"], "settingsTemplate": "standard",
            "adminRole": {"type": "manager", "privileges": ["manage_users"], "managedGroups": ["sales"]}}))
        .await;

    // the catalogue cannot drop what a rule names
    let r = a
        .api("PUT", "/catalog", Some(catalogue(&["G2W"])), &[])
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["code"], "catalog_in_use");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains(rule["id"].as_str().unwrap()),
        "{}",
        r.body
    );

    let history = a.api("GET", "/activity", None, &[]).await;
    let changed: Vec<&Value> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "catalog_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{}", history.body);
    assert_ne!(changed[0]["actor"], "Sync user");
}
