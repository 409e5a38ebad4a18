//! The organization's catalogue from the admin's side: its products, names
//! and seats from the product API (the simulator), its lists set up by ops
//! or an admin, rules checked against both, the lists not shrinkable under a
//! rule; and the settings replaced as a whole (catalogue, custom
//! attributes, activity retention) written only with the ETag they were
//! read with.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use user_sync_tests::{Answer, assert_problem};

use crate::admin::TestOrg;

/// The lists, with these user groups.
fn catalogue(user_groups: &[&str]) -> Value {
    json!({
        "privileges": [{"id": "manage_users", "name": "Manage users"}],
        "userGroups": user_groups.iter().map(|g| json!({"id": g, "name": format!("Group {g}")})).collect::<Vec<_>>(),
        "deviceGroups": [{"id": "kiosks", "name": "Kiosks"}],
        "settingsTemplates": [{"id": "standard", "name": "Standard"}]
    })
}

/// The problem's detail names the field at fault first.
#[track_caller]
fn assert_detail_starts(answer: &Answer, field: &str) {
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with(field), "{}", answer.body);
}

/// `GET /catalog` until `ok` holds (the products are cached briefly).
async fn catalogue_until(a: &TestOrg, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = a.admin().read("/catalog").await;
        if ok(&got) {
            return got;
        }
        assert!(Instant::now() < deadline, "{what}: {got}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The catalogue's product `id`.
fn product<'v>(catalog: &'v Value, id: &str) -> &'v Value {
    catalog["products"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["id"] == id))
        .unwrap_or(&Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_name_only_what_the_catalogue_offers() {
    let a = TestOrg::new("catalog").await;
    let empty = a.admin().get("/catalog").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["configured"], false);
    assert_eq!(empty.body["productsAvailable"], true);
    assert_eq!(empty.body["userGroups"], json!([]));
    // the product API's default offer: the GoTo products
    assert_eq!(product(&empty.body, "G2M")["name"], "GoTo Meeting");
    assert_eq!(product(&empty.body, "G2C")["deviceGroups"], true);

    // nothing set up: a user group (or any list entry) cannot be named
    let group = a.scim().group("Sales").await;
    let refused = a
        .admin()
        .post(
            "/rules",
            json!({"groupId": group, "products": ["G2M"], "userGroup": "sales"}),
        )
        .await;
    assert_problem(&refused, 422, "invalid_rule");
    assert_detail_starts(
        &refused,
        "userGroup: no user groups are set up for this organization (ops catalog set)",
    );

    // bad catalogues are refused, naming the field; products come from the product API
    let mut twice = catalogue(&["sales"]);
    twice["userGroups"] =
        json!([{"id": "sales", "name": "Sales"}, {"id": "sales", "name": "Sales 2"}]);
    let r = a
        .admin()
        .if_match("PUT", "/catalog", Some(&twice), "*")
        .await;
    assert_problem(&r, 422, "invalid_catalog");
    assert_detail_starts(&r, "userGroups:");
    let mut with_products = catalogue(&["sales"]);
    with_products["products"] = json!([{"id": "G2M", "name": "GoTo Meeting", "seats": 10}]);
    let r = a
        .admin()
        .if_match("PUT", "/catalog", Some(&with_products), "*")
        .await;
    assert_problem(&r, 422, "invalid_catalog");
    assert_detail_starts(
        &r,
        "products: products, their names and seats come from the product API; remove the field",
    );
    let r = a
        .admin()
        .if_match("PUT", "/catalog", Some(&json!({"product": []})), "*")
        .await;
    assert_problem(&r, 422, "unknown_field");

    let set = a
        .admin()
        .if_match(
            "PUT",
            "/catalog",
            Some(&catalogue(&["sales"])),
            &empty.etag.clone().unwrap(),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["configured"], true);
    assert_eq!(set.body["userGroups"][0]["id"], "sales");
    assert_eq!(set.body["products"], empty.body["products"]);

    let refused = a
        .admin()
        .post(
            "/rules",
            json!({"groupId": group, "products": ["G2M", "G2X"]}),
        )
        .await;
    assert_problem(&refused, 422, "invalid_rule");
    assert_detail_starts(&refused, "products: \"G2X\"");
    let refused = a
        .admin().post("/rules", json!({"groupId": group, "adminRole": {"type": "manager", "privileges": ["root"], "managedGroups": ["sales"]}}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_detail_starts(&refused, "adminRole.privileges:");
    // device groups only with a product that takes them
    let refused = a
        .admin()
        .post(
            "/rules",
            json!({"groupId": group, "products": ["G2M"], "deviceGroups": ["kiosks"]}),
        )
        .await;
    assert_problem(&refused, 422, "invalid_rule");
    assert_detail_starts(&refused, "deviceGroups:");
    let rule = a
        .admin().rule(json!({"groupId": group, "products": ["G2M", "G2C"], "userGroup": "sales",
            "deviceGroups": ["kiosks"], "settingsTemplate": "standard",
            "adminRole": {"type": "manager", "privileges": ["manage_users"], "managedGroups": ["sales"]}}))
        .await;

    // the catalogue cannot drop what a rule names
    let r = a
        .admin()
        .if_match("PUT", "/catalog", Some(&catalogue(&["support"])), "*")
        .await;
    assert_problem(&r, 409, "catalog_in_use");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains(rule["id"].as_str().unwrap()),
        "{}",
        r.body
    );

    let history = a.admin().get("/activity").await;
    let changed: Vec<&Value> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "catalog_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{}", history.body);
    assert_ne!(changed[0]["actor"], "Sync user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_products_names_and_seats_are_the_product_apis() {
    let a = TestOrg::new("catalog-products").await;
    a.simulator()
        .set_products(json!([
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": false},
            {"id": "G2C", "name": "GoTo Connect", "deviceGroups": true}
        ]))
        .await;
    a.simulator().set_seats(json!({"G2W": 8})).await;
    let got = catalogue_until(&a, "the simulator's products", |c| {
        c["products"].as_array().is_some_and(|p| p.len() == 2)
    })
    .await;
    assert_eq!(
        got["products"],
        json!([
            {"id": "G2W", "name": "GoTo Webinar", "deviceGroups": false, "seats": {"limit": 8, "used": 0}},
            {"id": "G2C", "name": "GoTo Connect", "deviceGroups": true, "seats": {"limit": null, "used": 0}}
        ])
    );
    assert_eq!(got["productsAvailable"], true);

    // a new limit shows once the cache expires
    a.simulator().set_seats(json!({"G2W": 9})).await;
    catalogue_until(&a, "the new limit", |c| {
        product(c, "G2W")["seats"]["limit"] == 9
    })
    .await;

    // a product the product API no longer offers cannot be named
    let group = a.scim().group("Webinars").await;
    let refused = a
        .admin()
        .post("/rules", json!({"groupId": group, "products": ["G2M"]}))
        .await;
    assert_problem(&refused, 422, "invalid_rule");
    assert_detail_starts(&refused, "products: \"G2M\"");
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2W"]}))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_product_api_no_products_are_offered_and_no_rule_names_one() {
    let a = TestOrg::new("catalog-down").await;
    let group = a.scim().group("Sales").await;
    a.simulator().set_faults(Some(json!({"down": true}))).await;
    let got = catalogue_until(&a, "the product API down", |c| {
        c["productsAvailable"] == false
    })
    .await;
    assert_eq!(got["products"], json!([]));
    let refused = a
        .admin()
        .post("/rules", json!({"groupId": group, "products": ["G2M"]}))
        .await;
    assert_problem(&refused, 503, "products_unavailable");
    // a rule naming no product does not need the product API
    a.admin()
        .rule(json!({"groupId": group, "adminRole": {"type": "full_admin"}}))
        .await;

    a.simulator().set_faults(None).await;
    catalogue_until(&a, "the product API back", |c| {
        c["productsAvailable"] == true
    })
    .await;
    a.admin()
        .rule(json!({"groupId": group, "products": ["G2M"]}))
        .await;
}

/// `PUT path` with the ETag `read` answered with.
async fn put_after(a: &TestOrg, path: &str, body: &Value, read: &Answer) -> Answer {
    a.admin()
        .if_match("PUT", path, Some(body), read.etag.as_deref().unwrap())
        .await
}

/// Writes the custom attributes over the version `read` saw.
async fn put_attributes_after(a: &TestOrg, names: &[&str], read: &Answer) -> Answer {
    put_after(
        a,
        "/custom-attributes",
        &json!({ "attributes": names }),
        read,
    )
    .await
}

/// The settings an admin replaces as a whole, with a body that changes each.
fn settings() -> [(&'static str, Value, Value); 3] {
    [
        (
            "/catalog",
            catalogue(&["sales"]),
            catalogue(&["sales", "support"]),
        ),
        (
            "/custom-attributes",
            json!({"attributes": ["badgeNumber"]}),
            json!({"attributes": ["costCenter"]}),
        ),
        (
            "/activity/settings",
            json!({"retentionDays": 120}),
            json!({"retentionDays": 400}),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_is_written_only_with_the_etag_it_was_read_with() {
    let a = TestOrg::new("settings-etag").await;
    for (path, first, second) in settings() {
        let read = a.admin().get(path).await;
        assert_eq!(read.status, 200, "{path}: {}", read.body);
        let etag = read.etag.clone().unwrap();
        assert_eq!(etag, format!("\"{}\"", read.body["version"]), "{path}");

        // a careless client that does not say what it read: 428
        let r = a.admin().put(path, first.clone()).await;
        assert_eq!(r.status, 428, "{path}: {}", r.body);
        assert_eq!(r.body["code"], "precondition_required");
        let r = a.admin().if_match("PUT", path, Some(&first), "soon").await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert_eq!(a.admin().get(path).await.body, read.body, "{path}");

        // admin A writes with what A read
        let by_a = a.admin().if_match("PUT", path, Some(&first), &etag).await;
        assert_eq!(by_a.status, 200, "{path}: {}", by_a.body);
        let new_etag = by_a.etag.clone().unwrap();
        assert_ne!(new_etag, etag, "{path}");
        assert_eq!(new_etag, format!("\"{}\"", by_a.body["version"]), "{path}");

        // admin B read before A wrote: refused, A's change kept
        let by_b = a.admin().if_match("PUT", path, Some(&second), &etag).await;
        assert_eq!(by_b.status, 412, "{path}: {}", by_b.body);
        assert_eq!(by_b.body["code"], "precondition_failed");
        let now = a.admin().get(path).await;
        assert_eq!(now.body, by_a.body, "{path}: A's change is kept");
        assert_eq!(now.etag, Some(new_etag.clone()), "{path}");

        // B reads again and writes on top; `*` is an explicit "whatever it is"
        let again = a
            .admin()
            .if_match("PUT", path, Some(&second), &new_etag)
            .await;
        assert_eq!(again.status, 200, "{path}: {}", again.body);
        let any = a.admin().if_match("PUT", path, Some(&first), "*").await;
        assert_eq!(any.status, 200, "{path}: {}", any.body);
    }

    // a change of one setting leaves the others' ETags current
    let catalog = a.admin().get("/catalog").await;
    let attributes = a.admin().get("/custom-attributes").await;
    let r = put_attributes_after(&a, &["region"], &attributes).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = put_after(&a, "/catalog", &catalogue(&["emea"]), &catalog).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        a.admin().get("/custom-attributes").await.body["attributes"],
        json!(["region"]),
        "the catalogue write kept the other admin's attributes"
    );

    // ops' writes are their own (no ETag), and make an admin's ETag stale
    let read = a.admin().get("/custom-attributes").await;
    user_sync_tests::set_custom_attributes(&a, &["fromOps"]).await;
    let r = put_attributes_after(&a, &["late"], &read).await;
    assert_eq!(r.status, 412, "{}", r.body);
    assert_eq!(
        a.admin().get("/custom-attributes").await.body["attributes"],
        json!(["fromOps"])
    );
}
