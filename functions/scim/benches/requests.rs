//! SCIM request handling in-process: `scim::route` (authenticate, admit,
//! parse, validate, apply PATCH, serialize) with storage replaced by the
//! in-memory ports of `user_sync_core::memory`. Run with
//! `cargo bench -p scim --bench requests` (see docs/performance.md).
//!
//! Four requests, three as identity providers send them:
//! - `create_user_okta`: Okta's `POST /Users`, a new userName every
//!   iteration (every request creates a user; the request is built outside
//!   the measured time);
//! - `patch_user_entra`: Entra ID's `PATCH /Users/{id}` (`active` "True" and
//!   a new given name), alternating between two names so that every request
//!   writes a new version;
//! - `get_user_by_filter`: `GET /Users?filter=userName eq "…"`, one match;
//!
//! and the costliest one the limits allow (docs/security.md#bounded-work):
//! - `patch_user_worst`: 1,000 operations, each working through a full
//!   multi-valued attribute of 100 values (a replace of all of them, or a
//!   filtered remove that examines them all);
//!
//! and, in `scim_listing`, enumerating an organization of 10,000 users in
//! pages of 200 by `startIndex` and by cursor (RFC 9865).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};

#[path = "../tests/common/fixture.rs"]
mod fixture;
use fixture::{Fixture, fixture, request};

/// Okta's create body (as in events/scim/create-user.json).
fn okta_user(n: u64) -> Value {
    let email = format!("user{n}@example.com");
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": email, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": format!("00u{n:017}"),
        "groups": [],
        "active": true
    })
}

/// Entra ID's PATCH: capitalised op, the boolean as a string.
fn entra_patch(given_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "True"},
            {"op": "Replace", "path": "name.givenName", "value": given_name}
        ]
    })
}

/// Creates `user` in the fixture's organization (the request must
/// succeed); returns its id.
fn create_user(rt: &tokio::runtime::Runtime, f: &Fixture, user: &Value) -> String {
    let create = request(&f.authorization, "POST", "/scim/v2/Users", &[], Some(user));
    let created = rt.block_on(scim::route(&f.store, &f.gate, &create));
    assert_eq!(created.status_code, 201, "{:?}", created.body);
    body(&created)["id"].as_str().unwrap().to_owned()
}

