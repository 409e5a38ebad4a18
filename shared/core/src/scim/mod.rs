//! SCIM 2.0 (RFC 7643 / 7644): request parsing, PATCH semantics and resource
//! rendering, with the tolerance real identity providers need (DESIGN §6).

pub mod cursor;
pub mod custom;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod listing;
pub mod patch;
pub mod user;

pub use error::ScimError;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Our extension for the attributes an organization chooses to capture
/// (`Organization::custom_attributes`); all are single-valued strings.
pub const CUSTOM_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";
/// Most custom attributes an organization may define.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 50;

/// Checks the names of an organization's custom attributes.
pub fn validate_custom_attributes(names: &[String]) -> Result<(), crate::DomainError> {
    if names.len() > MAX_CUSTOM_ATTRIBUTES {
        return Err(crate::DomainError::new(
            "customAttributes",
            format!("at most {MAX_CUSTOM_ATTRIBUTES}"),
        ));
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].iter().any(|m| m.eq_ignore_ascii_case(n)) {
            return Err(crate::DomainError::new(
                "customAttributes",
                format!("{n:?} is named twice (names are compared ignoring case)"),
            ));
        }
        let mut cs = n.chars();
        let ok = n.len() <= 64
            && cs.next().is_some_and(|c| c.is_ascii_alphabetic())
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(crate::DomainError::new(
                "customAttributes",
                format!("{n:?}: a letter, then letters, digits or '_', at most 64 in all"),
            ));
        }
    }
    Ok(())
}

pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Most elements of any multi-valued attribute (emails, roles, ...).
pub const MAX_MULTI_VALUES: usize = 100;
/// Largest a user's stored attributes may be, as JSON: well under
/// DynamoDB's 400 KB item limit, and small enough that a page of users
/// stays far under a response's limit.
pub const MAX_USER_BYTES: usize = 64 * 1024;

/// Longest string we accept in any single attribute, in characters.
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

/// Whether a write may go ahead on a resource at `version` given the
/// request's `If-Match` header: when there is none, when it is `*`, or when
/// it names that version (an unreadable one names none).
pub fn if_match_allows(header: Option<&str>, version: u64) -> bool {
    match header.map(parse_if_match) {
        None | Some(Some(IfMatch::Any)) => true,
        Some(Some(IfMatch::Version(v))) => v == version,
        Some(None) => false,
    }
}

/// Whether a `GET` with `If-None-Match` (one tag or several) names the
/// resource's current `version` (or `*`): the answer is then `304`.
pub fn if_none_match_names(header: &str, version: u64) -> bool {
    header.split(',').any(|tag| match parse_if_match(tag) {
        Some(IfMatch::Any) => true,
        Some(IfMatch::Version(x)) => x == version,
        None => false,
    })
}

/// Reads an optional bounded string attribute.
pub(crate) fn opt_string(
    v: Option<&serde_json::Value>,
    field: &str,
) -> Result<Option<String>, ScimError> {
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) if s.chars().count() <= MAX_STRING_LEN => {
            Ok(Some(s.clone()))
        }
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

    #[test]
    fn custom_attribute_names() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(
            validate_custom_attributes(&names(&["employeeNumber", "costCenter", "badge_2"]))
                .is_ok()
        );
        assert!(validate_custom_attributes(&[]).is_ok());
        for bad in [
            &["2fa"][..],
            &["cost-center"],
            &["a b"],
            &["badge", "Badge"],
            &[""],
        ] {
            let e = validate_custom_attributes(&names(bad)).err();
            assert_eq!(e.map(|e| e.field), Some("customAttributes"), "{bad:?}");
        }
        let many: Vec<String> = (0..=MAX_CUSTOM_ATTRIBUTES)
            .map(|i| format!("a{i}"))
            .collect();
        assert!(validate_custom_attributes(&many).is_err());
        assert!(validate_custom_attributes(&many[..MAX_CUSTOM_ATTRIBUTES]).is_ok());
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes
/// a response carries. `id` and `schemas` are always returned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Projection {
    pub attributes: Vec<patch::Path>,
    pub excluded: Vec<patch::Path>,
}

