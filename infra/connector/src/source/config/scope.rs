//! `[scope]`: which users the connector syncs.

use serde::Deserialize;

use super::{ConfigError, DirectoryKind, MAX_LIST, check_dn, check_filter};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
