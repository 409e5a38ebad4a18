//! Bodies of the fuzz targets in `fuzz/` and of the corpus replay test
//! (`tests/fuzz_corpus.rs`). Each takes arbitrary bytes, runs one SCIM parser
//! the way the SCIM function does, and panics (through `assert!`) when an
//! invariant does not hold. Not part of the crate's API.

use serde_json::{Map, Value, json};

use crate::directory::{DirectoryGroup, DirectoryUser};
use crate::ids::{GroupId, UserId};
use crate::scim::discovery::{ENTERPRISE_ATTRIBUTES, READ_ONLY_ATTRIBUTES, USER_ATTRIBUTES};
use crate::scim::filter::{self, Filter, MAX_DEPTH, MAX_FILTER_LEN};
use crate::scim::group::{self, MAX_MEMBERS_PER_REQUEST};
use crate::scim::patch::{self, MAX_OPERATIONS, MAX_PATH_LEN};
use crate::scim::user;
use crate::scim::{
    CUSTOM_USER_SCHEMA, ENTERPRISE_USER_SCHEMA, MAX_STRING_LEN, Projection, ScimError, USER_SCHEMA,
};

const BASE_URL: &str = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/scim/v2";
/// The custom attributes of the organization the PATCH target runs against.
const CUSTOM: [&str; 2] = ["badgeNumber", "costCenter"];

/// A stored user's attributes as the SCIM function holds them before a PATCH.
pub fn sample_user() -> Value {
    json!({
        "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
        "userName": "ada@example.com",
        "externalId": "00u1a2b3c4D5E6f7g8h9",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        "displayName": "Ada Lovelace",
        "emails": [
            {"primary": true, "value": "ada@example.com", "type": "work"},
            {"value": "ada@home.example", "type": "home"}
        ],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
        "addresses": [{"type": "work", "streetAddress": "1 Analytical Way", "country": "GB"}],
        "locale": "en-US",
        "title": "Engineer",
        "active": true,
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "42",
            "department": "R&D",
            "manager": {"value": "u-boss", "displayName": "Charles Babbage"}
        },
        CUSTOM_USER_SCHEMA: {"badgeNumber": "B7"}
    })
}

/// A group as Okta or Entra ID creates it.
pub fn sample_group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": "Sales",
        "externalId": "00g1a2b3c4",
        "members": [
            {"value": "u1", "display": "ada@example.com"},
            {"value": "u2", "display": "bob@example.com"}
        ]
    })
}

fn find_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Vec<(&'a String, &'a Value)> {
    obj.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .collect()
}

/// A refused request is always a 400 with a `scimType` a client can act on.
fn check_refusal(e: &ScimError, allowed: &[&str]) {
    assert_eq!(e.status, 400, "refusal status: {e:?}");
    assert!(
        e.scim_type.is_some_and(|t| allowed.contains(&t)),
        "refusal scimType {:?} not in {allowed:?}: {e:?}",
        e.scim_type
    );
}

fn nesting(f: &Filter) -> usize {
    match f {
        Filter::And(a, b) | Filter::Or(a, b) => nesting(a).max(nesting(b)),
        Filter::Not(inner) => 1 + nesting(inner),
        Filter::ValuePath { filter, .. } => 1 + nesting(filter),
        Filter::Compare { .. } | Filter::Present(_) => 0,
    }
}

/// `GET /Users?filter=...`: parse, then evaluate against a user and a group.
pub fn filter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match filter::parse_filter(text) {
        Ok(f) => {
            assert!(
                text.len() <= MAX_FILTER_LEN,
                "a filter of {} bytes was accepted",
                text.len()
            );
            assert!(
                nesting(&f) <= MAX_DEPTH,
                "nesting beyond {MAX_DEPTH}: {f:?}"
            );
            let _ = f.matches(&sample_user());
            let _ = f.matches(&sample_group());
            let _ = f.index_hint();
            let _ = format!("{f:?}");
        }
        Err(e) => check_refusal(&e, &["invalidFilter"]),
    }
}

/// A PATCH `path`, and the same text as an `attributes` projection.
pub fn patch_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match patch::parse_path(text) {
        Ok(p) => {
            assert!(
                text.trim().len() <= MAX_PATH_LEN,
                "a path of {} bytes was accepted",
                text.trim().len()
            );
            assert!(!p.attr.is_empty(), "empty attribute from {text:?}");
            let custom: Vec<String> = CUSTOM.iter().map(|s| (*s).to_owned()).collect();
            if let Err(e) = patch::check_user_path(&p, &custom) {
                check_refusal(&e, &["invalidPath", "mutability"]);
            }
        }
        Err(e) => check_refusal(&e, &["invalidPath", "invalidFilter"]),
    }
    match Projection::parse(Some(text), Some(text)) {
        Ok(p) => {
            let _ = p.wants("members");
            let shown = p.apply(sample_user());
            assert!(shown.is_object(), "projection made {shown}");
            let only = Projection {
                attributes: p.attributes,
                excluded: Vec::new(),
            };
            let shown = only.apply(sample_user());
            assert!(shown.get("id").is_none() || shown["id"].is_string());
        }
        Err(e) => check_refusal(&e, &["invalidValue"]),
    }
}

