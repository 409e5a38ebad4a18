//! From LDAP entries to the connector's model, by the mapping in force.
//! Attribute names are compared without regard to case, as LDAP does.

use std::collections::{BTreeMap, BTreeSet};

use ldap3::SearchEntry;

use super::config::{IdFormat, Mapping};
use super::dn;
use crate::model::{Enterprise, SourceUser};

/// A user as read, before its manager's DN is resolved.
#[derive(Debug, Clone)]
pub(crate) struct RawUser {
    pub user: SourceUser,
    pub manager_dn: Option<String>,
}

/// Every attribute a lookup asks for: the user's mapped ones, what tells a
/// group from a user, and a group's name and members.
/// `member` is how the member attribute is asked for (with a range or not).
pub(crate) fn entry_attributes(m: &Mapping, member: &str) -> Vec<String> {
    let mut set: BTreeSet<String> = BTreeSet::new();
    let mut add = |a: &str| {
        set.insert(a.to_owned());
    };
    add("objectClass");
    add(m.changes.attribute());
    add(&m.external_id);
    add(&m.user_name);
    add(&m.group_name);
    add(member);
    for a in [
        &m.given_name,
        &m.family_name,
        &m.display_name,
        &m.employee_number,
        &m.department,
        &m.cost_center,
        &m.division,
        &m.manager,
    ]
    .into_iter()
    .flatten()
    {
        add(a);
    }
    for a in m.emails.iter().chain(&m.phone_numbers) {
        add(a);
    }
    if let Some(active) = &m.active {
        add(&active.attribute);
    }
    for a in m.custom.values() {
        add(a);
    }
    set.into_iter().collect()
}

/// What reading a selected group needs.
pub(crate) fn group_attributes(m: &Mapping, member: &str) -> Vec<String> {
    vec![
        "objectClass".to_owned(),
        m.changes.attribute().to_owned(),
        m.external_id.clone(),
        m.group_name.clone(),
        member.to_owned(),
    ]
}

fn values<'a>(entry: &'a SearchEntry, attribute: &str) -> Option<&'a Vec<String>> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .map(|(_, v)| v)
}

/// The attribute's first text value.
pub(crate) fn first_text(entry: &SearchEntry, attribute: &str) -> Option<String> {
    values(entry, attribute)
        .and_then(|v| v.first())
        .filter(|v| !v.is_empty())
        .cloned()
}

/// All the text values of these attributes, in order, without repeats.
fn all_text(entry: &SearchEntry, attributes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in attributes {
        for v in values(entry, a).into_iter().flatten() {
            if !v.is_empty() && !out.contains(v) {
                out.push(v.clone());
            }
        }
    }
    out
}

/// True when the entry has this object class.
pub(crate) fn has_class(entry: &SearchEntry, class: &str) -> bool {
    values(entry, "objectClass").is_some_and(|v| v.iter().any(|c| c.eq_ignore_ascii_case(class)))
}

/// A binary GUID attribute in its canonical text form. A GUID whose bytes
/// happen to be valid UTF-8 arrives among the text values.
pub(crate) fn guid(entry: &SearchEntry, attribute: &str) -> Option<String> {
    entry
        .bin_attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
        .and_then(|(_, v)| v.first())
        .and_then(|b| dn::guid_text(b))
        .or_else(|| {
            values(entry, attribute)
                .and_then(|v| v.first())
                .and_then(|s| dn::guid_text(s.as_bytes()))
        })
}

/// The stable identifier, rendered as the mapping says.
pub(crate) fn external_id(entry: &SearchEntry, m: &Mapping) -> Option<String> {
    match m.external_id_format {
        IdFormat::Guid => guid(entry, &m.external_id),
        IdFormat::Text => first_text(entry, &m.external_id),
    }
}

/// Whether the account is enabled, by the mapping's `active` rule; a
/// missing attribute means enabled.
fn active(entry: &SearchEntry, m: &Mapping) -> bool {
    let Some(rule) = &m.active else {
        return true;
    };
    let Some(value) = first_text(entry, &rule.attribute) else {
        return true;
    };
    if let Some(bit) = rule.disabled_bit {
        return match value.trim().parse::<i64>() {
            Ok(flags) => flags & i64::from(bit) == 0,
            Err(_) => true,
        };
    }
    if let Some(disabled) = &rule.disabled_value {
        return !value.trim().eq_ignore_ascii_case(disabled);
    }
    true
}

