//! SCIM PATCH (RFC 7644 §3.5.2) with the tolerance Okta and Entra ID need:
//! `op` in any case, no-path values with plain, dotted or URN-qualified keys,
//! filtered paths that create the element when a filtered add finds none,
//! member removal by filter or by value array, `manager` as a string, an
//! empty `Operations` array.

use serde_json::{Map, Value};

use super::{PATCH_OP_SCHEMA, ScimError};

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

fn valid_attr(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// Parses a PATCH path.
pub fn parse_path(p: &str) -> Result<Path, ScimError> {
    let p = p.trim();
    if p.len() > MAX_PATH_LEN {
        return Err(ScimError::invalid_path("path is too long"));
    }
    // a schema URN prefix: everything up to the last ':' before the attribute
    let (schema, rest) = if p.len() > 4
        && p.get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
    {
        let head = p.split('[').next().unwrap_or(p);
        match head.rfind(':') {
            Some(i) => (Some(p[..i].to_owned()), &p[i + 1..]),
            None => return Err(ScimError::invalid_path("malformed schema-qualified path")),
        }
    } else {
        (None, p)
    };
    let (attr_part, filter, after) = match rest.find('[') {
        Some(open) => {
            let close = rest
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| ScimError::invalid_path("unbalanced [ ] in path"))?;
            let filter = parse_simple_filter(&rest[open + 1..close])?;
            (&rest[..open], Some(filter), &rest[close + 1..])
        }
        None => (rest, None, ""),
    };
    let (attr, sub) = if filter.is_some() {
        let sub = match after.strip_prefix('.') {
            Some(s) => Some(s.to_owned()),
            None if after.is_empty() => None,
            None => return Err(ScimError::invalid_path("unexpected text after ]")),
        };
        (attr_part.to_owned(), sub)
    } else {
        match attr_part.split_once('.') {
            Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
            None => (attr_part.to_owned(), None),
        }
    };
    if !valid_attr(&attr) || sub.as_deref().is_some_and(|s| !valid_attr(s)) {
        return Err(ScimError::invalid_path(format!(
            "unsupported path attribute in {p:?}"
        )));
    }
    Ok(Path {
        schema,
        attr,
        filter,
        sub,
    })
}

/// `subAttr eq "value"`: the value-path filters identity providers send.
fn parse_simple_filter(f: &str) -> Result<(String, String), ScimError> {
    let f = f.trim();
    let mut parts = f.splitn(3, char::is_whitespace);
    let (Some(attr), Some(op), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ScimError::invalid_filter(
            "expected `attribute eq \"value\"` in the path filter",
        ));
    };
    if !op.eq_ignore_ascii_case("eq") || !valid_attr(attr) {
        return Err(ScimError::invalid_filter(
            "only `attribute eq \"value\"` is supported in a path filter",
        ));
    }
    let value = value.trim();
    let value = match serde_json::from_str::<Value>(value) {
        Ok(Value::String(s)) => s,
        Ok(Value::Bool(b)) => b.to_string(),
        Ok(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(ScimError::invalid_filter(
                "the path filter value must be a quoted string",
            ));
        }
    };
    Ok((attr.to_owned(), value))
}

fn key_ci(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn matches_filter(element: &Value, (attr, want): &(String, String)) -> bool {
    let Some(obj) = element.as_object() else {
        return false;
    };
    match super::user::get_ci(obj, attr) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Bool(b)) => b.to_string().eq_ignore_ascii_case(want),
        Some(Value::Number(n)) => n.to_string() == *want,
        _ => false,
    }
}

/// `manager` may arrive as a plain id string; store it as `{"value": id}`.
fn normalize(attr: &str, value: Value) -> Value {
    match value {
        Value::String(s) if attr.eq_ignore_ascii_case("manager") => {
            let mut m = Map::new();
            m.insert("value".into(), Value::String(s));
            Value::Object(m)
        }
        v => v,
    }
}

