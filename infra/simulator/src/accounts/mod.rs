//! The account store and its rules: request validation, the "existing account
//! elsewhere" check and seat counting. Everything here is pure (no clock, no
//! locks, no I/O) so that it can be unit-tested directly.

mod body;
mod store;

pub(crate) use body::null_as_default;
pub use body::{ValidationError, parse_account_state};
pub use store::{AccountStore, PutError, PutOutcome, SeatLimits, seat_violation, seats_used};

use std::collections::BTreeSet;

use serde::Serialize;

/// An account's status as the product API speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Suspended,
}

impl Status {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }
}

/// An account's admin role as the product API speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    None,
    FullAdmin,
    Manager,
}

impl Role {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "full_admin" => Some(Self::FullAdmin),
            "manager" => Some(Self::Manager),
            _ => None,
        }
    }
}

/// The full desired state of an account: the body of `PUT .../users/{userKey}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub status: Status,
    pub products: Vec<String>,
    pub role: Role,
    pub privileges: Vec<String>,
    pub managed_groups: Vec<String>,
    pub user_group: Option<String>,
    pub device_groups: Vec<String>,
    pub settings_template: Option<String>,
}

impl AccountState {
    /// Whether this state holds a seat of `product`.
    pub fn uses_seat(&self, product: &str) -> bool {
        self.status == Status::Active && self.products.iter().any(|p| p == product)
    }
}

/// A stored account, as the API and the control endpoint show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub org_id: String,
    pub user_key: String,
    #[serde(flatten)]
    pub state: AccountState,
    pub created_at: String,
    pub updated_at: String,
    /// Who changed the account last outside the integration (a product
    /// admin, `PATCH /control/accounts/…`); absent once the integration
    /// writes it again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
}

/// Emails of accounts that exist "elsewhere" (another org of the product),
/// compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingAccounts {
    /// As given, for showing back.
    emails: Vec<String>,
    /// Normalised, for matching.
    normalised: BTreeSet<String>,
}

impl ExistingAccounts {
    pub fn new(emails: Vec<String>) -> Self {
        let normalised = emails.iter().map(|e| normalise_email(e)).collect();
        Self { emails, normalised }
    }

    pub fn emails(&self) -> &[String] {
        &self.emails
    }

    pub fn contains(&self, email: &str) -> bool {
        self.normalised.contains(&normalise_email(email))
    }
}

fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn existing_accounts_match_case_insensitively() {
        let e = ExistingAccounts::new(vec!["Ada@Example.com".into()]);
        assert!(e.contains("ada@example.COM"));
        assert!(e.contains(" ada@example.com "));
        assert!(!e.contains("bob@example.com"));
        assert_eq!(e.emails(), ["Ada@Example.com"]);
    }
}
