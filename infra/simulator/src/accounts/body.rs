//! A `PUT` body: read, with unknown fields refused, and validated.

use serde::{Deserialize, Deserializer};

use super::{AccountState, Role, Status};

/// The request body as received, before validation. Unknown fields are
/// rejected so that a client sending a misspelt field learns about it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawAccountState {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    given_name: Option<String>,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    locale: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    products: Vec<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    privileges: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    managed_groups: Vec<String>,
    #[serde(default)]
    user_group: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    device_groups: Vec<String>,
    #[serde(default)]
    settings_template: Option<String>,
}

/// Deserializes `null` as the type's default (e.g. an empty array).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Why a request body was refused (`422 invalid_user_data`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError(pub String);

impl std::fmt::Display for ValidationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValidationError {}

/// Parses and validates a `PUT` body.
pub fn parse_account_state(body: &[u8]) -> Result<AccountState, ValidationError> {
    let raw: RawAccountState = serde_json::from_slice(body)
        .map_err(|e| ValidationError(format!("body is not a valid account: {e}")))?;
    validate(raw)
}

fn validate(raw: RawAccountState) -> Result<AccountState, ValidationError> {
    let email = match raw.email {
        None => return Err(ValidationError("email is required".into())),
        Some(e) if e.trim().is_empty() => {
            return Err(ValidationError("email must not be empty".into()));
        }
        Some(e) if !e.contains('@') => {
            return Err(ValidationError("email must contain '@'".into()));
        }
        Some(e) => e,
    };
    let status = match raw.status {
        None => return Err(ValidationError("status is required".into())),
        Some(s) => Status::parse(&s).ok_or_else(|| {
            ValidationError(format!(
                "status must be \"active\" or \"suspended\", not {s:?}"
            ))
        })?,
    };
    let role = match raw.role {
        None => return Err(ValidationError("role is required".into())),
        Some(r) => Role::parse(&r).ok_or_else(|| {
            ValidationError(format!(
                "role must be \"none\", \"full_admin\" or \"manager\", not {r:?}"
            ))
        })?,
    };
    if raw.products.iter().any(|p| p.trim().is_empty()) {
        return Err(ValidationError("products must be non-empty strings".into()));
    }
    Ok(AccountState {
        email,
        given_name: raw.given_name,
        family_name: raw.family_name,
        locale: raw.locale,
        status,
        products: raw.products,
        role,
        privileges: raw.privileges,
        managed_groups: raw.managed_groups,
        user_group: raw.user_group,
        device_groups: raw.device_groups,
        settings_template: raw.settings_template,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn parses_full_body() -> TestResult {
        let body = br#"{"email":"ada@example.com","givenName":"Ada","familyName":"Lovelace",
            "locale":"en-US","status":"active","products":["G2M","G2W"],"role":"full_admin",
            "privileges":[],"managedGroups":[],"userGroup":null,"deviceGroups":[],
            "settingsTemplate":null}"#;
        let s = parse_account_state(body)?;
        assert_eq!(s.email, "ada@example.com");
        assert_eq!(s.given_name.as_deref(), Some("Ada"));
        assert_eq!(s.status, Status::Active);
        assert_eq!(s.role, Role::FullAdmin);
        assert_eq!(s.products, vec!["G2M", "G2W"]);
        Ok(())
    }

    #[test]
    fn optional_fields_may_be_absent_or_null() -> TestResult {
        let s = parse_account_state(
            br#"{"email":"a@b.c","status":"suspended","role":"manager","products":null,"locale":null}"#,
        )?;
        assert_eq!(s.status, Status::Suspended);
        assert_eq!(s.role, Role::Manager);
        assert!(s.products.is_empty());
        assert!(s.locale.is_none());
        Ok(())
    }

    #[test]
    fn rejects_invalid_bodies() {
        let bad: &[&[u8]] = &[
            b"not json",
            b"[]",
            br#"{"status":"active","role":"none"}"#,
            br#"{"email":"","status":"active","role":"none"}"#,
            br#"{"email":"  ","status":"active","role":"none"}"#,
            br#"{"email":"nobody","status":"active","role":"none"}"#,
            br#"{"email":"a@b.c","status":"deleted","role":"none"}"#,
            br#"{"email":"a@b.c","role":"none"}"#,
            br#"{"email":"a@b.c","status":"active","role":"owner"}"#,
            br#"{"email":"a@b.c","status":"active"}"#,
            br#"{"email":"a@b.c","status":"active","role":"none","products":"G2M"}"#,
            br#"{"email":"a@b.c","status":"active","role":"none","products":[""]}"#,
            br#"{"email":"a@b.c","status":"active","role":"none","product":["G2M"]}"#,
            br#"{"email":5,"status":"active","role":"none"}"#,
        ];
        for body in bad {
            assert!(
                parse_account_state(body).is_err(),
                "accepted {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
