//! The `[directory]`, `[scope]` and `[mapping]` tables of the connector's
//! configuration file. Differences between Active Directory and generic LDAP
//! are preset values ([`Preset`]), chosen by `directory.kind`; every preset
//! value can be overridden in `[mapping]`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

/// The largest page Active Directory serves (its MaxPageSize).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Active Directory's own limit on one query (MaxQueryDuration) is 120 s.
pub const MAX_TIMEOUT_SECONDS: u64 = 110;
/// Bounds on configuration values, so that a typo cannot make a huge request.
const MAX_LIST: usize = 1000;
const MAX_TEXT: usize = 4096;

/// A configuration value the connector refuses, with the key that holds it
/// (`scope.groups[1]`); the caller adds the file's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Which kind of directory, and so which preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryKind {
    ActiveDirectory,
    Ldap,
}

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// TLS from the first byte (`ldaps://`, port 636).
    Ldaps,
    /// Plain LDAP upgraded with the StartTLS operation before the bind
    /// (`ldap://`, port 389).
    Starttls,
    /// No TLS at all: only with `allow_insecure_plain_ldap = true`.
    None,
}

/// `[directory]`: where the directory is and how to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub kind: DirectoryKind,
    /// `ldaps://host:636` or `ldap://host:389`.
    pub url: String,
    /// Default: `ldaps` for an `ldaps://` URL, `starttls` for `ldap://`.
    #[serde(default)]
    pub tls: Option<TlsMode>,
    /// PEM file of the CA(s) that sign the directory's certificate; without
    /// it, the system's trusted CAs.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The only way to allow `tls = "none"`: passwords then cross the
    /// network in clear.
    #[serde(default)]
    pub allow_insecure_plain_ldap: bool,
    /// The service account.
    pub bind_dn: String,
    /// The environment variable that holds the service account's password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// A file that holds the password (a trailing newline is ignored).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Where searches start; default: the server's `defaultNamingContext`
    /// (Active Directory) or first `namingContexts` value.
    #[serde(default)]
    pub base_dn: Option<String>,
    /// Entries per page of a paged search, at most 1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Limit on each LDAP operation (one page, one range, one bind).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Ask for a group's member values in ranges of this many
    /// (`member;range=0-999`, …). Unset: ask for `member` and follow the
    /// ranges the server answers with (Active Directory: its MaxValRange,
    /// 1500 by default).
    #[serde(default)]
    pub member_range_size: Option<u32>,
    /// How many times one operation is retried on a new connection after the
    /// connection dropped or timed out.
    #[serde(default = "default_reconnects")]
    pub reconnect_attempts: u32,
}

fn default_page_size() -> u32 {
    MAX_PAGE_SIZE
}
fn default_timeout() -> u64 {
    30
}
fn default_reconnects() -> u32 {
    3
}

/// The service account's password. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