const ALWAYS_RETURNED: [&str; 2] = ["id", "schemas"];

impl Projection {
    /// Parses the comma-separated query values (or `.search` arrays, joined).
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let list = |s: Option<&str>| -> Result<Vec<patch::Path>, ScimError> {
            let Some(s) = s else { return Ok(Vec::new()) };
            if s.len() > 4096 {
                return Err(ScimError::invalid_value("attribute list is too long"));
            }
            s.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(|a| {
                    patch::parse_path(a)
                        .map_err(|_| ScimError::invalid_value(format!("not an attribute: {a:?}")))
                })
                .collect()
        };
        Ok(Self {
            attributes: list(attributes)?,
            excluded: list(excluded)?,
        })
    }

    /// Whether `members` of a group need to be read at all.
    pub fn wants(&self, attr: &str) -> bool {
        let named = |p: &patch::Path| p.schema.is_none() && p.attr.eq_ignore_ascii_case(attr);
        if self.excluded.iter().any(|p| named(p) && p.sub.is_none()) {
            return false;
        }
        self.attributes.is_empty() || self.attributes.iter().any(named)
    }

    fn container<'a>(
        obj: &'a mut serde_json::Map<String, serde_json::Value>,
        p: &patch::Path,
    ) -> Option<&'a mut serde_json::Map<String, serde_json::Value>> {
        match &p.schema {
            None => Some(obj),
            Some(s)
                if s.eq_ignore_ascii_case(USER_SCHEMA) || s.eq_ignore_ascii_case(GROUP_SCHEMA) =>
            {
                Some(obj)
            }
            Some(s) => {
                let key = obj.keys().find(|k| k.eq_ignore_ascii_case(s)).cloned()?;
                obj.get_mut(&key).and_then(serde_json::Value::as_object_mut)
            }
        }
    }

    /// Applies the projection to a rendered resource.
    pub fn apply(&self, resource: serde_json::Value) -> serde_json::Value {
        let serde_json::Value::Object(mut obj) = resource else {
            return resource;
        };
        for p in &self.excluded {
            if ALWAYS_RETURNED
                .iter()
                .any(|a| p.schema.is_none() && a.eq_ignore_ascii_case(&p.attr))
            {
                continue;
            }
            let Some(target) = Self::container(&mut obj, p) else {
                continue;
            };
            let Some(key) = target
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&p.attr))
                .cloned()
            else {
                continue;
            };
            match &p.sub {
                None => {
                    target.remove(&key);
                }
                Some(sub) => strip_sub(target.get_mut(&key), sub),
            }
        }
        if self.attributes.is_empty() {
            return serde_json::Value::Object(obj);
        }
        let mut out = serde_json::Map::new();
        for (k, v) in &obj {
            if ALWAYS_RETURNED.iter().any(|a| a.eq_ignore_ascii_case(k)) {
                out.insert(k.clone(), v.clone());
            }
        }
        for p in &self.attributes {
            let source = match &p.schema {
                None => Some(&obj),
                Some(s)
                    if s.eq_ignore_ascii_case(USER_SCHEMA)
                        || s.eq_ignore_ascii_case(GROUP_SCHEMA) =>
                {
                    Some(&obj)
                }
                Some(s) => obj
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(s))
                    .and_then(|(_, v)| v.as_object()),
            };
            let Some((key, value)) =
                source.and_then(|src| src.iter().find(|(k, _)| k.eq_ignore_ascii_case(&p.attr)))
            else {
                continue;
            };
            let value = match &p.sub {
                None => value.clone(),
                Some(sub) => keep_sub(value, sub),
            };
            match &p.schema {
                Some(s)
                    if !(s.eq_ignore_ascii_case(USER_SCHEMA)
                        || s.eq_ignore_ascii_case(GROUP_SCHEMA)) =>
                {
                    let ext_key = obj
                        .keys()
                        .find(|k| k.eq_ignore_ascii_case(s))
                        .cloned()
                        .unwrap_or_else(|| s.clone());
                    let entry = out
                        .entry(ext_key)
                        .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
                    if let Some(e) = entry.as_object_mut() {
                        e.insert(key.clone(), value);
                    }
                }
                _ => merge(&mut out, key, value),
            }
        }
        serde_json::Value::Object(out)
    }
}

