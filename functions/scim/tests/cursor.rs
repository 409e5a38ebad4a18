//! Cursor pagination (RFC 9865) in-process, on the in-memory ports: large
//! organizations (more users than index-based listings may examine) and the
//! items each request reads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use serde_json::{Value, json};

#[path = "common/fixture.rs"]
mod fixture;
use fixture::{Fixture, fixture, request};

impl Fixture {
    async fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, Value) {
        let req = request(&self.authorization, method, path, query, body);
        let resp: ApiGatewayV2httpResponse = scim::route(&self.store, &self.gate, &req).await;
        let body = match resp.body {
            Some(Body::Text(t)) => serde_json::from_str(&t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (u16::try_from(resp.status_code).unwrap(), body)
    }

    /// Creates `n` users; every third has the given name "Third".
    async fn users(&self, n: usize) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for i in 0..n {
            let given = if i % 3 == 0 { "Third" } else { "Other" };
            let (status, body) = self
                .call(
                    "POST",
                    "/scim/v2/Users",
                    &[],
                    Some(&json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("user{i}@example.com"),
                        "name": {"givenName": given, "familyName": "Test"},
                        "active": true
                    })),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
        ids
    }

    /// Walks a cursor-paginated listing to its end; returns every id shown,
    /// in order, and the pages requested.
    async fn walk(&self, path: &str, filter: Option<&str>, count: &str) -> (Vec<String>, usize) {
        let mut shown = Vec::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let mut query = vec![("cursor", cursor.as_str()), ("count", count)];
            if let Some(f) = filter {
                query.push(("filter", f));
            }
            let (status, body) = self.call("GET", path, &query, None).await;
            assert_eq!(status, 200, "{body}");
            pages += 1;
            assert!(body.get("totalResults").is_none());
            assert!(body.get("startIndex").is_none());
            let resources = body["Resources"].as_array().unwrap();
            assert_eq!(body["itemsPerPage"], resources.len());
            assert!(resources.len() <= count.parse().unwrap());
            shown.extend(
                resources
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            match body.get("nextCursor") {
                Some(Value::String(next)) => {
                    assert!(next.len() <= 200);
                    assert!(
                        next.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
                    );
                    cursor = next.clone();
                }
                None => return (shown, pages),
                Some(other) => panic!("nextCursor {other}"),
            }
            assert!(pages < 10_000, "the walk does not end");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_larger_than_index_listings_allow_is_enumerated_once_per_user() {
    let f = fixture().await;
    let ids = f.users(scim::MAX_SCAN + 37).await;

    // index-based listings refuse it: they count every user
    let (status, body) = f.call("GET", "/scim/v2/Users", &[], None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "tooMany");

    let before = f.store.users_listed();
    let (shown, pages) = f.walk("/scim/v2/Users", None, "200").await;
    let read = f.store.users_listed() - before;
    // every user exactly once, in id order
    assert_eq!(shown.len(), ids.len());
    assert_eq!(shown, ids.iter().cloned().collect::<Vec<_>>());
    assert_eq!(pages, ids.len().div_ceil(200));
    // about one read per user: no page reads what another page read
    assert_eq!(read, ids.len(), "users read for {} users", ids.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_filter_that_examines_users_does_bounded_work_per_page() {
    let f = fixture().await;
    let n = 3 * scim::CURSOR_SCAN_BUDGET + 10;
    let ids = f.users(n).await;
    let filter = "name.givenName eq \"Third\"";

    let mut expected = Vec::new();
    for id in &ids {
        let (_, u) = f
            .call("GET", &format!("/scim/v2/Users/{id}"), &[], None)
            .await;
        if u["name"]["givenName"] == "Third" {
            expected.push(id.clone());
        }
    }
    assert_eq!(expected.len(), n.div_ceil(3));

    // one page at most: each request examines at most the budget
    let before = f.store.users_listed();
    let (status, body) = f
        .call(
            "GET",
            "/scim/v2/Users",
            &[("cursor", ""), ("count", "200"), ("filter", filter)],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(f.store.users_listed() - before <= scim::CURSOR_SCAN_BUDGET);
    assert!(body["nextCursor"].is_string());

    let before = f.store.users_listed();
    let (shown, pages) = f.walk("/scim/v2/Users", Some(filter), "200").await;
    let read = f.store.users_listed() - before;
    assert_eq!(shown, expected);
    assert!(pages >= n / scim::CURSOR_SCAN_BUDGET, "{pages} pages");
    assert!(
        read <= n + pages * 200,
        "{read} users read in {pages} pages"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted_users_are_skipped_and_small_pages_follow_on() {
    let f = fixture().await;
    let ids: Vec<String> = f.users(25).await.into_iter().collect();
    for id in ids.iter().step_by(4) {
        let (status, _) = f
            .call("DELETE", &format!("/scim/v2/Users/{id}"), &[], None)
            .await;
        assert_eq!(status, 204);
    }
    let kept: Vec<String> = ids
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 4 != 0)
        .map(|(_, id)| id.clone())
        .collect();
    let (shown, _) = f.walk("/scim/v2/Users", None, "3").await;
    assert_eq!(shown, kept);
    // an indexed filter pages too
    let (_, user) = f
        .call("GET", &format!("/scim/v2/Users/{}", kept[0]), &[], None)
        .await;
    let filter = format!("userName eq \"{}\"", user["userName"].as_str().unwrap());
    let (shown, pages) = f.walk("/scim/v2/Users", Some(&filter), "1").await;
    assert_eq!(shown, vec![kept[0].clone()]);
    assert!(pages <= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_cursors_and_counts_are_refused_with_the_rfc_errors() {
    let f = fixture().await;
    f.users(5).await;
    let (_, first) = f
        .call(
            "GET",
            "/scim/v2/Users",
            &[("cursor", ""), ("count", "2")],
            None,
        )
        .await;
    let next = first["nextCursor"].as_str().unwrap().to_owned();
    let long = "a".repeat(201);
    for (query, scim_type) in [
        (vec![("cursor", "zz")], "invalidCursor"),
        (vec![("cursor", long.as_str())], "invalidCursor"),
        // bound to its filter
        (
            vec![("cursor", next.as_str()), ("filter", "active eq true")],
            "invalidCursor",
        ),
        (vec![("cursor", ""), ("count", "0")], "invalidCount"),
        (vec![("cursor", ""), ("count", "201")], "invalidCount"),
        (vec![("cursor", ""), ("count", "-3")], "invalidCount"),
        (vec![("cursor", ""), ("startIndex", "1")], "invalidValue"),
    ] {
        let (status, body) = f.call("GET", "/scim/v2/Users", &query, None).await;
        assert_eq!(status, 400, "{query:?} {body}");
        assert_eq!(body["scimType"], scim_type, "{query:?} {body}");
    }
    // a Users cursor is not a Groups one
    let (status, body) = f
        .call("GET", "/scim/v2/Groups", &[("cursor", next.as_str())], None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["scimType"], "invalidCursor");

    // .search takes the cursor in its body
    let (status, body) = f
        .call(
            "POST",
            "/scim/v2/Users/.search",
            &[],
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "cursor": next,
                "count": 2
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["itemsPerPage"], 2);
    assert!(body["nextCursor"].is_string());

    // index-based listings are as they were
    let (status, body) = f
        .call("GET", "/scim/v2/Users", &[("count", "2")], None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 5);
    assert_eq!(body["startIndex"], 1);
    assert!(body.get("nextCursor").is_none());

    // discovery advertises both methods, index by default
    let (_, spc) = f
        .call("GET", "/scim/v2/ServiceProviderConfig", &[], None)
        .await;
    assert_eq!(
        spc["pagination"],
        json!({
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": scim::DEFAULT_COUNT,
            "maxPageSize": scim::MAX_COUNT
        })
    );
}
