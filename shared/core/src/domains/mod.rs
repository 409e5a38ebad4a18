//! Validated organization domains: an organization provisions and emails
//! only addresses in domains it has proven it owns (see docs/domains.md).
//!
//! An admin adds a domain and is given a random token and the DNS TXT
//! record to publish ([`TxtRecord`]); verifying looks the record up through
//! the [`TxtResolver`] port and marks the domain verified, by whom and when,
//! once the organization also holds the domain's global claim (first come;
//! ops may take it over). A scheduled re-check flags a verified domain whose
//! record disappeared ([`DomainState::RecordMissing`]), keeps allowing it
//! for a grace period while the admin is warned, then lets it lapse. A
//! lookup that could not be made (timeout, SERVFAIL, refused) never changes
//! a domain's state and never verifies one.

use time::Duration;

/// Longest domain name, in its ASCII form (RFC 1035 §2.3.4, without the
/// root's trailing dot).
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;
/// Most domains one organization may hold.
pub const MAX_DOMAINS_PER_ORG: usize = 100;
/// The label the TXT record is published under: `_user-sync.<domain>`.
pub const RECORD_LABEL: &str = "_user-sync";
/// What the TXT record's value starts with, before the token.
pub const RECORD_PREFIX: &str = "user-sync-verification=";
/// How long a verified domain whose record disappeared stays allowed.
pub const GRACE_PERIOD: Duration = Duration::days(7);
/// How long before the grace period ends the admin is warned again.
pub const WARN_BEFORE_LAPSE: Duration = Duration::days(2);
/// Bytes of randomness in a verification token (hex: twice as many
/// characters).
const TOKEN_BYTES: usize = 20;

mod name;
mod service;
mod state;
mod store;
mod verification;

pub use name::*;
pub use service::*;
pub use state::*;
pub use store::*;
pub use verification::*;
