//! The checks an ID token's claims must pass once its signature is
//! verified, the role its role claim gives, and the person it names. Pure
//! functions over decoded claims and the time now.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::SsoConfig;
use crate::access::Role;

/// How far `exp`, `nbf` and `iat` may be off (clock skew), in seconds.
pub const SKEW_SECONDS: i64 = 60;

/// An ID token's claims (its payload), as decoded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims(pub Map<String, Value>);

/// Why a token's claims are refused: logged, never shown (every refusal is
/// the same `401`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error("the issuer is not the configured one")]
    Issuer,
    #[error("the audience does not hold the configured client")]
    Audience,
    #[error("several audiences and azp is not the configured client")]
    AuthorizedParty,
    #[error("expired, or without an expiry")]
    Expired,
    #[error("not valid yet (nbf)")]
    NotYetValid,
    #[error("issued in the future (iat)")]
    IssuedInFuture,
    #[error("no subject")]
    Subject,
}

impl Claims {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    fn number(&self, name: &str) -> Option<Option<i64>> {
        match self.0.get(name) {
            None => Some(None),
            Some(v) => v
                .as_i64()
                .or_else(|| v.as_f64().map(|f| f as i64))
                .map(Some),
        }
    }

    /// The `aud` claim's values (a string or an array of strings).
    pub fn audiences(&self) -> Vec<&str> {
        match self.0.get("aud") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// `sub`, when it is a non-empty string.
    pub fn subject(&self) -> Option<&str> {
        self.str("sub").filter(|s| !s.is_empty())
    }

    /// The person's name: `name`, else `preferred_username`, else `sub`.
    pub fn actor_name(&self) -> Option<&str> {
        ["name", "preferred_username"]
            .into_iter()
            .find_map(|c| self.str(c).filter(|s| !s.trim().is_empty()))
            .or_else(|| self.subject())
    }

    /// When the token expires (`exp`).
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        let exp = self.number("exp").flatten()?;
        OffsetDateTime::from_unix_timestamp(exp).ok()
    }
}

/// Checks the claims against the organization's configuration at `now`:
/// `iss` is the issuer (exact), `aud` holds the client id (and when it holds
/// several, `azp` is the client id), `exp` is in the future and `nbf`/`iat`
/// are not, each with [`SKEW_SECONDS`]; `sub` is not empty.
pub fn check_claims(
    claims: &Claims,
    config: &SsoConfig,
    now: OffsetDateTime,
) -> Result<(), TokenRefusal> {
    if claims.str("iss") != Some(config.issuer.as_str()) {
        return Err(TokenRefusal::Issuer);
    }
    let audiences = claims.audiences();
    if !audiences.contains(&config.client_id.as_str()) {
        return Err(TokenRefusal::Audience);
    }
    if audiences.len() > 1 && claims.str("azp") != Some(config.client_id.as_str()) {
        return Err(TokenRefusal::AuthorizedParty);
    }
    let now = now.unix_timestamp();
    match claims.number("exp") {
        Some(Some(exp)) if exp.saturating_add(SKEW_SECONDS) > now => {}
        _ => return Err(TokenRefusal::Expired),
    }
    match claims.number("nbf") {
        Some(None) => {}
        Some(Some(nbf)) if nbf <= now.saturating_add(SKEW_SECONDS) => {}
        _ => return Err(TokenRefusal::NotYetValid),
    }
    match claims.number("iat") {
        Some(None) => {}
        Some(Some(iat)) if iat <= now.saturating_add(SKEW_SECONDS) => {}
        _ => return Err(TokenRefusal::IssuedInFuture),
    }
    if claims.subject().is_none() {
        return Err(TokenRefusal::Subject);
    }
    Ok(())
}

