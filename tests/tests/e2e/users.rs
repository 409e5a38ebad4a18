//! Users and sync progress from the admin's side, on the local stack: the
//! users list with each sync status, a failure class, search and pages,
//! another organization's user; `GET /sync` counts moving from pending to in
//! sync; custom attributes set through the admin API and captured from a
//! SCIM user. Each test has its own organization.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use user_sync_tests::{enc, eventually, stack};

use crate::admin::{PATCH_OP, PIPELINE, TestOrg};

/// A call to the product API simulator's control API.
async fn sim(org: &TestOrg, method: &str, path: &str, body: Option<Value>) {
    let url = format!("{}/control{path}", stack().product_api_url);
    let (status, v) = org.client.send(method, &url, None, body.as_ref()).await;
    assert_eq!(status, 200, "{method} {path}: {v}");
}

/// `GET /users` with this query: the page.
async fn list_users(org: &TestOrg, query: &str) -> Value {
    let a = org.admin().get(&format!("/users?{query}")).await;
    assert_eq!(a.status, 200, "{query}: {}", a.body);
    a.body
}

/// The ids of the users of a `GET /users` page.
pub(crate) async fn listed(org: &TestOrg, query: &str) -> BTreeSet<String> {
    ids(&list_users(org, query).await)
}

/// The `progress` of `GET /sync`.
pub(crate) async fn progress(org: &TestOrg) -> Value {
    let a = org.admin().get("/sync").await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["fanOuts"].is_array(), "{}", a.body);
    a.body["progress"].clone()
}

