//! The simulator's shared state and the handle to it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use crate::SimConfig;
use crate::accounts::{Account, AccountStore, ExistingAccounts, SeatLimits};
use crate::faults::{Faults, XorShift};

/// One product-API call as logged: ids and status only, never emails or
/// names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub seq: u64,
    pub method: String,
    pub org_id: String,
    pub user_key: String,
    pub status: u16,
    /// The error code answered, if any (e.g. `out_of_licenses`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the call arrived (RFC 3339, UTC).
    pub at: String,
    /// The caller's `X-Correlation-Id` header, if sent: the change the call
    /// belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// Everything the simulator holds. Reset as a whole by `POST /control/reset`.
#[derive(Debug, Default)]
pub(crate) struct SimState {
    pub accounts: AccountStore,
    pub calls: Vec<CallRecord>,
    pub next_seq: u64,
    /// org id → product → seats.
    pub seats: BTreeMap<String, SeatLimits>,
    /// org id → the products its account offers; an org without an entry
    /// offers [`crate::products::default_products`].
    pub products: BTreeMap<String, Vec<crate::products::Product>>,
    pub existing: ExistingAccounts,
    pub faults: Faults,
    /// org id → fault switches for that organization's calls only; when set,
    /// they replace the global ones for its calls.
    pub org_faults: BTreeMap<String, Faults>,
}

impl SimState {
    /// The products `org_id`'s account offers.
    pub fn offered(&self, org_id: &str) -> Vec<crate::products::Product> {
        self.products
            .get(org_id)
            .cloned()
            .unwrap_or_else(crate::products::default_products)
    }

    /// The switches that apply to a call of this organization.
    pub fn faults_for(&self, org_id: &str) -> &Faults {
        self.org_faults.get(org_id).unwrap_or(&self.faults)
    }

    pub fn faults_for_mut(&mut self, org_id: &str) -> &mut Faults {
        match self.org_faults.get_mut(org_id) {
            Some(f) => f,
            None => &mut self.faults,
        }
    }

    /// Logs a call; its `seq` is the next one.
    pub fn record(&mut self, call: CallRecord) {
        self.next_seq += 1;
        self.calls.push(CallRecord {
            seq: self.next_seq,
            ..call
        });
    }
}

struct Inner {
    state: Mutex<SimState>,
    /// Kept apart from `state` so that a reset does not restart the sequence.
    rng: Mutex<XorShift>,
    api_key: String,
}

/// A running simulator's state: cheap to clone, shared by all clones. Use it
/// to embed the simulator ([`crate::router`], [`Simulator::serve`]) and to
/// inspect or arrange its state directly from a host process.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator").finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a previous holder panicked: every
/// update here leaves the state consistent, so the data is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Simulator {
    pub fn new(config: SimConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(SimState::default()),
                rng: Mutex::new(XorShift::from_time()),
                api_key: config.api_key,
            }),
        }
    }

    /// Serves the simulator on `listener` until the future is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, crate::router(self)).await
    }

    pub(crate) fn api_key(&self) -> &str {
        &self.inner.api_key
    }

    /// Runs `f` on the state under the lock, with the random source.
    pub(crate) fn with_state<R>(&self, f: impl FnOnce(&mut SimState, &mut XorShift) -> R) -> R {
        let mut state = lock(&self.inner.state);
        let mut rng = lock(&self.inner.rng);
        f(&mut state, &mut rng)
    }

    fn with<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        f(&mut lock(&self.inner.state))
    }

    /// Clears accounts, calls, seats, product lists, existing accounts and
    /// faults (global and per organization).
    pub fn reset(&self) {
        self.with(|s| *s = SimState::default());
    }

    /// Accounts sorted by org id then user key; only `org`'s if given.
    pub fn accounts(&self, org: Option<&str>) -> Vec<Account> {
        self.with(|s| s.accounts.list(org))
    }

    pub fn account(&self, org_id: &str, user_key: &str) -> Option<Account> {
        self.with(|s| s.accounts.get(org_id, user_key).cloned())
    }

    /// The product-API call log, in order; only `org`'s calls if given.
    pub fn calls(&self, org: Option<&str>) -> Vec<CallRecord> {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|c| org.is_none_or(|o| c.org_id == o))
                .cloned()
                .collect()
        })
    }

    /// Replaces `org_id`'s seat limits (product → seats).
    pub fn set_seats(&self, org_id: &str, limits: SeatLimits) {
        self.with(|s| {
            s.seats.insert(org_id.to_owned(), limits);
        });
    }

    pub fn seats(&self, org_id: &str) -> SeatLimits {
        self.with(|s| s.seats.get(org_id).cloned().unwrap_or_default())
    }

    /// Replaces the products `org_id`'s account offers (`None`: the
    /// default list again).
    pub fn set_products(&self, org_id: &str, products: Option<Vec<crate::products::Product>>) {
        self.with(|s| match products {
            Some(p) => {
                s.products.insert(org_id.to_owned(), p);
            }
            None => {
                s.products.remove(org_id);
            }
        });
    }

    /// The products `org_id`'s account offers.
    pub fn products(&self, org_id: &str) -> Vec<crate::products::Product> {
        self.with(|s| s.offered(org_id))
    }

    /// Seats of each product that `org_id`'s accounts use.
    pub fn seats_used(&self, org_id: &str) -> SeatLimits {
        self.with(|s| s.accounts.seats_used(org_id))
    }

    /// Replaces the list of emails whose accounts exist elsewhere.
    pub fn set_existing_accounts(&self, emails: Vec<String>) {
        self.with(|s| s.existing = ExistingAccounts::new(emails));
    }

    pub fn existing_accounts(&self) -> Vec<String> {
        self.with(|s| s.existing.emails().to_vec())
    }

    /// Replaces the fault switches. Fails if a rate is not in `0..=1`.
    pub fn set_faults(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        self.with(|s| s.faults = faults);
        Ok(())
    }

    pub fn faults(&self) -> Faults {
        self.with(|s| s.faults.clone())
    }

    /// Replaces one organization's fault switches (`None`: it follows the
    /// global ones again). Fails if a rate is not in `0..=1`.
    pub fn set_org_faults(&self, org_id: &str, faults: Option<Faults>) -> Result<(), String> {
        if let Some(f) = &faults {
            f.validate()?;
        }
        self.with(|s| match faults {
            Some(f) => {
                s.org_faults.insert(org_id.to_owned(), f);
            }
            None => {
                s.org_faults.remove(org_id);
            }
        });
        Ok(())
    }

    /// The switches an organization's calls follow: its own, else the global ones.
    pub fn org_faults(&self, org_id: &str) -> Faults {
        self.with(|s| s.faults_for(org_id).clone())
    }
}
