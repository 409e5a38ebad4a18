//! Per-organization request limits, shared by every instance of a function.
//!
//! Time is cut into fixed windows of [`WINDOW_SECONDS`], the same for every
//! instance (epoch time). In one window an organization may make
//! `per_second × WINDOW_SECONDS` requests of one kind (SCIM, admin): its
//! budget. The count lives where every instance sees it ([`RateCounters`]).
//! An instance takes a lease of several requests at a time and spends it
//! locally, so the counter is written once per lease, not once per request.
//! A lease not spent when its window ends is lost: with `n` instances serving
//! one organization at once, it may be refused up to `n × (lease - 1)`
//! requests before its budget is spent, never admitted more than its budget.
//!
//! When the counter cannot be reached the request is admitted: a limiter
//! must not stop provisioning because of its own storage.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use crate::StoreError;
use crate::ids::OrgId;

/// Length of a counting window.
pub const WINDOW_SECONDS: u64 = 10;
const WINDOW_MS: u64 = WINDOW_SECONDS * 1000;

/// Leases per window a busy organization takes from the shared counter, at
/// most (a lease is a fiftieth of the budget).
const LEASES_PER_WINDOW: u32 = 50;

/// Organizations an instance remembers leases of; beyond this, leases of
/// past windows are forgotten.
const MAX_TRACKED: usize = 10_000;

