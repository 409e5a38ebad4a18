//! Cursor pagination of SCIM listings (RFC 9865) on the local stack:
//! enumerating an organization over many pages while users are created
//! (one larger than index-based listings allow is walked in-process:
//! functions/scim/tests/cursor.rs); cursors across organizations; refused cursors
//! and counts; filtered and `.search` listings; Groups.

use std::collections::BTreeSet;
use std::time::Instant;

use serde_json::{Value, json};
use user_sync_core::directory::DirectoryUser;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_tests::{TestOrg, UserBuilder, enc, new_org, put_users, sdk_config, stack};

/// Users of the walked organization: several pages of 200 through the
/// real DynamoDB adapter (10,037 users, more than an index-based listing
/// may examine, are walked in-process; written here, every one would also
/// go through the shared stack's pipeline).
const LARGE: usize = 1_537;

async fn create_user(org: &TestOrg, user_name: &str, given: &str) -> String {
    org.scim()
        .create_user(UserBuilder::new(user_name).name(given, "F"))
        .await
}

/// One page: `(status, body)` of `GET {resource}?cursor=…&count=…[&filter=…]`.
async fn page(
    org: &TestOrg,
    resource: &str,
    cursor: &str,
    count: usize,
    filter: Option<&str>,
) -> (u16, Value) {
    let mut path = format!("/{resource}?cursor={}&count={count}", enc(cursor));
    if let Some(f) = filter {
        path.push_str(&format!("&filter={}", enc(f)));
    }
    org.scim().send("GET", &path, None).await
}

