//! Retry sync: an organization's failed users sent again, from its own
//! failure records (its users' sync statuses and welcome-email failures, in
//! the `failures` index), never from the dead-letter queues every
//! organization shares.
//!
//! - **Who is sent again.** Of the selection (everything, one class, one
//!   user), every user whose job waits for Retry sync
//!   ([`SyncStatus::dead_lettered`]) gets a fresh job for its current desired
//!   generation; every welcome-email failure gets its welcome email, rebuilt
//!   from the user's desired state ([`MailJob::welcome`]). Jobs before
//!   emails, users in id order.
//! - **At most once per retry, and no double retry.** Before a user's job
//!   (or email) is sent, the retry records it on the user with a conditional
//!   write (`retried_at`; the job no longer dead-lettered), so of two
//!   retries at once one sends it; a user sent again less than
//!   [`RETRY_COOLDOWN_SECONDS`] ago is skipped, so a second click right
//!   after the first sends nothing, even when the first one's job already
//!   failed again. Within one retry a user is sent at most once, whatever
//!   happens to it meanwhile.
//! - **An honest answer.** How many users and emails were sent again, how
//!   many were skipped as just retried, and for `out_of_licenses` whether
//!   the product API still lacks the seats (read before anything is sent).

/// A user (or a welcome email) sent again less than this long ago is not
/// sent again: the job of the last retry is on its way, or just failed the
/// same way.
pub const RETRY_COOLDOWN_SECONDS: i64 = 60;

/// Failed users read per page.
const PAGE: usize = 100;

mod decision;
mod report;
mod run;

pub use decision::*;
pub use report::*;
pub use run::*;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests;
