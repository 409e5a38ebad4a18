//! What the worker's tests on the in-memory ports share: Ada of `acme`, a
//! first delivery, and a worker over one store.

use user_sync_aws::batch::Delivery;
use user_sync_core::clock::Clock;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::memory::{MemoryProductApi, MemoryStore};

use crate::{BatchDomains, Retry, Worker};

pub(crate) fn org() -> OrgId {
    OrgId::parse("acme").unwrap()
}

pub(crate) fn ada() -> UserId {
    UserId::parse("ada").unwrap()
}

/// A job's first delivery.
pub(crate) const DELIVERY: Delivery = Delivery {
    token: None,
    receive_count: 1,
    jitter: 0.0,
};

/// What the in-memory ports make a worker of.
pub(crate) type MemoryWorker<'a> =
    Worker<'a, MemoryStore, MemoryStore, MemoryStore, MemoryProductApi, MemoryStore, MemoryStore>;

/// A worker over `store` (its state, queues and domains) and `api`.
pub(crate) fn worker<'a>(
    store: &'a MemoryStore,
    api: &'a MemoryProductApi,
    domains: &'a BatchDomains<'a, MemoryStore>,
    clock: &'a dyn Clock,
) -> MemoryWorker<'a> {
    Worker {
        state: store,
        reads: store,
        domains,
        jobs: store,
        mail: store,
        product_api: api,
        retry: Retry {
            base_seconds: 15,
            max_receive_count: 5,
        },
        clock,
    }
}
