//! What a retry does for one failed user or email, and which seats are short.

use std::collections::BTreeMap;

use super::SeatShortage;
use crate::ids::{OrgId, UserId};
use crate::job::{EntitlementJob, MailJob};
use crate::ports::Seats;
use crate::state::{DesiredState, FailedUser, FailureClass, FailureCount, Outcome, SyncStatus};

/// What a retry does for one user whose job failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRetry {
    /// Record `marked` as the user's status, then send `job`.
    Send {
        marked: Box<SyncStatus>,
        job: EntitlementJob,
    },
    /// Sent again less than [`RETRY_COOLDOWN_SECONDS`] ago.
    JustRetried,
    /// Nothing waits for Retry sync: the user recovered, or its job is on
    /// its way or retried automatically, or it has nothing to apply.
    NotWaiting,
}

/// Decides what a retry at `at` does for a user, given its stored desired
/// state and status; `since` is `at` less the cooldown, `class` the
/// selection's.
pub fn job_retry(
    org: &OrgId,
    user: &UserId,
    desired: Option<&DesiredState>,
    status: Option<&SyncStatus>,
    class: Option<FailureClass>,
    at: &str,
    since: &str,
) -> JobRetry {
    let Some(status) = status.filter(|s| s.last_outcome == Outcome::Failure) else {
        return JobRetry::NotWaiting;
    };
    if class.is_some_and(|c| status.failure.as_ref().map(|f| f.class) != Some(c)) {
        return JobRetry::NotWaiting;
    }
    if status.retried_at.as_deref().is_some_and(|r| r >= since) {
        return JobRetry::JustRetried;
    }
    if !status.dead_lettered {
        return JobRetry::NotWaiting;
    }
    let Some(desired) = desired.filter(|d| !d.facts.handed_over && d.generation > 0) else {
        return JobRetry::NotWaiting;
    };
    JobRetry::Send {
        marked: Box::new(SyncStatus {
            dead_lettered: false,
            retried_at: Some(at.to_owned()),
            ..status.clone()
        }),
        job: EntitlementJob::of_state(org, user, desired),
    }
}

/// What a retry does for one welcome-email failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailRetry {
    /// Record the retry on the failure, then send this welcome email.
    Send(Box<MailJob>),
    /// Sent again less than [`RETRY_COOLDOWN_SECONDS`] ago.
    JustRetried,
    /// No desired state to build the email from.
    NotWaiting,
}

/// Decides what a retry does for a welcome-email failure; `since` is the
/// retry's time less the cooldown.
pub fn email_retry(
    org: &OrgId,
    failed: &FailedUser,
    desired: Option<&DesiredState>,
    since: &str,
) -> EmailRetry {
    if failed.retried_at.as_deref().is_some_and(|r| r >= since) {
        return EmailRetry::JustRetried;
    }
    match desired {
        Some(d) => EmailRetry::Send(Box::new(MailJob::welcome(org, &failed.user_id, d))),
        None => EmailRetry::NotWaiting,
    }
}

/// The products of the selected `out_of_licenses` failures whose free seats
/// (by `seats`) are fewer than the users that need one: `needed` is each
/// failure's count of users, or 1 when one user is retried.
pub fn shortages(
    failures: &[FailureCount],
    seats: &BTreeMap<String, Seats>,
    one_user: bool,
) -> Vec<SeatShortage> {
    failures
        .iter()
        .filter(|c| c.failure.class == FailureClass::OutOfLicenses)
        .filter_map(|c| {
            let product = c.failure.product.as_ref()?;
            let s = seats.get(product)?;
            // a product without a limit never runs out
            let limit = s.limit?;
            let needed = if one_user { 1 } else { c.users };
            (limit.saturating_sub(s.used) < needed).then(|| SeatShortage {
                product: product.clone(),
                used: s.used,
                limit,
                users: needed,
            })
        })
        .collect()
}
