//! Classified failures, a user's sync status and the failures view.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::UserId;

/// A classified failure (DESIGN §4).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    OutOfLicenses,
    ExistingAccount,
    InvalidUserData,
    ProductApiUnavailable,
    EmailFailed,
    /// The user's email address is not in a verified domain of the
    /// organization: no account is created or changed, no email is sent.
    UnverifiedDomain,
}

impl FailureClass {
    /// Every class, in the order of the enum.
    pub const ALL: [FailureClass; 6] = [
        FailureClass::OutOfLicenses,
        FailureClass::ExistingAccount,
        FailureClass::InvalidUserData,
        FailureClass::ProductApiUnavailable,
        FailureClass::EmailFailed,
        FailureClass::UnverifiedDomain,
    ];

    /// The class's name, as serde and the admin API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::OutOfLicenses => "out_of_licenses",
            FailureClass::ExistingAccount => "existing_account",
            FailureClass::InvalidUserData => "invalid_user_data",
            FailureClass::ProductApiUnavailable => "product_api_unavailable",
            FailureClass::EmailFailed => "email_failed",
            FailureClass::UnverifiedDomain => "unverified_domain",
        }
    }

    /// Permanent failures go to the dead-letter queue at once; transient ones
    /// are retried until the redrive policy moves them there.
    pub fn is_permanent(self) -> bool {
        !matches!(self, FailureClass::ProductApiUnavailable)
    }
}

/// A class by its name ([`FailureClass::as_str`]).
impl std::str::FromStr for FailureClass {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        FailureClass::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .ok_or_else(|| format!("unknown failure class {name:?}"))
    }
}

/// A failure as shown to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub class: FailureClass,
    /// The product, for `out_of_licenses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The email domain to verify, for `unverified_domain` (none when the
    /// address has no valid domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl Failure {
    /// A failure of `class` alone: no product, no domain (a welcome email's
    /// failure is [`FailureClass::EmailFailed`] alone).
    pub fn of(class: FailureClass) -> Self {
        Self {
            class,
            product: None,
            domain: None,
        }
    }

    /// What an admin reads on the failure's banner, for `users` users.
    pub fn message(&self, users: u64) -> String {
        let who = if users == 1 {
            "1 user".to_owned()
        } else {
            format!("{users} users")
        };
        match (self.class, self.product.as_deref()) {
            (FailureClass::OutOfLicenses, Some(product)) => format!(
                "{who} could not be given {product}: your organization has no {product} licenses left. Add licenses or change the rules, then retry."
            ),
            (FailureClass::OutOfLicenses, None) => format!(
                "{who} could not be provisioned: your organization has no licenses left for a product. Add licenses or change the rules, then retry."
            ),
            (FailureClass::ExistingAccount, _) => format!(
                "{who} already {} an account outside your organization under the same email. Have those accounts moved into your organization, then retry.",
                if users == 1 { "has" } else { "have" }
            ),
            (FailureClass::InvalidUserData, _) => format!(
                "The product refused the directory data of {who} (for example an invalid email). Correct it in your identity provider; the change syncs on its own."
            ),
            (FailureClass::ProductApiUnavailable, _) => format!(
                "{who} could not be synced because the product service was unavailable. They are retried automatically; retry once the service is back if they stay here."
            ),
            (FailureClass::UnverifiedDomain, _) => match self.domain.as_deref() {
                Some(domain) => format!(
                    "{who} could not be provisioned: {domain} is not a verified domain of your organization, so no account is created and no email is sent. Verify {domain} (Domains), then retry."
                ),
                None => format!(
                    "{who} could not be provisioned: the email address has no valid domain. Correct it in your identity provider; the change syncs on its own."
                ),
            },
            (FailureClass::EmailFailed, _) => format!(
                "The welcome email to {who} could not be sent. Check the email addresses and the sending domain, then retry."
            ),
        }
    }
}

/// A user that a failure currently affects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedUser {
    pub user_id: UserId,
    pub failure: Failure,
    /// Attempts so far.
    pub attempts: u32,
    /// When it last failed.
    pub at: String,
    /// When a Retry sync last sent it again (welcome emails; a job's is on
    /// its [`SyncStatus`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_at: Option<String>,
}

/// How many users one failure (a class and, for `out_of_licenses`, a
/// product) currently affects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureCount {
    pub failure: Failure,
    pub users: u64,
}

impl FailureCount {
    /// One count per failure, the users of its occurrences summed, in the
    /// order of (class, product, domain).
    pub fn tally(occurrences: impl IntoIterator<Item = (Failure, u64)>) -> Vec<FailureCount> {
        type Key = (FailureClass, Option<String>, Option<String>);
        let mut counts: BTreeMap<Key, u64> = BTreeMap::new();
        for (f, users) in occurrences {
            *counts.entry((f.class, f.product, f.domain)).or_default() += users;
        }
        counts
            .into_iter()
            .map(|((class, product, domain), users)| FailureCount {
                failure: Failure {
                    class,
                    product,
                    domain,
                },
                users,
            })
            .collect()
    }
}

/// The outcome of the last reconcile of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
}

