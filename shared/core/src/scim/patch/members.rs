//! A group PATCH: its name, externalId and member changes in every form
//! identity providers send.

use super::*;

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

pub(super) fn member_values(value: Option<&Value>) -> Result<Vec<String>, ScimError> {
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
        .map(|m| {
            match m
                .as_object()
                .and_then(|o| crate::scim::user::get_ci(o, "value"))
            {
                Some(Value::String(s)) if !s.is_empty() && s.len() <= 64 => Ok(s.clone()),
                _ => Err(ScimError::invalid_value(
                    "each member needs a string value (the user id)",
                )),
            }
        })
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
                            && s.len() <= crate::scim::MAX_STRING_LEN
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
                    crate::scim::opt_string(value.as_ref(), "externalId")?
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
