//! Services: each owns the decisions of one part of the product and is
//! generic over the ports it needs. The API, the console's calls, SCIM and
//! ops reach a decision through the same service method, which answers with
//! a typed error a caller can act on; a handler parses, calls one method and
//! renders (the HTTP mapping is one `From<…Error>` per error type, beside
//! the handlers).
//!
//! A service takes the time and fresh ids from [`crate::clock`], never from
//! the system directly, so that its tests (on the in-memory ports of
//! [`crate::memory`]) decide both.

pub mod domains;
pub mod guardrail;
pub mod orgs;
pub mod preview;
pub mod repair;
pub mod rules;
pub mod scim_error;
pub mod scim_first_read;
pub mod scim_groups;
pub mod scim_users;
pub mod settings;
pub mod stream_lag;
pub mod sync;
pub mod templates;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