fn opt(entry: &SearchEntry, attribute: &Option<String>) -> Option<String> {
    attribute.as_ref().and_then(|a| first_text(entry, a))
}

/// A user entry mapped; `None` when it lacks the identifier or the user
/// name (such an entry cannot be a SCIM user).
pub(crate) fn user(entry: &SearchEntry, m: &Mapping) -> Option<RawUser> {
    let external_id = external_id(entry, m)?;
    let user_name = first_text(entry, &m.user_name)?;
    let custom: BTreeMap<String, String> = m
        .custom
        .iter()
        .filter_map(|(name, attribute)| first_text(entry, attribute).map(|v| (name.clone(), v)))
        .collect();
    Some(RawUser {
        manager_dn: opt(entry, &m.manager),
        user: SourceUser {
            external_id,
            dn: entry.dn.clone(),
            user_name,
            active: active(entry, m),
            given_name: opt(entry, &m.given_name),
            family_name: opt(entry, &m.family_name),
            display_name: opt(entry, &m.display_name),
            emails: all_text(entry, &m.emails),
            phone_numbers: all_text(entry, &m.phone_numbers),
            enterprise: Enterprise {
                employee_number: opt(entry, &m.employee_number),
                department: opt(entry, &m.department),
                cost_center: opt(entry, &m.cost_center),
                division: opt(entry, &m.division),
                manager: None,
            },
            custom,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use super::*;
    use crate::source::config::{DirectoryKind, MappingConfig};

    fn entry(attrs: &[(&str, &[&str])], bin: &[(&str, Vec<u8>)]) -> SearchEntry {
        SearchEntry {
            dn: "CN=Ann,OU=Staff,DC=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
                .collect::<HashMap<_, _>>(),
            bin_attrs: bin
                .iter()
                .map(|(k, v)| ((*k).to_owned(), vec![v.clone()]))
                .collect(),
        }
    }

    #[test]
    fn an_active_directory_user_maps_with_the_preset() {
        let m = MappingConfig::default()
            .resolve(DirectoryKind::ActiveDirectory)
            .unwrap();
        let guid: Vec<u8> = (0x80..0x90).collect();
        let e = entry(
            &[
                ("objectClass", &["top", "person", "user"]),
                ("userPrincipalName", &["ann@x.test"]),
                ("givenName", &["Ann"]),
                ("mail", &["ann@x.test"]),
                ("telephoneNumber", &["+1 555"]),
                ("mobile", &["+1 556"]),
                ("userAccountControl", &["546"]),
                ("department", &["R&D"]),
                ("manager", &["CN=Bob,DC=x"]),
            ],
            &[("objectGUID", guid)],
        );
        let u = user(&e, &m).unwrap();
        assert_eq!(u.user.external_id, "83828180-8584-8786-8889-8a8b8c8d8e8f");
        assert_eq!(u.user.user_name, "ann@x.test");
        assert!(!u.user.active);
        assert_eq!(u.user.phone_numbers, vec!["+1 555", "+1 556"]);
        assert_eq!(u.user.enterprise.department.as_deref(), Some("R&D"));
        assert_eq!(u.manager_dn.as_deref(), Some("CN=Bob,DC=x"));
    }

    #[test]
    fn ldap_disabled_value_and_missing_identifiers() {
        let m = MappingConfig::default()
            .resolve(DirectoryKind::Ldap)
            .unwrap();
        let e = entry(
            &[
                ("entryUUID", &["0d4b4c4e-1111-2222-3333-444455556666"]),
                ("mail", &["a@x.test"]),
                ("nsaccountlock", &["true"]),
            ],
            &[],
        );
        let u = user(&e, &m).unwrap();
        assert!(!u.user.active);
        let e = entry(&[("entryUUID", &["x"])], &[]);
        assert!(user(&e, &m).is_none(), "no user name: not a SCIM user");
    }
}
