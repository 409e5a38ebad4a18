//! Single sign-on for admins (OpenID Connect): an organization's identity
//! provider configuration and its validation, the checks an ID token's
//! claims must pass ([`claims`]), and who the caller of an admin request is
//! ([`caller`]). Signatures are verified by an adapter behind
//! [`IdTokenVerifier`]; everything decided here is a pure function.

pub mod caller;
pub mod claims;

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::StoreError;
use crate::access::Role;
use crate::ids::OrgId;

pub use caller::{Caller, CallerKind, refuses_key_from_browser};
pub use claims::{Claims, TokenRefusal, check_claims, role_of};

/// The claim read for roles when none is configured.
pub const DEFAULT_ROLE_CLAIM: &str = "groups";
/// The scopes the console asks for.
pub const SCOPES: &str = "openid profile";
/// Longest issuer URL, client id, name, claim or value accepted.
const MAX_LEN: usize = 512;
/// Most values one organization may map to roles.
const MAX_VALUES: usize = 100;

/// The values of the role claim that give each role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleValues {
    #[serde(default)]
    pub admin: Vec<String>,
    #[serde(default)]
    pub operator: Vec<String>,
    #[serde(default)]
    pub viewer: Vec<String>,
}

impl RoleValues {
    /// The values that give `role`.
    pub fn of(&self, role: Role) -> &[String] {
        match role {
            Role::Admin => &self.admin,
            Role::Operator => &self.operator,
            Role::Viewer => &self.viewer,
        }
    }

    fn count(&self) -> usize {
        self.admin.len() + self.operator.len() + self.viewer.len()
    }
}

/// The endpoints the issuer's discovery document names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    pub jwks_uri: String,
}

/// An organization's identity provider, as ops set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SsoConfig {
    /// The issuer, compared as an exact string with the token's `iss`.
    pub issuer: String,
    pub client_id: String,
    /// What "Sign in with <name>" shows.
    pub name: String,
    pub role_claim: String,
    pub roles: RoleValues,
    pub discovered: Discovered,
    /// False: admin keys are refused on requests a browser makes.
    #[serde(default = "yes")]
    pub token_sign_in: bool,
}

fn yes() -> bool {
    true
}

/// What is wrong with a configuration; shown to ops as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsoError {
    #[error("the issuer must be an https:// URL (http:// only on a loopback address), not {0:?}")]
    Issuer(String),
    #[error("the client id must be 1 to {MAX_LEN} printable characters")]
    ClientId,
    #[error("the name must be 1 to {MAX_LEN} characters")]
    Name,
    #[error("the role claim must be 1 to {MAX_LEN} printable characters without spaces")]
    RoleClaim,
    #[error(
        "give at least one value (--admin, --operator or --viewer), at most {MAX_VALUES} in all"
    )]
    NoValues,
    #[error("the value {0:?} is empty, too long or not printable")]
    Value(String),
    #[error("the value {0:?} is given to more than one role")]
    Duplicate(String),
}

fn printable(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_LEN && !s.chars().any(char::is_control)
}

/// Checks an issuer URL: `https://host[/path]`, or `http://` on 127.0.0.1,
/// ::1 or localhost; no query, fragment or credentials.
pub fn validate_issuer(issuer: &str) -> Result<(), SsoError> {
    let bad = || SsoError::Issuer(issuer.to_owned());
    if !printable(issuer) || issuer.contains(char::is_whitespace) {
        return Err(bad());
    }
    let (rest, secure) = if let Some(r) = issuer.strip_prefix("https://") {
        (r, true)
    } else if let Some(r) = issuer.strip_prefix("http://") {
        (r, false)
    } else {
        return Err(bad());
    };
    if rest.contains(['?', '#', '@']) {
        return Err(bad());
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(bad());
    }
    if !secure && !matches!(host, "127.0.0.1" | "::1" | "localhost") {
        return Err(bad());
    }
    Ok(())
}