fn merge(
    out: &mut serde_json::Map<String, serde_json::Value>,
    key: &str,
    value: serde_json::Value,
) {
    match (out.get_mut(key), value) {
        (Some(serde_json::Value::Object(have)), serde_json::Value::Object(more)) => {
            have.extend(more)
        }
        (_, v) => {
            out.insert(key.to_owned(), v);
        }
    }
}

fn keep_sub(value: &serde_json::Value, sub: &str) -> serde_json::Value {
    let pick = |o: &serde_json::Map<String, serde_json::Value>| {
        let mut m = serde_json::Map::new();
        if let Some((k, v)) = o.iter().find(|(k, _)| k.eq_ignore_ascii_case(sub)) {
            m.insert(k.clone(), v.clone());
        }
        serde_json::Value::Object(m)
    };
    match value {
        serde_json::Value::Object(o) => pick(o),
        serde_json::Value::Array(items) => serde_json::Value::Array(
            items
                .iter()
                .filter_map(|i| i.as_object().map(pick))
                .collect(),
        ),
        v => v.clone(),
    }
}

fn strip_sub(value: Option<&mut serde_json::Value>, sub: &str) {
    let strip = |o: &mut serde_json::Map<String, serde_json::Value>| {
        let keys: Vec<String> = o
            .keys()
            .filter(|k| k.eq_ignore_ascii_case(sub))
            .cloned()
            .collect();
        for k in keys {
            o.remove(&k);
        }
    };
    match value {
        Some(serde_json::Value::Object(o)) => strip(o),
        Some(serde_json::Value::Array(items)) => items
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
            .for_each(strip),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod projection_tests {
    use super::*;
    use serde_json::json;

    fn user() -> serde_json::Value {
        json!({"schemas": [USER_SCHEMA], "id": "u", "userName": "a", "name": {"givenName": "A", "familyName": "B"},
               "emails": [{"value": "a@x", "type": "work"}], "meta": {"version": "W/\"1\""},
               ENTERPRISE_USER_SCHEMA: {"department": "D", "division": "V"}})
    }

    #[test]
    fn attributes_keep_only_what_is_asked_plus_id() {
        let p = Projection::parse(Some("userName,name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None).unwrap();
        let r = p.apply(user());
        assert_eq!(r["id"], "u");
        assert_eq!(r["userName"], "a");
        assert_eq!(r["name"], json!({"givenName": "A"}));
        assert_eq!(r[ENTERPRISE_USER_SCHEMA], json!({"department": "D"}));
        assert!(r.get("emails").is_none());
        assert!(r.get("meta").is_none());
    }

    #[test]
    fn excluded_attributes_are_removed_but_never_id() {
        let p = Projection::parse(None, Some("name,emails.type,id,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division")).unwrap();
        let r = p.apply(user());
        assert!(r.get("name").is_none());
        assert_eq!(r["emails"], json!([{"value": "a@x"}]));
        assert_eq!(r["id"], "u");
        assert_eq!(r[ENTERPRISE_USER_SCHEMA], json!({"department": "D"}));
        assert!(
            !Projection::parse(None, Some("members"))
                .unwrap()
                .wants("members")
        );
        assert!(Projection::parse(None, None).unwrap().wants("members"));
        assert!(
            !Projection::parse(Some("displayName"), None)
                .unwrap()
                .wants("members")
        );
    }
}
