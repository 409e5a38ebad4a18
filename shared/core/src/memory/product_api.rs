//! The product API, in memory.

use std::collections::VecDeque;

use super::*;

use crate::state::AccountStatus;

/// The product API: accounts per (organization, user key), the seats per
/// product, and refusals a test scripts.
///
/// As the product API does, it creates an account the first time
/// (`Created`) and replaces it after (`Updated`); it refuses to create an
/// account for an email that already has one elsewhere
/// ([`MemoryProductApi::existing_account`]); it refuses a product whose
/// seats are all taken (`OutOfLicenses`): `seats` holds each product's
/// limit and the seats taken outside this fake, and an active account
/// holding the product takes one more. [`MemoryProductApi::refuse_next`]
/// scripts the next answers (rate limited, unavailable, …), and every call
/// answers `Unavailable` while `down`. It offers the demo products
/// ([`crate::catalog::DEMO_PRODUCTS`]) until
/// [`MemoryProductApi::offer`] says otherwise, with the seats of `seats`
/// (a product without an entry: unlimited).
#[derive(Default)]
pub struct MemoryProductApi {
    pub seats: Mutex<BTreeMap<String, Seats>>,
    pub down: bool,
    state: Mutex<ApiState>,
    /// (id, name, takes device groups); `None`: the demo products.
    offered: Mutex<Option<Vec<(String, String, bool)>>>,
}

#[derive(Default)]
struct ApiState {
    accounts: BTreeMap<(OrgId, UserId), ProductAccount>,
    /// who changed an account last, when not the integration (see `edit`)
    edited_by: BTreeMap<(OrgId, UserId), String>,
    /// lowercased emails that have an account elsewhere
    existing: BTreeSet<String>,
    /// the next answers of `put_account`, first first
    refusals: VecDeque<ProductApiError>,
    calls: usize,
    reads: usize,
}

impl MemoryProductApi {
    fn state(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets a product's seat limit (`None`: unlimited), none taken.
    pub fn set_limit(&self, product: &str, limit: Option<u64>) {
        self.seats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(product.to_owned(), Seats { limit, used: 0 });
    }

    /// The products offered from now on: (id, name, takes device groups).
    pub fn offer(&self, products: &[(&str, &str, bool)]) {
        *self.offered.lock().unwrap_or_else(PoisonError::into_inner) = Some(
            products
                .iter()
                .map(|(id, name, devices)| ((*id).to_owned(), (*name).to_owned(), *devices))
                .collect(),
        );
    }

    /// The email (ignoring case) has an account outside the organization.
    pub fn existing_account(&self, email: &str) {
        self.state().existing.insert(email.to_lowercase());
    }

    /// The next `put_account` answers `error` (scripted answers queue up).
    pub fn refuse_next(&self, error: ProductApiError) {
        self.state().refusals.push_back(error);
    }

    /// The account of a user, as last written.
    pub fn account(&self, org: &OrgId, user_key: &UserId) -> Option<ProductAccount> {
        self.state()
            .accounts
            .get(&(org.clone(), user_key.clone()))
            .cloned()
    }

    /// Calls of `put_account` so far (refused ones included).
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    /// Calls of `get_account` so far.
    pub fn reads(&self) -> usize {
        self.state().reads
    }

    /// Changes an account as a product admin named `by` would, outside the
    /// integration (no seat check). Answers whether there was one to change.
    pub fn edit(
        &self,
        org: &OrgId,
        user_key: &UserId,
        by: &str,
        change: impl FnOnce(&mut ProductAccount),
    ) -> bool {
        let mut state = self.state();
        let key = (org.clone(), user_key.clone());
        let Some(account) = state.accounts.get_mut(&key) else {
            return false;
        };
        change(account);
        state.edited_by.insert(key, by.to_owned());
        true
    }

    /// Seats taken per product by this fake's active accounts of `org`,
    /// leaving `except` out.
    fn taken(state: &ApiState, org: &OrgId, except: Option<&UserId>) -> BTreeMap<String, u64> {
        let mut taken: BTreeMap<String, u64> = BTreeMap::new();
        let held = state
            .accounts
            .iter()
            .filter(|((o, u), a)| {
                o == org && Some(u) != except && a.status == AccountStatus::Active
            })
            .flat_map(|(_, a)| a.products.iter());
        for product in held {
            *taken.entry(product.clone()).or_default() += 1;
        }
        taken
    }
}

impl ProductApi for MemoryProductApi {
    async fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        let seats = self
            .seats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut state = self.state();
        state.calls += 1;
        if self.down {
            return Err(ProductApiError::Unavailable("down".to_owned()));
        }
        if let Some(refusal) = state.refusals.pop_front() {
            return Err(refusal);
        }
        let key = (org.clone(), user_key.clone());
        let current = state.accounts.get(&key);
        if current.is_none() && state.existing.contains(&account.email.to_lowercase()) {
            return Err(ProductApiError::ExistingAccount);
        }
        if account.status == AccountStatus::Active {
            let taken = Self::taken(&state, org, Some(user_key));
            let held = |p: &String| {
                current.is_some_and(|c| c.status == AccountStatus::Active && c.products.contains(p))
            };
            for product in account.products.iter().filter(|p| !held(p)) {
                let Some(Seats {
                    limit: Some(limit),
                    used,
                }) = seats.get(product)
                else {
                    continue;
                };
                let others = used + taken.get(product).copied().unwrap_or(0);
                if others >= *limit {
                    return Err(ProductApiError::OutOfLicenses {
                        product: product.clone(),
                    });
                }
            }
        }
        state.edited_by.remove(&key);
        match state.accounts.insert(key, account.clone()) {
            None => Ok(AccountWrite::Created),
            Some(_) => Ok(AccountWrite::Updated),
        }
    }

    async fn seats(&self, org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        if self.down {
            return Err(ProductApiError::Unavailable("down".to_owned()));
        }
        let taken = Self::taken(&self.state(), org, None);
        let mut seats = self
            .seats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for (product, n) in taken {
            if let Some(s) = seats.get_mut(&product) {
                s.used += n;
            }
        }
        Ok(seats)
    }

    async fn products(&self, org: &OrgId) -> Result<Vec<OfferedProduct>, ProductApiError> {
        let seats = self.seats(org).await?;
        let offered = self
            .offered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_else(|| {
                crate::catalog::DEMO_PRODUCTS
                    .iter()
                    .map(|p| (p.id.to_owned(), p.name.to_owned(), p.device_groups))
                    .collect()
            });
        Ok(offered
            .into_iter()
            .map(|(id, name, device_groups)| OfferedProduct {
                seats: seats.get(&id).cloned().unwrap_or(Seats {
                    limit: None,
                    used: 0,
                }),
                id,
                name,
                device_groups,
            })
            .collect())
    }

    async fn get_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
    ) -> Result<Option<RemoteAccount>, ProductApiError> {
        let mut state = self.state();
        state.reads += 1;
        if self.down {
            return Err(ProductApiError::Unavailable("down".to_owned()));
        }
        let key = (org.clone(), user_key.clone());
        Ok(state.accounts.get(&key).map(|account| RemoteAccount {
            account: account.clone(),
            updated_by: state.edited_by.get(&key).cloned(),
        }))
    }
}
