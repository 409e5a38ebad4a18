//! `[mapping]`: how entries become users and groups, from the kind's preset
//! with overrides.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, DirectoryKind, check_attribute, check_filter};

/// How `active` is read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveConfig {
    pub attribute: String,
    /// The account is disabled when this bit of the attribute's integer
    /// value is set (Active Directory: `userAccountControl`, bit 2).
    #[serde(default)]
    pub disabled_bit: Option<u32>,
    /// The account is disabled when the attribute has this value (compared
    /// without regard to case).
    #[serde(default)]
    pub disabled_value: Option<String>,
}

/// How the stable identifier's values are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdFormat {
    /// A 16-byte binary GUID (Active Directory `objectGUID`), rendered in
    /// the canonical text form.
    Guid,
    /// The attribute's text as it is (`entryUUID`, `nsUniqueId`, `ipaUniqueID`).
    Text,
}

/// `[mapping]`: the directory attribute behind each SCIM field. Everything
/// is optional: unset keys take the preset of `directory.kind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    pub external_id: Option<String>,
    pub external_id_format: Option<IdFormat>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// Attributes whose values become emails, the primary first.
    pub emails: Option<Vec<String>>,
    pub phone_numbers: Option<Vec<String>>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    pub cost_center: Option<String>,
    pub division: Option<String>,
    /// A DN-valued attribute, resolved to the manager's external id.
    pub manager: Option<String>,
    pub active: Option<ActiveConfig>,
    /// The group attribute sent as the group's `displayName`.
    pub group_name: Option<String>,
    /// What a user entry is.
    pub user_object_filter: Option<String>,
    /// The object class of a group entry.
    pub group_object_class: Option<String>,
    /// The group attribute that lists member DNs.
    pub member_attribute: Option<String>,
    /// An attribute that holds an entry's own DN, usable in equality
    /// filters (`distinguishedName` on Active Directory, `entryDN` on
    /// OpenLDAP).
    pub dn_attribute: Option<String>,
    /// SCIM custom attribute name → directory attribute.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// How changes are found: `usn` (Active Directory), `entry_csn`
    /// (OpenLDAP) or `modify_timestamp` (any LDAP server). Unset: the
    /// kind's preset, `entry_csn` on an LDAP server that keeps it.
    pub changes: Option<ChangeTracking>,
}

/// One SCIM field's directory attribute, or none when unmapped (`""` in
/// the file unmaps a preset).
type Attr = Option<String>;

/// The mapping in force: the preset of the directory kind with the file's
/// overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub external_id: String,
    pub external_id_format: IdFormat,
    pub user_name: String,
    pub given_name: Attr,
    pub family_name: Attr,
    pub display_name: Attr,
    pub emails: Vec<String>,
    pub phone_numbers: Vec<String>,
    pub employee_number: Attr,
    pub department: Attr,
    pub cost_center: Attr,
    pub division: Attr,
    pub manager: Attr,
    pub active: Option<ActiveConfig>,
    pub group_name: String,
    pub user_object_filter: String,
    pub group_object_class: String,
    pub member_attribute: String,
    pub dn_attribute: String,
    pub custom: BTreeMap<String, String>,
    /// How changes are found.
    pub changes: ChangeTracking,
}

/// The directory's change marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTracking {
    /// `highestCommittedUSN` / `uSNChanged`, per domain controller.
    Usn,
    /// `modifyTimestamp`: whole seconds, so what changed in the marker's
    /// second is read again.
    ModifyTimestamp,
    /// OpenLDAP's `entryCSN`: each change's own sequence number
    /// (microseconds and a counter), so a read starts exactly after the
    /// marker. Used in place of `modifyTimestamp` when the server keeps it.
    EntryCsn,
}

impl ChangeTracking {
    /// The entry attribute that tells when an entry last changed.
    pub fn attribute(self) -> &'static str {
        match self {
            ChangeTracking::Usn | ChangeTracking::ModifyTimestamp => "modifyTimestamp",
            ChangeTracking::EntryCsn => "entryCSN",
        }
    }
}

/// The values `directory.kind` implies.
#[derive(Debug, Clone, Copy)]
pub struct Preset;