/// Refuses an object naming one attribute twice: SCIM attribute names are
/// case-insensitive, so nothing says which of `badge` and `BADGE` is meant.
fn once_each<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), ScimError> {
    let mut seen: Vec<&String> = Vec::new();
    for n in names {
        if let Some(first) = seen.iter().find(|s| s.eq_ignore_ascii_case(n)) {
            return Err(ScimError::invalid_value(format!(
                "{first} and {n} name the same attribute (names are compared ignoring case); \
                 send one value"
            )));
        }
        seen.push(n);
    }
    Ok(())
}

/// Applies operations to a resource's attribute map (a User). Multi-valued
/// `members` are not handled here (see [`member_changes`]).
/// `custom` are the organization's custom attributes (of
/// [`super::CUSTOM_USER_SCHEMA`]); it must be given whenever the resource
/// holds custom values or an operation names the extension. The custom
/// values are kept as [`super::custom`] says: what the resource held of
/// attributes the organization no longer captures is dropped, and what the
/// operations write is checked.
pub fn apply_ops(
    resource: &mut Map<String, Value>,
    ops: &[PatchOp],
    custom: &[String],
) -> Result<(), ScimError> {
    use super::custom::{Source, keep_captured_in};
    keep_captured_in(custom, resource, Source::Stored)?;
    for op in ops {
        match (&op.path, &op.value) {
            (None, Some(Value::Object(values))) => {
                once_each(values.keys())?;
                for (k, v) in values {
                    if k.eq_ignore_ascii_case("schemas") {
                        continue;
                    }
                    // a whole extension object: each of its attributes
                    if let Some(schema) = extension_schema(k) {
                        apply_extension(resource, schema, op.op, Some(v), custom)?;
                        continue;
                    }
                    let path = parse_path(k)?;
                    check_user_path(&path, custom)?;
                    bounded(&path, Some(v))?;
                    apply_one(resource, op.op, &path, Some(v.clone()))?;
                    still_bounded(resource, &path)?;
                }
            }
            (None, _) => {
                return Err(ScimError::invalid_value(
                    "a PATCH without path needs an object value",
                ));
            }
            (Some(path), value) => match whole_extension(path) {
                Some(schema) => apply_extension(resource, schema, op.op, value.as_ref(), custom)?,
                None => {
                    check_user_path(path, custom)?;
                    bounded(path, value.as_ref())?;
                    apply_one(resource, op.op, path, value.clone())?;
                    still_bounded(resource, path)?;
                }
            },
        }
    }
    keep_captured_in(custom, resource, Source::Request)
}

/// An operation's value holds at most [`super::MAX_MULTI_VALUES`] elements,
/// so that no operation costs more than that many elements' work.
fn bounded(path: &Path, value: Option<&Value>) -> Result<(), ScimError> {
    match value {
        Some(Value::Array(items)) if items.len() > super::MAX_MULTI_VALUES => {
            Err(ScimError::invalid_value(format!(
                "{} takes at most {} values",
                path.attr,
                super::MAX_MULTI_VALUES
            )))
        }
        _ => Ok(()),
    }
}

/// After an operation, the attribute it touched holds at most
/// [`super::MAX_MULTI_VALUES`] elements: a PATCH is at most
/// [`MAX_OPERATIONS`] × that many elements' work, whatever it asks.
fn still_bounded(resource: &Map<String, Value>, path: &Path) -> Result<(), ScimError> {
    let container = match &path.schema {
        None => Some(resource),
        Some(s) if s.eq_ignore_ascii_case(super::USER_SCHEMA) => Some(resource),
        Some(s) => resource
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(s))
            .and_then(|(_, v)| v.as_object()),
    };
    let grown = container
        .and_then(|c| c.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.attr)))
        .and_then(|(_, v)| v.as_array())
        .is_some_and(|a| a.len() > super::MAX_MULTI_VALUES);
    if grown {
        return Err(ScimError::invalid_value(format!(
            "{} holds at most {} values",
            path.attr,
            super::MAX_MULTI_VALUES
        )));
    }
    Ok(())
}