impl DirectoryConfig {
    /// The TLS mode, explicit or from the URL's scheme.
    pub fn tls_mode(&self) -> TlsMode {
        self.tls.unwrap_or_else(|| {
            if self.url.to_ascii_lowercase().starts_with("ldaps://") {
                TlsMode::Ldaps
            } else {
                TlsMode::Starttls
            }
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let url = self.url.to_ascii_lowercase();
        let scheme_ldaps = url.starts_with("ldaps://");
        if !scheme_ldaps && !url.starts_with("ldap://") {
            return Err(ConfigError::new(
                "directory.url",
                "must start with ldaps:// or ldap://",
            ));
        }
        if self.url.len() > MAX_TEXT || self.url.len() <= "ldap://".len() {
            return Err(ConfigError::new("directory.url", "no host"));
        }
        match (self.tls_mode(), scheme_ldaps) {
            (TlsMode::Ldaps, false) => {
                return Err(ConfigError::new(
                    "directory.tls",
                    "\"ldaps\" needs an ldaps:// URL",
                ));
            }
            (TlsMode::Starttls | TlsMode::None, true) => {
                return Err(ConfigError::new(
                    "directory.tls",
                    "an ldaps:// URL is already TLS: use tls = \"ldaps\"",
                ));
            }
            (TlsMode::None, false) if !self.allow_insecure_plain_ldap => {
                return Err(ConfigError::new(
                    "directory.tls",
                    "\"none\" sends the password in clear; set allow_insecure_plain_ldap = true to allow it",
                ));
            }
            _ => {}
        }
        if let Some(ca) = &self.ca_file
            && ca.as_os_str().is_empty()
        {
            return Err(ConfigError::new("directory.ca_file", "empty path"));
        }
        check_dn("directory.bind_dn", &self.bind_dn)?;
        if let Some(base) = &self.base_dn {
            check_dn("directory.base_dn", base)?;
        }
        match (&self.password_env, &self.password_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "directory.password_env",
                    "give password_env or password_file, not both",
                ));
            }
            (None, None) => {
                return Err(ConfigError::new(
                    "directory.password_env",
                    "missing: the password comes from password_env or password_file",
                ));
            }
            (Some(env), None) if env.is_empty() || env.contains('=') => {
                return Err(ConfigError::new(
                    "directory.password_env",
                    "not an environment variable name",
                ));
            }
            _ => {}
        }
        if self.page_size == 0 || self.page_size > MAX_PAGE_SIZE {
            return Err(ConfigError::new(
                "directory.page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE} (Active Directory's MaxPageSize)"),
            ));
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > MAX_TIMEOUT_SECONDS {
            return Err(ConfigError::new(
                "directory.timeout_seconds",
                format!(
                    "must be between 1 and {MAX_TIMEOUT_SECONDS} (under Active Directory's 120 s query limit)"
                ),
            ));
        }
        if self.member_range_size.is_some() && self.kind != DirectoryKind::ActiveDirectory {
            return Err(ConfigError::new(
                "directory.member_range_size",
                "range retrieval exists on Active Directory only",
            ));
        }
        if let Some(n) = self.member_range_size
            && !(1..=100_000).contains(&n)
        {
            return Err(ConfigError::new(
                "directory.member_range_size",
                "must be between 1 and 100000",
            ));
        }
        if self.reconnect_attempts > 20 {
            return Err(ConfigError::new(
                "directory.reconnect_attempts",
                "at most 20",
            ));
        }
        Ok(())
    }

    /// The password, from the environment variable or the file.
    pub fn password(&self) -> Result<Password, ConfigError> {
        if let Some(var) = &self.password_env {
            let value = std::env::var(var).map_err(|_| {
                ConfigError::new(
                    "directory.password_env",
                    format!("the environment variable {var} is not set"),
                )
            })?;
            if value.is_empty() {
                return Err(ConfigError::new(
                    "directory.password_env",
                    format!("the environment variable {var} is empty"),
                ));
            }
            return Ok(Password(value));
        }
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                ConfigError::new(
                    "directory.password_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let value = text.trim_end_matches(['\r', '\n']);
            if value.is_empty() {
                return Err(ConfigError::new(
                    "directory.password_file",
                    format!("{} is empty", path.display()),
                ));
            }
            return Ok(Password(value.to_owned()));
        }
        Err(ConfigError::new(
            "directory.password_env",
            "missing: the password comes from password_env or password_file",
        ))
    }
}

/// `[scope]`: which users the connector syncs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeConfig {
    /// Selected groups, by DN.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Selected groups, by an LDAP filter (added to the group class filter).
    #[serde(default)]
    pub group_filter: Option<String>,
    /// Users in scope must be under one of these (default: anywhere).
    #[serde(default)]
    pub base_dns: Vec<String>,
    /// Users in scope must also match this filter.
    #[serde(default)]
    pub user_filter: Option<String>,
    /// Members of groups that are members of a selected group count.
    #[serde(default = "yes")]
    pub nested: bool,
    /// Active Directory only: find members with the in-chain matching rule
    /// (LDAP_MATCHING_RULE_IN_CHAIN) instead of following member lists.
    #[serde(default)]
    pub in_chain: bool,
}

fn yes() -> bool {
    true
}

