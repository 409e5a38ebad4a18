//! What a retry selects and what it reports to the admin.

use serde::Serialize;

use crate::ids::UserId;
use crate::state::{Failure, FailureClass};

/// Which failures of the organization a retry sends again; `None` fields
/// select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetrySelection {
    /// `email_failed` selects welcome emails; any other class, jobs.
    pub class: Option<FailureClass>,
    pub user: Option<UserId>,
}

impl RetrySelection {
    pub(super) fn jobs(&self) -> bool {
        self.class != Some(FailureClass::EmailFailed)
    }

    pub(super) fn emails(&self) -> bool {
        self.class.is_none_or(|c| c == FailureClass::EmailFailed)
    }

    pub(super) fn selects(&self, failure: &Failure) -> bool {
        self.class.is_none_or(|c| c == failure.class)
    }
}

/// A product the product API still has too few free seats of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatShortage {
    pub product: String,
    /// Seats in use, as the product API reports them.
    pub used: u64,
    /// Seats bought.
    pub limit: u64,
    /// Users of the selection that failed for lack of it.
    pub users: u64,
}

/// What a retry did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetryReport {
    /// Users whose job was sent again (one job each).
    pub jobs: usize,
    /// Welcome emails sent again.
    pub emails: usize,
    /// Users and emails not sent: sent again less than a minute ago.
    pub skipped: usize,
    /// The organization's failed users looked at (its own failures only).
    pub examined: usize,
    /// Every selected failure was looked at; `false` when the time ran out
    /// first: retry again for the rest (those sent now are skipped).
    pub complete: bool,
    /// The cause of an `out_of_licenses` failure is still there: the product
    /// API reports fewer free seats than the failed users need. Those users
    /// will fail again.
    pub cause_still_present: bool,
    /// The products still short of seats.
    pub shortages: Vec<SeatShortage>,
    /// What to tell the admin.
    pub message: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl RetryReport {
    pub(super) fn describe(&self) -> String {
        let sent = match (self.jobs, self.emails) {
            (0, 0) => None,
            (j, 0) => Some(format!("{} sent again", plural(j, "user", "users"))),
            (0, e) => Some(format!(
                "{} sent again",
                plural(e, "welcome email", "welcome emails")
            )),
            (j, e) => Some(format!(
                "{} and {} sent again",
                plural(j, "user", "users"),
                plural(e, "welcome email", "welcome emails")
            )),
        };
        let mut parts = Vec::new();
        match (sent, self.skipped) {
            (None, 0) => parts.push("nothing to retry: no failure waits for Retry sync".to_owned()),
            (None, s) => parts.push(format!(
                "nothing sent: {} sent again less than a minute ago; retry again in a minute",
                plural(s, "failure was", "failures were")
            )),
            (Some(sent), 0) => parts.push(sent),
            (Some(sent), s) => {
                parts.push(sent);
                parts.push(format!(
                    "{} skipped: sent again less than a minute ago",
                    plural(s, "failure", "failures")
                ));
            }
        }
        for s in &self.shortages {
            if s.used >= s.limit {
                parts.push(format!(
                    "still out of {} licenses: {} of {} in use",
                    s.product, s.used, s.limit
                ));
            } else {
                parts.push(format!(
                    "still too few {} licenses: {} of {} in use, {} needed",
                    s.product,
                    s.used,
                    s.limit,
                    plural(
                        usize::try_from(s.users).unwrap_or(usize::MAX),
                        "user",
                        "users"
                    )
                ));
            }
        }
        if !self.complete {
            parts.push("more failures remain: retry again to send the rest".to_owned());
        }
        parts.join("; ")
    }
}