/// Whether any operation names `schema` (its attributes or itself), so that
/// a caller reads what that schema needs only when it is used.
pub fn mentions_schema(ops: &[PatchOp], schema: &str) -> bool {
    let named = |s: &str| {
        s.get(..schema.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(schema))
    };
    ops.iter().any(|op| match (&op.path, &op.value) {
        (Some(path), _) => {
            path.schema
                .as_deref()
                .is_some_and(|s| named(&format!("{s}:{}", path.attr)))
                || path.schema.as_deref().is_some_and(named)
        }
        (None, Some(Value::Object(values))) => values.keys().any(|k| named(k)),
        (None, _) => false,
    })
}

/// The extension schema a name is (exactly), if it is one we serve.
fn extension_schema(name: &str) -> Option<&'static str> {
    [super::ENTERPRISE_USER_SCHEMA, super::CUSTOM_USER_SCHEMA]
        .into_iter()
        .find(|s| s.eq_ignore_ascii_case(name))
}

/// The extension a path names as a whole (not one of its attributes).
fn whole_extension(path: &Path) -> Option<&'static str> {
    if path.filter.is_some() || path.sub.is_some() {
        return None;
    }
    extension_schema(&format!("{}:{}", path.schema.as_deref()?, path.attr))
}

/// Adds, replaces or removes an extension as a whole; every attribute of an
/// added object is checked like a path of its own.
fn apply_extension(
    resource: &mut Map<String, Value>,
    schema: &str,
    op: OpKind,
    value: Option<&Value>,
    custom: &[String],
) -> Result<(), ScimError> {
    let key = key_ci(resource, schema);
    if op == OpKind::Remove {
        resource.remove(&key);
        return Ok(());
    }
    let Some(Value::Object(ext)) = value else {
        return Err(ScimError::invalid_value(
            "an extension value must be an object",
        ));
    };
    once_each(ext.keys())?;
    if op == OpKind::Replace {
        resource.remove(&key);
    }
    for (attr, v) in ext
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
    {
        let path = Path {
            schema: Some(schema.to_owned()),
            attr: attr.clone(),
            filter: None,
            sub: None,
        };
        check_user_path(&path, custom)?;
        apply_one(resource, op, &path, Some(v.clone()))?;
    }
    Ok(())
}

/// A User PATCH may only name attributes of the served schemas, and never a
/// read-only one: `invalidPath` / `mutability`, never silently ignored.
pub fn check_user_path(path: &Path, custom: &[String]) -> Result<(), ScimError> {
    use super::discovery::{ENTERPRISE_ATTRIBUTES, READ_ONLY_ATTRIBUTES, USER_ATTRIBUTES};
    let known = |list: &[&str]| list.iter().any(|a| a.eq_ignore_ascii_case(&path.attr));
    match path.schema.as_deref() {
        None => {}
        Some(s) if s.eq_ignore_ascii_case(super::USER_SCHEMA) => {}
        Some(s) if s.eq_ignore_ascii_case(super::ENTERPRISE_USER_SCHEMA) => {
            return if known(&ENTERPRISE_ATTRIBUTES) {
                check_sub_attributes(super::ENTERPRISE_USER_SCHEMA, path)
            } else {
                Err(ScimError::invalid_path(format!(
                    "{} is not an attribute of the enterprise extension",
                    path.attr
                )))
            };
        }
        Some(s) if s.eq_ignore_ascii_case(super::CUSTOM_USER_SCHEMA) => {
            return if custom.iter().any(|a| a.eq_ignore_ascii_case(&path.attr))
                && path.sub.is_none()
                && path.filter.is_none()
            {
                Ok(())
            } else {
                Err(ScimError::invalid_path(format!(
                    "{} is not a custom attribute of this organization",
                    path.attr
                )))
            };
        }
        Some(s) => return Err(ScimError::invalid_path(format!("unknown schema {s}"))),
    }
    if READ_ONLY_ATTRIBUTES
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&path.attr))
    {
        return Err(ScimError::new(
            400,
            Some("mutability"),
            format!("{} is read-only", path.attr),
        ));
    }
    if !known(&USER_ATTRIBUTES) {
        return Err(ScimError::invalid_path(format!(
            "{} is not a User attribute",
            path.attr
        )));
    }
    check_sub_attributes(super::USER_SCHEMA, path)
}

