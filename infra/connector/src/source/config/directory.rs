//! `[directory]`: where the directory is, how to sign in, and the password.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use super::{ConfigError, MAX_PAGE_SIZE, MAX_TEXT, MAX_TIMEOUT_SECONDS, check_dn};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
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
}
