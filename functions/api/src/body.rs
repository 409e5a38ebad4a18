//! Request bodies: JSON objects read whole, then into the type an endpoint
//! takes. [`Json`] is what a handler is handed: the registration names its
//! type once, for both the OpenAPI schema and the parse.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{ApiError, ErrorCode};

/// A request body of type `B`, read when the handler asks
/// ([`Json::read`]), so that a handler checks what it checks first (the
/// path, `If-Match`) in its own order. The endpoint's registration takes its
/// schema from the same `B`.
#[derive(Debug)]
pub struct Json<'r, B> {
    raw: &'r [u8],
    /// What a blank body reads as, when it may be left out.
    blank: Option<fn() -> B>,
    kind: PhantomData<fn() -> B>,
}

impl<'r, B> Json<'r, B> {
    /// A body that must be there.
    pub fn required(raw: &'r [u8]) -> Self {
        Self {
            raw,
            blank: None,
            kind: PhantomData,
        }
    }

    /// The same body, read as any JSON object (a `PATCH` merges it first).
    pub fn untyped(self) -> Json<'r, Value> {
        Json::required(self.raw)
    }
}

impl<'r, B: Default> Json<'r, B> {
    /// A body that may be left out: blank, it reads as `B::default()`.
    pub fn optional(raw: &'r [u8]) -> Self {
        Self {
            blank: Some(B::default),
            ..Self::required(raw)
        }
    }
}

impl<B: DeserializeOwned> Json<'_, B> {
    /// The body as `B`: `400 invalid_body` if it is not a JSON object or
    /// does not fit, `422 unknown_field` for a field `B` lacks; a blank
    /// optional body is `B::default()`.
    pub fn read(&self) -> Result<B, ApiError> {
        if let Some(blank) = self.blank
            && self.raw.iter().all(u8::is_ascii_whitespace)
        {
            return Ok(blank());
        }
        body_from_slice(self.raw)
    }
}

/// A JSON body: always an object, read whole before its type is. Text that
/// is not JSON is `400 invalid_body`; a field the body's type does not
/// have, at any depth, `422 unknown_field` (see [`body_from_value`]).
pub(crate) fn body_from_slice<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    // serde would read a struct from an array too
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::new(
            400,
            ErrorCode::InvalidBody,
            "the body must be a JSON object",
        ));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            ErrorCode::InvalidBody,
            format!("invalid JSON body: {e}"),
        )
    })?;
    body_from_value(value, "")
}

/// Reads a body (or the part of one at `at`, such as `change.rule`) from
/// JSON already parsed. Every admin body type denies unknown fields: one is
/// `422 unknown_field`, its detail naming the field by its path
/// (`adminRole.managedGroup`) and the fields allowed there. Any other
/// mismatch (a wrong type, a missing field, an unknown enum value) is `400
/// invalid_body`, naming where it is.
pub(crate) fn body_from_value<T: DeserializeOwned>(value: Value, at: &str) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| body_error(&e, at))
}

/// `at` and a path below it, joined: `change.rule` and `adminRole`,
/// `adminRole` and `[1]`; `.` is the root.
fn join_path(at: &str, below: &str) -> String {
    match (at, below) {
        (at, "" | ".") => at.to_owned(),
        ("", below) => below.to_owned(),
        (at, below) if below.starts_with('[') => format!("{at}{below}"),
        (at, below) => format!("{at}.{below}"),
    }
}

fn body_error(e: &serde_path_to_error::Error<serde_json::Error>, at: &str) -> ApiError {
    let message = e.inner().to_string();
    let path = join_path(at, &e.path().to_string());
    let Some((field, allowed)) = unknown_field(&message) else {
        let detail = if path.is_empty() {
            message
        } else {
            format!("{path}: {message}")
        };
        return ApiError::new(400, ErrorCode::InvalidBody, detail);
    };
    // A struct's unknown field is the path's last segment. An internally
    // tagged enum (`adminRole`, a preview's `change`) reads its fields after
    // its tag, out of the path's sight: its path ends at the enum.
    let named = matches!(
        e.path().iter().next_back(),
        Some(serde_path_to_error::Segment::Map { key }) if key == field
    );
    let path = if named { path } else { join_path(&path, field) };
    let allowed = match allowed.strip_prefix(", expected ") {
        Some(list) => format!("expected {list}"),
        None => "no other field is allowed here".to_owned(),
    };
    ApiError::new(
        422,
        ErrorCode::UnknownField,
        format!("{path}: unknown field, {allowed}"),
    )
}