/// What a successful PATCH may change: never a read-only attribute, and a
/// new top-level key only for a served attribute or extension.
fn check_patched_user(before: &Map<String, Value>, after: &Map<String, Value>) {
    for ro in READ_ONLY_ATTRIBUTES {
        assert_eq!(
            find_ci(before, ro),
            find_ci(after, ro),
            "read-only {ro} changed"
        );
    }
    for (k, v) in after {
        if before.contains_key(k) {
            continue;
        }
        let served = USER_ATTRIBUTES.iter().any(|a| a.eq_ignore_ascii_case(k))
            || k.eq_ignore_ascii_case(ENTERPRISE_USER_SCHEMA)
            || k.eq_ignore_ascii_case(CUSTOM_USER_SCHEMA);
        assert!(served, "PATCH stored an unknown attribute {k:?}: {v}");
    }
    for (schema, known) in [
        (ENTERPRISE_USER_SCHEMA, &ENTERPRISE_ATTRIBUTES[..]),
        (CUSTOM_USER_SCHEMA, &CUSTOM[..]),
    ] {
        for (_, ext) in find_ci(after, schema) {
            let Some(ext) = ext.as_object() else { continue };
            let had = find_ci(before, schema)
                .first()
                .and_then(|(_, v)| v.as_object().cloned())
                .unwrap_or_default();
            for k in ext.keys().filter(|k| !had.contains_key(*k)) {
                assert!(
                    known.iter().any(|a| a.eq_ignore_ascii_case(k)),
                    "PATCH stored {k:?} in {schema}"
                );
            }
        }
    }
    check_custom_values(after);
}

/// Custom values as kept: one extension, each value a bounded string under
/// one of the organization's names as it spells them.
fn check_custom_values(after: &Map<String, Value>) {
    let custom = find_ci(after, CUSTOM_USER_SCHEMA);
    assert!(custom.len() <= 1, "two custom extensions: {after:?}");
    for (key, ext) in custom {
        assert_eq!(key, CUSTOM_USER_SCHEMA);
        let ext = ext
            .as_object()
            .map(|e| e.iter().collect::<Vec<_>>())
            .unwrap_or_default();
        for (name, value) in ext {
            assert!(
                CUSTOM.contains(&name.as_str()),
                "custom value under {name:?}"
            );
            assert!(
                value
                    .as_str()
                    .is_some_and(|v| v.chars().count() <= MAX_STRING_LEN),
                "custom value {name}: {value}"
            );
        }
    }
}

/// Equal JSON, with floating-point numbers equal within a few ulps: serde_json
/// parses long decimals to the nearest float only approximately (its
/// `float_roundtrip` feature is off), so text it wrote may read back a hair off.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => {
                    x == y || (x - y).abs() <= 4.0 * f64::EPSILON * x.abs().max(y.abs())
                }
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        (x, y) => x == y,
    }
}

/// What a response carries must serialise, and read back as the same JSON.
fn reserialize(v: &Value) {
    let text = serde_json::to_string(v);
    assert!(text.is_ok(), "re-serialising failed: {text:?}");
    if let Ok(text) = text {
        let back: Result<Value, _> = serde_json::from_str(&text);
        assert!(
            back.as_ref().is_ok_and(|b| same_json(b, v)),
            "{v} did not survive a round trip: {back:?}"
        );
    }
}

fn directory_user(input: &user::UserInput) -> DirectoryUser {
    DirectoryUser {
        id: UserId::parse("u1").unwrap_or_else(|_| unreachable!()),
        user_name: input.user_name.clone(),
        external_id: input.external_id.clone(),
        active: input.active,
        deleted: false,
        given_name: input.given_name.clone(),
        family_name: input.family_name.clone(),
        email: input.email.clone(),
        locale: input.locale.clone(),
        created: "2026-01-02T00:00:00.000Z".into(),
        last_modified: "2026-01-02T00:00:00.000Z".into(),
        version: 2,
        link: Default::default(),
    }
}

/// What `render_user` returns for a parsed user must carry its facts.
fn check_rendered_user(input: &user::UserInput) {
    let rendered = user::render_user(&directory_user(input), &input.attributes, BASE_URL);
    assert_eq!(rendered["id"], json!("u1"));
    assert_eq!(rendered["userName"], json!(input.user_name));
    assert!(
        rendered["schemas"]
            .as_array()
            .is_some_and(|s| s.contains(&json!(USER_SCHEMA))),
        "schemas missing: {rendered}"
    );
    assert_eq!(rendered["meta"]["version"], json!("W/\"2\""));
    reserialize(&rendered);
}

/// `PATCH /Users/{id}` and `PATCH /Groups/{id}` bodies.
/// The `scimType`s a PATCH that parsed may be refused with when applied.
const PATCH_REFUSALS: &[&str] = &[
    "invalidValue",
    "invalidPath",
    "invalidFilter",
    "mutability",
    "noTarget",
];