fn body(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("scim_requests");
    group.throughput(Throughput::Elements(1));

    // POST /Users, a new user each time
    {
        let f = rt.block_on(fixture());
        create_user(&rt, &f, &okta_user(0));
        let mut n = 0u64;
        group.bench_function("create_user_okta", |b| {
            b.to_async(&rt).iter_batched(
                || {
                    n += 1;
                    request(
                        &f.authorization,
                        "POST",
                        "/scim/v2/Users",
                        &[],
                        Some(&okta_user(n)),
                    )
                },
                |req| {
                    let f = &f;
                    async move {
                        let r = scim::route(&f.store, &f.gate, &req).await;
                        debug_assert_eq!(r.status_code, 201);
                        r
                    }
                },
                BatchSize::SmallInput,
            );
        });
        assert_eq!(f.store.user_count() as u64, n + 1);
    }

    // PATCH /Users/{id}, Entra style
    {
        let f = rt.block_on(fixture());
        let id = create_user(
            &rt,
            &f,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
                "displayName": "Ada Lovelace",
                "externalId": "5f1c7e1a-6b7d-4e0a-9a55-0c5d3f3e2b10",
                "active": false
            }),
        );
        let path = format!("/scim/v2/Users/{id}");
        let patches = [
            request(
                &f.authorization,
                "PATCH",
                &path,
                &[],
                Some(&entra_patch("Augusta")),
            ),
            request(
                &f.authorization,
                "PATCH",
                &path,
                &[],
                Some(&entra_patch("Ada")),
            ),
        ];
        let r = rt.block_on(scim::route(&f.store, &f.gate, &patches[0]));
        assert_eq!(r.status_code, 200, "{:?}", r.body);
        let patched = body(&r);
        assert_eq!(patched["active"], json!(true));
        assert_eq!(patched["name"]["givenName"], json!("Augusta"));
        let first_etag = r.headers.get("etag").cloned();
        let mut i = 0usize;
        group.bench_function("patch_user_entra", |b| {
            b.to_async(&rt).iter(|| {
                i += 1;
                let req = &patches[i % 2];
                let f = &f;
                async move {
                    let r = scim::route(&f.store, &f.gate, req).await;
                    debug_assert_eq!(r.status_code, 200);
                    r
                }
            });
        });
        // the PATCHes wrote new versions
        let last = rt.block_on(scim::route(
            &f.store,
            &f.gate,
            &request(&f.authorization, "GET", &path, &[], None),
        ));
        assert_eq!(last.status_code, 200);
        assert_ne!(last.headers.get("etag").cloned(), first_etag);
    }

    // the costliest PATCH the limits allow: 1,000 operations, each working
    // through a full multi-valued attribute (a replace with its 100 values,
    // or a filtered remove that examines all 100 and matches none)
    {
        let f = rt.block_on(fixture());
        let id = create_user(&rt, &f, &okta_user(0));
        let roles: Vec<serde_json::Value> = (0..user_sync_core::scim::MAX_MULTI_VALUES)
            .map(|i| json!({"value": format!("r{i:02}")}))
            .collect();
        let ops: Vec<serde_json::Value> = (0..user_sync_core::scim::patch::MAX_OPERATIONS)
            .map(|i| {
                if i % 2 == 0 {
                    json!({"op": "replace", "path": "roles", "value": roles})
                } else {
                    json!({"op": "remove", "path": format!("roles[value eq \"x{i}\"]")})
                }
            })
            .collect();
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops
        });
        assert!(
            patch.to_string().len() < scim::MAX_BODY_BYTES,
            "within the body limit"
        );
        let worst = request(
            &f.authorization,
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            &[],
            Some(&patch),
        );
        let r = rt.block_on(scim::route(&f.store, &f.gate, &worst));
        assert_eq!(r.status_code, 200, "{:?}", r.body);
        assert_eq!(
            body(&r)["roles"].as_array().map(Vec::len),
            Some(user_sync_core::scim::MAX_MULTI_VALUES)
        );
        group.bench_function("patch_user_worst", |b| {
            b.to_async(&rt).iter(|| {
                let f = &f;
                let worst = &worst;
                async move {
                    let r = scim::route(&f.store, &f.gate, worst).await;
                    debug_assert_eq!(r.status_code, 200);
                    r
                }
            });
        });
    }

    // GET /Users?filter=userName eq "…"
    {
        let f = rt.block_on(fixture());
        for n in 0..1_000 {
            create_user(&rt, &f, &okta_user(n));
        }
        let get = request(
            &f.authorization,
            "GET",
            "/scim/v2/Users",
            &[("filter", r#"userName eq "user500@example.com""#)],
            None,
        );
        let r = rt.block_on(scim::route(&f.store, &f.gate, &get));
        assert_eq!(r.status_code, 200, "{:?}", r.body);
        assert_eq!(body(&r)["totalResults"], json!(1));
        group.bench_function("get_user_by_filter", |b| {
            b.to_async(&rt).iter(|| {
                let f = &f;
                let get = &get;
                async move {
                    let r = scim::route(&f.store, &f.gate, get).await;
                    debug_assert_eq!(r.status_code, 200);
                    r
                }
            });
        });
    }
    group.finish();
    listing(&rt, c);
}

/// Users in the listing benches: the most an index-based listing serves.
const LISTED_USERS: usize = scim::MAX_SCAN;

/// Enumerating an organization of [`LISTED_USERS`] users in pages of 200,
/// by `startIndex` and by cursor; one iteration is the whole enumeration
/// (50 requests).
fn listing(rt: &tokio::runtime::Runtime, c: &mut Criterion) {
    let f = rt.block_on(fixture());
    for n in 0..LISTED_USERS as u64 {
        create_user(rt, &f, &okta_user(n));
    }
    let by_index = async |f: &Fixture| -> usize {
        let mut shown = 0;
        let mut start = 1;
        loop {
            let start_index = start.to_string();
            let req = request(
                &f.authorization,
                "GET",
                "/scim/v2/Users",
                &[("startIndex", &start_index), ("count", "200")],
                None,
            );
            let r = body(&scim::route(&f.store, &f.gate, &req).await);
            let n = r["itemsPerPage"].as_u64().unwrap() as usize;
            shown += n;
            start += n;
            if n == 0 || start > r["totalResults"].as_u64().unwrap() as usize {
                return shown;
            }
        }
    };
    let by_cursor = async |f: &Fixture| -> usize {
        let mut shown = 0;
        let mut cursor = String::new();
        loop {
            let req = request(
                &f.authorization,
                "GET",
                "/scim/v2/Users",
                &[("cursor", &cursor), ("count", "200")],
                None,
            );
            let r = body(&scim::route(&f.store, &f.gate, &req).await);
            shown += r["itemsPerPage"].as_u64().unwrap() as usize;
            match r["nextCursor"].as_str() {
                Some(next) => cursor = next.to_owned(),
                None => return shown,
            }
        }
    };
    let before = f.store.users_listed();
    assert_eq!(rt.block_on(by_index(&f)), LISTED_USERS);
    let index_reads = f.store.users_listed() - before;
    let before = f.store.users_listed();
    assert_eq!(rt.block_on(by_cursor(&f)), LISTED_USERS);
    let cursor_reads = f.store.users_listed() - before;
    report_reads(index_reads, cursor_reads);
    let mut group = c.benchmark_group("scim_listing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(LISTED_USERS as u64));
    group.bench_function("enumerate_by_start_index", |b| {
        b.to_async(rt).iter(|| by_index(&f));
    });
    group.bench_function("enumerate_by_cursor", |b| {
        b.to_async(rt).iter(|| by_cursor(&f));
    });
    group.finish();
}

/// What each enumeration reads from storage, printed beside its time.
#[allow(clippy::print_stdout)]
fn report_reads(index_reads: usize, cursor_reads: usize) {
    println!(
        "enumerating {LISTED_USERS} users in pages of 200 reads {index_reads} users by startIndex, {cursor_reads} by cursor"
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
