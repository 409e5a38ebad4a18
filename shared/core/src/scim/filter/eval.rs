//! Evaluating a filter against a resource's SCIM JSON.

use serde_json::Value;

use super::*;

/// Whether an attribute's strings compare case-sensitively (`caseExact` in
/// `/Schemas`, RFC 7643 §2.2): ids and references do (`id`, `externalId`,
/// the `value` of `members`, `groups` and `manager`, and `$ref`); every other
/// string, `emails.value` among them, compares ignoring case. `parent` is
/// the multi-valued attribute a value filter (`emails[...]`) looks into.
fn case_exact(parent: Option<&str>, path: &AttrPath) -> bool {
    let (attr, sub) = match parent {
        Some(p) => (p, Some(path.attr.as_str())),
        None => (path.attr.as_str(), path.sub.as_deref()),
    };
    let one_of = |name: &str, list: &[&str]| list.iter().any(|l| l.eq_ignore_ascii_case(name));
    match sub {
        // a multi-valued attribute without a sub-attribute compares its `value`
        None => one_of(attr, &["id", "externalId", "members", "groups"]),
        Some(sub) => {
            sub.eq_ignore_ascii_case("$ref")
                || (sub.eq_ignore_ascii_case("value")
                    && one_of(attr, &["members", "groups", "manager"]))
        }
    }
}

fn lookup<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object().and_then(|o| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// The values an attribute path names in a resource (flattening arrays).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let container = match &path.schema {
        Some(schema)
            if schema.eq_ignore_ascii_case(crate::scim::USER_SCHEMA)
                || schema.eq_ignore_ascii_case(crate::scim::GROUP_SCHEMA) =>
        {
            Some(resource)
        }
        Some(schema) => lookup(resource, schema),
        None => Some(resource),
    };
    let Some(top) = container.and_then(|c| lookup(c, &path.attr)) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match top {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    match &path.sub {
        Some(sub) => items.into_iter().filter_map(|i| lookup(i, sub)).collect(),
        // a multi-valued complex attribute compares by its `value`
        None => items
            .into_iter()
            .map(|i| {
                if i.is_object() {
                    lookup(i, "value").unwrap_or(i)
                } else {
                    i
                }
            })
            .collect(),
    }
}

/// Booleans (and mismatched types) only support equality.
fn eq_ne(op: CompareOp, equal: bool) -> bool {
    match op {
        CompareOp::Eq => equal,
        CompareOp::Ne => !equal,
        _ => false,
    }
}

fn compare_one(v: &Value, op: CompareOp, want: &CompValue, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = |o: Ordering| match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    };
    match (v, want) {
        (Value::String(have), CompValue::String(want)) => {
            let (have, want) = if case_exact {
                (have.clone(), want.clone())
            } else {
                (have.to_lowercase(), want.to_lowercase())
            };
            match op {
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                _ => ordering(have.cmp(&want)),
            }
        }
        (Value::Bool(have), CompValue::Bool(want)) => eq_ne(op, have == want),
        // Entra's "True"/"False" strings compare with booleans
        (Value::String(have), CompValue::Bool(want)) => {
            eq_ne(op, have.eq_ignore_ascii_case("true") == *want)
        }
        (Value::Number(have), CompValue::Number(want)) => {
            match have.as_f64().and_then(|h| h.partial_cmp(want)) {
                Some(o) => ordering(o),
                None => false,
            }
        }
        (Value::Null, CompValue::Null) => matches!(op, CompareOp::Eq),
        (_, CompValue::Null) => matches!(op, CompareOp::Ne),
        _ => matches!(op, CompareOp::Ne),
    }
}

