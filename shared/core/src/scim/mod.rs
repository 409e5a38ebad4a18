//! SCIM 2.0 (RFC 7643 / 7644): request parsing, PATCH semantics and resource
//! rendering, with the tolerance real identity providers need (DESIGN §6).

pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod patch;
pub mod user;

pub use error::ScimError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Longest string we accept in any single attribute.
pub const MAX_STRING_LEN: usize = 1024;

/// The ETag of a resource version.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}

/// Parses an `If-Match` value into the version it names (`*` matches any).
pub fn parse_if_match(value: &str) -> Option<IfMatch> {
    let v = value.trim();
    if v == "*" {
        return Some(IfMatch::Any);
    }
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.trim_matches('"');
    v.parse().ok().map(IfMatch::Version)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    Any,
    Version(u64),
}

/// Reads an optional bounded string attribute.
pub(crate) fn opt_string(
    v: Option<&serde_json::Value>,
    field: &str,
) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.len() <= MAX_STRING_LEN => Ok(Some(s.clone())),
        Some(serde_json::Value::String(_)) => {
            Err(ScimError::invalid_value(format!("{field} is too long")))
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "{field} must be a string"
        ))),
    }
}

/// Reads a boolean, accepting Entra's `"True"` / `"False"` strings.
pub(crate) fn lenient_bool(v: &serde_json::Value, field: &str) -> Result<bool, ScimError> {
    match v {
        serde_json::Value::Bool(b) => Ok(*b),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "{field} must be a boolean"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(parse_if_match("W/\"3\""), Some(IfMatch::Version(3)));
        assert_eq!(parse_if_match("\"3\""), Some(IfMatch::Version(3)));
        assert_eq!(parse_if_match("*"), Some(IfMatch::Any));
        assert_eq!(parse_if_match("W/\"x\""), None);
        assert_eq!(etag(3), "W/\"3\"");
    }
}