pub fn patch_apply(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let ops = match patch::parse_patch(&body) {
        Ok(ops) => ops,
        Err(e) => {
            return check_refusal(
                &e,
                &[
                    "invalidSyntax",
                    "invalidValue",
                    "invalidPath",
                    "invalidFilter",
                    "noTarget",
                ],
            );
        }
    };
    assert!(ops.len() <= MAX_OPERATIONS);
    // a user, as `patch_user` in the SCIM function does it: the
    // organization's custom attributes are read when the user holds custom
    // values or an operation names the extension
    let user = sample_user();
    let custom: Vec<String> = if patch::mentions_schema(&ops, CUSTOM_USER_SCHEMA)
        || crate::scim::custom::has_custom_values(&user)
    {
        CUSTOM.iter().map(|s| (*s).to_owned()).collect()
    } else {
        Vec::new()
    };
    let Value::Object(before) = user else {
        return;
    };
    let mut resource = before.clone();
    match patch::apply_ops(&mut resource, &ops, &custom) {
        Ok(()) => {
            check_patched_user(&before, &resource);
            let resource = Value::Object(resource);
            reserialize(&resource);
            match user::parse_user(&resource) {
                Ok(input) => check_rendered_user(&input),
                Err(e) => check_refusal(&e, &["invalidValue", "invalidSyntax"]),
            }
        }
        Err(e) => check_refusal(&e, PATCH_REFUSALS),
    }

    // the same operations on a group's JSON, and as a group PATCH
    if let Value::Object(mut g) = sample_group() {
        match patch::apply_ops(&mut g, &ops, &custom) {
            Ok(()) => reserialize(&Value::Object(g)),
            Err(e) => check_refusal(&e, PATCH_REFUSALS),
        }
    }
    match patch::member_changes(&ops) {
        Ok(c) => {
            if let Some(name) = &c.display_name {
                assert!(!name.trim().is_empty() && name.len() <= MAX_STRING_LEN);
                assert!(!name.chars().any(char::is_control));
            }
            for m in c.add.iter().chain(&c.remove) {
                assert!(!m.is_empty());
            }
        }
        Err(e) => check_refusal(&e, &["invalidValue", "invalidPath", "invalidFilter"]),
    }
}

/// `POST`/`PUT` bodies of `/Users` and `/Groups`.
pub fn resource(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match user::parse_user(&body) {
        Ok(input) => {
            assert!(!input.user_name.trim().is_empty());
            assert!(input.user_name.len() <= MAX_STRING_LEN);
            assert!(!input.user_name.chars().any(char::is_control));
            let Some(attrs) = input.attributes.as_object() else {
                unreachable!("attributes are always an object")
            };
            for ro in READ_ONLY_ATTRIBUTES
                .iter()
                .chain(user::NEVER_RETURNED.iter())
            {
                assert!(find_ci(attrs, ro).is_empty(), "{ro} was kept");
            }
            let actives = find_ci(attrs, "active");
            assert!(
                actives.is_empty() || actives == [(&"active".to_owned(), &json!(input.active))],
                "active stored as {actives:?}, parsed as {}",
                input.active
            );
            check_rendered_user(&input);
            // the custom extension, as the SCIM function checks a body
            let mut kept = input.attributes.clone();
            let names: Vec<String> = CUSTOM.iter().map(|s| (*s).to_owned()).collect();
            let from = crate::scim::custom::Source::Request;
            match crate::scim::custom::keep_captured(&names, &mut kept, from) {
                Ok(()) => check_custom_values(kept.as_object().unwrap_or(&Map::new())),
                Err(e) => check_refusal(&e, &["invalidValue"]),
            }
        }
        Err(e) => check_refusal(&e, &["invalidValue", "invalidSyntax"]),
    }
    match group::parse_group(&body) {
        Ok(input) => {
            assert!(!input.display_name.trim().is_empty());
            assert!(input.display_name.len() <= MAX_STRING_LEN);
            assert!(input.members.len() <= MAX_MEMBERS_PER_REQUEST);
            let members: Vec<UserId> = input
                .members
                .iter()
                .filter_map(|m| UserId::parse(m).ok())
                .collect();
            let g = DirectoryGroup {
                id: GroupId::parse("g1").unwrap_or_else(|_| unreachable!()),
                display_name: input.display_name.clone(),
                external_id: input.external_id.clone(),
                created: "2026-01-02T00:00:00.000Z".into(),
                last_modified: "2026-01-02T00:00:00.000Z".into(),
                version: 1,
            };
            let rendered = group::render_group(&g, Some(&members), BASE_URL);
            assert_eq!(rendered["displayName"], json!(input.display_name));
            assert_eq!(
                rendered["members"].as_array().map(Vec::len),
                Some(members.len())
            );
            reserialize(&rendered);
        }
        Err(e) => check_refusal(&e, &["invalidValue", "invalidSyntax"]),
    }
}
