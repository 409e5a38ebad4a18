//! The `[directory]`, `[scope]` and `[mapping]` tables of the connector's
//! configuration file. Differences between Active Directory and generic LDAP
//! are preset values ([`Preset`]), chosen by `directory.kind`; every preset
//! value can be overridden in `[mapping]`.

mod directory;
mod mapping;
mod scope;

pub use directory::{DirectoryConfig, DirectoryKind, Password, TlsMode};
pub use mapping::{ActiveConfig, ChangeTracking, IdFormat, Mapping, MappingConfig, Preset};
pub use scope::ScopeConfig;

/// The largest page Active Directory serves (its MaxPageSize).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Active Directory's own limit on one query (MaxQueryDuration) is 120 s.
pub const MAX_TIMEOUT_SECONDS: u64 = 110;
/// Bounds on configuration values, so that a typo cannot make a huge request.
pub(super) const MAX_LIST: usize = 1000;
pub(super) const MAX_TEXT: usize = 4096;

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

/// An LDAP attribute description: a name (letters, digits, '-') or an OID.
pub(super) fn check_attribute(key: &str, attribute: &str) -> Result<(), ConfigError> {
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
pub(super) fn check_dn(key: &str, dn: &str) -> Result<(), ConfigError> {
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
pub(super) fn check_filter(key: &str, filter: &str) -> Result<(), ConfigError> {
    if filter.len() > MAX_TEXT {
        return Err(ConfigError::new(key, "filter too long"));
    }
    ldap3::parse_filter(filter)
        .map(|_| ())
        .map_err(|_| ConfigError::new(key, format!("{filter:?} is not an LDAP filter (RFC 4515)")))
}
