//! The organizations' domains as one invocation of the worker reads them:
//! once per organization and batch of jobs, however many of its jobs the
//! batch holds (as the evaluator reads the rules once per batch). A failed
//! read is not kept: the next job of that organization reads again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OnceCell;
use user_sync_core::StoreError;
use user_sync_core::domains::{Domains, OrgDomain};
use user_sync_core::ids::OrgId;

/// The domains read so far in this batch, by organization.
pub struct BatchDomains<'a, D> {
    store: &'a D,
    read: Mutex<HashMap<OrgId, Arc<OnceCell<Vec<OrgDomain>>>>>,
}

impl<'a, D: Domains> BatchDomains<'a, D> {
    /// Reads through `store`, nothing read yet.
    pub fn new(store: &'a D) -> Self {
        Self {
            store,
            read: Mutex::new(HashMap::new()),
        }
    }

    /// The organization's domains: read on the batch's first job of the
    /// organization; jobs running at once wait for that one read.
    pub async fn of(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        let cell = {
            let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(read.entry(org.clone()).or_default())
        };
        cell.get_or_try_init(|| self.store.list_domains(org))
            .await
            .cloned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use user_sync_core::domains::DomainName;
    use user_sync_core::memory::MemoryStore;

    #[tokio::test]
    async fn one_read_per_organization_and_batch() {
        let store = MemoryStore::default();
        let (a, b) = (
            OrgId::parse("org-a").unwrap(),
            OrgId::parse("org-b").unwrap(),
        );
        let example = DomainName::parse("example.com").unwrap();
        let now = time::macros::datetime!(2026-12-01 09:00 UTC);
        let domain = OrgDomain::grandfathered(example.clone(), "ops", now).unwrap();
        store.add_domain(&a, &domain).await.unwrap();
        let batch = BatchDomains::new(&store);
        let first = batch.of(&a).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            batch.of(&b).await.unwrap().is_empty(),
            "each organization its own"
        );
        // removed after the batch read it: the batch keeps what it read
        store.remove_domain(&a, &example).await.unwrap();
        assert_eq!(batch.of(&a).await.unwrap(), first);
        // the next batch reads again
        assert!(BatchDomains::new(&store).of(&a).await.unwrap().is_empty());
    }
}
