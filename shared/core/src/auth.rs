//! Bearer tokens. A token names its organization and its own id, and carries a
//! 256-bit secret; only the secret's SHA-256 is stored, and it is compared in
//! constant time. The organization of a request comes from its token alone.
//!
//! Format: `us_{kind}_{orgId}.{tokenId}.{secret}`, e.g.
//! `us_scim_acme.3f2a9c0d11e4b6a7.<64 hex digits>`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use time::OffsetDateTime;

pub use crate::access::Role;
use crate::ids::OrgId;

/// What a token may call: the SCIM token cannot call the admin API and the
/// admin token cannot call SCIM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Scim,
    Admin,
}

impl TokenKind {
    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Scim => "us_scim_",
            TokenKind::Admin => "us_admin_",
        }
    }
}

/// A token as presented by a caller, split into its parts.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedToken {
    pub kind: TokenKind,
    pub org_id: OrgId,
    pub token_id: String,
    secret: String,
}

impl std::fmt::Debug for PresentedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedToken")
            .field("kind", &self.kind)
            .field("org_id", &self.org_id)
            .field("token_id", &self.token_id)
            .finish_non_exhaustive()
    }
}

/// Longest accepted `Authorization` value; anything longer is not a token.
const MAX_TOKEN_LEN: usize = 256;

impl PresentedToken {
    /// Parses an `Authorization` header value (`Bearer <token>`).
    pub fn from_authorization(header: &str) -> Option<Self> {
        if header.len() > MAX_TOKEN_LEN + 7 {
            return None;
        }
        let (scheme, token) = header.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        Self::parse(token.trim())
    }

    pub fn parse(token: &str) -> Option<Self> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (kind, rest) = [TokenKind::Scim, TokenKind::Admin]
            .into_iter()
            .find_map(|k| token.strip_prefix(k.prefix()).map(|rest| (k, rest)))?;
        let mut parts = rest.split('.');
        let org = OrgId::parse(parts.next()?).ok()?;
        let token_id = parts.next()?;
        let secret = parts.next()?;
        if parts.next().is_some()
            || token_id.is_empty()
            || !token_id.bytes().all(|b| b.is_ascii_hexdigit())
            || secret.len() != 64
            || !secret.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        Some(Self {
            kind,
            org_id: org,
            token_id: token_id.to_owned(),
            secret: secret.to_owned(),
        })
    }

    /// True when this token's secret hashes to `stored.secret_sha256` and the
    /// kinds and organizations agree. Constant time in the secret.
    pub fn verify(&self, stored: &StoredToken) -> bool {
        let presented = Sha256::digest(self.secret.as_bytes());
        let Ok(expected) = hex::decode(&stored.secret_sha256) else {
            return false;
        };
        let same_secret: bool = presented.as_slice().ct_eq(expected.as_slice()).into();
        same_secret
            && stored.kind == self.kind
            && stored.org_id == self.org_id
            && stored.token_id == self.token_id
    }
}

/// A token as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredToken {
    pub org_id: OrgId,
    pub token_id: String,
    pub kind: TokenKind,
    /// A name for people ("Okta", "Ops admin"); the actor of admin changes.
    pub name: String,
    pub secret_sha256: String,
    pub created: String,
    /// An admin key's role (SCIM tokens have none that matters). A key stored
    /// before roles existed has none and reads as `admin`.
    #[serde(default)]
    pub role: Role,
    /// When the key stops working (RFC 3339); `None`: it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// When the key was last used, to within [`LAST_USED_GRANULARITY_MINUTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

/// A key's last-used time is written at most once per this many minutes.
pub const LAST_USED_GRANULARITY_MINUTES: i64 = 5;

impl StoredToken {
    /// True when the key has an expiry and `now` is at or past it. An expiry
    /// that does not parse counts as expired (fail closed).
    pub fn expired(&self, now: OffsetDateTime) -> bool {
        match &self.expires_at {
            None => false,
            Some(at) => crate::time::parse(at).is_none_or(|at| now >= at),
        }
    }

    /// The last-used time older than which a use is written again: `now`
    /// less the granularity, formatted as stored.
    pub fn last_used_cutoff(now: OffsetDateTime) -> String {
        crate::time::format(now - time::Duration::minutes(LAST_USED_GRANULARITY_MINUTES))
    }
}

/// A freshly issued token: the plain text (shown once) and what to store.
#[derive(Clone)]
pub struct IssuedToken {
    pub plain: String,
    pub stored: StoredToken,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("stored", &self.stored)
            .finish_non_exhaustive()
    }
}

/// Issues a token from 40 random bytes (8 for the id, 32 for the secret).
pub fn issue(
    org_id: &OrgId,
    kind: TokenKind,
    name: &str,
    random: [u8; 40],
    created: String,
) -> IssuedToken {
    let token_id = hex::encode(&random[..8]);
    let secret = hex::encode(&random[8..]);
    let plain = format!("{}{}.{}.{}", kind.prefix(), org_id, token_id, secret);
    let stored = StoredToken {
        org_id: org_id.clone(),
        token_id,
        kind,
        name: name.to_owned(),
        secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
        created,
        role: Role::Admin,
        expires_at: None,
        last_used_at: None,
    };
    IssuedToken { plain, stored }
}

impl IssuedToken {
    /// The same key with another role.
    #[must_use]
    pub fn with_role(mut self, role: Role) -> Self {
        self.stored.role = role;
        self
    }

