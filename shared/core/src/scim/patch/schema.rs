//! What a user PATCH may name: the schemas' attributes and sub-attributes,
//! the read-only ones, the extensions (whole or by attribute), and the
//! organization's custom attributes.

use super::*;

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
pub(super) fn extension_schema(name: &str) -> Option<&'static str> {
    [
        crate::scim::ENTERPRISE_USER_SCHEMA,
        crate::scim::CUSTOM_USER_SCHEMA,
    ]
    .into_iter()
    .find(|s| s.eq_ignore_ascii_case(name))
}

/// The extension a path names as a whole (not one of its attributes).
pub(super) fn whole_extension(path: &Path) -> Option<&'static str> {
    if path.filter.is_some() || path.sub.is_some() {
        return None;
    }
    extension_schema(&format!("{}:{}", path.schema.as_deref()?, path.attr))
}

/// Adds, replaces or removes an extension as a whole; every attribute of an
/// added object is checked like a path of its own.
pub(super) fn apply_extension(
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
    use crate::scim::discovery::{ENTERPRISE_ATTRIBUTES, READ_ONLY_ATTRIBUTES, USER_ATTRIBUTES};
    let known = |list: &[&str]| list.iter().any(|a| a.eq_ignore_ascii_case(&path.attr));
    match path.schema.as_deref() {
        None => {}
        Some(s) if s.eq_ignore_ascii_case(crate::scim::USER_SCHEMA) => {}
        Some(s) if s.eq_ignore_ascii_case(crate::scim::ENTERPRISE_USER_SCHEMA) => {
            return if known(&ENTERPRISE_ATTRIBUTES) {
                check_sub_attributes(crate::scim::ENTERPRISE_USER_SCHEMA, path)
            } else {
                Err(ScimError::invalid_path(format!(
                    "{} is not an attribute of the enterprise extension",
                    path.attr
                )))
            };
        }
        Some(s) if s.eq_ignore_ascii_case(crate::scim::CUSTOM_USER_SCHEMA) => {
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
    check_sub_attributes(crate::scim::USER_SCHEMA, path)
}

/// A sub-attribute, or the attribute a value filter compares, must be one
/// the schema (as `/Schemas` serves it) gives the attribute: `name.foo`,
/// `emails[type eq "work"].bogus` and `emails[constructor eq "x"]` are
/// `invalidPath`, never stored.
pub(super) fn check_sub_attributes(schema: &str, path: &Path) -> Result<(), ScimError> {
    let named = path
        .sub
        .iter()
        .chain(path.filter.as_ref().map(|(attr, _)| attr));
    let subs = crate::scim::user::sub_attributes()
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scim::patch::test_support::apply;
    use serde_json::json;

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
}