impl Filter {
    /// Whether the filter names `attr` (a top-level attribute, in any
    /// schema), anywhere in it.
    pub fn names(&self, attr: &str) -> bool {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => a.names(attr) || b.names(attr),
            Filter::Not(f) => f.names(attr),
            Filter::Present(path) | Filter::Compare { path, .. } => {
                path.attr.eq_ignore_ascii_case(attr)
            }
            Filter::ValuePath { path, .. } => path.attr.eq_ignore_ascii_case(attr),
        }
    }

    /// Whether a resource (its SCIM JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        self.matches_in(resource, None)
    }

    /// `parent`: the multi-valued attribute whose element `resource` is,
    /// inside a value filter.
    fn matches_in(&self, resource: &Value, parent: Option<&str>) -> bool {
        match self {
            Filter::And(a, b) => a.matches_in(resource, parent) && b.matches_in(resource, parent),
            Filter::Or(a, b) => a.matches_in(resource, parent) || b.matches_in(resource, parent),
            Filter::Not(f) => !f.matches_in(resource, parent),
            Filter::Present(path) => values(resource, path).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Filter::Compare { path, op, value } => {
                let case_exact = case_exact(parent, path);
                let found = values(resource, path);
                if found.is_empty() {
                    return *op == CompareOp::Ne
                        || (*value == CompValue::Null && *op == CompareOp::Eq);
                }
                if *op == CompareOp::Ne {
                    return found
                        .iter()
                        .all(|v| compare_one(v, CompareOp::Ne, value, case_exact));
                }
                found.iter().any(|v| compare_one(v, *op, value, case_exact))
            }
            Filter::ValuePath { path, filter } => {
                let container = match &path.schema {
                    Some(schema) => lookup(resource, schema),
                    None => Some(resource),
                };
                let inner = Some(path.attr.as_str());
                match container.and_then(|c| lookup(c, &path.attr)) {
                    Some(Value::Array(items)) => {
                        items.iter().any(|item| filter.matches_in(item, inner))
                    }
                    Some(item @ Value::Object(_)) => filter.matches_in(item, inner),
                    _ => false,
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ada() -> Value {
        json!({
            "id": "u1",
            "userName": "Ada@Example.com",
            "externalId": "00uA",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"type": "work", "value": "ada@example.com", "primary": true}, {"type": "home", "value": "ada@home.example"}],
            "meta": {"lastModified": "2026-01-02T00:00:00.000Z"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "42", "manager": {"value": "boss"}},
            "members": [{"value": "x1"}]
        })
    }

    fn m(f: &str) -> bool {
        parse_filter(f).unwrap().matches(&ada())
    }

    #[test]
    fn every_operator() {
        assert!(m(r#"userName eq "ada@example.com""#));
        assert!(m(r#"userName ne "bob""#));
        assert!(m(r#"userName co "EXAMPLE""#));
        assert!(m(r#"userName sw "ada""#));
        assert!(m(r#"userName ew ".com""#));
        assert!(m("externalId pr"));
        assert!(!m("title pr"));
        assert!(m(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#));
        assert!(m(r#"meta.lastModified ge "2026-01-02T00:00:00.000Z""#));
        assert!(m(r#"meta.lastModified lt "2027""#));
        assert!(m(r#"meta.lastModified le "2026-01-02T00:00:00.000Z""#));
        assert!(m("active eq true"));
        assert!(!m("active eq false"));
    }

    #[test]
    fn logic_grouping_and_precedence() {
        assert!(m(
            r#"userName eq "x" or name.givenName eq "Ada" and active eq true"#
        ));
        assert!(!m(
            r#"(userName eq "x" or name.givenName eq "Ada") and active eq false"#
        ));
        assert!(m(r#"not (userName eq "x")"#));
        assert!(!m(r#"NOT (userName sw "ada")"#));
        assert!(m(
            r#"userName Eq "ADA@example.com" AND externalId EQ "00uA""#
        ));
    }

    #[test]
    fn case_exact_attributes_compare_exactly() {
        assert!(m(r#"externalId eq "00uA""#));
        assert!(!m(r#"externalId eq "00ua""#));
        assert!(m(r#"id eq "u1""#));
        // an email's value ignores case, in a value filter too; members' do not
        assert!(m(r#"emails[type eq "work"].value eq "ADA@EXAMPLE.COM""#));
        assert!(m(r#"emails[value eq "Ada@Example.com"]"#));
        assert!(m(r#"emails.value eq "ADA@HOME.EXAMPLE""#));
        assert!(!m(r#"members[value eq "X1"]"#));
    }

    #[test]
    fn value_paths_and_extension_attributes() {
        assert!(m(r#"emails[type eq "work" and value co "example.com"]"#));
        assert!(!m(r#"emails[type eq "work" and value co "home"]"#));
        assert!(m(r#"emails[type eq "work"].value eq "ada@example.com""#));
        assert!(!m(r#"emails[type eq "home"].value eq "ada@example.com""#));
        assert!(m(r#"emails.value eq "ada@home.example""#));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "42""#
        ));
        assert!(m(
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "boss""#
        ));
        assert!(m(r#"members[value eq "x1"]"#));
    }

    #[test]
    fn a_filter_says_which_attributes_it_names() {
        let f = parse_filter(r#"userName eq "a" or not (password eq "x")"#).unwrap();
        assert!(f.names("password") && f.names("PASSWORD") && f.names("userName"));
        assert!(!f.names("groups"));
        let f = parse_filter(r#"id eq "g" and not (members[value eq "u"])"#).unwrap();
        assert!(f.names("members"));
        assert!(
            parse_filter(r#"groups.value eq "g""#)
                .unwrap()
                .names("groups")
        );
    }
}
