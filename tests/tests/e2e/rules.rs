//! Rules from the admin's side, on the local stack: the seeds' example,
//! conflicting and unioned fields, reordering, deleting the only matching
//! rule, re-adding a user to a group, deleting a group, sync off then on,
//! explain, preview, the mass-suspension guardrail, ETags and the full-admin
//! invariant. Each test has its own organization.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_tests::{assert_problem, eventually, set_guardrail};

use crate::admin::{PIPELINE, TestOrg, id, products};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_example_then_reordering_changes_the_role() {
    let a = TestOrg::new("seeds").await;
    let ana = a.scim().user("ana").await;
    let emea = a.scim().group("EMEA Analysts").await;
    a.scim().members(&emea, "add", &[&ana]).await;
    let r1 = a
        .admin().rule(json!({"groupId": emea, "description": "EMEA Analysts → GoToTraining, Full Admin", "products": ["G2T"], "adminRole": {"type": "full_admin"}}))
        .await;
    let r2 = a
        .admin().rule(json!({"groupId": emea, "description": "EMEA Analysts → GoToMeeting, none", "products": ["G2M"], "adminRole": {"type": "none"}}))
        .await;
    assert_eq!(
        (r1["priority"].clone(), r2["priority"].clone()),
        (json!(1), json!(2))
    );
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    let account = a
        .until(&ana, "both products, Full Admin", |x| {
            x["role"] == "full_admin" && products(x) == ["G2M", "G2T"]
        })
        .await;
    assert_eq!(account["status"], "active");

    // explain: which rule gave what
    let e = a.admin().get(&format!("/users/{ana}/assignment")).await;
    assert_eq!(e.status, 200, "{}", e.body);
    let matched: Vec<String> = e.body["matchingRules"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(matched, [id(&r1), id(&r2)]);
    let p = &e.body["assignment"]["provenance"];
    assert_eq!(p["adminRole"], r1["id"]);
    assert_eq!(p["products"]["G2M"], json!([r2["id"]]));
    assert_eq!(p["products"]["G2T"], json!([r1["id"]]));
    assert_eq!(e.body["groups"][0]["displayName"], "EMEA Analysts");
    eventually("explain shows the applied generation", PIPELINE, || async {
        let e = a.admin().get(&format!("/users/{ana}/assignment")).await;
        (e.body["applied"]["inSync"] == true && e.body["lastOutcome"]["lastOutcome"] == "success")
            .then_some(())
    })
    .await;

    // preview a reorder: the role would change, no product would
    let order = json!([id(&r2), id(&r1)]);
    let pv = a
        .admin()
        .post(
            "/rules/preview",
            json!({"change": {"kind": "reorder", "order": order}}),
        )
        .await;
    assert_eq!(pv.status, 200, "{}", pv.body);
    assert_eq!(pv.body["totals"]["changedUsers"], 1);
    assert_eq!(pv.body["totals"]["roleChanged"], 1);
    assert_eq!(
        pv.body["users"][0]["change"]["role"],
        json!(["full_admin", "none"])
    );
    assert_eq!(pv.body["fullAdminRuleAfter"], true);

    // two admins reorder from the same list: one wins, the other gets 412
    let list = a.admin().get("/rules").await;
    let etag = list.etag.clone().unwrap();
    let first = a
        .admin()
        .if_match("PUT", "/rules/order", Some(&json!({"order": order})), &etag)
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = a
        .admin()
        .if_match(
            "PUT",
            "/rules/order",
            Some(&json!({"order": [id(&r1), id(&r2)]})),
            &etag,
        )
        .await;
    assert_problem(&second, 412, "precondition_failed");
    assert_eq!(first.body["rules"][0]["id"], r2["id"]);
    assert_eq!(first.body["rules"][0]["priority"], 1);

    // rule #1 now says "none": the role follows, the products stay
    let account = a
        .until(&ana, "the role from the new rule #1", |x| {
            x["role"] == "none"
        })
        .await;
    assert_eq!(products(&account), ["G2M", "G2T"]);

    // and back with "up" on the Full Admin rule
    let moved = a
        .admin()
        .post(
            &format!("/rules/{}/move", id(&r1)),
            json!({"direction": "up"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["rules"][0]["id"], r1["id"]);
    a.until(&ana, "Full Admin again", |x| x["role"] == "full_admin")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_rule_wins_single_fields_and_device_groups_are_unioned() {
    let a = TestOrg::new("union").await;
    let bo = a.scim().user("bo").await;
    let sales = a.scim().group("Sales").await;
    let support = a.scim().group("Support").await;
    a.scim().members(&sales, "add", &[&bo]).await;
    a.scim().members(&support, "add", &[&bo]).await;
    // both products take device groups; the lists name what the rules do
    a.simulator()
        .set_products(json!([
            {"id": "G2M", "name": "GoTo Meeting", "deviceGroups": true},
            {"id": "G2A", "name": "GoTo Admin", "deviceGroups": true}
        ]))
        .await;
    let entries = |ids: &[&str]| -> Value {
        ids.iter()
            .map(|i| json!({"id": i, "name": i}))
            .collect::<Vec<_>>()
            .into()
    };
    user_sync_tests::set_catalog(
        &a,
        json!({
            "userGroups": entries(&["Sales team", "Support team"]),
            "deviceGroups": entries(&["laptops", "kiosks"]),
            "settingsTemplates": entries(&["sales-default"])
        }),
    )
    .await;
    a.admin().rule(json!({"groupId": sales, "products": ["G2M"], "userGroup": "Sales team", "deviceGroups": ["laptops"], "settingsTemplate": "sales-default"}))
        .await;
    a.admin().rule(json!({"groupId": support, "products": ["G2A"], "userGroup": "Support team", "deviceGroups": ["kiosks"], "adminRole": {"type": "full_admin"}}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    let account = a
        .until(&bo, "the account", |x| x["status"] == "active")
        .await;
    assert_eq!(account["userGroup"], "Sales team");
    assert_eq!(account["deviceGroups"], json!(["kiosks", "laptops"]));
    assert_eq!(products(&account), ["G2A", "G2M"]);
    assert_eq!(account["settingsTemplate"], "sales-default");
    assert_eq!(account["role"], "full_admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_only_matching_rule_suspends_behind_the_guardrail_and_a_group_brings_the_user_back()
 {
    let a = TestOrg::new("guard").await;
    let admin = a.scim().user("admin").await;
    let cy = a.scim().user("cy").await;
    let admins = a.scim().group("Admins").await;
    let staff = a.scim().group("Staff").await;
    let sales = a.scim().group("Sales").await;
    a.scim().members(&admins, "add", &[&admin]).await;
    a.scim().members(&staff, "add", &[&cy]).await;
    a.admin()
        .rule(json!({"groupId": admins, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    let staff_rule = a
        .admin()
        .rule(json!({"groupId": staff, "products": ["G2W"]}))
        .await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    a.until(&cy, "cy's account", |x| {
        x["status"] == "active" && products(x) == ["G2W"]
    })
    .await;
    a.until(&admin, "admin's account", |x| x["status"] == "active")
        .await;

    // the preview says what deleting the staff rule would do
    let pv = a
        .admin()
        .post(
            "/rules/preview",
            json!({"change": {"kind": "delete", "id": staff_rule["id"]}}),
        )
        .await;
    assert_eq!(pv.status, 200, "{}", pv.body);
    assert_eq!(pv.body["totals"]["suspended"], 1);
    assert_eq!(pv.body["totals"]["productsRemoved"], json!({"G2W": 1}));
    assert_eq!(pv.body["guardrail"]["suspended"], 1);
    assert_eq!(pv.body["guardrail"]["directoryUsers"], 2);
    assert_eq!(pv.body["guardrail"]["thresholdPercent"], 10);
    assert_eq!(pv.body["guardrail"]["confirmationRequired"], true);
    assert_eq!(pv.body["users"][0]["userId"], cy.as_str());
    assert_eq!(pv.body["users"][0]["after"]["status"], "suspended");

    // DELETE needs If-Match, then the guardrail asks for confirmation
    let rid = id(&staff_rule);
    let r = a.admin().delete(&format!("/rules/{rid}")).await;
    assert_eq!(r.status, 428, "{}", r.body);
    let etag = a.admin().get(&format!("/rules/{rid}")).await.etag.unwrap();
    let r = a
        .admin()
        .if_match("DELETE", &format!("/rules/{rid}"), None, &etag)
        .await;
    assert_problem(&r, 409, "mass_suspension");
    let message = r.body["detail"].as_str().unwrap();
    assert!(
        message.contains("1 of the organization's 2 users"),
        "{message}"
    );
    let r = a
        .admin()
        .if_match("DELETE", &format!("/rules/{rid}?confirm=true"), None, &etag)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let suspended = a
        .until(&cy, "cy suspended", |x| x["status"] == "suspended")
        .await;
    assert_eq!(suspended["products"], json!([]));

    // a rule on Sales, then cy joins Sales: active again
    a.admin()
        .rule(json!({"groupId": sales, "products": ["G2M"]}))
        .await;
    a.scim().members(&sales, "add", &[&cy]).await;
    a.until(&cy, "cy back with G2M", |x| {
        x["status"] == "active" && products(x) == ["G2M"]
    })
    .await;

    // the directory deletes Sales: cy loses the only matching rule again
    let (status, _) = a
        .scim()
        .send("DELETE", &format!("/Groups/{sales}"), None)
        .await;
    assert_eq!(status, 204);
    a.until(&cy, "cy suspended with the group gone", |x| {
        x["status"] == "suspended"
    })
    .await;

    let activity = a.admin().get("/activity?limit=200").await;
    let actions: Vec<&str> = activity.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"rule_deleted"), "{actions:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_off_then_on_catches_up_and_sync_on_is_guarded() {
    let a = TestOrg::new("catchup").await;
    let dee = a.scim().user("dee").await;
    let eve = a.scim().user("eve").await;
    let fay = a.scim().user("fay").await;
    let team = a.scim().group("Team").await;
    a.scim().members(&team, "add", &[&dee]).await;
    let team_rule = a
        .admin()
        .rule(json!({"groupId": team, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;

    // two of three users match no rule; they have no product account, and
    // turning sync on makes none: nothing to suspend, nothing to ask
    let pv = a
        .admin()
        .post("/rules/preview", json!({"change": {"kind": "sync_on"}}))
        .await;
    assert_eq!(pv.body["totals"]["affectedUsers"], 3);
    // only dee gets an account: a user no rule entitles gets none
    assert_eq!(pv.body["totals"]["newAccounts"], 1);
    assert_eq!(pv.body["totals"]["changedUsers"], 1);
    assert_eq!(pv.body["totals"]["suspended"], 0);
    assert_eq!(pv.body["guardrail"]["suspended"], 0);
    assert_eq!(pv.body["guardrail"]["confirmationRequired"], false);
    assert_eq!(pv.body["seats"][0]["product"], "G2M");
    assert_eq!(pv.body["seats"][0]["additional"], 1);
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    a.until(&dee, "dee's account", |x| x["status"] == "active")
        .await;
    assert!(
        a.simulator().account(&eve).await.is_none(),
        "no rule entitles eve"
    );
    a.scim().members(&team, "add", &[&eve, &fay]).await;
    for u in [&dee, &eve, &fay] {
        a.until(u, "the account", |x| x["status"] == "active").await;
    }

    // off: the directory keeps changing, nothing is applied
    assert_eq!(a.admin().sync(false, false).await.status, 200);
    // and a rule change is never asked: the preview counts, but needs no
    // confirmation
    let pv = a
        .admin()
        .post(
            "/rules/preview",
            json!({"change": {"kind": "delete", "id": team_rule["id"]}}),
        )
        .await;
    assert_eq!(pv.body["guardrail"]["suspended"], 3, "{}", pv.body);
    assert_eq!(pv.body["guardrail"]["confirmationRequired"], false);
    let gus = a.scim().user("gus").await;
    a.scim().members(&team, "add", &[&gus]).await;
    a.scim().members(&team, "remove", &[&fay]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        a.simulator().account(&gus).await.is_none(),
        "nothing applied while sync is off"
    );
    assert_eq!(
        a.simulator().account(&fay).await.unwrap()["status"],
        "active"
    );

    // on again: 1 of 4 would be suspended (25 %), so it asks first; with
    // the organization's guardrail raised to 30 % it does not
    let r = a.admin().sync(true, false).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("1 of the organization's 4 users (25.0 %)"),
        "{}",
        r.body
    );
    set_guardrail(&a, 30).await;
    assert_eq!(a.admin().sync(true, false).await.status, 200);
    a.until(&gus, "gus caught up", |x| x["status"] == "active")
        .await;
    a.until(&fay, "fay caught up", |x| x["status"] == "suspended")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rule_writes_need_the_current_etag_and_keep_a_full_admin_rule_while_sync_is_on() {
    let a = TestOrg::new("etag").await;
    let g = a.scim().group("Admins").await;
    let h = a.scim().group("Others").await;
    let fa = a
        .admin()
        .rule(json!({"groupId": g, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    let other = a
        .admin()
        .rule(json!({"groupId": h, "products": ["G2W"], "priority": 1}))
        .await;
    assert_eq!(other["priority"], 1, "inserted at the top");
    let list = a.admin().get("/rules").await;
    let ids: Vec<String> = list.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, [id(&other), id(&fa)]);
    assert_eq!(a.admin().sync(true, false).await.status, 200);

    let path = format!("/rules/{}", id(&fa));
    let got = a.admin().get(&path).await;
    let etag = got.etag.clone().unwrap();
    // no If-Match: 428; a stale one: 412
    let r = a
        .admin()
        .request("PATCH", &path, Some(&json!({"description": "x"})), &[])
        .await;
    assert_eq!(r.status, 428);
    let r = a
        .admin()
        .if_match(
            "PATCH",
            &path,
            Some(&json!({"description": "x"})),
            "\"999\"",
        )
        .await;
    assert_eq!(r.status, 412);
    // losing the last Full Admin while sync is on: refused
    let r = a
        .admin()
        .if_match(
            "PATCH",
            &path,
            Some(&json!({"adminRole": {"type": "none"}})),
            &etag,
        )
        .await;
    assert_problem(&r, 409, "full_admin_rule_required");
    let r = a.admin().if_match("DELETE", &path, None, &etag).await;
    assert_eq!(r.status, 409);
    // a description edit is fine; two admins with the same ETag: one 412
    let first = a
        .admin()
        .if_match(
            "PATCH",
            &path,
            Some(&json!({"description": "Admins get everything"})),
            &etag,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["description"], "Admins get everything");
    assert_eq!(first.body["version"], 2);
    assert_eq!(first.etag.as_deref(), Some("\"2\""));
    let second = a
        .admin()
        .if_match(
            "PATCH",
            &path,
            Some(&json!({"description": "something else"})),
            &etag,
        )
        .await;
    assert_eq!(second.status, 412);
    // PUT replaces: fields left out are cleared, unknown fields refused
    let r = a
        .admin()
        .if_match(
            "PUT",
            &path,
            Some(&json!({"groupId": g, "adminRole": {"type": "full_admin"}, "colour": "red"})),
            "\"2\"",
        )
        .await;
    assert_problem(&r, 422, "unknown_field");
    let r = a
        .admin()
        .if_match(
            "PUT",
            &path,
            Some(&json!({"groupId": g, "adminRole": {"type": "full_admin"}, "priority": 1})),
            "\"2\"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["products"], json!([]));
    assert_eq!(r.body["priority"], 1);
    let list = a.admin().get("/rules").await;
    let prios: Vec<(String, u64)> = list.body["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (id(r), r["priority"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        prios,
        [(id(&fa), 1), (id(&other), 2)],
        "priorities stay dense"
    );
    let r = a.admin().get("/rules/nope").await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_groups_are_listed_searched_and_read_only() {
    let a = TestOrg::new("groups").await;
    let ann = a.scim().user("ann").await;
    let bob = a.scim().user("bob").await;
    let emea = a.scim().group("EMEA Analysts").await;
    let apac = a.scim().group("APAC Analysts").await;
    a.scim().group("Sales").await;
    a.scim().members(&emea, "add", &[&ann, &bob]).await;
    a.scim().members(&apac, "add", &[&bob]).await;

    let all = a.admin().get("/groups").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(all.body["nextCursor"], Value::Null);

    // search ignores case; counts are the members
    let found = a.admin().get("/groups?search=analysts").await;
    let mut names: Vec<(String, u64)> = found.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["displayName"].as_str().unwrap().to_owned(),
                g["memberCount"].as_u64().unwrap(),
            )
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("APAC Analysts".to_owned(), 1),
            ("EMEA Analysts".to_owned(), 2)
        ]
    );

    // pages of one, in id order, until the cursor runs out
    let mut seen = Vec::new();
    let mut path = "/groups?limit=1".to_owned();
    loop {
        let page = a.admin().get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        seen.extend(items.iter().map(id));
        match page.body["nextCursor"].as_str() {
            Some(c) => path = format!("/groups?limit=1&cursor={c}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 3);

    let members = a.admin().get(&format!("/groups/{emea}/members")).await;
    assert_eq!(members.status, 200, "{}", members.body);
    let mut ids: Vec<String> = members.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    ids.sort();
    let mut expected = vec![ann.clone(), bob.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    let one = a.admin().get(&format!("/groups/{apac}")).await;
    assert_eq!(one.body["memberCount"], 1);

    // groups come from the directory: no writes here
    for (method, path) in [
        ("POST", "/groups".to_owned()),
        ("PUT", format!("/groups/{emea}")),
        ("PATCH", format!("/groups/{emea}")),
        ("DELETE", format!("/groups/{emea}")),
        ("POST", format!("/groups/{emea}/members")),
    ] {
        let r = a
            .admin()
            .request(method, &path, Some(&json!({"displayName": "x"})), &[])
            .await;
        assert_eq!(r.status, 405, "{method} {path}: {}", r.body);
        assert_eq!(r.body["code"], "read_only");
    }
    // another organization's group is not found
    let other = TestOrg::new("groups-other").await;
    let r = other.admin().get(&format!("/groups/{emea}")).await;
    assert_eq!(r.status, 404);
    let r = a.admin().get("/groups?limit=0").await;
    assert_eq!(r.status, 400);
}
