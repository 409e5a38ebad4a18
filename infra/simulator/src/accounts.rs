//! The account store and its rules: request validation, the "existing account
//! elsewhere" check and seat counting. Everything here is pure (no clock, no
//! locks, no I/O) so that it can be unit-tested directly.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};

/// An account's status as the product API speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Suspended,
}

impl Status {
    fn parse(s: &str) -> Option<Self> {
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
    fn parse(s: &str) -> Option<Self> {
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
}

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

/// Seat limits of one org: product → seats. A product without an entry is
/// unlimited.
pub type SeatLimits = BTreeMap<String, u32>;

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

/// The first product of `new` (in request order) for which the org would use
/// more seats than `limits` allow, if any.
///
/// `others` are the org's accounts other than the one being written;
/// `current` is that account's state before the write, if it exists. A
/// product the account already holds a seat of is never refused, even if the
/// org is over its limit (e.g. after the limit was lowered).
pub fn seat_violation<'a>(
    limits: Option<&SeatLimits>,
    others: impl Iterator<Item = &'a AccountState> + Clone,
    current: Option<&AccountState>,
    new: &AccountState,
) -> Option<String> {
    let limits = limits?;
    if new.status != Status::Active {
        return None;
    }
    let mut seen = BTreeSet::new();
    for product in &new.products {
        if !seen.insert(product.as_str()) {
            continue;
        }
        let Some(&limit) = limits.get(product) else {
            continue;
        };
        if current.is_some_and(|c| c.uses_seat(product)) {
            continue;
        }
        let used = others.clone().filter(|a| a.uses_seat(product)).count();
        if used.saturating_add(1) > limit as usize {
            return Some(product.clone());
        }
    }
    None
}

/// Seats of each product that the given accounts use.
pub fn seats_used<'a>(accounts: impl Iterator<Item = &'a AccountState>) -> BTreeMap<String, u32> {
    let mut used = BTreeMap::new();
    for account in accounts {
        if account.status != Status::Active {
            continue;
        }
        let distinct: BTreeSet<&String> = account.products.iter().collect();
        for product in distinct {
            let n: &mut u32 = used.entry(product.clone()).or_default();
            *n = n.saturating_add(1);
        }
    }
    used
}

/// Why a `PUT` was refused after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutError {
    /// The account does not exist and its email belongs to an account
    /// elsewhere.
    ExistingAccount,
    /// The write would exceed the org's seats of this product.
    OutOfLicenses { product: String },
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::ExistingAccount => f.write_str("the account exists elsewhere"),
            PutError::OutOfLicenses { product } => write!(f, "out of {product} seats"),
        }
    }
}

impl std::error::Error for PutError {}

/// What a successful `PUT` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutOutcome {
    /// `true`: the account was created (201); `false`: it existed (200).
    pub created: bool,
    pub account: Account,
}

/// All accounts, keyed by (org id, user key).
#[derive(Debug, Clone, Default)]
pub struct AccountStore {
    accounts: BTreeMap<(String, String), Account>,
}

impl AccountStore {
    pub fn get(&self, org_id: &str, user_key: &str) -> Option<&Account> {
        self.accounts.get(&(org_id.to_owned(), user_key.to_owned()))
    }

    /// Accounts sorted by org id then user key; only `org`'s if given.
    pub fn list(&self, org: Option<&str>) -> Vec<Account> {
        self.accounts
            .values()
            .filter(|a| org.is_none_or(|o| a.org_id == o))
            .cloned()
            .collect()
    }

    /// Seats of each product that `org_id`'s accounts use.
    pub fn seats_used(&self, org_id: &str) -> BTreeMap<String, u32> {
        seats_used(self.org_accounts(org_id).map(|a| &a.state))
    }

    fn org_accounts<'a>(&'a self, org_id: &'a str) -> impl Iterator<Item = &'a Account> + Clone {
        self.accounts.values().filter(move |a| a.org_id == org_id)
    }