/// A user's sync status: what was applied last and how the last attempt went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// The last generation the product API accepted (0: none yet).
    pub applied_generation: u64,
    pub last_outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Attempts at the current generation.
    pub attempts: u32,
    pub at: String,
    /// The job waits in the dead-letter queue for Retry sync: a permanent
    /// failure, or a transient one on its last delivery.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dead_lettered: bool,
    /// When a Retry sync last sent the user's job again. The worker keeps it
    /// when it records the next failure, so that another retry within a
    /// minute of it sends nothing more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried_at: Option<String>,
    /// The activity entry of the user's last recorded failure, counted up
    /// while the same failure repeats at the same generation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_entry: Option<FailureEntry>,
}

/// The activity entry that tells of a user's last recorded failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureEntry {
    /// The entry's id (its key in the history).
    pub id: String,
    /// When the entry was first written.
    pub at: String,
    pub failure: Failure,
    /// The generation that failed.
    pub generation: u64,
    /// Times this same failure was recorded in the entry.
    pub count: u32,
}

impl FailureEntry {
    /// Where a failure recorded now goes in the activity history: the
    /// user's last failure entry, counted once more, when it told of this
    /// same failure (class and product) at this same generation; else a new
    /// entry, `id` at `at`. Repeated identical failures are one entry.
    pub fn next(
        last: Option<&FailureEntry>,
        failure: &Failure,
        generation: u64,
        id: &str,
        at: &str,
    ) -> FailureEntry {
        match last {
            Some(l) if l.failure == *failure && l.generation == generation => FailureEntry {
                count: l.count.saturating_add(1),
                ..l.clone()
            },
            _ => FailureEntry {
                id: id.to_owned(),
                at: at.to_owned(),
                failure: failure.clone(),
                generation,
                count: 1,
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn failure_messages_name_the_count_and_the_product() {
        let f = Failure {
            class: FailureClass::OutOfLicenses,
            product: Some("G2W".into()),
            domain: None,
        };
        assert!(f.message(3).starts_with("3 users could not be given G2W"));
        let f = Failure {
            class: FailureClass::ExistingAccount,
            product: None,
            domain: None,
        };
        assert!(f.message(1).starts_with("1 user already has an account"));
        assert!(f.message(2).starts_with("2 users already have an account"));
    }
    #[test]
    fn the_same_failure_at_the_same_generation_counts_up_one_entry() {
        let seats = Failure {
            class: FailureClass::OutOfLicenses,
            product: Some("G2W".into()),
            domain: None,
        };
        let first = FailureEntry::next(None, &seats, 3, "t1#u#3", "t1");
        assert_eq!((first.id.as_str(), first.count), ("t1#u#3", 1));
        let again = FailureEntry::next(Some(&first), &seats, 3, "t2#u#3", "t2");
        assert_eq!(
            (again.id.as_str(), again.at.as_str(), again.count),
            ("t1#u#3", "t1", 2)
        );
        // another generation, product or class is news: a new entry
        let newer = FailureEntry::next(Some(&again), &seats, 4, "t3#u#4", "t3");
        assert_eq!((newer.id.as_str(), newer.count), ("t3#u#4", 1));
        let other = Failure {
            product: Some("G2M".into()),
            ..seats.clone()
        };
        assert_eq!(
            FailureEntry::next(Some(&again), &other, 3, "t4", "t4").count,
            1
        );
        let exists = Failure {
            class: FailureClass::ExistingAccount,
            product: None,
            domain: None,
        };
        assert_eq!(
            FailureEntry::next(Some(&again), &exists, 3, "t5", "t5").id,
            "t5"
        );
    }

    #[test]
    fn a_status_written_before_retries_reads_and_writes_the_same() {
        // a status recorded before retries were: read and written as it was
        let old = r#"{"appliedGeneration":0,"lastOutcome":"failure","failure":{"class":"out_of_licenses","product":"G2W"},"attempts":1,"at":"2026-01-01T00:00:00.000Z","deadLettered":true}"#;
        let s: SyncStatus = serde_json::from_str(old).unwrap();
        assert_eq!(s.retried_at, None);
        assert_eq!(serde_json::to_string(&s).unwrap(), old);
    }

    #[test]
    fn a_tally_sums_each_failure_in_class_order() {
        let of = |class, product: Option<&str>| Failure {
            class,
            product: product.map(str::to_owned),
            domain: None,
        };
        let counts = FailureCount::tally([
            (of(FailureClass::EmailFailed, None), 2),
            (of(FailureClass::OutOfLicenses, Some("cad")), 1),
            (of(FailureClass::OutOfLicenses, Some("a")), 1),
            (of(FailureClass::OutOfLicenses, Some("cad")), 1),
        ]);
        let got: Vec<(Failure, u64)> = counts.into_iter().map(|c| (c.failure, c.users)).collect();
        assert_eq!(
            got,
            [
                (of(FailureClass::OutOfLicenses, Some("a")), 1),
                (of(FailureClass::OutOfLicenses, Some("cad")), 2),
                (of(FailureClass::EmailFailed, None), 2),
            ]
        );
    }

    #[test]
    fn permanent_classes() {
        assert!(FailureClass::OutOfLicenses.is_permanent());
        assert!(!FailureClass::ProductApiUnavailable.is_permanent());
    }
}