    /// The same key, expiring at `expires_at` (RFC 3339).
    #[must_use]
    pub fn expiring(mut self, expires_at: Option<String>) -> Self {
        self.stored.expires_at = expires_at;
        self
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn org() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    #[test]
    fn issued_token_verifies_and_hash_is_not_the_secret() {
        let t = issue(&org(), TokenKind::Scim, "Okta", [7; 40], "t".into());
        let p = PresentedToken::from_authorization(&format!("Bearer {}", t.plain)).unwrap();
        assert!(p.verify(&t.stored));
        assert!(!t.plain.contains(&t.stored.secret_sha256));
        assert_eq!(p.org_id, org());
    }

    #[test]
    fn wrong_secret_kind_or_org_is_refused() {
        let t = issue(&org(), TokenKind::Scim, "Okta", [7; 40], "t".into());
        let mut other = issue(&org(), TokenKind::Scim, "Okta", [8; 40], "t".into());
        other.stored.token_id = t.stored.token_id.clone();
        let p = PresentedToken::parse(&t.plain).unwrap();
        assert!(!p.verify(&other.stored));
        let mut admin = t.stored.clone();
        admin.kind = TokenKind::Admin;
        assert!(!p.verify(&admin));
        let mut elsewhere = t.stored.clone();
        elsewhere.org_id = OrgId::parse("other").unwrap();
        assert!(!p.verify(&elsewhere));
    }

    #[test]
    fn malformed_tokens_do_not_parse() {
        for bad in [
            "",
            "Bearer",
            "Basic abc",
            "Bearer us_scim_acme",
            "Bearer us_scim_acme.zz.00",
            "Bearer us_root_acme.00.00",
        ] {
            assert!(PresentedToken::from_authorization(bad).is_none(), "{bad}");
        }
        let long = format!("Bearer us_scim_acme.00.{}", "0".repeat(300));
        assert!(PresentedToken::from_authorization(&long).is_none());
    }

    #[test]
    fn a_key_stored_without_a_role_is_an_admin_key_and_expiry_is_checked() {
        let old = serde_json::json!({
            "orgId": "acme", "tokenId": "00", "kind": "admin", "name": "Ops",
            "secretSha256": "00", "created": "t",
        });
        let t: StoredToken = serde_json::from_value(old).unwrap();
        assert_eq!(t.role, Role::Admin);
        let now = crate::time::parse("2026-01-02T00:00:00.000Z").unwrap();
        assert!(!t.expired(now));
        let mut later = t.clone();
        later.expires_at = Some("2026-01-03T00:00:00.000Z".into());
        assert!(!later.expired(now));
        later.expires_at = Some("2026-01-01T00:00:00.000Z".into());
        assert!(later.expired(now));
        later.expires_at = Some("soon".into());
        assert!(later.expired(now), "an unreadable expiry fails closed");
        assert_eq!(
            StoredToken::last_used_cutoff(now),
            "2026-01-01T23:55:00.000Z"
        );
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let t = issue(&org(), TokenKind::Admin, "Ops", [9; 40], "t".into());
        let p = PresentedToken::parse(&t.plain).unwrap();
        let secret = t.plain.rsplit('.').next().unwrap();
        assert!(!format!("{p:?}").contains(secret));
        assert!(!format!("{t:?}").contains(secret));
    }
}

/// Why a request was not authenticated. The admin API answers 403 for
/// `WrongKind`, 503 for `Unavailable` and 401 otherwise; SCIM answers 401
/// for all but `Unavailable`. The reason is logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing or malformed bearer token")]
    Malformed,
    #[error("unknown token or wrong secret")]
    Refused,
    /// A valid token of the other kind (a SCIM token on the admin API).
    #[error("a valid token of another kind")]
    WrongKind,
    #[error("token store unavailable")]
    Unavailable(#[source] crate::StoreError),
}

/// Authenticates an `Authorization` header for `kind`: the organization is the
/// token's own.
pub async fn authenticate(
    tokens: &impl crate::ports::Tokens,
    authorization: Option<&str>,
    kind: TokenKind,
) -> Result<StoredToken, AuthError> {
    let presented = authorization
        .and_then(PresentedToken::from_authorization)
        .ok_or(AuthError::Malformed)?;
    authenticate_presented(tokens, &presented, kind).await
}

/// Authenticates a token already parsed from its header.
pub async fn authenticate_presented(
    tokens: &impl crate::ports::Tokens,
    presented: &PresentedToken,
    kind: TokenKind,
) -> Result<StoredToken, AuthError> {
    let stored = tokens
        .get_token(&presented.org_id, &presented.token_id)
        .await
        .map_err(AuthError::Unavailable)?;
    check_token(presented, stored, kind)
}

/// Authenticates `presented` for `kind` against its item as read (`None`:
/// no such token): [`authenticate`]'s decision, for a caller that read the
/// item with something else ([`crate::ports::TokenReads`]). Nothing read
/// with it may be used unless this succeeds.
pub fn check_token(
    presented: &PresentedToken,
    stored: Option<StoredToken>,
    kind: TokenKind,
) -> Result<StoredToken, AuthError> {
    let stored = stored.ok_or(AuthError::Refused)?;
    if !presented.verify(&stored) {
        return Err(AuthError::Refused);
    }
    // only a verified token learns that it is of the wrong kind
    if stored.kind != kind {
        return Err(AuthError::WrongKind);
    }
    Ok(stored)
}