impl SsoConfig {
    /// Checks what ops give: the issuer URL, the client id, the name, the
    /// role claim and its values (at least one; none given to two roles).
    pub fn validate(&self) -> Result<(), SsoError> {
        validate_issuer(&self.issuer)?;
        if !printable(&self.client_id) {
            return Err(SsoError::ClientId);
        }
        if self.name.trim().is_empty() || self.name.len() > MAX_LEN {
            return Err(SsoError::Name);
        }
        if !printable(&self.role_claim) || self.role_claim.contains(char::is_whitespace) {
            return Err(SsoError::RoleClaim);
        }
        let count = self.roles.count();
        if count == 0 || count > MAX_VALUES {
            return Err(SsoError::NoValues);
        }
        let mut seen = std::collections::BTreeSet::new();
        for role in Role::ALL {
            for v in self.roles.of(role) {
                if !printable(v) {
                    return Err(SsoError::Value(v.clone()));
                }
                if !seen.insert(v.as_str()) {
                    return Err(SsoError::Duplicate(v.clone()));
                }
            }
        }
        Ok(())
    }
}

/// Why a token's signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Not a token the issuer signed (a bad signature, an unknown key, a
    /// refused algorithm); the reason is logged, never shown.
    #[error("refused: {0}")]
    Invalid(String),
    /// The issuer's keys cannot be fetched: `503`.
    #[error("the identity provider's keys cannot be fetched: {0}")]
    Unavailable(String),
}

/// Verifies ID token signatures against an issuer's published keys.
pub trait IdTokenVerifier: Sync {
    /// The token's claims once its signature is verified against the keys
    /// `jwks_uri` publishes. MUST refuse `none` and every HMAC algorithm,
    /// and a header `alg` the chosen key does not fit.
    fn verify(
        &self,
        token: &str,
        jwks_uri: &str,
    ) -> impl Future<Output = Result<Claims, VerifyError>> + Send;
}

/// Organizations' identity provider configurations, and the index that
/// finds an organization by its (issuer, client id) pair.
pub trait SsoConfigs: Sync {
    fn get_sso(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<Option<SsoConfig>, StoreError>> + Send;

    /// Stores the organization's configuration and its index entry (moving
    /// the entry when the pair changed). MUST return `Conflict` when another
    /// organization's configuration has the same (issuer, client id).
    fn put_sso(
        &self,
        org: &OrgId,
        config: &SsoConfig,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes the configuration and its index entry. MUST return
    /// `NotFound` when there is none.
    fn remove_sso(&self, org: &OrgId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The organization whose configuration has this (issuer, client id).
    fn find_sso_org(
        &self,
        issuer: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<Option<OrgId>, StoreError>> + Send;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    pub(crate) fn config() -> SsoConfig {
        SsoConfig {
            issuer: "https://idp.example.com".into(),
            client_id: "user-sync".into(),
            name: "Acme".into(),
            role_claim: DEFAULT_ROLE_CLAIM.into(),
            roles: RoleValues {
                admin: vec!["admins".into()],
                operator: vec!["ops".into()],
                viewer: vec!["viewers".into()],
            },
            discovered: Discovered {
                authorization_endpoint: "https://idp.example.com/auth".into(),
                token_endpoint: "https://idp.example.com/token".into(),
                end_session_endpoint: None,
                jwks_uri: "https://idp.example.com/jwks".into(),
            },
            token_sign_in: true,
        }
    }

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for ok in [
            "https://idp.example.com",
            "https://login.microsoftonline.com/tenant/v2.0",
            "http://127.0.0.1:8080",
            "http://localhost:3000/oidc",
            "http://[::1]:9000",
        ] {
            assert_eq!(validate_issuer(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "idp.example.com",
            "http://idp.example.com",
            "http://127.0.0.2",
            "https://",
            "https://idp.example.com?x=1",
            "https://user@idp.example.com",
            "ftp://idp.example.com",
            "https://idp example.com",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_configuration_needs_values_each_given_to_one_role() {
        assert_eq!(config().validate(), Ok(()));
        let mut none = config();
        none.roles = RoleValues::default();
        assert_eq!(none.validate(), Err(SsoError::NoValues));
        let mut twice = config();
        twice.roles.viewer.push("admins".into());
        assert_eq!(twice.validate(), Err(SsoError::Duplicate("admins".into())));
        let mut claim = config();
        claim.role_claim = "my groups".into();
        assert_eq!(claim.validate(), Err(SsoError::RoleClaim));
        let mut client = config();
        client.client_id = String::new();
        assert_eq!(client.validate(), Err(SsoError::ClientId));
    }

    #[test]
    fn token_sign_in_defaults_to_on_when_absent() {
        let mut json = serde_json::to_value(config()).unwrap();
        json.as_object_mut().unwrap().remove("tokenSignIn");
        let read: SsoConfig = serde_json::from_value(json).unwrap();
        assert!(read.token_sign_in);
    }
}
