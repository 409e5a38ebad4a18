//! Who calls the admin API: an admin key or a person signed in with the
//! organization's identity provider. Handlers see a [`Caller`], never the
//! credential.

use crate::access::Role;
use crate::auth::StoredToken;
use crate::ids::OrgId;

/// What kind of credential the caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallerKind {
    Key,
    Person,
}

/// The caller of one admin request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The organization: the key's, or the one the token's (issuer,
    /// client) is configured for. Never from the request.
    pub org: OrgId,
    pub role: Role,
    /// The actor of the caller's changes: the key's name or the person's.
    pub name: String,
    /// A person's `sub`.
    pub subject: Option<String>,
    /// A key's id.
    pub key_id: Option<String>,
    /// When the credential stops working (RFC 3339).
    pub expires_at: Option<String>,
    /// The request's correlation id.
    pub correlation_id: Option<String>,
}

impl Caller {
    /// A caller with an admin key.
    pub fn key(token: &StoredToken, correlation_id: Option<String>) -> Self {
        Self {
            org: token.org_id.clone(),
            role: token.role,
            name: token.name.clone(),
            subject: None,
            key_id: Some(token.token_id.clone()),
            expires_at: token.expires_at.clone(),
            correlation_id,
        }
    }

    pub fn kind(&self) -> CallerKind {
        if self.subject.is_some() {
            CallerKind::Person
        } else {
            CallerKind::Key
        }
    }
}

/// The request headers only browsers send (fetch metadata); automation
/// tools never do.
pub const BROWSER_HEADERS: [&str; 2] = ["sec-fetch-mode", "sec-fetch-site"];

/// True when an admin key must be refused: token sign-in is off for the
/// organization and the request comes from a browser (it carries one of
/// [`BROWSER_HEADERS`]).
pub fn refuses_key_from_browser(token_sign_in: bool, header: impl Fn(&str) -> bool) -> bool {
    !token_sign_in && BROWSER_HEADERS.into_iter().any(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_refused_only_from_browsers_with_token_sign_in_off() {
        let browser = |h: &str| h == "sec-fetch-mode";
        let site = |h: &str| h == "sec-fetch-site";
        let tool = |_: &str| false;
        assert!(refuses_key_from_browser(false, browser));
        assert!(refuses_key_from_browser(false, site));
        assert!(!refuses_key_from_browser(false, tool));
        assert!(!refuses_key_from_browser(true, browser));
        assert!(!refuses_key_from_browser(true, tool));
    }
}
