//! The tenant boundary as an attacker or a careless client meets it: what a
//! SCIM request cannot do to a group's version, to a deleted or inactive
//! user's state, or to a group's members.

use serde_json::{Value, json};
use user_sync_tests::{
    Client, PATCH_OP, TestOrg, api_url, assert_problem, new_org, scim_url, stack,
};

async fn scim(
    c: &Client,
    org: &TestOrg,
    method: &str,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> user_sync_tests::Answer {
    c.request(
        method,
        &format!("{}{path}", stack().scim_url),
        Some(&org.scim_token),
        body.as_ref(),
        headers,
    )
    .await
}

async fn user(c: &Client, org: &TestOrg, name: &str) -> String {
    let r = scim(
        c,
        org,
        "POST",
        "/Users",
        Some(json!({"userName": format!("{name}.{}@example.com", org.org_id)})),
        &[],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn add(members: &[&str]) -> Value {
    let values: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": values}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_groups_version_changes_with_its_members() {
    let c = Client::new();
    let org = new_org("gver").await;
    let (a, b) = (user(&c, &org, "a").await, user(&c, &org, "b").await);
    let created = scim(
        &c,
        &org,
        "POST",
        "/Groups",
        Some(json!({"displayName": "Admins", "members": [{"value": a}]})),
        &[],
    )
    .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let v1 = created.etag.clone().unwrap();

    // another client adds a member: the version moves on
    let patched = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Groups/{id}"),
        Some(add(&[&b])),
        &[],
    )
    .await;
    assert!(patched.status == 200 || patched.status == 204);
    let v2 = patched.etag.clone().unwrap();
    assert_ne!(v1, v2, "a member change is a new version");

    // a read with the old version is not "not modified": it shows both
    let read = scim(
        &c,
        &org,
        "GET",
        &format!("/Groups/{id}"),
        None,
        &[("if-none-match", &v1)],
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["members"].as_array().unwrap().len(), 2);
    // and a replace made from the stale read cannot drop the new member
    let stale = scim(
        &c,
        &org,
        "PUT",
        &format!("/Groups/{id}"),
        Some(json!({"displayName": "Admins", "members": [{"value": a}]})),
        &[("if-match", &v1)],
    )
    .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let (_, now) = org.scim().send("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(now["members"].as_array().unwrap().len(), 2, "{now}");

    // a member deleted through SCIM leaves the group, as a new version too
    let before = scim(&c, &org, "GET", &format!("/Groups/{id}"), None, &[]).await;
    assert_eq!(
        scim(&c, &org, "DELETE", &format!("/Users/{b}"), None, &[])
            .await
            .status,
        204
    );
    let after = scim(&c, &org, "GET", &format!("/Groups/{id}"), None, &[]).await;
    assert_ne!(before.etag, after.etag);
    let values: Vec<&str> = after.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(values, [a.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replace_that_leaves_out_active_changes_no_state() {
    let c = Client::new();
    let org = new_org("puta").await;
    let id = user(&c, &org, "ina").await;
    let name = format!("ina.{}@example.com", org.org_id);
    let off = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "active", "value": false}]})),
        &[],
    )
    .await;
    assert_eq!(off.body["active"], false);
    // a PUT that does not mention active: still inactive
    let put = scim(
        &c,
        &org,
        "PUT",
        &format!("/Users/{id}"),
        Some(json!({"userName": name, "name": {"givenName": "Ina"}})),
        &[],
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["active"], false, "{}", put.body);
    // after a DELETE, the same PUT finds nothing to bring back
    assert_eq!(
        scim(&c, &org, "DELETE", &format!("/Users/{id}"), None, &[])
            .await
            .status,
        204
    );
    let back = scim(
        &c,
        &org,
        "PUT",
        &format!("/Users/{id}"),
        Some(json!({"userName": name})),
        &[],
    )
    .await;
    assert_eq!(back.status, 404, "{}", back.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_members_must_be_users_of_the_organization() {
    let c = Client::new();
    let (org, other) = (new_org("mem").await, new_org("memx").await);
    let mine = user(&c, &org, "mine").await;
    let theirs = user(&c, &other, "theirs").await;
    let created = scim(
        &c,
        &org,
        "POST",
        "/Groups",
        Some(json!({"displayName": "G", "members": [{"value": mine}]})),
        &[],
    )
    .await;
    let gid = created.body["id"].as_str().unwrap().to_owned();
    let made_up = "0d8f4c52-3a7e-4f5e-9a55-6c1f8e2b7a10";
    for bad in [theirs.as_str(), made_up, gid.as_str()] {
        let r = scim(
            &c,
            &org,
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(add(&[bad])),
            &[],
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert_eq!(r.body["scimType"], "invalidValue", "{}", r.body);
        let r = scim(
            &c,
            &org,
            "POST",
            "/Groups",
            Some(json!({"displayName": "H", "members": [{"value": bad}]})),
            &[],
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    // too many at once, however they are sent
    let many: Vec<String> = (0..1_001)
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let r = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Groups/{gid}"),
        Some(add(&refs)),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // nothing changed: one member, and the membership check agrees
    let (_, g) = org
        .scim()
        .send("GET", &format!("/Groups/{gid}"), None)
        .await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1, "{g}");
    assert_eq!(g["meta"]["version"], created.body["meta"]["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_name_in_another_unicode_form_is_the_same_user_name() {
    let c = Client::new();
    let org = new_org("uni").await;
    let domain = format!("{}.example.com", org.org_id);
    let post = |name: String| {
        let (c, org) = (c.clone(), &org);
        async move {
            scim(
                &c,
                org,
                "POST",
                "/Users",
                Some(json!({"userName": name})),
                &[],
            )
            .await
        }
    };
    let first = post(format!("ren\u{e9}e@{domain}")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let kate = post(format!("kate@{domain}")).await;
    assert_eq!(kate.status, 201, "{}", kate.body);
    // the same names in other forms: taken
    for same in [
        format!("rene\u{301}e@{domain}"),
        format!("  REN\u{c9}E@{domain}\u{a0}"),
        format!("ren\u{e9}e\u{ff20}{domain}"),
        format!("\u{212a}ate@{domain}"),
    ] {
        let r = post(same.clone()).await;
        assert_eq!(r.status, 409, "{same:?}: {}", r.body);
        assert_eq!(r.body["scimType"], "uniqueness");
    }
    // invisible or reordering characters: refused
    for bad in [
        format!("ren\u{e9}e\u{200b}@{domain}"),
        format!("\u{202e}ren\u{e9}e@{domain}"),
        format!("\u{feff}ren\u{e9}e@{domain}"),
    ] {
        let r = post(bad.clone()).await;
        assert_eq!(r.status, 400, "{bad:?}: {}", r.body);
        assert_eq!(r.body["scimType"], "invalidValue");
    }
    // a look-alike from another script is another name
    let cyrillic = post(format!("k\u{430}te@{domain}")).await;
    assert_eq!(cyrillic.status, 201, "{}", cyrillic.body);
    // and a lookup in another form finds the one user
    let (_, found) = org
        .scim()
        .search("Users", &format!("userName eq \"RENE\u{301}E@{domain}\""))
        .await;
    assert_eq!(found["totalResults"], json!(1), "{found}");
    assert_eq!(found["Resources"][0]["id"], first.body["id"]);
    // 1,024 characters is the limit, however many bytes they take
    let long = "é".repeat(1_024 - domain.len() - 1);
    assert_eq!(post(format!("{long}@{domain}")).await.status, 201);
    assert_eq!(post(format!("{long}x@{domain}")).await.status, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_answer_rightly_or_refuse() {
    let c = Client::new();
    let org = new_org("filt").await;
    let mail = |s: &str| format!("{s}.{}@example.com", org.org_id);
    let created = scim(
        &c,
        &org,
        "POST",
        "/Users",
        Some(json!({"userName": mail("alice"), "password": "guess-me",
            "emails": [{"value": mail("alice"), "type": "work", "primary": true},
                       {"value": mail("alice.home"), "type": "home"}]})),
        &[],
    )
    .await;
    let alice = created.body["id"].as_str().unwrap().to_owned();
    let bob = user(&c, &org, "bob").await;
    let group = scim(
        &c,
        &org,
        "POST",
        "/Groups",
        Some(json!({"displayName": "Staff", "members": [{"value": alice}]})),
        &[],
    )
    .await;
    let gid = group.body["id"].as_str().unwrap().to_owned();
    let find = |resource: &'static str, filter: String| {
        let (c, org) = (c.clone(), &org);
        async move {
            scim(
                &c,
                org,
                "GET",
                &format!("/{resource}?filter={}", user_sync_tests::enc(&filter)),
                None,
                &[],
            )
            .await
        }
    };
    // an email's value ignores case, in a value filter too
    let r = find(
        "Users",
        format!(
            r#"emails[type eq "work"].value eq "{}""#,
            mail("alice").to_uppercase()
        ),
    )
    .await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.body);
    // a secondary address is found as the primary one is
    let r = find(
        "Users",
        format!(r#"emails.value eq "{}""#, mail("alice.home")),
    )
    .await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.body);
    assert_eq!(r.body["Resources"][0]["id"], alice.as_str());
    // what would answer wrongly is refused
    for (resource, filter) in [
        ("Users", r#"password eq "guess-me""#.to_owned()),
        ("Users", format!(r#"groups.value eq "{gid}""#)),
        (
            "Groups",
            format!(r#"id eq "{gid}" and not (members[value eq "{alice}"])"#),
        ),
        ("Groups", format!(r#"members.value eq "{bob}""#)),
    ] {
        let r = find(resource, filter.clone()).await;
        assert_eq!(r.status, 400, "{filter}: {}", r.body);
        assert_eq!(r.body["scimType"], "invalidFilter", "{}", r.body);
    }
    // the membership check itself still answers
    let r = find(
        "Groups",
        format!(r#"id eq "{gid}" and members[value eq "{alice}"]"#),
    )
    .await;
    assert_eq!(r.body["totalResults"], json!(1), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_costly_or_bloated_user_is_refused_or_trimmed() {
    let c = Client::new();
    let org = new_org("cost").await;
    let id = user(&c, &org, "cost").await;
    // one add of 30,000 roles, then 999 filtered removes: refused at once
    let roles: Vec<Value> = (0..30_000)
        .map(|i| json!({"value": format!("r{i}")}))
        .collect();
    let mut ops = vec![json!({"op": "add", "path": "roles", "value": roles})];
    ops.extend(
        (0..999).map(|i| json!({"op": "remove", "path": format!("roles[value eq \"r{i}\"]")})),
    );
    let r = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": ops})),
        &[],
    )
    .await;
    assert_problem(&r, 400, "invalidValue");
    // many adds that each stay small cannot grow an attribute past the cap
    let adds: Vec<Value> = (0..20)
        .map(|n| {
            let values: Vec<Value> = (0..10)
                .map(|i| json!({"value": format!("r{n}-{i}")}))
                .collect();
            json!({"op": "add", "path": "roles", "value": values})
        })
        .collect();
    let r = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": adds})),
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    // attributes outside the schema are dropped, nested junk and all
    let junk = json!({"a": {"b": {"c": vec!["x"; 100]}}});
    let r = scim(
        &c,
        &org,
        "PUT",
        &format!("/Users/{id}"),
        Some(
            json!({"userName": format!("cost.{}@example.com", org.org_id),
                    "junk": junk, "urn:example:evil": {"x": "y"}, "title": "T"}),
        ),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.get("junk").is_none() && r.body.get("urn:example:evil").is_none(),
        "{}",
        r.body
    );
    assert_eq!(r.body["title"], "T");
    // a declared type is enforced
    let r = scim(
        &c,
        &org,
        "PATCH",
        &format!("/Users/{id}"),
        Some(json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": {"deep": true}}]})),
        &[],
    )
    .await;
    assert_problem(&r, 400, "invalidValue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_a_client_sends_are_not_reflected_and_answers_are_not_cached() {
    let org = new_org("hdr").await;
    let http = reqwest::Client::new();
    let s = stack();
    // a forged Host never reaches a location, a member's $ref or discovery
    let created = http
        .post(scim_url("/Users"))
        .bearer_auth(&org.scim_token)
        .header("host", "evil.example/phish?")
        .header("content-type", "application/scim+json")
        .body(json!({"userName": format!("h.{}@example.com", org.org_id)}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = created.json().await.unwrap();
    assert!(location.starts_with(&s.scim_url), "{location}");
    assert_eq!(body["meta"]["location"], location.as_str());
    for path in ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"] {
        let r = http
            .get(format!("{}{path}", s.scim_url))
            .bearer_auth(&org.scim_token)
            .header("host", "evil.example")
            .send()
            .await
            .unwrap();
        let text = r.text().await.unwrap();
        assert!(!text.contains("evil.example"), "{path}: {text}");
    }
    // answers of both APIs are neither cached nor sniffed
    for (url, token) in [
        (scim_url("/Users"), &org.scim_token),
        (api_url("/rules"), &org.admin_token),
    ] {
        let r = http.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store", "{url}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{url}");
    }
    // the admin API's 401 says how to authenticate
    let r = http.get(api_url("/rules")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"),
        "{:?}",
        r.headers()
    );
    // HEAD on an admin GET answers as GET does, without a body
    let r = http
        .head(api_url("/rules"))
        .bearer_auth(&org.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
}
