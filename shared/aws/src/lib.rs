//! Adapters: the only place AWS SDK types appear. Each adapter implements a
//! port of `user-sync-core` and maps SDK errors into the port's error
//! contract.

pub mod backlog;
pub mod batch;
pub mod config;
pub mod correlation;
pub mod dns;
pub mod dynamo;
pub mod env;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod product_api;
pub mod redrive;
pub mod secrets;
pub mod ses;
pub mod sqs;
pub mod stream_history;