    /// Creates or replaces an account, applying the existing-account and
    /// seat checks. On error nothing changes. Writing the state an account
    /// already has changes nothing, not even `updatedAt`.
    pub fn put(
        &mut self,
        org_id: &str,
        user_key: &str,
        state: AccountState,
        limits: Option<&SeatLimits>,
        existing: &ExistingAccounts,
        now: &str,
    ) -> Result<PutOutcome, PutError> {
        let current = self.get(org_id, user_key);
        if current.is_none() && existing.contains(&state.email) {
            return Err(PutError::ExistingAccount);
        }
        let others = self
            .org_accounts(org_id)
            .filter(|a| a.user_key != user_key)
            .map(|a| &a.state);
        if let Some(product) = seat_violation(limits, others, current.map(|a| &a.state), &state) {
            return Err(PutError::OutOfLicenses { product });
        }
        let key = (org_id.to_owned(), user_key.to_owned());
        match self.accounts.get_mut(&key) {
            Some(account) => {
                if account.state != state {
                    account.state = state;
                    account.updated_at = now.to_owned();
                }
                Ok(PutOutcome {
                    created: false,
                    account: account.clone(),
                })
            }
            None => {
                let account = Account {
                    org_id: org_id.to_owned(),
                    user_key: user_key.to_owned(),
                    state,
                    created_at: now.to_owned(),
                    updated_at: now.to_owned(),
                };
                self.accounts.insert(key, account.clone());
                Ok(PutOutcome {
                    created: true,
                    account,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn state(email: &str, status: Status, products: &[&str]) -> AccountState {
        AccountState {
            email: email.into(),
            given_name: None,
            family_name: None,
            locale: None,
            status,
            products: products.iter().map(|p| (*p).to_owned()).collect(),
            role: Role::None,
            privileges: vec![],
            managed_groups: vec![],
            user_group: None,
            device_groups: vec![],
            settings_template: None,
        }
    }

    fn limits(pairs: &[(&str, u32)]) -> SeatLimits {
        pairs.iter().map(|(p, n)| ((*p).to_owned(), *n)).collect()
    }

    fn put(
        store: &mut AccountStore,
        user: &str,
        s: AccountState,
        l: Option<&SeatLimits>,
    ) -> Result<PutOutcome, PutError> {
        store.put("org", user, s, l, &ExistingAccounts::default(), "t0")
    }

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

    #[test]
    fn existing_accounts_match_case_insensitively() {
        let e = ExistingAccounts::new(vec!["Ada@Example.com".into()]);
        assert!(e.contains("ada@example.COM"));
        assert!(e.contains(" ada@example.com "));
        assert!(!e.contains("bob@example.com"));
        assert_eq!(e.emails(), ["Ada@Example.com"]);
    }

    #[test]
    fn no_limits_means_unlimited() {
        let others = [state("a@x", Status::Active, &["G2M"])];
        let new = state("b@x", Status::Active, &["G2M"]);
        assert_eq!(seat_violation(None, others.iter(), None, &new), None);
        let l = limits(&[("G2W", 0)]);
        assert_eq!(seat_violation(Some(&l), others.iter(), None, &new), None);
    }

    #[test]
    fn refuses_the_first_product_over_its_limit() {
        let others = [
            state("a@x", Status::Active, &["G2M", "G2W"]),
            state("s@x", Status::Suspended, &["G2M", "G2W"]),
        ];
        let l = limits(&[("G2M", 2), ("G2W", 1), ("G2C", 0)]);
        let new = state("b@x", Status::Active, &["G2M", "G2W", "G2C"]);
        assert_eq!(
            seat_violation(Some(&l), others.iter(), None, &new),
            Some("G2W".into())
        );
        let new = state("b@x", Status::Active, &["G2M"]);
        assert_eq!(seat_violation(Some(&l), others.iter(), None, &new), None);
    }

    #[test]
    fn suspended_state_never_needs_seats() {
        let l = limits(&[("G2M", 0)]);
        let new = state("b@x", Status::Suspended, &["G2M"]);
        assert_eq!(seat_violation(Some(&l), [].iter(), None, &new), None);
    }

    #[test]
    fn own_seat_counts_as_available() {
        // Over the limit already (limit lowered): a holder may still update.
        let others = [state("a@x", Status::Active, &["G2M"])];
        let l = limits(&[("G2M", 1)]);
        let current = state("b@x", Status::Active, &["G2M"]);
        let new = state("b@x", Status::Active, &["G2M"]);
        assert_eq!(
            seat_violation(Some(&l), others.iter(), Some(&current), &new),
            None
        );
        // A suspended account holds no seat, so reactivating it is checked.
        let current = state("b@x", Status::Suspended, &["G2M"]);
        assert_eq!(
            seat_violation(Some(&l), others.iter(), Some(&current), &new),
            Some("G2M".into())
        );
    }

    #[test]
    fn duplicate_products_use_one_seat() {
        let l = limits(&[("G2M", 1)]);
        let new = state("b@x", Status::Active, &["G2M", "G2M"]);
        assert_eq!(seat_violation(Some(&l), [].iter(), None, &new), None);
        let used = seats_used([new].iter());
        assert_eq!(used.get("G2M"), Some(&1));
    }

    #[test]
    fn put_creates_then_updates_idempotently() -> TestResult {
        let mut store = AccountStore::default();
        let s = state("a@x", Status::Active, &["G2M"]);
        let created = put(&mut store, "u1", s.clone(), None)?;
        assert!(created.created);
        let again = store.put(
            "org",
            "u1",
            s.clone(),
            None,
            &ExistingAccounts::default(),
            "t1",
        )?;
        assert!(!again.created);
        assert_eq!(again.account, created.account);
        assert_eq!(again.account.updated_at, "t0");

        let changed = state("a@x", Status::Suspended, &["G2M"]);
        let updated = store.put(
            "org",
            "u1",
            changed,
            None,
            &ExistingAccounts::default(),
            "t2",
        )?;
        assert_eq!(updated.account.created_at, "t0");
        assert_eq!(updated.account.updated_at, "t2");
        assert_eq!(updated.account.state.status, Status::Suspended);
        Ok(())
    }

    #[test]
    fn existing_account_blocks_creation_only() -> TestResult {
        let mut store = AccountStore::default();
        let existing = ExistingAccounts::new(vec!["A@X".into()]);
        let s = state("a@x", Status::Active, &[]);
        assert_eq!(
            store.put("org", "u1", s.clone(), None, &existing, "t0"),
            Err(PutError::ExistingAccount)
        );
        assert!(store.get("org", "u1").is_none());
        // An account that already exists here may be updated.
        put(&mut store, "u1", s.clone(), None)?;
        let r = store.put("org", "u1", s, None, &existing, "t1");
        assert!(r.is_ok());
        Ok(())
    }

    #[test]
    fn suspending_frees_a_seat() -> TestResult {
        let mut store = AccountStore::default();
        let l = limits(&[("G2W", 1)]);
        let active = |e: &str| state(e, Status::Active, &["G2W"]);
        put(&mut store, "u1", active("a@x"), Some(&l))?;
        assert_eq!(
            put(&mut store, "u2", active("b@x"), Some(&l)),
            Err(PutError::OutOfLicenses {
                product: "G2W".into()
            })
        );
        assert!(store.get("org", "u2").is_none());
        put(
            &mut store,
            "u1",
            state("a@x", Status::Suspended, &["G2W"]),
            Some(&l),
        )?;
        put(&mut store, "u2", active("b@x"), Some(&l))?;
        assert_eq!(store.seats_used("org").get("G2W"), Some(&1));
        Ok(())
    }

    #[test]
    fn seats_are_per_org() -> TestResult {
        let mut store = AccountStore::default();
        let l = limits(&[("G2W", 1)]);
        let s = state("a@x", Status::Active, &["G2W"]);
        let none = ExistingAccounts::default();
        store.put("o1", "u1", s.clone(), Some(&l), &none, "t")?;
        store.put("o2", "u1", s, Some(&l), &none, "t")?;
        let listed: Vec<_> = store
            .list(None)
            .into_iter()
            .map(|a| (a.org_id, a.user_key))
            .collect();
        assert_eq!(
            listed,
            [("o1".into(), "u1".into()), ("o2".into(), "u1".into())]
        );
        assert_eq!(store.list(Some("o2")).len(), 1);
        Ok(())
    }

    #[test]
    fn account_json_is_flat_camel_case() -> TestResult {
        let a = Account {
            org_id: "o".into(),
            user_key: "u".into(),
            state: state("a@x", Status::Active, &["G2M"]),
            created_at: "t0".into(),
            updated_at: "t1".into(),
        };
        let v = serde_json::to_value(&a)?;
        assert_eq!(v["orgId"], "o");
        assert_eq!(v["userKey"], "u");
        assert_eq!(v["status"], "active");
        assert_eq!(v["role"], "none");
        assert_eq!(v["userGroup"], serde_json::Value::Null);
        assert_eq!(v["managedGroups"], serde_json::json!([]));
        assert_eq!(v["createdAt"], "t0");
        Ok(())
    }
}