/// The role the configured claim's values give: the highest role one of
/// them maps to; `None` when none does. The claim may be a string or an
/// array of strings.
pub fn role_of(claims: &Claims, config: &SsoConfig) -> Option<Role> {
    let values: Vec<&str> = match claims.0.get(&config.role_claim) {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    Role::ALL.into_iter().find(|role| {
        config
            .roles
            .of(*role)
            .iter()
            .any(|v| values.contains(&v.as_str()))
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::sso::tests::config;

    const NOW: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);

    fn claims(v: Value) -> Claims {
        let mut base = json!({
            "iss": "https://idp.example.com",
            "aud": "user-sync",
            "sub": "ada",
            "exp": NOW.unix_timestamp() + 300,
            "iat": NOW.unix_timestamp(),
        });
        for (k, val) in v.as_object().unwrap() {
            if val.is_null() {
                base.as_object_mut().unwrap().remove(k);
            } else {
                base[k] = val.clone();
            }
        }
        Claims(base.as_object().unwrap().clone())
    }

    fn check(v: Value) -> Result<(), TokenRefusal> {
        check_claims(&claims(v), &config(), NOW)
    }

    #[test]
    fn a_token_for_the_client_from_the_issuer_passes() {
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({"aud": ["user-sync"]})), Ok(()));
        assert_eq!(
            check(json!({"aud": ["user-sync", "other"], "azp": "user-sync"})),
            Ok(())
        );
    }

    #[test]
    fn issuer_and_audience_are_exact() {
        assert_eq!(
            check(json!({"iss": "https://idp.example.com/"})),
            Err(TokenRefusal::Issuer)
        );
        assert_eq!(check(json!({"iss": null})), Err(TokenRefusal::Issuer));
        assert_eq!(check(json!({"aud": "other"})), Err(TokenRefusal::Audience));
        assert_eq!(check(json!({"aud": null})), Err(TokenRefusal::Audience));
        assert_eq!(
            check(json!({"aud": ["user-sync", "other"]})),
            Err(TokenRefusal::AuthorizedParty)
        );
        assert_eq!(
            check(json!({"aud": ["user-sync", "other"], "azp": "other"})),
            Err(TokenRefusal::AuthorizedParty)
        );
    }

    #[test]
    fn times_are_checked_with_sixty_seconds_of_skew() {
        let now = NOW.unix_timestamp();
        assert_eq!(check(json!({"exp": now - 59})), Ok(()));
        assert_eq!(check(json!({"exp": now - 60})), Err(TokenRefusal::Expired));
        assert_eq!(check(json!({"exp": null})), Err(TokenRefusal::Expired));
        assert_eq!(check(json!({"exp": "soon"})), Err(TokenRefusal::Expired));
        assert_eq!(check(json!({"nbf": now + 60})), Ok(()));
        assert_eq!(
            check(json!({"nbf": now + 61})),
            Err(TokenRefusal::NotYetValid)
        );
        assert_eq!(check(json!({"iat": now + 60})), Ok(()));
        assert_eq!(
            check(json!({"iat": now + 61})),
            Err(TokenRefusal::IssuedInFuture)
        );
    }

    #[test]
    fn the_subject_must_not_be_empty() {
        assert_eq!(check(json!({"sub": ""})), Err(TokenRefusal::Subject));
        assert_eq!(check(json!({"sub": null})), Err(TokenRefusal::Subject));
    }

    #[test]
    fn the_highest_matching_role_wins() {
        let role = |g: Value| role_of(&claims(json!({ "groups": g })), &config());
        assert_eq!(role(json!(["viewers", "admins"])), Some(Role::Admin));
        assert_eq!(role(json!(["viewers", "ops"])), Some(Role::Operator));
        assert_eq!(role(json!("viewers")), Some(Role::Viewer));
        assert_eq!(role(json!(["others"])), None);
        assert_eq!(role(json!([])), None);
        assert_eq!(role(Value::Null), None);
        assert_eq!(role(json!(42)), None);
    }

    #[test]
    fn the_actor_is_the_name_else_the_username_else_the_subject() {
        let c = claims(json!({"name": "Ada Admin", "preferred_username": "ada@x"}));
        assert_eq!(c.actor_name(), Some("Ada Admin"));
        let c = claims(json!({"preferred_username": "ada@x"}));
        assert_eq!(c.actor_name(), Some("ada@x"));
        assert_eq!(claims(json!({})).actor_name(), Some("ada"));
        assert_eq!(
            claims(json!({})).expires_at().map(|t| t.unix_timestamp()),
            Some(NOW.unix_timestamp() + 300)
        );
    }
}
