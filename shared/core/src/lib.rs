//! The User Sync domain: directory model, rules and the effective-assignment
//! function, desired/applied state, jobs, failures, activity entries, tokens,
//! SCIM request parsing, mail rendering, and the ports (traits) the functions
//! are written against.
//!
//! This crate has no AWS, Lambda or async-runtime dependency; the test command
//! fails if one appears (`scripts/check-core-deps`).

pub mod access;
pub mod activity;
pub mod auth;
pub mod catalog;
pub mod clock;
/// Contract tests of the ports, for the fakes and the adapters.
#[cfg(any(test, feature = "test-util"))]
#[allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]
pub mod contract;
pub mod directory;
pub mod domains;
pub mod drift;
pub mod error;
pub mod fanout;
/// Bodies of the fuzz targets and their corpus replay test.
#[doc(hidden)]
pub mod fuzzing;
pub mod ids;
pub mod job;
pub mod language;
pub mod mail;
/// In-memory ports, for tests and benchmarks.
#[cfg(any(test, feature = "test-util"))]
pub mod memory;
pub mod organization;
pub mod ports;
pub mod progress;
pub mod ratelimit;
pub mod repair;
pub mod retry;
pub mod returning;
pub mod rules;
pub mod scim;
pub mod scrub;
pub mod service;
pub mod sso;
pub mod state;
pub mod text;
pub mod time;

pub use error::{DomainError, StoreError};
pub use ids::{GroupId, OrgId, RuleId, UserId};