/// Walks a listing from an empty cursor to the page without `nextCursor`;
/// returns the ids shown, in order, and the pages read.
async fn walk(
    org: &TestOrg,
    resource: &str,
    count: usize,
    filter: Option<&str>,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (status, body) = page(org, resource, &cursor, count, filter).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        let resources = body["Resources"].as_array().unwrap();
        assert!(resources.len() <= count, "{body}");
        assert_eq!(body["itemsPerPage"], json!(resources.len()));
        ids.extend(
            resources
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = next.to_owned(),
            None => return (ids, pages),
        }
        assert!(pages < 1_000, "the walk does not end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the timings belong in the test log
async fn an_organization_is_enumerated_by_cursor_while_users_are_created() {
    let org = new_org("cursorbig").await;
    // written straight into the directory: creating 10,000 through SCIM
    // would measure SCIM instead
    let org_id = OrgId::parse(&org.org_id).unwrap();
    let users: Vec<DirectoryUser> = (0..LARGE)
        .map(|i| user_sync_core::memory::member(&UserId::parse(&format!("m-{i:05}")).unwrap()))
        .collect();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    put_users(&ddb, &stack().directory_table, &org_id, &users).await;
    let before: BTreeSet<String> = users.iter().map(|u| u.id.to_string()).collect();

    // users created while the walk goes on
    let creator = {
        let org = org.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..20 {
                ids.push(create_user(&org, &format!("during{i}@example.com"), "New").await);
            }
            ids
        })
    };
    let started = Instant::now();
    let (shown, pages) = walk(&org, "Users", 200, None).await;
    let took = started.elapsed();
    let created: BTreeSet<String> = creator.await.unwrap().into_iter().collect();
    println!(
        "cursor walk of {} users in {pages} pages of 200: {:.1} s",
        shown.len(),
        took.as_secs_f64()
    );

    // in id order, so never twice
    assert!(shown.windows(2).all(|w| w[0] < w[1]), "not in id order");
    // every user that existed throughout exactly once; the new ones at most once
    let shown_set: BTreeSet<String> = shown.iter().cloned().collect();
    assert!(before.is_subset(&shown_set), "users missing from the walk");
    assert!(
        shown_set.difference(&before).all(|id| created.contains(id)),
        "the walk showed users that do not exist"
    );
    assert!(pages >= LARGE / 200);

    // a second walk sees them all
    let (again, _) = walk(&org, "Users", 200, None).await;
    assert_eq!(again.len(), LARGE + created.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_from_another_organization_shows_only_the_callers_users() {
    let a = new_org("cursora").await;
    let b = new_org("cursorb").await;
    let mut in_a = BTreeSet::new();
    let mut in_b = BTreeSet::new();
    for i in 0..6 {
        in_a.insert(create_user(&a, &format!("a{i}@example.com"), "A").await);
        in_b.insert(create_user(&b, &format!("b{i}@example.com"), "B").await);
    }
    let (status, first) = page(&a, "Users", "", 2, None).await;
    assert_eq!(status, 200, "{first}");
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();

    // organization b, given a's cursor: a position among b's own users only
    let mut shown = BTreeSet::new();
    let mut next = cursor;
    loop {
        let (status, body) = page(&b, "Users", &next, 2, None).await;
        assert_eq!(status, 200, "{body}");
        for r in body["Resources"].as_array().unwrap() {
            shown.insert(r["id"].as_str().unwrap().to_owned());
        }
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(n) => next = n.to_owned(),
            None => break,
        }
    }
    assert!(shown.is_subset(&in_b), "{shown:?}");
    assert!(shown.is_disjoint(&in_a));
    // and b's own walk is b's users, all of them
    let (all_b, _) = walk(&b, "Users", 4, None).await;
    assert_eq!(all_b.into_iter().collect::<BTreeSet<_>>(), in_b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cursors_and_counts_are_refused() {
    let org = new_org("cursorbad").await;
    for i in 0..3 {
        create_user(&org, &format!("u{i}@example.com"), "G").await;
    }
    // the RFC's first request: `cursor` with no value
    let (status, first) = org.scim().send("GET", "/Users?cursor&count=2", None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["itemsPerPage"], 2);
    assert!(first.get("totalResults").is_none());
    let next = first["nextCursor"].as_str().unwrap().to_owned();

    let long = "0".repeat(201);
    for (path, scim_type) in [
        ("/Users?cursor=not-a-cursor".to_owned(), "invalidCursor"),
        (format!("/Users?cursor={long}"), "invalidCursor"),
        (format!("/Groups?cursor={next}"), "invalidCursor"),
        (
            format!("/Users?cursor={next}&filter={}", enc(r#"userName sw "u""#)),
            "invalidCursor",
        ),
        ("/Users?cursor=&count=0".to_owned(), "invalidCount"),
        ("/Users?cursor=&count=1000".to_owned(), "invalidCount"),
        ("/Users?cursor=&startIndex=2".to_owned(), "invalidValue"),
    ] {
        let (status, body) = org.scim().send("GET", &path, None).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["scimType"], scim_type, "{path}: {body}");
        // the detail names the field
        let field = if scim_type == "invalidCount" {
            "count"
        } else {
            "cursor"
        };
        assert!(body["detail"].as_str().unwrap().contains(field), "{body}");
    }
    // the cursor still works where it belongs
    let (status, rest) = page(&org, "Users", &next, 2, None).await;
    assert_eq!(status, 200, "{rest}");
    assert_eq!(rest["itemsPerPage"], 1);
    assert!(rest.get("nextCursor").is_none());

    // discovery advertises both methods, index by default
    let (_, spc) = org.scim().send("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc["pagination"]["cursor"], true);
    assert_eq!(spc["pagination"]["index"], true);
    assert_eq!(spc["pagination"]["defaultPaginationMethod"], "index");
    assert_eq!(
        spc["pagination"]["maxPageSize"],
        spc["filter"]["maxResults"]
    );
    assert!(spc["pagination"]["defaultPageSize"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_search_and_group_listings_page_by_cursor() {
    let org = new_org("cursorfilter").await;
    let mut odd = BTreeSet::new();
    for i in 0..9 {
        let given = if i % 3 == 0 { "Odd" } else { "Even" };
        let id = create_user(&org, &format!("f{i}@example.com"), given).await;
        if given == "Odd" {
            odd.insert(id);
        }
    }
    let filter = r#"name.givenName eq "Odd""#;
    let (shown, _) = walk(&org, "Users", 2, Some(filter)).await;
    assert_eq!(shown.iter().cloned().collect::<BTreeSet<_>>(), odd);
    assert_eq!(shown.len(), odd.len());

    // POST /Users/.search carries the cursor in its body
    let mut cursor = String::new();
    let mut searched = Vec::new();
    loop {
        let (status, body) = org
            .scim()
            .search_by_post(
                "Users",
                json!({"filter": filter,
                    "cursor": cursor,
                    "count": 1}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        searched.extend(
            body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(n) => cursor = n.to_owned(),
            None => break,
        }
    }
    assert_eq!(searched, shown);

    // groups, with their members, and by displayName
    let member = odd.iter().next().unwrap().clone();
    let mut groups = BTreeSet::new();
    for i in 0..5 {
        let (status, g) = org
            .scim()
            .send(
                "POST",
                "/Groups",
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": format!("team {i}"),
                    "members": [{"value": member}]
                })),
            )
            .await;
        assert_eq!(status, 201, "{g}");
        groups.insert(g["id"].as_str().unwrap().to_owned());
    }
    let (all, pages) = walk(&org, "Groups", 2, None).await;
    assert_eq!(all.iter().cloned().collect::<BTreeSet<_>>(), groups);
    assert_eq!(all.len(), 5);
    assert!(pages >= 3);
    let (status, first) = page(&org, "Groups", "", 2, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        first["Resources"][0]["members"][0]["value"],
        member.as_str()
    );
    let (named, _) = walk(&org, "Groups", 2, Some(r#"displayName eq "team 3""#)).await;
    assert_eq!(named.len(), 1);
    assert!(groups.contains(&named[0]));
}
