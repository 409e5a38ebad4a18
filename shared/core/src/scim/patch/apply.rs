//! Applying PATCH operations to a resource: case-insensitive keys, filtered
//! paths, value normalisation, and the bounds a resource keeps.

use super::*;

pub(super) fn key_ci(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

pub(super) fn matches_filter(element: &Value, (attr, want): &(String, String)) -> bool {
    let Some(obj) = element.as_object() else {
        return false;
    };
    match crate::scim::user::get_ci(obj, attr) {
        Some(Value::String(s)) => s.eq_ignore_ascii_case(want),
        Some(Value::Bool(b)) => b.to_string().eq_ignore_ascii_case(want),
        Some(Value::Number(n)) => n.to_string() == *want,
        _ => false,
    }
}

/// `manager` may arrive as a plain id string; store it as `{"value": id}`.
pub(super) fn normalize(attr: &str, value: Value) -> Value {
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
pub(super) fn once_each<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), ScimError> {
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
/// [`crate::scim::CUSTOM_USER_SCHEMA`]); it must be given whenever the resource
/// holds custom values or an operation names the extension. The custom
/// values are kept as [`crate::scim::custom`] says: what the resource held of
/// attributes the organization no longer captures is dropped, and what the
/// operations write is checked.
pub fn apply_ops(
    resource: &mut Map<String, Value>,
    ops: &[PatchOp],
    custom: &[String],
) -> Result<(), ScimError> {
    use crate::scim::custom::{Source, keep_captured_in};
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

/// An operation's value holds at most [`crate::scim::MAX_MULTI_VALUES`] elements,
/// so that no operation costs more than that many elements' work.
pub(super) fn bounded(path: &Path, value: Option<&Value>) -> Result<(), ScimError> {
    match value {
        Some(Value::Array(items)) if items.len() > crate::scim::MAX_MULTI_VALUES => {
            Err(ScimError::invalid_value(format!(
                "{} takes at most {} values",
                path.attr,
                crate::scim::MAX_MULTI_VALUES
            )))
        }
        _ => Ok(()),
    }
}

/// After an operation, the attribute it touched holds at most
/// [`crate::scim::MAX_MULTI_VALUES`] elements: a PATCH is at most
/// [`MAX_OPERATIONS`] × that many elements' work, whatever it asks.
pub(super) fn still_bounded(resource: &Map<String, Value>, path: &Path) -> Result<(), ScimError> {
    let container = match &path.schema {
        None => Some(resource),
        Some(s) if s.eq_ignore_ascii_case(crate::scim::USER_SCHEMA) => Some(resource),
        Some(s) => resource
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(s))
            .and_then(|(_, v)| v.as_object()),
    };
    let grown = container
        .and_then(|c| c.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path.attr)))
        .and_then(|(_, v)| v.as_array())
        .is_some_and(|a| a.len() > crate::scim::MAX_MULTI_VALUES);
    if grown {
        return Err(ScimError::invalid_value(format!(
            "{} holds at most {} values",
            path.attr,
            crate::scim::MAX_MULTI_VALUES
        )));
    }
    Ok(())
}

pub(super) fn container<'a>(
    resource: &'a mut Map<String, Value>,
    schema: Option<&str>,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    let Some(schema) = schema else {
        return Ok(resource);
    };
    // the core schema's attributes live at the top level
    if schema.eq_ignore_ascii_case(crate::scim::USER_SCHEMA)
        || schema.eq_ignore_ascii_case(crate::scim::GROUP_SCHEMA)
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

pub(super) fn apply_one(
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scim::patch::test_support::apply;
    use serde_json::json;

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
}