impl ScopeConfig {
    pub fn validate(&self, kind: DirectoryKind) -> Result<(), ConfigError> {
        if self.groups.is_empty() && self.group_filter.is_none() {
            return Err(ConfigError::new(
                "scope.groups",
                "select at least one group: groups (DNs) or group_filter",
            ));
        }
        if self.groups.len() > MAX_LIST {
            return Err(ConfigError::new(
                "scope.groups",
                format!("at most {MAX_LIST} groups"),
            ));
        }
        for (i, dn) in self.groups.iter().enumerate() {
            check_dn(&format!("scope.groups[{i}]"), dn)?;
        }
        if self.base_dns.len() > MAX_LIST {
            return Err(ConfigError::new(
                "scope.base_dns",
                format!("at most {MAX_LIST} base DNs"),
            ));
        }
        for (i, dn) in self.base_dns.iter().enumerate() {
            check_dn(&format!("scope.base_dns[{i}]"), dn)?;
        }
        if let Some(f) = &self.group_filter {
            check_filter("scope.group_filter", f)?;
        }
        if let Some(f) = &self.user_filter {
            check_filter("scope.user_filter", f)?;
        }
        if self.in_chain && kind != DirectoryKind::ActiveDirectory {
            return Err(ConfigError::new(
                "scope.in_chain",
                "the in-chain matching rule exists on Active Directory only",
            ));
        }
        if self.in_chain && !self.nested {
            return Err(ConfigError::new(
                "scope.in_chain",
                "in_chain expands nested groups: it needs nested = true",
            ));
        }
        Ok(())
    }
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeTracking {
    /// `highestCommittedUSN` / `uSNChanged`, per domain controller.
    Usn,
    /// `modifyTimestamp`.
    ModifyTimestamp,
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
        required("external_id", &self.external_id, &mut m.external_id)?;
        required("user_name", &self.user_name, &mut m.user_name)?;
        required("group_name", &self.group_name, &mut m.group_name)?;
        required(
            "group_object_class",
            &self.group_object_class,
            &mut m.group_object_class,
        )?;
        required(
            "member_attribute",
            &self.member_attribute,
            &mut m.member_attribute,
        )?;
        required("dn_attribute", &self.dn_attribute, &mut m.dn_attribute)?;
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
        optional("given_name", &self.given_name, &mut m.given_name)?;
        optional("family_name", &self.family_name, &mut m.family_name)?;
        optional("display_name", &self.display_name, &mut m.display_name)?;
        optional(
            "employee_number",
            &self.employee_number,
            &mut m.employee_number,
        )?;
        optional("department", &self.department, &mut m.department)?;
        optional("cost_center", &self.cost_center, &mut m.cost_center)?;
        optional("division", &self.division, &mut m.division)?;
        optional("manager", &self.manager, &mut m.manager)?;
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
        list("emails", &self.emails, &mut m.emails)?;
        list("phone_numbers", &self.phone_numbers, &mut m.phone_numbers)?;
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

/// An LDAP attribute description: a name (letters, digits, '-') or an OID.
fn check_attribute(key: &str, attribute: &str) -> Result<(), ConfigError> {
    let ok = !attribute.is_empty()
        && attribute.len() <= 128
        && (attribute
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && attribute
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            || attribute.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            key,
            format!("{attribute:?} is not an LDAP attribute name"),
        ))
    }
}

/// A distinguished name: `attr=value` parts separated by commas.
fn check_dn(key: &str, dn: &str) -> Result<(), ConfigError> {
    if dn.is_empty() || dn.len() > MAX_TEXT {
        return Err(ConfigError::new(key, "not a DN"));
    }
    let parts = crate::source::dn::split_rdns(dn);
    if parts.is_empty() || parts.iter().any(|p| !p.contains('=')) {
        return Err(ConfigError::new(
            key,
            format!("{dn:?} is not a DN (attr=value,attr=value…)"),
        ));
    }
    Ok(())
}

