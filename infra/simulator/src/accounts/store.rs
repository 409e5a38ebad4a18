//! The accounts of every org, and the seat rules a write obeys.

use std::collections::{BTreeMap, BTreeSet};

use super::{Account, AccountState, ExistingAccounts, Status};

/// Seat limits of one org: product → seats. A product without an entry is
/// unlimited.
pub type SeatLimits = BTreeMap<String, u32>;

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

    /// Replaces an existing account's state as a product admin named `by`
    /// would (no seat or existing-account check); `None` when there is none.
    pub fn edit(
        &mut self,
        org_id: &str,
        user_key: &str,
        state: AccountState,
        by: &str,
        now: &str,
    ) -> Option<Account> {
        let account = self
            .accounts
            .get_mut(&(org_id.to_owned(), user_key.to_owned()))?;
        account.state = state;
        account.updated_at = now.to_owned();
        account.updated_by = Some(by.to_owned());
        Some(account.clone())
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
                    account.updated_by = None;
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
                    updated_by: None,
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
    use crate::accounts::Role;

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
            updated_by: None,
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