/// The shared count of an organization's requests per window.
pub trait RateCounters: Sync {
    /// Adds `amount` to the count of `scope` requests of `org` in `window`
    /// (the window's number since the epoch) when the count stays at most
    /// `limit`, and says whether it did. An absent count is 0. The count may
    /// be forgotten once its window is over.
    fn take(
        &self,
        org: &OrgId,
        scope: &str,
        window: u64,
        amount: u32,
        limit: u32,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// What the limiter decided.
#[derive(Debug)]
pub enum Admission {
    Admitted,
    /// Over the budget of this window; it ends in `retry_after_seconds`.
    Limited {
        retry_after_seconds: u64,
    },
    /// The counter could not be reached; the request is admitted.
    Unchecked(StoreError),
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    window: u64,
    left: u32,
    /// The shared counter refused this window.
    spent: bool,
}

/// One kind of request's limit, with this instance's leases.
#[derive(Debug)]
pub struct OrgRateLimiter {
    scope: &'static str,
    /// Requests per organization per window; 0: no limit.
    budget: u32,
    lease: u32,
    leases: Mutex<HashMap<OrgId, Lease>>,
}

impl OrgRateLimiter {
    /// A limit of `per_second` requests per organization (averaged over a
    /// window); 0 turns the limit off. `scope` names the kind of request in
    /// the shared counter (`scim`, `admin`).
    pub fn new(scope: &'static str, per_second: u32) -> Self {
        let budget = per_second.saturating_mul(WINDOW_SECONDS as u32);
        Self {
            scope,
            budget,
            lease: (budget / LEASES_PER_WINDOW).max(1),
            leases: Mutex::new(HashMap::new()),
        }
    }

    /// Requests an organization may make per window; 0: no limit.
    pub fn budget(&self) -> u32 {
        self.budget
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, Lease>> {
        // a lease table is valid whatever a panicking holder left in it
        self.leases
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Decides on one request of `org` at `now_ms` (epoch milliseconds).
    pub async fn admit<C: RateCounters>(
        &self,
        counters: &C,
        org: &OrgId,
        now_ms: u64,
    ) -> Admission {
        if self.budget == 0 {
            return Admission::Admitted;
        }
        let window = now_ms / WINDOW_MS;
        let limited = Admission::Limited {
            retry_after_seconds: ((window + 1) * WINDOW_MS - now_ms).div_ceil(1000).max(1),
        };
        match self.leases().get_mut(org) {
            Some(lease) if lease.window == window && lease.left > 0 => {
                lease.left -= 1;
                return Admission::Admitted;
            }
            Some(lease) if lease.window == window && lease.spent => return limited,
            _ => {}
        }
        // a whole lease, or the last requests of the budget one at a time
        let amounts = if self.lease > 1 {
            &[self.lease, 1][..]
        } else {
            &[1][..]
        };
        for &amount in amounts {
            match counters
                .take(org, self.scope, window, amount, self.budget)
                .await
            {
                Ok(true) => {
                    self.remember(org, window, amount - 1, false);
                    return Admission::Admitted;
                }
                Ok(false) => {}
                Err(e) => return Admission::Unchecked(e),
            }
        }
        self.remember(org, window, 0, true);
        limited
    }

    fn remember(&self, org: &OrgId, window: u64, left: u32, spent: bool) {
        let mut leases = self.leases();
        if leases.len() >= MAX_TRACKED && !leases.contains_key(org) {
            leases.retain(|_, l| l.window >= window);
        }
        let lease = leases.entry(org.clone()).or_insert(Lease {
            window,
            left: 0,
            spent: false,
        });
        if lease.window != window {
            *lease = Lease {
                window,
                left: 0,
                spent: false,
            };
        }
        // requests running at once may each have taken a lease
        lease.left = lease.left.saturating_add(left);
        lease.spent |= spent;
    }
}

/// A limiter with the counter it shares, as a function holds them.
#[derive(Debug)]
pub struct RateGate<C> {
    pub limiter: OrgRateLimiter,
    pub counters: C,
}

impl<C: RateCounters> RateGate<C> {
    pub fn new(limiter: OrgRateLimiter, counters: C) -> Self {
        Self { limiter, counters }
    }

    /// Decides on one request of `org`, now.
    pub async fn admit(&self, org: &OrgId) -> Admission {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default();
        self.limiter.admit(&self.counters, org, now_ms).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::memory::MemoryCounters;

    fn org(id: &str) -> OrgId {
        OrgId::parse(id).unwrap()
    }

    fn admitted(
        limiters: &[&OrgRateLimiter],
        counts: &MemoryCounters,
        o: &OrgId,
        now: u64,
        n: usize,
    ) -> usize {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        (0..n)
            .filter(|i| {
                let l = limiters[i % limiters.len()];
                matches!(rt.block_on(l.admit(counts, o, now)), Admission::Admitted)
            })
            .count()
    }

    #[test]
    fn an_organization_gets_its_budget_per_window_and_no_more() {
        let limiter = OrgRateLimiter::new("scim", 100);
        let counts = MemoryCounters::default();
        let acme = org("acme");
        let t0 = 1_700_000_000_000;
        assert_eq!(admitted(&[&limiter], &counts, &acme, t0, 1500), 1000);
        // one write per lease of 20, plus the refusals
        let calls = counts.calls();
        assert!(calls <= 1000 / 20 + 2, "{calls} calls to the counter");
        // the next window has a new budget
        assert_eq!(
            admitted(&[&limiter], &counts, &acme, t0 + WINDOW_MS, 10),
            10
        );
    }

    #[test]
    fn a_refusal_says_when_the_window_ends() {
        let limiter = OrgRateLimiter::new("scim", 1);
        let counts = MemoryCounters::default();
        let acme = org("acme");
        let start = 1_700_000_000_000; // a window boundary
        assert_eq!(admitted(&[&limiter], &counts, &acme, start, 10), 10);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let at = |ms| rt.block_on(limiter.admit(&counts, &acme, start + ms));
        let retry = |a: Admission| match a {
            Admission::Limited {
                retry_after_seconds,
            } => retry_after_seconds,
            other => panic!("{other:?}"),
        };
        assert_eq!(retry(at(1)), 10);
        assert_eq!(retry(at(9_001)), 1);
        // a refusal is remembered: no further call in the same window
        let calls = counts.calls();
        at(5_000);
        assert_eq!(counts.calls(), calls);
        assert!(matches!(at(10_000), Admission::Admitted));
    }

    #[test]
    fn organizations_do_not_share_a_budget() {
        let limiter = OrgRateLimiter::new("scim", 2);
        let counts = MemoryCounters::default();
        let t = 1_700_000_000_000;
        assert_eq!(admitted(&[&limiter], &counts, &org("acme"), t, 30), 20);
        assert_eq!(admitted(&[&limiter], &counts, &org("beta"), t, 30), 20);
    }

    #[test]
    fn instances_share_the_budget_through_the_counter() {
        let a = OrgRateLimiter::new("scim", 100);
        let b = OrgRateLimiter::new("scim", 100);
        let counts = MemoryCounters::default();
        let n = admitted(&[&a, &b], &counts, &org("acme"), 1_700_000_000_000, 3000);
        // unspent leases are lost, never added
        assert!((1000 - 2 * 19..=1000).contains(&n), "{n} admitted");
    }

    #[test]
    fn scopes_count_apart_and_zero_means_no_limit() {
        let scim = OrgRateLimiter::new("scim", 1);
        let admin = OrgRateLimiter::new("admin", 1);
        let off = OrgRateLimiter::new("scim", 0);
        let counts = MemoryCounters::default();
        let (acme, t) = (org("acme"), 1_700_000_000_000);
        assert_eq!(admitted(&[&scim], &counts, &acme, t, 15), 10);
        assert_eq!(admitted(&[&admin], &counts, &acme, t, 15), 10);
        let before = counts.calls();
        assert_eq!(admitted(&[&off], &counts, &acme, t, 5000), 5000);
        assert_eq!(counts.calls(), before);
    }

    #[test]
    fn an_unreachable_counter_admits() {
        let limiter = OrgRateLimiter::new("scim", 1);
        let counts = MemoryCounters::unreachable();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt.block_on(limiter.admit(&counts, &org("acme"), 1_700_000_000_000));
        assert!(matches!(got, Admission::Unchecked(_)), "{got:?}");
    }

    #[test]
    fn past_windows_are_forgotten_when_many_organizations_are_seen() {
        let limiter = OrgRateLimiter::new("scim", 1);
        let counts = MemoryCounters::default();
        let t = 1_700_000_000_000;
        for i in 0..MAX_TRACKED {
            admitted(&[&limiter], &counts, &org(&format!("o{i}")), t, 1);
        }
        admitted(&[&limiter], &counts, &org("late"), t + WINDOW_MS, 1);
        assert_eq!(limiter.leases().len(), 1);
    }
}