fn ids(page: &Value) -> BTreeSet<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) fn set(users: &[&String]) -> BTreeSet<String> {
    users.iter().map(|u| (*u).clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_by_sync_status_failure_class_search_and_pages_and_progress_counts() {
    let a = TestOrg::new("users").await;
    let org = a.org_id.clone();
    sim(
        &a,
        "PUT",
        &format!("/orgs/{org}/seats"),
        Some(json!({"G2W": 2})),
    )
    .await;
    let ana = a.scim().user_named("ana", "Ana").await;
    let bob = a.scim().user("bob").await;
    let cy = a.scim().user("cy").await;
    // in no group: no rule entitles dan, who never gets an account
    let dan = a.scim().user("dan").await;
    let everyone = a.scim().group_with("Everyone", &[&ana, &bob, &cy]).await;
    a.admin()
        .rule(
            json!({"groupId": everyone, "products": ["G2W"], "adminRole": {"type": "full_admin"}}),
        )
        .await;
    let all = set(&[&ana, &bob, &cy, &dan]);

    // sync is off: nobody has a desired state yet
    assert_eq!(listed(&a, "status=not_synced").await, all);
    assert!(listed(&a, "status=in_sync").await.is_empty());
    let p = progress(&a).await;
    assert_eq!(
        (&p["total"], &p["notSynced"], &p["inSync"], &p["exact"]),
        (&json!(4), &json!(4), &json!(0), &json!(true)),
        "{p}"
    );

    // search: part of the userName or email, any case
    assert_eq!(listed(&a, "search=ANA.").await, set(&[&ana]));
    assert_eq!(listed(&a, "search=example.com&limit=200").await, all);
    assert!(listed(&a, "search=nobody-here").await.is_empty());

    // pages of 2, in id order, until nextCursor is null
    let mut seen = BTreeSet::new();
    let mut cursor: Option<String> = None;
    for _ in 0..4 {
        let query = match &cursor {
            None => "limit=2".to_owned(),
            Some(c) => format!("limit=2&cursor={c}"),
        };
        let page = list_users(&a, &query).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        for u in items {
            assert!(seen.insert(u["id"].as_str().unwrap().to_owned()), "{page}");
        }
        cursor = page["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, all);
    assert_eq!(cursor, None);

    // a slow product API: the entitled users wait, pending, and GET /sync
    // says so; dan has no account and nothing to apply: counted as "no
    // rule", on his own, never in sync
    sim(
        &a,
        "PUT",
        &format!("/orgs/{org}/faults"),
        Some(json!({"latencyMs": 4_000})),
    )
    .await;
    // the guardrail counts dan, whom no rule entitles, as a quarter of the
    // users to suspend: confirmed
    assert_eq!(a.admin().sync(true, true).await.status, 200);
    let p = eventually("every entitled user pending", PIPELINE, || async {
        let p = progress(&a).await;
        // dan's state may be stored a moment after the others'
        (p["pending"] == 3 && p["noRule"] == 1).then_some(p)
    })
    .await;
    assert_eq!(
        (
            &p["jobsInFlight"],
            &p["inSync"],
            &p["entitled"],
            &p["suspended"]
        ),
        (&json!(3), &json!(0), &json!(3), &json!(0)),
        "{p}"
    );
    assert_eq!(listed(&a, "status=pending").await, set(&[&ana, &bob, &cy]));
    assert!(listed(&a, "status=in_sync").await.is_empty());
    assert_eq!(listed(&a, "status=no_rule").await, set(&[&dan]));
    sim(&a, "DELETE", &format!("/orgs/{org}/faults"), None).await;

    // then 2 seats for 3 users: two in sync, one out of licenses; dan has
    // still no rule and no account
    let p = eventually("pending to in sync", PIPELINE, || async {
        let p = progress(&a).await;
        // the counts and the failures index are read one after the other: a
        // failure recorded in between shows in the next answer
        (p["pending"] == 0
            && p["inSync"] == 2
            && p["failed"] == 1
            && p["failedByClass"] == json!({"out_of_licenses": 1}))
        .then_some(p)
    })
    .await;
    assert_eq!(
        (
            &p["total"],
            &p["notSynced"],
            &p["jobsInFlight"],
            &p["deadLettered"],
            &p["noRule"],
            &p["entitled"]
        ),
        (
            &json!(4),
            &json!(0),
            &json!(0),
            &json!(1),
            &json!(1),
            &json!(3)
        ),
        "{p}"
    );
    assert_eq!(p["failedByClass"], json!({"out_of_licenses": 1}), "{p}");
    assert_eq!(p["failures"][0]["product"], "G2W", "{p}");
    assert!(p["lastChangeProcessed"]["at"].is_string(), "{p}");

    let failed = listed(&a, "status=failed").await;
    assert_eq!(failed.len(), 1);
    let in_sync = listed(&a, "status=in_sync").await;
    assert_eq!(in_sync.len(), 2);
    assert!(!in_sync.contains(&dan));
    assert_eq!(listed(&a, "status=no_rule").await, set(&[&dan]));
    assert!(listed(&a, "status=pending").await.is_empty());
    assert!(listed(&a, "status=not_synced").await.is_empty());

    // the failure class filter reads the failures index
    let page = list_users(&a, "failureClass=out_of_licenses").await;
    assert_eq!(ids(&page), failed);
    let who = &page["items"][0];
    assert_eq!(who["syncStatus"], "failed");
    assert_eq!(
        who["failure"],
        json!({"class": "out_of_licenses", "product": "G2W"})
    );
    assert_eq!(who["lastOutcome"], "failure");
    assert_eq!(who["attempts"], 1);
    assert_eq!(who["desiredGeneration"], 1);
    assert_eq!(who["appliedGeneration"], 0);
    assert_eq!(who["products"], json!(["G2W"]));
    assert_eq!(who["adminRole"], json!({"type": "full_admin"}));
    assert_eq!(
        listed(&a, "failureClass=out_of_licenses&product=G2W&status=failed").await,
        failed
    );
    assert!(listed(&a, "failureClass=existing_account").await.is_empty());
    let lone = failed.iter().next().unwrap();
    let name = if *lone == ana { "bob" } else { "ana" };
    assert!(
        listed(&a, &format!("failureClass=out_of_licenses&search={name}."))
            .await
            .is_empty()
    );

    // one user, with the directory's attributes; dan has no products
    let one = a.admin().get(&format!("/users/{ana}")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["userName"], a.email("ana"));
    assert_eq!(one.body["name"], "Ana Test");
    assert_eq!(one.body["directoryStatus"], "active");
    assert_eq!(one.body["directory"]["givenName"], "Ana");
    assert_eq!(one.body["customAttributes"], json!({}));
    let dan_page = list_users(&a, &format!("search={}", a.email("dan"))).await;
    assert_eq!(dan_page["items"][0]["syncStatus"], "no_rule");
    assert_eq!(dan_page["items"][0]["products"], json!([]));
    assert_eq!(dan_page["items"][0]["adminRole"], json!({"type": "none"}));

    // another organization sees none of it
    let other = TestOrg::new("users-other").await;
    let theirs = other.admin().get(&format!("/users/{ana}")).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert!(listed(&other, "").await.is_empty());
    assert_eq!(progress(&other).await["total"], 0);

    // queries it does not know
    for bad in [
        "status=done",
        "failureClass=nope",
        "failureClass=out_of_licenses&status=pending",
        "limit=0",
        "limit=201",
        "cursor=a%23b",
        "failureClass=email_failed&cursor=zz.u",
    ] {
        let r = a.admin().get(&format!("/users?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let missing = a.admin().get("/users/no-such-user").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_attributes_round_trip_and_show_on_a_scim_user() {
    let a = TestOrg::new("custom").await;
    let get = a.admin().get("/custom-attributes").await;
    assert_eq!(
        (get.status, get.body.clone()),
        (200, json!({"attributes": [], "version": 0}))
    );
    assert_eq!(get.etag.as_deref(), Some("\"0\""));

    let names = json!({"attributes": ["employeeNumber", "costCenter", "badgeNumber"]});
    let put = a
        .admin()
        .if_match("PUT", "/custom-attributes", Some(&names), "\"0\"")
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["attributes"], names["attributes"]);
    let get = a.admin().get("/custom-attributes").await;
    assert_eq!(get.body["attributes"], names["attributes"]);

    // refused, naming the field
    for bad in [
        json!({"attributes": ["badge number"]}),
        json!({"attributes": ["badge", "BADGE"]}),
        json!({"attributes": ["7up"]}),
        json!({"attributes": (0..51).map(|i| format!("a{i}")).collect::<Vec<_>>()}),
    ] {
        let r = a.admin().put("/custom-attributes", bad.clone()).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.to_string().contains("attributes"), "{}", r.body);
    }
    let r = a
        .admin()
        .put("/custom-attributes", json!({"names": []}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        a.admin().get("/custom-attributes").await.body["attributes"],
        names["attributes"]
    );

    // the change is in the history, by the admin
    let history = a.admin().get("/activity").await;
    let changed: Vec<&Value> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "custom_attributes_changed")
        .collect();
    assert_eq!(changed.len(), 1, "{}", history.body);
    assert_eq!(changed[0]["actor"], "Admin");
    assert_eq!(changed[0]["details"]["attributes"], names["attributes"]);

    // SCIM now takes them; the user shows the values captured
    let email = a.email("ada");
    let (status, user) = a
        .scim()
        .send(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:usersync:2.0:User"],
                "userName": email,
                "name": {"givenName": "Ada", "familyName": "Test"},
                "emails": [{"primary": true, "value": email, "type": "work"}],
                "active": true,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                    "employeeNumber": "701", "department": "R&D"
                },
                "urn:ietf:params:scim:schemas:extension:usersync:2.0:User": {
                    "badgeNumber": "B7", "costCenter": "CC-1"
                }
            })),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    let id = user["id"].as_str().unwrap();
    let one = a.admin().get(&format!("/users/{id}")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(
        one.body["customAttributes"],
        json!({"employeeNumber": "701", "costCenter": "CC-1", "badgeNumber": "B7"})
    );
    assert_eq!(one.body["directory"]["enterprise"]["department"], "R&D");
    assert_eq!(one.body["syncStatus"], "not_synced");
}

/// `PUT /custom-attributes` with the ETag just read.
async fn set_attributes(a: &TestOrg, names: Value) {
    let read = a.admin().get("/custom-attributes").await;
    let put = a
        .admin()
        .if_match(
            "PUT",
            "/custom-attributes",
            Some(&json!({ "attributes": names })),
            read.etag.as_deref().unwrap(),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_values_are_bounded_one_per_name_and_go_with_their_attribute() {
    const EXT: &str = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";
    let a = TestOrg::new("custom-values").await;
    set_attributes(&a, json!(["badgeNumber", "costCenter"])).await;
    let email = a.email("cv");
    let user = |ext: Value| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
            "userName": email,
            "emails": [{"primary": true, "value": email, "type": "work"}],
            EXT: ext
        })
    };

    // an identity provider sending 100,000 characters, or one attribute in
    // two cases: refused, nothing stored
    for ext in [
        json!({"badgeNumber": "x".repeat(100_000)}),
        json!({"badgeNumber": "B1", "BADGENUMBER": "B2"}),
        json!({"costCenter": 42}),
    ] {
        let (status, body) = a
            .scim()
            .send("POST", "/Users", Some(user(ext.clone())))
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["scimType"], "invalidValue", "{body}");
    }
    let (status, list) = a
        .scim()
        .search("Users", &format!("userName eq \"{email}\""))
        .await;
    assert_eq!((status, list["totalResults"].clone()), (200, json!(0)));

    // one value in another case is kept under the organization's name
    let (status, created) = a
        .scim()
        .send(
            "POST",
            "/Users",
            Some(user(json!({"BADGENUMBER": "B7", "costCenter": "CC-1"}))),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        created[EXT],
        json!({"badgeNumber": "B7", "costCenter": "CC-1"})
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/Users/{id}");

    // PATCH in yet another case replaces the one value; too long is refused
    let patch = |ops: Value| json!({"schemas": [PATCH_OP], "Operations": ops});
    let (status, patched) = a
        .scim()
        .send(
            "PATCH",
            &path,
            Some(patch(
                json!([{"op": "replace", "path": format!("{EXT}:badgenumber"), "value": "B8"}]),
            )),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        patched[EXT],
        json!({"badgeNumber": "B8", "costCenter": "CC-1"})
    );
    for ops in [
        json!([{"op": "add", "path": format!("{EXT}:costCenter"), "value": "y".repeat(1_025)}]),
        json!([{"op": "add", "value": {EXT: {"costCenter": "C1", "COSTCENTER": "C2"}}}]),
    ] {
        let (status, body) = a.scim().send("PATCH", &path, Some(patch(ops))).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["scimType"], "invalidValue", "{body}");
    }
    let by_cost_center = format!(
        "/Users?filter={}",
        enc(&format!("{EXT}:costCenter eq \"CC-1\""))
    );
    let (_, found) = a.scim().send("GET", &by_cost_center, None).await;
    assert_eq!(found["totalResults"], 1, "{found}");

    // the organization stops capturing costCenter: its value is neither
    // returned nor matched, at once
    set_attributes(&a, json!(["badgeNumber"])).await;
    let (_, got) = a.scim().send("GET", &path, None).await;
    assert_eq!(got[EXT], json!({"badgeNumber": "B8"}), "{got}");
    let (_, found) = a.scim().send("GET", &by_cost_center, None).await;
    assert_eq!(found["totalResults"], 0, "{found}");
    let (_, listed) = a
        .scim()
        .search("Users", &format!("userName eq \"{email}\""))
        .await;
    assert_eq!(listed["Resources"][0][EXT], json!({"badgeNumber": "B8"}));
    let one = a.admin().get(&format!("/users/{id}")).await;
    assert_eq!(one.body["customAttributes"], json!({"badgeNumber": "B8"}));

    // and the user's next write drops it: captured again, it is not back
    let (status, _) = a
        .scim()
        .send(
            "PATCH",
            &path,
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "Analyst"}]),
            )),
        )
        .await;
    assert_eq!(status, 200);
    set_attributes(&a, json!(["badgeNumber", "costCenter"])).await;
    let (_, got) = a.scim().send("GET", &path, None).await;
    assert_eq!(got[EXT], json!({"badgeNumber": "B8"}), "{got}");
    let (_, found) = a.scim().send("GET", &by_cost_center, None).await;
    assert_eq!(found["totalResults"], 0, "{found}");
}
