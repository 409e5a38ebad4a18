//! The rate counters, in memory.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

use crate::ratelimit::RateCounters;

/// The organizations' shared request counts, with the calls made to them.
#[derive(Default)]
pub struct MemoryCounters {
    counts: Mutex<HashMap<(OrgId, String, u64), u32>>,
    calls: AtomicUsize,
    unreachable: bool,
}

impl MemoryCounters {
    /// Counters that cannot be reached: every call fails, `Transient`.
    pub fn unreachable() -> Self {
        Self {
            unreachable: true,
            ..Self::default()
        }
    }

    /// The calls made to [`RateCounters::take`] so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl RateCounters for MemoryCounters {
    async fn take(
        &self,
        org: &OrgId,
        scope: &str,
        window: u64,
        amount: u32,
        limit: u32,
    ) -> Result<bool, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.unreachable {
            return Err(StoreError::transient(std::io::Error::other("unreachable")));
        }
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts
            .entry((org.clone(), scope.to_owned(), window))
            .or_insert(0);
        match count.checked_add(amount) {
            Some(next) if next <= limit => {
                *count = next;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