impl Preset {
    pub fn for_kind(kind: DirectoryKind) -> Mapping {
        let s = |v: &str| Some(v.to_owned());
        match kind {
            DirectoryKind::ActiveDirectory => Mapping {
                external_id: "objectGUID".into(),
                external_id_format: IdFormat::Guid,
                user_name: "userPrincipalName".into(),
                given_name: s("givenName"),
                family_name: s("sn"),
                display_name: s("displayName"),
                emails: vec!["mail".into()],
                phone_numbers: vec!["telephoneNumber".into(), "mobile".into()],
                employee_number: s("employeeNumber"),
                department: s("department"),
                cost_center: None,
                division: s("division"),
                manager: s("manager"),
                active: Some(ActiveConfig {
                    attribute: "userAccountControl".into(),
                    disabled_bit: Some(2),
                    disabled_value: None,
                }),
                group_name: "cn".into(),
                user_object_filter: "(&(objectCategory=person)(objectClass=user))".into(),
                group_object_class: "group".into(),
                member_attribute: "member".into(),
                dn_attribute: "distinguishedName".into(),
                custom: BTreeMap::new(),
                changes: ChangeTracking::Usn,
            },
            DirectoryKind::Ldap => Mapping {
                external_id: "entryUUID".into(),
                external_id_format: IdFormat::Text,
                user_name: "mail".into(),
                given_name: s("givenName"),
                family_name: s("sn"),
                display_name: s("displayName"),
                emails: vec!["mail".into()],
                phone_numbers: vec!["telephoneNumber".into(), "mobile".into()],
                employee_number: s("employeeNumber"),
                department: s("departmentNumber"),
                cost_center: None,
                division: None,
                manager: s("manager"),
                active: Some(ActiveConfig {
                    attribute: "nsAccountLock".into(),
                    disabled_bit: None,
                    disabled_value: Some("TRUE".into()),
                }),
                group_name: "cn".into(),
                user_object_filter: "(objectClass=inetOrgPerson)".into(),
                group_object_class: "groupOfNames".into(),
                member_attribute: "member".into(),
                dn_attribute: "entryDN".into(),
                custom: BTreeMap::new(),
                changes: ChangeTracking::ModifyTimestamp,
            },
        }
    }
}

/// Applies `check` to each named override: `check("name", &config.name,
/// &mut mapping.name)`, the key naming the field in errors.
macro_rules! overrides {
    ($config:ident, $mapping:ident, $check:ident: $($field:ident),+) => {
        $($check(stringify!($field), &$config.$field, &mut $mapping.$field)?;)+
    };
}