/// An LDAP filter (RFC 4515) that parses.
fn check_filter(key: &str, filter: &str) -> Result<(), ConfigError> {
    if filter.len() > MAX_TEXT {
        return Err(ConfigError::new(key, "filter too long"));
    }
    ldap3::parse_filter(filter)
        .map(|_| ())
        .map_err(|_| ConfigError::new(key, format!("{filter:?} is not an LDAP filter (RFC 4515)")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn directory(v: serde_json::Value) -> Result<DirectoryConfig, ConfigError> {
        let c: DirectoryConfig = serde_json::from_value(v).unwrap();
        c.validate().map(|()| c)
    }

    #[test]
    fn defaults_and_tls_from_the_url() {
        let c = directory(json!({"kind": "active_directory", "url": "ldaps://dc1:636",
            "bind_dn": "CN=svc,DC=x", "password_env": "AD_PASSWORD"}))
        .unwrap();
        assert_eq!(c.tls_mode(), TlsMode::Ldaps);
        assert_eq!(c.page_size, 1000);
        assert!(c.timeout_seconds < 120);
        let c = directory(
            json!({"kind": "ldap", "url": "ldap://h", "bind_dn": "cn=a,dc=x",
            "password_file": "/run/secret"}),
        )
        .unwrap();
        assert_eq!(c.tls_mode(), TlsMode::Starttls);
    }

    #[test]
    fn refusals_name_the_key() {
        let base = json!({"kind": "ldap", "url": "ldap://h", "bind_dn": "cn=a,dc=x",
            "password_env": "P"});
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            directory(b).unwrap_err().key
        };
        assert_eq!(with("tls", json!("none")), "directory.tls");
        assert_eq!(with("tls", json!("ldaps")), "directory.tls");
        assert_eq!(with("url", json!("http://h")), "directory.url");
        assert_eq!(with("page_size", json!(1001)), "directory.page_size");
        assert_eq!(with("page_size", json!(0)), "directory.page_size");
        assert_eq!(
            with("timeout_seconds", json!(120)),
            "directory.timeout_seconds"
        );
        assert_eq!(with("bind_dn", json!("admin")), "directory.bind_dn");
        assert_eq!(with("password_file", json!("/x")), "directory.password_env");
        let mut plain = base.clone();
        plain["tls"] = json!("none");
        plain["allow_insecure_plain_ldap"] = json!(true);
        assert!(directory(plain).is_ok());
        let unknown: Result<DirectoryConfig, _> =
            serde_json::from_value(json!({"kind": "ldap", "url": "ldap://h", "bind_dn": "cn=a",
                "password": "secret"}));
        assert!(unknown.unwrap_err().to_string().contains("unknown field"));
    }

    #[test]
    fn the_password_comes_from_a_file_without_its_newline() {
        let path = std::env::temp_dir().join(format!("pw-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").unwrap();
        let c = directory(
            json!({"kind": "ldap", "url": "ldap://h", "bind_dn": "cn=a,dc=x",
            "password_file": path}),
        )
        .unwrap();
        let pw = c.password().unwrap();
        assert_eq!(pw.expose(), "s3cret");
        assert_eq!(format!("{pw:?}"), "Password(..)");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(c.password().unwrap_err().key, "directory.password_file");
    }

    fn scope(v: serde_json::Value) -> ScopeConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn scope_validation_names_the_entry() {
        let s = scope(json!({"groups": ["cn=a,dc=x", "not a dn"]}));
        assert_eq!(
            s.validate(DirectoryKind::Ldap).unwrap_err().key,
            "scope.groups[1]"
        );
        let s = scope(json!({}));
        assert_eq!(
            s.validate(DirectoryKind::Ldap).unwrap_err().key,
            "scope.groups"
        );
        let s = scope(json!({"group_filter": "(cn=a"}));
        assert_eq!(
            s.validate(DirectoryKind::Ldap).unwrap_err().key,
            "scope.group_filter"
        );
        let s = scope(json!({"groups": ["cn=a,dc=x"], "base_dns": ["ou=x", "x"]}));
        assert_eq!(
            s.validate(DirectoryKind::Ldap).unwrap_err().key,
            "scope.base_dns[1]"
        );
        let s = scope(json!({"groups": ["cn=a,dc=x"], "in_chain": true}));
        assert_eq!(
            s.validate(DirectoryKind::Ldap).unwrap_err().key,
            "scope.in_chain"
        );
        assert!(s.validate(DirectoryKind::ActiveDirectory).is_ok());
        let s = scope(json!({"groups": ["cn=a,dc=x"]}));
        assert!(s.nested && !s.in_chain);
    }

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
    }
}