/// A sub-attribute, or the attribute a value filter compares, must be one
/// the schema (as `/Schemas` serves it) gives the attribute: `name.foo`,
/// `emails[type eq "work"].bogus` and `emails[constructor eq "x"]` are
/// `invalidPath`, never stored.
fn check_sub_attributes(schema: &str, path: &Path) -> Result<(), ScimError> {
    let named = path
        .sub
        .iter()
        .chain(path.filter.as_ref().map(|(attr, _)| attr));
    let subs = super::user::sub_attributes()
        .get(&(schema.to_lowercase(), path.attr.to_lowercase()))
        .map_or(&[][..], Vec::as_slice);
    for sub in named {
        let known = subs.iter().any(|s| s.name.eq_ignore_ascii_case(sub));
        if !known {
            let shown: String = sub.chars().take(64).collect();
            return Err(ScimError::invalid_path(format!(
                "{shown:?} is not a sub-attribute of {}",
                path.attr
            )));
        }
    }
    // a filter may compare a read-only sub-attribute; a path may not set one
    if let Some(sub) = &path.sub
        && subs
            .iter()
            .any(|s| s.read_only && s.name.eq_ignore_ascii_case(sub))
    {
        return Err(ScimError::new(
            400,
            Some("mutability"),
            format!("{}.{sub} is read-only", path.attr),
        ));
    }
    Ok(())
}

fn container<'a>(
    resource: &'a mut Map<String, Value>,
    schema: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let Some(schema) = schema else {
        return Ok(resource);
    };
    // the core schema's attributes live at the top level
    if schema.eq_ignore_ascii_case(super::USER_SCHEMA)
        || schema.eq_ignore_ascii_case(super::GROUP_SCHEMA)
    {
        return Ok(resource);
    }
    let key = key_ci(resource, schema);
    let entry = resource
        .entry(key)
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid_path("schema extension is not an object"))
}

fn apply_one(
    resource: &mut Map<String, Value>,
    op: OpKind,
    path: &Path,
    value: Option<Value>,
) -> Result<(), ScimError> {
    // a no-path key that is itself a schema URN: merge its object
    if path.schema.is_none() && path.filter.is_none() && path.sub.is_none() && path.attr.is_empty()
    {
        return Err(ScimError::invalid_path("empty path"));
    }
    let target = container(resource, path.schema.as_deref())?;
    let key = key_ci(target, &path.attr);
    match (&path.filter, &path.sub, op) {
        (None, None, OpKind::Remove) => {
            target.remove(&key);
        }
        (None, None, OpKind::Add) => {
            let value = normalize(&path.attr, value.unwrap_or(Value::Null));
            match (target.get_mut(&key), value) {
                (Some(Value::Array(existing)), Value::Array(more)) => existing.extend(more),
                (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
                (_, v) => {
                    target.insert(key, v);
                }
            }
        }
        (None, None, OpKind::Replace) => {
            let value = normalize(&path.attr, value.unwrap_or(Value::Null));
            match (target.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more),
                (_, v) => {
                    target.insert(key, v);
                }
            }
        }
        (None, Some(sub), _) => {
            let parent = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !parent.is_object() {
                *parent = Value::Object(Map::new());
            }
            if let Some(p) = parent.as_object_mut() {
                let sub_key = key_ci(p, sub);
                if op == OpKind::Remove {
                    p.remove(&sub_key);
                } else {
                    p.insert(sub_key, value.unwrap_or(Value::Null));
                }
            }
        }
        (Some(filter), sub, _) => {
            let list = target
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !list.is_array() {
                *list = Value::Array(Vec::new());
            }
            let Some(items) = list.as_array_mut() else {
                return Err(ScimError::invalid_path("not a multi-valued attribute"));
            };
            let found = items.iter().any(|e| matches_filter(e, filter));
            match (op, sub) {
                (OpKind::Remove, None) => items.retain(|e| !matches_filter(e, filter)),
                (OpKind::Remove, Some(sub)) => {
                    for e in items.iter_mut().filter(|e| matches_filter(e, filter)) {
                        if let Some(o) = e.as_object_mut() {
                            let k = key_ci(o, sub);
                            o.remove(&k);
                        }
                    }
                }
                (_, Some(sub)) if found => {
                    for e in items.iter_mut().filter(|e| matches_filter(e, filter)) {
                        if let Some(o) = e.as_object_mut() {
                            let k = key_ci(o, sub);
                            o.insert(k, value.clone().unwrap_or(Value::Null));
                        }
                    }
                }
                (_, Some(sub)) => {
                    let mut e = Map::new();
                    e.insert(filter.0.clone(), Value::String(filter.1.clone()));
                    e.insert(sub.clone(), value.unwrap_or(Value::Null));
                    items.push(Value::Object(e));
                }
                (_, None) => {
                    let v = value.unwrap_or(Value::Null);
                    let Value::Object(mut v) = v else {
                        return Err(ScimError::invalid_value(
                            "a filtered path without sub-attribute needs an object value",
                        ));
                    };
                    v.insert(filter.0.clone(), Value::String(filter.1.clone()));
                    items.retain(|e| !matches_filter(e, filter));
                    items.push(Value::Object(v));
                }
            }
        }
    }
    Ok(())
}

