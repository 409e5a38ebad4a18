//! The SCIM endpoint as identity providers use it: lookups, filters, search,
//! lists and paging, groups, errors.

use serde_json::{Value, json};
use user_sync_tests::{Client, TestOrg, enc, new_org, stack};

async fn create_user(c: &Client, org: &TestOrg, user_name: &str, external_id: &str) -> String {
    let (status, u) = c
        .send(
            "POST",
            &format!("{}/Users", stack().scim_url),
            Some(&org.scim_token),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "externalId": external_id,
                "name": {"givenName": "G", "familyName": "F"},
                "emails": [{"value": format!("{user_name}.work@example.com"), "type": "work", "primary": true}],
                "active": true
            })),
        )
        .await;
    assert_eq!(status, 201, "{u}");
    u["id"].as_str().unwrap().to_owned()
}

async fn search(c: &Client, org: &TestOrg, resource: &str, filter: &str) -> (u16, Value) {
    c.send(
        "GET",
        &format!("{}/{resource}?filter={}", stack().scim_url, enc(filter)),
        Some(&org.scim_token),
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okta_and_entra_lookups_are_answered() {
    let org = new_org("lookup").await;
    let c = Client::new();

    // Okta's lookup before create: nothing yet is an empty 200 ListResponse
    let (status, empty) = c
        .send(
            "GET",
            &format!(
                "{}/Users?filter={}&startIndex=1&count=100",
                stack().scim_url,
                enc(r#"userName eq "okta@example.com""#)
            ),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(empty["totalResults"], json!(0));
    assert_eq!(empty["startIndex"], json!(1));
    assert_eq!(empty["itemsPerPage"], json!(0));
    assert_eq!(empty["Resources"], json!([]));

    let id = create_user(&c, &org, "okta@example.com", "00u1").await;
    create_user(&c, &org, "other@example.com", "00u2").await;

    for filter in [
        r#"userName eq "OKTA@example.com""#.to_owned(),
        r#"externalId eq "00u1""#.to_owned(),
        format!(r#"id eq "{id}""#),
        r#"emails[type eq "work"].value eq "okta@example.com.work@example.com""#.to_owned(),
        r#"userName sw "okta" and active eq true"#.to_owned(),
        r#"not (userName eq "other@example.com")"#.to_owned(),
    ] {
        let (status, found) = search(&c, &org, "Users", &filter).await;
        assert_eq!(status, 200, "{filter}: {found}");
        assert_eq!(found["totalResults"], json!(1), "{filter}: {found}");
        assert_eq!(found["Resources"][0]["id"], id.as_str(), "{filter}");
    }

    // externalId compares exactly; an unknown one matches nothing
    let (_, none) = search(&c, &org, "Users", r#"externalId eq "00U1""#).await;
    assert_eq!(none["totalResults"], json!(0));

    // the same through POST /.search
    let (status, found) = c
        .send(
            "POST",
            &format!("{}/Users/.search", stack().scim_url),
            Some(&org.scim_token),
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName co \"example\"",
                "startIndex": 1,
                "count": 1
            })),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], json!(2));
    assert_eq!(found["itemsPerPage"], json!(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_stable_and_complete() {
    let org = new_org("pages").await;
    let c = Client::new();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_user(&c, &org, &format!("p{i}@example.com"), &format!("x{i}")).await);
    }
    let mut seen = Vec::new();
    for start in [1, 3, 5] {
        let (status, page) = c
            .send(
                "GET",
                &format!("{}/Users?startIndex={start}&count=2", stack().scim_url),
                Some(&org.scim_token),
                None,
            )
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
    let (_, again) = c
        .send(
            "GET",
            &format!("{}/Users?startIndex=1&count=2", stack().scim_url),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(
        again["Resources"][0]["id"],
        seen[0].as_str(),
        "same order on every call"
    );
    let (_, capped) = c
        .send(
            "GET",
            &format!("{}/Users?count=100000", stack().scim_url),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(capped["itemsPerPage"], json!(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_listed_filtered_and_membership_checked() {
    let org = new_org("groups").await;
    let c = Client::new();
    let member = create_user(&c, &org, "m@example.com", "m").await;
    let outsider = create_user(&c, &org, "o@example.com", "o").await;
    let (status, g) = c
        .send(
            "POST",
            &format!("{}/Groups", stack().scim_url),
            Some(&org.scim_token),
            Some(&json!({"displayName": "Sales", "members": [{"value": member}]})),
        )
        .await;
    assert_eq!(status, 201);
    let gid = g["id"].as_str().unwrap().to_owned();
    c.send(
        "POST",
        &format!("{}/Groups", stack().scim_url),
        Some(&org.scim_token),
        Some(&json!({"displayName": "Support"})),
    )
    .await;

    let (status, found) = search(&c, &org, "Groups", r#"displayName eq "sales""#).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], json!(1));
    assert_eq!(
        found["Resources"][0]["members"][0]["value"],
        member.as_str()
    );

    let (_, lean) = c
        .send(
            "GET",
            &format!(
                "{}/Groups?filter={}&excludedAttributes=members",
                stack().scim_url,
                enc(r#"displayName eq "Sales""#)
            ),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert!(lean["Resources"][0].get("members").is_none(), "{lean}");

    // Entra's membership check
    let (_, yes) = search(
        &c,
        &org,
        "Groups",
        &format!(r#"id eq "{gid}" and members[value eq "{member}"]"#),
    )
    .await;
    assert_eq!(yes["totalResults"], json!(1), "{yes}");
    let (_, no) = search(
        &c,
        &org,
        "Groups",
        &format!(r#"id eq "{gid}" and members[value eq "{outsider}"]"#),
    )
    .await;
    assert_eq!(no["totalResults"], json!(0), "{no}");

    let (_, all) = c
        .send(
            "GET",
            &format!("{}/Groups", stack().scim_url),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(all["totalResults"], json!(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_filters_and_missing_tokens_get_scim_errors() {
    let org = new_org("hostile").await;
    let c = Client::new();
    let deep = format!(
        "{}userName eq \"x\"{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    let (status, e) = c
        .send(
            "POST",
            &format!("{}/Users/.search", stack().scim_url),
            Some(&org.scim_token),
            Some(&json!({"filter": deep})),
        )
        .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(e["scimType"], "invalidFilter");

    for bad in [
        r#"userName eq"#,
        r#"userName eq "x" and"#,
        r#"emails[type eq "work""#,
        "userName eq bare",
    ] {
        let (status, e) = search(&c, &org, "Users", bad).await;
        assert_eq!(status, 400, "{bad}");
        assert_eq!(e["scimType"], "invalidFilter", "{bad}");
    }

    // application/json is accepted; answers are application/scim+json
    let resp = reqwest::Client::new()
        .post(format!("{}/Users", stack().scim_url))
        .bearer_auth(&org.scim_token)
        .header("content-type", "application/json")
        .body(json!({"userName": "plain-json@example.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    assert_eq!(resp.headers()["content-type"], "application/scim+json");
    let resp = reqwest::Client::new()
        .post(format!("{}/Users", stack().scim_url))
        .bearer_auth(&org.scim_token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("userName=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);

    let resp = reqwest::Client::new()
        .get(format!("{}/Users", stack().scim_url))
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
    let c = Client::new();
    let base = &stack().scim_url;
    let (status, spc) = c
        .send(
            "GET",
            &format!("{base}/ServiceProviderConfig"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["maxResults"], json!(200));

    let (status, types) = c
        .send(
            "GET",
            &format!("{base}/ResourceTypes"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(types["totalResults"], json!(2));
    let (status, user_type) = c
        .send(
            "GET",
            &format!("{base}/ResourceTypes/User"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        user_type["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );

    let (status, schemas) = c
        .send(
            "GET",
            &format!("{base}/Schemas"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(schemas["totalResults"], json!(3));
    let (status, group_schema) = c
        .send(
            "GET",
            &format!("{base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(group_schema["name"], "Group");
    let (status, _) = c
        .send(
            "GET",
            &format!("{base}/Schemas/urn:nope"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 404);

    let (status, e) = c
        .send(
            "DELETE",
            &format!("{base}/Schemas"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 405, "{e}");
    let (status, _) = c
        .send(
            "PATCH",
            &format!("{base}/Users"),
            Some(&org.scim_token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 405);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_guard_writes_and_reads() {
    let org = new_org("etag").await;
    let c = Client::new();
    let base = &stack().scim_url;
    let id = create_user(&c, &org, "v@example.com", "v").await;
    let url = format!("{base}/Users/{id}");

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
    let c = Client::new();
    let base = &stack().scim_url;
    let a = create_user(&c, &org, "a@example.com", "a").await;
    let b = create_user(&c, &org, "b@example.com", "b").await;
    let (_, g) = c
        .send(
            "POST",
            &format!("{base}/Groups"),
            Some(&org.scim_token),
            Some(&json!({"displayName": "Ops", "members": [{"value": a}]})),
        )
        .await;
    let gid = g["id"].as_str().unwrap().to_owned();

    // Okta's Group Push: a full replace with the new member list and name
    let (status, replaced) = c
        .send(
            "PUT",
            &format!("{base}/Groups/{gid}"),
            Some(&org.scim_token),
            Some(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Operations", "members": [{"value": b}]})),
        )
        .await;
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["displayName"], "Operations");
    assert_eq!(
        replaced["members"],
        json!([{"value": b, "$ref": format!("{base}/Users/{b}"), "type": "User"}])
    );
    let (_, fetched) = c
        .send(
            "GET",
            &format!("{base}/Groups/{gid}"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(fetched["members"].as_array().unwrap().len(), 1);
    assert_eq!(fetched["meta"]["version"], "W/\"2\"");

    let (status, _) = c
        .send(
            "DELETE",
            &format!("{base}/Groups/{gid}"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = c
        .send(
            "GET",
            &format!("{base}/Groups/{gid}"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, check) = search(
        &c,
        &org,
        "Groups",
        &format!(r#"id eq "{gid}" and members[value eq "{b}"]"#),
    )
    .await;
    assert_eq!(check["totalResults"], json!(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_excluded_attributes_shape_responses() {
    let org = new_org("attrs").await;
    let c = Client::new();
    let base = &stack().scim_url;
    let id = create_user(&c, &org, "s@example.com", "s").await;
    let (_, only) = c
        .send(
            "GET",
            &format!("{base}/Users/{id}?attributes=userName,name.givenName"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(only["id"], id.as_str());
    assert_eq!(only["userName"], "s@example.com");
    assert_eq!(only["name"], json!({"givenName": "G"}));
    assert!(only.get("emails").is_none(), "{only}");

    let (_, without) = c
        .send(
            "GET",
            &format!("{base}/Users/{id}?excludedAttributes=emails,name"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert!(
        without.get("emails").is_none() && without.get("name").is_none(),
        "{without}"
    );
    assert_eq!(without["userName"], "s@example.com");

    let (status, found) = c
        .send(
            "POST",
            &format!("{base}/.search"),
            Some(&org.scim_token),
            Some(&json!({"filter": "userName eq \"s@example.com\"", "attributes": ["userName"]})),
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
    let c = Client::new();
    let base = &stack().scim_url;
    let ext = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";

    let (status, schema) = c
        .send(
            "GET",
            &format!("{base}/Schemas/{ext}"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 200, "{schema}");
    let names: Vec<&str> = schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["badgeNumber", "costCenterCode"]);
    let (_, user_type) = c
        .send(
            "GET",
            &format!("{base}/ResourceTypes/User"),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(user_type["schemaExtensions"][1]["schema"], ext);

    let (status, user) = c
        .send(
            "POST",
            &format!("{base}/Users"),
            Some(&org.scim_token),
            Some(&json!({"userName": "badge@example.com", ext: {"badgeNumber": "B-7"}})),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert!(user["schemas"].as_array().unwrap().iter().any(|s| s == ext));
    let id = user["id"].as_str().unwrap().to_owned();

    let (status, e) = c
        .send(
            "POST",
            &format!("{base}/Users"),
            Some(&org.scim_token),
            Some(&json!({"userName": "x@example.com", ext: {"shoeSize": "9"}})),
        )
        .await;
    assert_eq!(
        (status, e["scimType"].clone()),
        (400, json!("invalidValue"))
    );

    let (status, patched) = c
        .send(
            "PATCH",
            &format!("{base}/Users/{id}"),
            Some(&org.scim_token),
            Some(&json!({"Operations": [{"op": "replace", "path": format!("{ext}:costCenterCode"), "value": "CC-1"}]})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched[ext]["costCenterCode"], "CC-1");

    let (_, found) = c
        .send(
            "GET",
            &format!(
                "{base}/Users?filter={}",
                enc(&format!("{ext}:badgeNumber eq \"B-7\""))
            ),
            Some(&org.scim_token),
            None,
        )
        .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");

    // another organization has no such extension
    let other = new_org("plain").await;
    let (status, _) = c
        .send(
            "GET",
            &format!("{base}/Schemas/{ext}"),
            Some(&other.scim_token),
            None,
        )
        .await;
    assert_eq!(status, 404);
}
