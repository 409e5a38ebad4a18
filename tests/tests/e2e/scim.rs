//! The SCIM endpoint as identity providers use it: lookups, filters, search,
//! lists and paging, groups, errors.

use serde_json::json;
use user_sync_tests::{TestOrg, UserBuilder, enc, new_org, scim_url};

async fn create_user(org: &TestOrg, user_name: &str, external_id: &str) -> String {
    let user = UserBuilder::new(user_name)
        .external_id(external_id)
        .name("G", "F")
        .email(&format!("{user_name}.work@example.com"));
    org.scim().create_user(user).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_and_entra_lookups_are_answered() {
    let org = new_org("lookup").await;

    // Okta's lookup before create: nothing yet is an empty 200 ListResponse
    let (status, empty) = org
        .scim()
        .send(
            "GET",
            &format!(
                "/Users?filter={}&startIndex=1&count=100",
                enc(r#"userName eq "okta@example.com""#)
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(empty["totalResults"], json!(0));
    assert_eq!(empty["startIndex"], json!(1));
    assert_eq!(empty["itemsPerPage"], json!(0));
    assert_eq!(empty["Resources"], json!([]));

    let id = create_user(&org, "okta@example.com", "00u1").await;
    create_user(&org, "other@example.com", "00u2").await;

    for filter in [
        r#"userName eq "OKTA@example.com""#.to_owned(),
        r#"externalId eq "00u1""#.to_owned(),
        format!(r#"id eq "{id}""#),
        r#"emails[type eq "work"].value eq "okta@example.com.work@example.com""#.to_owned(),
        r#"userName sw "okta" and active eq true"#.to_owned(),
        r#"not (userName eq "other@example.com")"#.to_owned(),
    ] {
        let (status, found) = org.scim().search("Users", &filter).await;
        assert_eq!(status, 200, "{filter}: {found}");
        assert_eq!(found["totalResults"], json!(1), "{filter}: {found}");
        assert_eq!(found["Resources"][0]["id"], id.as_str(), "{filter}");
    }

    // externalId compares exactly; an unknown one matches nothing
    let (_, none) = org.scim().search("Users", r#"externalId eq "00U1""#).await;
    assert_eq!(none["totalResults"], json!(0));

    // the same through POST /.search
    let (status, found) = org
        .scim()
        .search_by_post(
            "Users",
            json!({"filter": "userName co \"example\"",
                "startIndex": 1,
                "count": 1}),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], json!(2));
    assert_eq!(found["itemsPerPage"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_stable_and_complete() {
    let org = new_org("pages").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_user(&org, &format!("p{i}@example.com"), &format!("x{i}")).await);
    }
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let (status, page) = org
            .scim()
            .send("GET", &format!("/Users?startIndex={start}&count=2"), None)
            .await;
        assert_eq!(status, 200);
        assert_eq!(page["totalResults"], json!(5));
        assert_eq!(page["startIndex"], json!(start));
        for r in page["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
    }
    ids.sort();
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "every user once, across pages");
    let (_, again) = org
        .scim()
        .send("GET", "/Users?startIndex=1&count=2", None)
        .await;
    assert_eq!(
        again["Resources"][0]["id"],
        seen[0].as_str(),
        "same order on every call"
    );
    let (_, capped) = org.scim().send("GET", "/Users?count=100000", None).await;
    assert_eq!(capped["itemsPerPage"], json!(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_filtered_and_membership_checked() {
    let org = new_org("groups").await;
    let member = create_user(&org, "m@example.com", "m").await;
    let outsider = create_user(&org, "o@example.com", "o").await;
    let (status, g) = org
        .scim()
        .send(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Sales", "members": [{"value": member}]})),
        )
        .await;
    assert_eq!(status, 201);
    let gid = g["id"].as_str().unwrap().to_owned();
    org.scim()
        .send("POST", "/Groups", Some(json!({"displayName": "Support"})))
        .await;

    let (status, found) = org
        .scim()
        .search("Groups", r#"displayName eq "sales""#)
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], json!(1));
    assert_eq!(
        found["Resources"][0]["members"][0]["value"],
        member.as_str()
    );

    let (_, lean) = org
        .scim()
        .send(
            "GET",
            &format!(
                "/Groups?filter={}&excludedAttributes=members",
                enc(r#"displayName eq "Sales""#)
            ),
            None,
        )
        .await;
    assert!(lean["Resources"][0].get("members").is_none(), "{lean}");

    // Entra's membership check
    let (_, yes) = org
        .scim()
        .search(
            "Groups",
            &format!(r#"id eq "{gid}" and members[value eq "{member}"]"#),
        )
        .await;
    assert_eq!(yes["totalResults"], json!(1), "{yes}");
    let (_, no) = org
        .scim()
        .search(
            "Groups",
            &format!(r#"id eq "{gid}" and members[value eq "{outsider}"]"#),
        )
        .await;
    assert_eq!(no["totalResults"], json!(0), "{no}");

    let (_, all) = org.scim().send("GET", "/Groups", None).await;
    assert_eq!(all["totalResults"], json!(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filters_and_missing_tokens_get_scim_errors() {
    let org = new_org("hostile").await;
    let deep = format!(
        "{}userName eq \"x\"{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let (status, e) = org
        .scim()
        .send("POST", "/Users/.search", Some(json!({"filter": deep})))
        .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["scimType"], "invalidFilter");

    for bad in [
        r#"userName eq"#,
        r#"userName eq "x" and"#,
        r#"emails[type eq "work""#,
        "userName eq bare",
    ] {
        let (status, e) = org.scim().search("Users", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(e["scimType"], "invalidFilter", "{bad}");
    }

    // application/json is accepted; answers are application/scim+json
    let resp = reqwest::Client::new()
        .post(scim_url("/Users"))
        .bearer_auth(&org.scim_token)
        .header("content-type", "application/json")
        .body(json!({"userName": "plain-json@example.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["content-type"], "application/scim+json");
    let resp = reqwest::Client::new()
        .post(scim_url("/Users"))
        .bearer_auth(&org.scim_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("userName=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);

    let resp = reqwest::Client::new()
        .get(scim_url("/Users"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    assert!(
        resp.headers()
            .get("www-authenticate")
            .is_some_and(|v| v.to_str().unwrap().starts_with("Bearer"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_describes_the_endpoint() {
    let org = new_org("disc").await;
    let (status, spc) = org.scim().send("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], json!(200));

    let (status, types) = org.scim().send("GET", "/ResourceTypes", None).await;
    assert_eq!(status, 200);
    assert_eq!(types["totalResults"], json!(2));
    let (status, user_type) = org.scim().send("GET", "/ResourceTypes/User", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );

    let (status, schemas) = org.scim().send("GET", "/Schemas", None).await;
    assert_eq!(status, 200);
    assert_eq!(schemas["totalResults"], json!(3));
    let (status, group_schema) = org
        .scim()
        .send(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(group_schema["name"], "Group");
    let (status, _) = org.scim().send("GET", "/Schemas/urn:nope", None).await;
    assert_eq!(status, 404);

    let (status, e) = org.scim().send("DELETE", "/Schemas", None).await;
    assert_eq!(status, 405, "{e}");
    let (status, _) = org.scim().send("PATCH", "/Users", Some(json!({}))).await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_guard_writes_and_reads() {
    let org = new_org("etag").await;
    let id = create_user(&org, "v@example.com", "v").await;
    let url = scim_url(&format!("/Users/{id}"));

    // If-None-Match with the current version: 304, with another: 200
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&org.scim_token)
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 304);
    let resp = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&org.scim_token)
        .header("if-none-match", "W/\"7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    // If-Match with a stale version: 412 and nothing changes
    let patch = json!({"Operations": [{"op": "replace", "path": "title", "value": "Engineer"}]});
    let resp = reqwest::Client::new()
        .patch(&url)
        .bearer_auth(&org.scim_token)
        .header("if-match", "W/\"9\"")
        .header("content-type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 412);
    let resp = reqwest::Client::new()
        .patch(&url)
        .bearer_auth(&org.scim_token)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(patch.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["etag"], "W/\"2\"");
    let resp = reqwest::Client::new()
        .delete(&url)
        .bearer_auth(&org.scim_token)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 412);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_replaced_and_deleted() {
    let org = new_org("gput").await;
    let a = create_user(&org, "a@example.com", "a").await;
    let b = create_user(&org, "b@example.com", "b").await;
    let (_, g) = org
        .scim()
        .send(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Ops", "members": [{"value": a}]})),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();

    // Okta's Group Push: a full replace with the new member list and name
    let (status, replaced) = org.scim().send("PUT", &format!("/Groups/{gid}"), Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Operations", "members": [{"value": b}]})))
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["displayName"], "Operations");
    assert_eq!(
        replaced["members"],
        json!([{"value": b, "$ref": scim_url(&format!("/Users/{b}")), "type": "User"}])
    );
    let (_, fetched) = org
        .scim()
        .send("GET", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(fetched["members"].as_array().unwrap().len(), 1);
    assert_eq!(fetched["meta"]["version"], "W/\"2\"");

    let (status, _) = org
        .scim()
        .send("DELETE", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = org
        .scim()
        .send("GET", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(status, 404);
    let (_, check) = org
        .scim()
        .search(
            "Groups",
            &format!(r#"id eq "{gid}" and members[value eq "{b}"]"#),
        )
        .await;
    assert_eq!(check["totalResults"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_excluded_attributes_shape_responses() {
    let org = new_org("attrs").await;
    let id = create_user(&org, "s@example.com", "s").await;
    let (_, only) = org
        .scim()
        .send(
            "GET",
            &format!("/Users/{id}?attributes=userName,name.givenName"),
            None,
        )
        .await;
    assert_eq!(only["id"], id.as_str());
    assert_eq!(only["userName"], "s@example.com");
    assert_eq!(only["name"], json!({"givenName": "G"}));
    assert!(only.get("emails").is_none(), "{only}");

    let (_, without) = org
        .scim()
        .send(
            "GET",
            &format!("/Users/{id}?excludedAttributes=emails,name"),
            None,
        )
        .await;
    assert!(
        without.get("emails").is_none() && without.get("name").is_none(),
        "{without}"
    );
    assert_eq!(without["userName"], "s@example.com");

    let (status, found) = org
        .scim()
        .send(
            "POST",
            "/.search",
            Some(json!({"filter": "userName eq \"s@example.com\"", "attributes": ["userName"]})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], json!(1));
    assert!(found["Resources"][0].get("emails").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_attributes_the_organization_captures() {
    let org = new_org("custom").await;
    user_sync_tests::set_custom_attributes(&org, &["badgeNumber", "costCenterCode"]).await;
    let ext = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";

    let (status, schema) = org
        .scim()
        .send("GET", &format!("/Schemas/{ext}"), None)
        .await;
    assert_eq!(status, 200, "{schema}");
    let names: Vec<&str> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["badgeNumber", "costCenterCode"]);
    let (_, user_type) = org.scim().send("GET", "/ResourceTypes/User", None).await;
    assert_eq!(user_type["schemaExtensions"][1]["schema"], ext);

    let (status, user) = org
        .scim()
        .send(
            "POST",
            "/Users",
            Some(json!({"userName": "badge@example.com", ext: {"badgeNumber": "B-7"}})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert!(user["schemas"].as_array().unwrap().iter().any(|s| s == ext));
    let id = user["id"].as_str().unwrap().to_owned();

    let (status, e) = org
        .scim()
        .send(
            "POST",
            "/Users",
            Some(json!({"userName": "x@example.com", ext: {"shoeSize": "9"}})),
        )
        .await;
    assert_eq!(
        (status, e["scimType"].clone()),
        (400, json!("invalidValue"))
    );

    let (status, patched) = org.scim().send("PATCH", &format!("/Users/{id}"), Some(json!({"Operations": [{"op": "replace", "path": format!("{ext}:costCenterCode"), "value": "CC-1"}]})))
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched[ext]["costCenterCode"], "CC-1");

    let (_, found) = org
        .scim()
        .search("Users", &format!("{ext}:badgeNumber eq \"B-7\""))
        .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");

    // another organization has no such extension
    let other = new_org("plain").await;
    let (status, _) = other
        .scim()
        .send("GET", &format!("/Schemas/{ext}"), None)
        .await;
    assert_eq!(status, 404);
}