/// What a Group PATCH does to the group: member ids to add and remove, and a
/// new display name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    pub remove_all: bool,
    pub display_name: Option<String>,
    /// `Some(None)`: remove the externalId.
    pub external_id: Option<Option<String>>,
    /// An `id` sent along with a replace; it must be the group's own.
    pub id: Option<String>,
}

fn member_values(value: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let list = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list.clone(),
        Some(v @ Value::Object(_)) => vec![v.clone()],
        Some(_) => {
            return Err(ScimError::invalid_value(
                "members must be an array of {\"value\": id}",
            ));
        }
    };
    list.iter()
        .map(
            |m| match m.as_object().and_then(|o| super::user::get_ci(o, "value")) {
                Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => Ok(s.clone()),
                _ => Err(ScimError::invalid_value(
                    "each member needs a string value (the user id)",
                )),
            },
        )
        .collect()
}

/// Interprets a Group PATCH.
pub fn member_changes(ops: &[PatchOp]) -> Result<GroupChanges, ScimError> {
    let mut changes = GroupChanges::default();
    for op in ops {
        let entries: Vec<(Option<Path>, Option<Value>)> = match (&op.path, &op.value) {
            (None, Some(Value::Object(values))) => values
                .iter()
                .map(|(k, v)| parse_path(k).map(|p| (Some(p), Some(v.clone()))))
                .collect::<Result<_, _>>()?,
            (None, _) => {
                return Err(ScimError::invalid_value(
                    "a PATCH without path needs an object value",
                ));
            }
            (p, v) => vec![(p.clone(), v.clone())],
        };
        for (path, value) in entries {
            let Some(path) = path else { continue };
            let attr = path.attr.as_str();
            // Okta's rename carries the group's own id beside the new name;
            // `schemas` may come along too: neither changes anything
            if op.op == OpKind::Replace
                && path.schema.is_none()
                && (attr.eq_ignore_ascii_case("id") || attr.eq_ignore_ascii_case("schemas"))
            {
                if let (true, Some(v)) = (attr.eq_ignore_ascii_case("id"), &value) {
                    changes.id = v.as_str().map(str::to_owned);
                }
                continue;
            }
            if attr.eq_ignore_ascii_case("members") {
                match (op.op, &path.filter) {
                    (OpKind::Add, None) => changes.add.extend(member_values(value.as_ref())?),
                    (OpKind::Replace, None) => {
                        changes.remove_all = true;
                        changes.remove.clear();
                        changes.add = member_values(value.as_ref())?;
                    }
                    (OpKind::Remove, None) => {
                        let ids = member_values(value.as_ref())?;
                        if ids.is_empty() {
                            changes.remove_all = true;
                            changes.add.clear();
                        } else {
                            changes.add.retain(|a| !ids.contains(a));
                            changes.remove.extend(ids);
                        }
                    }
                    (OpKind::Remove, Some((fattr, fval)))
                        if fattr.eq_ignore_ascii_case("value") =>
                    {
                        changes.add.retain(|a| a != fval);
                        changes.remove.push(fval.clone());
                    }
                    _ => return Err(ScimError::invalid_path("unsupported members operation")),
                }
            } else if (attr.eq_ignore_ascii_case("displayName")
                || attr.eq_ignore_ascii_case("externalId"))
                && (path.filter.is_some() || path.sub.is_some() || path.schema.is_some())
            {
                return Err(ScimError::invalid_path(format!(
                    "{attr} has no sub-attributes"
                )));
            } else if attr.eq_ignore_ascii_case("displayName") && op.op != OpKind::Remove {
                match value {
                    Some(Value::String(s))
                        if !s.trim().is_empty()
                            && s.len() <= super::MAX_STRING_LEN
                            && !s.chars().any(char::is_control) =>
                    {
                        changes.display_name = Some(s);
                    }
                    _ => {
                        return Err(ScimError::invalid_value(
                            "displayName must be a non-empty string without control characters",
                        ));
                    }
                }
            } else if attr.eq_ignore_ascii_case("externalId") {
                changes.external_id = Some(if op.op == OpKind::Remove {
                    None
                } else {
                    super::opt_string(value.as_ref(), "externalId")?
                });
            } else {
                return Err(ScimError::invalid_path(format!(
                    "unsupported Group attribute: {attr}"
                )));
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(resource: Value, body: Value) -> Value {
        let mut r = resource.as_object().cloned().unwrap();
        apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap();
        Value::Object(r)
    }

    #[test]
    fn entra_replace_active_false_with_capitalized_op() {
        let r = apply(
            json!({"userName": "a", "active": true}),
            json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}),
        );
        assert_eq!(r["active"], json!("False"));
    }

    #[test]
    fn no_path_object_with_dotted_and_urn_keys() {
        let r = apply(
            json!({"userName": "a", "name": {"givenName": "A"}}),
            json!({"Operations": [{"op": "replace", "value": {
                "name.givenName": "Ada",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
                "active": false
            }}]}),
        );
        assert_eq!(r["name"]["givenName"], json!("Ada"));
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            json!("R&D")
        );
        assert_eq!(r["active"], json!(false));
    }

    #[test]
    fn filtered_add_creates_the_element() {
        let r = apply(
            json!({"userName": "a"}),
            json!({"Operations": [{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@x"}]}),
        );
        assert_eq!(r["emails"], json!([{"type": "work", "value": "a@x"}]));
        let r = apply(
            r,
            json!({"Operations": [{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@x"}]}),
        );
        assert_eq!(r["emails"], json!([{"type": "work", "value": "b@x"}]));
    }

    #[test]
    fn manager_as_string_becomes_object() {
        let r = apply(
            json!({"userName": "a"}),
            json!({"Operations": [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "boss"}]}),
        );
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
            json!({"value": "boss"})
        );
    }

    #[test]
    fn unknown_and_read_only_paths_are_refused() {
        let mut r = json!({"userName": "a"}).as_object().cloned().unwrap();
        for (body, kind) in [
            (
                json!({"Operations": [{"op": "replace", "path": "favouriteColour", "value": "x"}]}),
                "invalidPath",
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "id", "value": "x"}]}),
                "mutability",
            ),
            (
                json!({"Operations": [{"op": "add", "path": "groups", "value": [{"value": "g"}]}]}),
                "mutability",
            ),
            (
                json!({"Operations": [{"op": "replace", "value": {"meta.created": "x"}}]}),
                "mutability",
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName", "value": "x"}]}),
                "mutability",
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "urn:example:ext:1.0:User:x", "value": "x"}]}),
                "invalidPath",
            ),
            (
                json!({"Operations": [{"op": "replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:shoeSize", "value": "x"}]}),
                "invalidPath",
            ),
        ] {
            let e = apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{body}");
        }
    }

    #[test]
    fn unknown_sub_attributes_are_refused() {
        let mut r =
            json!({"userName": "a", "emails": [{"type": "work", "value": "a@example.com"}]})
                .as_object()
                .cloned()
                .unwrap();
        for path in [
            "name.foo",
            "emails[type eq \"work\"].bogus",
            "emails[constructor eq \"x\"].value",
            "userName.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.boss",
        ] {
            let body = json!({"Operations": [{"op": "replace", "path": path, "value": "x"}]});
            let e = apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidPath"), "{path}");
            let body = json!({"Operations": [{"op": "replace", "value": {path: "x"}}]});
            let e = apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidPath"), "{path}");
        }
        for path in [
            "name.givenName",
            "emails[type eq \"work\"].value",
            "addresses[type eq \"work\"].streetAddress",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ] {
            let body = json!({"Operations": [{"op": "add", "path": path, "value": "x"}]});
            apply_ops(&mut r, &parse_patch(&body).unwrap(), &[]).unwrap();
        }
    }

    #[test]
    fn group_names_refuse_control_characters_and_sub_attributes() {
        for (path, value, kind) in [
            ("displayName", json!("a\rb"), "invalidValue"),
            ("displayName", json!("x\u{0}y"), "invalidValue"),
            ("displayName.x", json!("x"), "invalidPath"),
            ("externalId.x", json!("x"), "invalidPath"),
        ] {
            let body = json!({"Operations": [{"op": "replace", "path": path, "value": value}]});
            let e = member_changes(&parse_patch(&body).unwrap()).unwrap_err();
            assert_eq!(e.scim_type, Some(kind), "{path} {value}");
        }
    }

    #[test]
    fn whole_extension_object_without_path() {
        let r = apply(
            json!({"userName": "a"}),
            json!({"Operations": [{"op": "add", "value": {
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales", "manager": "m1"}
            }}]}),
        );
        let ext = &r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
        assert_eq!(ext["department"], json!("Sales"));
        assert_eq!(ext["manager"], json!({"value": "m1"}));
    }

    #[test]
    fn custom_attributes_of_the_organization() {
        let custom = vec!["badgeNumber".to_owned()];
        let mut r = json!({"userName": "a"}).as_object().cloned().unwrap();
        let ok = json!({"Operations": [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:usersync:2.0:User:badgeNumber", "value": "B7"}]});
        apply_ops(&mut r, &parse_patch(&ok).unwrap(), &custom).unwrap();
        assert_eq!(
            r["urn:ietf:params:scim:schemas:extension:usersync:2.0:User"]["badgeNumber"],
            json!("B7")
        );
        let unknown = json!({"Operations": [{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:usersync:2.0:User:shoeSize", "value": "9"}]});
        let e = apply_ops(&mut r, &parse_patch(&unknown).unwrap(), &custom).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidPath"));
        assert!(
            apply_ops(&mut r, &parse_patch(&ok).unwrap(), &[]).is_err(),
            "not an attribute of an organization without it"
        );
    }

    #[test]
    fn custom_values_are_bounded_one_per_name_and_only_of_captured_attributes() {
        const EXT: &str = "urn:ietf:params:scim:schemas:extension:usersync:2.0:User";
        let custom = vec!["badgeNumber".to_owned(), "costCenter".to_owned()];
        let patch = |ops: Value| parse_patch(&json!({ "Operations": ops })).unwrap();
        let stored = || {
            json!({"userName": "a", EXT: {"badgeNumber": "7", "shoeSize": "44"}})
                .as_object()
                .cloned()
                .unwrap()
        };
        // another case of the name replaces the one value, kept as the
        // organization spells it; the value of an attribute it no longer
        // captures is dropped with this write
        let mut r = stored();
        let upper = format!("{EXT}:BADGENUMBER");
        apply_ops(
            &mut r,
            &patch(json!([{"op": "replace", "path": upper, "value": "9"}])),
            &custom,
        )
        .unwrap();
        assert_eq!(r[EXT], json!({"badgeNumber": "9"}));
        // an unrelated change drops it too
        let mut r = stored();
        apply_ops(
            &mut r,
            &patch(json!([{"op": "replace", "path": "title", "value": "Boss"}])),
            &custom,
        )
        .unwrap();
        assert_eq!(r[EXT], json!({"badgeNumber": "7"}));
        // one value object naming an attribute twice: refused
        for ops in [
            json!([{"op": "add", "value": {EXT: {"badgeNumber": "1", "BADGENUMBER": "2"}}}]),
            json!([{"op": "add", "path": EXT, "value": {"costCenter": "1", "costcenter": "2"}}]),
            json!([{"op": "add", "value": {
                format!("{EXT}:badgeNumber"): "1", format!("{EXT}:badgenumber"): "2"}}]),
        ] {
            let e = apply_ops(&mut stored(), &patch(ops.clone()), &custom).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidValue"), "{ops}");
            assert!(e.detail.contains("same attribute"), "{ops}: {}", e.detail);
        }
        // a value is a string of at most 1,024 characters
        for value in [json!("x".repeat(100_000)), json!(5), json!({"a": "b"})] {
            let ops = json!([{"op": "add", "path": format!("{EXT}:costCenter"), "value": value}]);
            let e = apply_ops(&mut stored(), &patch(ops), &custom).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidValue"), "{value}");
        }
        let at_limit = "ü".repeat(1_024);
        let ops = json!([{"op": "add", "path": format!("{EXT}:costCenter"), "value": at_limit}]);
        let mut r = stored();
        apply_ops(&mut r, &patch(ops), &custom).unwrap();
        assert_eq!(r[EXT]["costCenter"], json!(at_limit));
    }

    #[test]
    fn the_extension_as_a_path() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let r = apply(
            json!({"userName": "a"}),
            json!({"Operations": [{"op": "add", "path": ext, "value": {"department": "D"}}]}),
        );
        assert_eq!(r[ext]["department"], json!("D"));
        let r = apply(
            r,
            json!({"Operations": [{"op": "replace", "path": ext, "value": {"division": "V"}}]}),
        );
        assert_eq!(r[ext], json!({"division": "V"}));
        let r = apply(r, json!({"Operations": [{"op": "remove", "path": ext}]}));
        assert!(r.get(ext).is_none());
    }

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

    #[test]
    fn okta_rename_carries_the_group_id() {
        let ops = parse_patch(&json!({"Operations": [{"op": "replace", "value": {"id": "g1", "displayName": "New"}}]})).unwrap();
        let c = member_changes(&ops).unwrap();
        assert_eq!(c.display_name.as_deref(), Some("New"));
        assert_eq!(c.id.as_deref(), Some("g1"));
    }

    #[test]
    fn group_member_changes_in_all_forms() {
        let ops = parse_patch(&json!({"Operations": [
            {"op": "Add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Remove", "path": "members[value eq \"u2\"]"},
            {"op": "Remove", "path": "members", "value": [{"value": "u3"}]},
            {"op": "replace", "value": {"displayName": "Sales"}}
        ]}))
        .unwrap();
        let c = member_changes(&ops).unwrap();
        assert_eq!(c.add, vec!["u1".to_owned()]);
        assert_eq!(c.remove, vec!["u2".to_owned(), "u3".to_owned()]);
        assert_eq!(c.display_name.as_deref(), Some("Sales"));
    }
}