impl MappingConfig {
    /// The preset of `kind` with this table's overrides, validated.
    pub fn resolve(&self, kind: DirectoryKind) -> Result<Mapping, ConfigError> {
        let mut m = Preset::for_kind(kind);
        let required = |key: &str, v: &Option<String>, into: &mut String| {
            if let Some(v) = v {
                check_attribute(&format!("mapping.{key}"), v)?;
                *into = v.clone();
            }
            Ok::<(), ConfigError>(())
        };
        overrides!(self, m, required: external_id, user_name, group_name, group_object_class,
            member_attribute, dn_attribute);
        if let Some(f) = &self.external_id_format {
            m.external_id_format = *f;
        } else if self.external_id.is_some() {
            // Another identifier than the preset's: its text, unless said.
            m.external_id_format = if self
                .external_id
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case("objectGUID"))
            {
                IdFormat::Guid
            } else {
                IdFormat::Text
            };
        }
        let optional = |key: &str, v: &Option<String>, into: &mut Attr| {
            if let Some(v) = v {
                if v.is_empty() {
                    *into = None;
                } else {
                    check_attribute(&format!("mapping.{key}"), v)?;
                    *into = Some(v.clone());
                }
            }
            Ok::<(), ConfigError>(())
        };
        overrides!(self, m, optional: given_name, family_name, display_name, employee_number,
            department, cost_center, division, manager);
        let list = |key: &str, v: &Option<Vec<String>>, into: &mut Vec<String>| {
            if let Some(v) = v {
                if v.len() > 10 {
                    return Err(ConfigError::new(format!("mapping.{key}"), "at most 10"));
                }
                for (i, a) in v.iter().enumerate() {
                    check_attribute(&format!("mapping.{key}[{i}]"), a)?;
                }
                into.clone_from(v);
            }
            Ok(())
        };
        overrides!(self, m, list: emails, phone_numbers);
        if let Some(f) = &self.user_object_filter {
            check_filter("mapping.user_object_filter", f)?;
            m.user_object_filter.clone_from(f);
        }
        if let Some(active) = &self.active {
            check_attribute("mapping.active.attribute", &active.attribute)?;
            match (&active.disabled_bit, &active.disabled_value) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(ConfigError::new(
                        "mapping.active",
                        "give exactly one of disabled_bit and disabled_value",
                    ));
                }
                (Some(bit), None) if *bit == 0 || bit.count_ones() != 1 => {
                    return Err(ConfigError::new(
                        "mapping.active.disabled_bit",
                        "must be a power of two (2 is ACCOUNTDISABLE)",
                    ));
                }
                _ => {}
            }
            m.active = if active.attribute.is_empty() {
                None
            } else {
                Some(active.clone())
            };
        }
        if let Some(changes) = self.changes {
            let fits = match kind {
                DirectoryKind::ActiveDirectory => changes == ChangeTracking::Usn,
                DirectoryKind::Ldap => changes != ChangeTracking::Usn,
            };
            if !fits {
                return Err(ConfigError::new(
                    "mapping.changes",
                    "Active Directory takes \"usn\"; an LDAP server \"entry_csn\" or \"modify_timestamp\"",
                ));
            }
            m.changes = changes;
        }
        if self.custom.len() > 100 {
            return Err(ConfigError::new("mapping.custom", "at most 100"));
        }
        for (name, attribute) in &self.custom {
            let key = format!("mapping.custom.{name}");
            if name.is_empty()
                || name.len() > 128
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(ConfigError::new(
                    key,
                    "a SCIM custom attribute name is letters, digits, '_' and '-'",
                ));
            }
            check_attribute(&key, attribute)?;
        }
        m.custom.clone_from(&self.custom);
        Ok(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn active_directory_works_with_no_mapping_at_all() {
        let m = MappingConfig::default()
            .resolve(DirectoryKind::ActiveDirectory)
            .unwrap();
        assert_eq!(m.external_id, "objectGUID");
        assert_eq!(m.external_id_format, IdFormat::Guid);
        assert_eq!(m.user_name, "userPrincipalName");
        assert_eq!(m.active.as_ref().unwrap().disabled_bit, Some(2));
        assert_eq!(m.changes, ChangeTracking::Usn);
        let l = MappingConfig::default()
            .resolve(DirectoryKind::Ldap)
            .unwrap();
        assert_eq!(l.external_id, "entryUUID");
        assert_eq!(l.group_object_class, "groupOfNames");
        assert_eq!(l.changes, ChangeTracking::ModifyTimestamp);
    }

    #[test]
    fn how_changes_are_found_fits_the_directory_kind() {
        let c =
            |v: &str| -> MappingConfig { serde_json::from_value(json!({ "changes": v })).unwrap() };
        let l = c("modify_timestamp").resolve(DirectoryKind::Ldap).unwrap();
        assert_eq!(l.changes, ChangeTracking::ModifyTimestamp);
        let l = c("entry_csn").resolve(DirectoryKind::Ldap).unwrap();
        assert_eq!(l.changes, ChangeTracking::EntryCsn);
        assert_eq!(l.changes.attribute(), "entryCSN");
        for (v, kind) in [
            ("usn", DirectoryKind::Ldap),
            ("entry_csn", DirectoryKind::ActiveDirectory),
        ] {
            let e = c(v).resolve(kind).unwrap_err();
            assert_eq!(e.key, "mapping.changes", "{e:?}");
        }
        assert!(serde_json::from_value::<MappingConfig>(json!({"changes": "whenever"})).is_err());
    }

    #[test]
    fn overrides_unmapping_and_custom_attributes() {
        let c: MappingConfig = serde_json::from_value(json!({
            "user_name": "mail", "division": "", "cost_center": "extensionAttribute2",
            "custom": {"badge": "carLicense"},
            "active": {"attribute": "employeeType", "disabled_value": "Former"}
        }))
        .unwrap();
        let m = c.resolve(DirectoryKind::ActiveDirectory).unwrap();
        assert_eq!(m.user_name, "mail");
        assert_eq!(m.division, None);
        assert_eq!(m.cost_center.as_deref(), Some("extensionAttribute2"));
        assert_eq!(m.custom["badge"], "carLicense");
        let bad: MappingConfig =
            serde_json::from_value(json!({"custom": {"badge": "car license"}})).unwrap();
        assert_eq!(
            bad.resolve(DirectoryKind::Ldap).unwrap_err().key,
            "mapping.custom.badge"
        );
        let bad: MappingConfig =
            serde_json::from_value(json!({"active": {"attribute": "x", "disabled_bit": 3}}))
                .unwrap();
        assert_eq!(
            bad.resolve(DirectoryKind::Ldap).unwrap_err().key,
            "mapping.active.disabled_bit"
        );
        let bad: MappingConfig =
            serde_json::from_value(json!({"emails": ["mail", "a b"]})).unwrap();
        assert_eq!(
            bad.resolve(DirectoryKind::Ldap).unwrap_err().key,
            "mapping.emails[1]"
        );
        for (field, key) in [
            ("member_attribute", "mapping.member_attribute"),
            ("cost_center", "mapping.cost_center"),
        ] {
            let bad: MappingConfig = serde_json::from_value(json!({ field: "a b" })).unwrap();
            assert_eq!(bad.resolve(DirectoryKind::Ldap).unwrap_err().key, key);
        }
    }
}