/// The field and the rest of serde's message for a field a type denies
/// (`unknown field `{field}`, expected ...` or `..., there are no fields`).
fn unknown_field(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix("unknown field `")?;
    [", expected ", ", there are no fields"]
        .iter()
        .filter_map(|tail| rest.find(&format!("`{tail}")))
        .min()
        .and_then(|end| {
            let (field, tail) = rest.split_at_checked(end)?;
            Some((field, tail.strip_prefix('`')?))
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Outer {
        #[serde(default)]
        entries: Vec<Entry>,
        #[serde(default)]
        count: u32,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        id: String,
    }

    fn error(body: &str) -> ApiError {
        body_from_slice::<Outer>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_body_with_known_fields_reads() {
        let body: Outer = body_from_slice(br#" {"entries":[{"id":"a"}],"count":2}"#).unwrap();
        assert_eq!((body.entries[0].id.as_str(), body.count), ("a", 2));
    }

    #[test]
    fn an_unknown_field_is_422_naming_its_path_and_the_fields_allowed() {
        let e = error(r#"{"entries":[{"id":"a"},{"idd":"b"}]}"#);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                422,
                ErrorCode::UnknownField,
                "entries[1].idd: unknown field, expected `id`"
            )
        );
        let e = error(r#"{"cont":1}"#);
        assert_eq!(
            (e.status, e.code, e.message.as_str()),
            (
                422,
                ErrorCode::UnknownField,
                "cont: unknown field, expected `entries` or `count`"
            )
        );
        // a problem document, type and all
        let problem = e.body();
        assert_eq!(problem.problem_type, "urn:user-sync:problem:unknown_field");
        assert_eq!(problem.title, "Unknown field");
        assert_eq!(problem.status, 422);
    }

    #[test]
    fn a_part_of_a_body_is_named_below_where_it_is() {
        let value = serde_json::json!({"entries": [{"id": "a", "x": 1}]});
        let e = body_from_value::<Outer>(value, "change.rule").unwrap_err();
        assert_eq!(
            e.message,
            "change.rule.entries[0].x: unknown field, expected `id`"
        );
        assert_eq!(join_path("change", "[2].id"), "change[2].id");
        assert_eq!(join_path("", "."), "");
    }

    #[test]
    fn other_mismatches_stay_400_invalid_body_naming_the_field() {
        for (body, detail) in [
            (
                r#"{"count":"3"}"#,
                "count: invalid type: string \"3\", expected u32",
            ),
            (r#"{"entries":[{}]}"#, "entries[0]: missing field `id`"),
        ] {
            let e = error(body);
            assert_eq!(
                (e.status, e.code, e.message.as_str()),
                (400, ErrorCode::InvalidBody, detail),
                "{body}"
            );
        }
        // not JSON, or not an object: before any field is looked at
        for body in [r#"{"cont":1"#, "[]", r#"{"cont":{"a":{"#] {
            let e = error(body);
            assert_eq!((e.status, e.code), (400, ErrorCode::InvalidBody), "{body}");
        }
    }

    #[test]
    fn a_field_name_that_mimics_the_message_is_kept_whole() {
        assert_eq!(
            unknown_field("unknown field `a`b`, expected `id`"),
            Some(("a`b", ", expected `id`"))
        );
        assert_eq!(
            unknown_field("unknown field `x`, there are no fields"),
            Some(("x", ", there are no fields"))
        );
        assert_eq!(unknown_field("missing field `id`"), None);
    }
}
