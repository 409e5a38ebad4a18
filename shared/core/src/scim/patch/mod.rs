//! SCIM PATCH (RFC 7644 §3.5.2) with the tolerance Okta and Entra ID need:
//! `op` in any case, no-path values with plain, dotted or URN-qualified keys,
//! filtered paths that create the element when a filtered add finds none,
//! member removal by filter or by value array, `manager` as a string, an
//! empty `Operations` array.

use serde_json::{Map, Value};

use super::{PATCH_OP_SCHEMA, ScimError};

mod apply;
mod members;
mod path;
mod schema;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod test_support;

pub use apply::apply_ops;
use apply::*;
pub use members::{GroupChanges, member_changes};
pub use path::parse_path;
use schema::*;
pub use schema::{check_user_path, mentions_schema};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 1000;
/// Longest accepted path.
pub const MAX_PATH_LEN: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// `attr[subAttr eq "value"].sub`, optionally qualified by a schema URN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub schema: Option<String>,
    pub attr: String,
    pub filter: Option<(String, String)>,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<Path>,
    pub value: Option<Value>,
}

/// Parses a PatchOp request body.
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(ScimError::invalid_syntax(
            "the request body must be a JSON object",
        ));
    };
    if let Some(schemas) = obj.get("schemas") {
        let ok = schemas.as_array().is_some_and(|s| {
            s.iter().any(|x| {
                x.as_str()
                    .is_some_and(|x| x.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
        if !ok {
            return Err(ScimError::invalid_syntax(
                "schemas must contain the PatchOp schema",
            ));
        }
    }
    let ops = match super::user::get_ci(obj, "Operations") {
        Some(Value::Array(ops)) => ops,
        _ => return Err(ScimError::invalid_syntax("Operations must be an array")),
    };
    if ops.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_OPERATIONS} operations per request"
        )));
    }
    ops.iter().map(parse_op).collect()
}

fn parse_op(v: &Value) -> Result<PatchOp, ScimError> {
    let Some(o) = v.as_object() else {
        return Err(ScimError::invalid_syntax(
            "each operation must be an object",
        ));
    };
    let op = match super::user::get_ci(o, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax(
                "op must be add, replace or remove",
            ));
        }
    };
    let path = match super::user::get_ci(o, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if p.trim().is_empty() => None,
        Some(Value::String(p)) => Some(parse_path(p)?),
        Some(_) => return Err(ScimError::invalid_path("path must be a string")),
    };
    let value = super::user::get_ci(o, "value").cloned();
    if op != OpKind::Remove && value.is_none() {
        return Err(ScimError::invalid_value("add and replace need a value"));
    }
    if op == OpKind::Remove && path.is_none() {
        return Err(ScimError::no_target("remove needs a path"));
    }
    Ok(PatchOp { op, path, value })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_operations_is_accepted() {
        assert!(parse_patch(&json!({"Operations": []})).unwrap().is_empty());
    }

    #[test]
    fn bad_ops_are_refused() {
        assert!(parse_patch(&json!({"Operations": [{"op": "move", "path": "a"}]})).is_err());
        assert!(parse_patch(&json!({"Operations": [{"op": "remove"}]})).is_err());
        assert!(parse_patch(&json!({"Operations": "x"})).is_err());
        assert!(parse_path("emails[type eq \"work\"").is_err());
        assert!(parse_path("__proto__.x").is_err());
        // multi-byte text where a schema prefix would be read: an error, not a panic
        assert!(parse_path("ééé").is_err());
        assert!(parse_path("urné:x").is_err());
        let odd = parse_patch(&json!({"Operations": [{"op": "add", "value": {"ééééééééé": "x"}}]}))
            .unwrap();
        assert!(!mentions_schema(&odd, super::super::CUSTOM_USER_SCHEMA));
    }
}
