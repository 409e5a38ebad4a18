//! The rate counters, in memory.

use super::*;

use crate::ratelimit::RateCounters;

/// The organizations' shared request counts.
#[derive(Default)]
pub struct MemoryCounters {
    counts: Mutex<HashMap<(OrgId, String, u64), u32>>,
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
