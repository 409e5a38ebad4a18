//! Messages between the functions. A job names a user and a generation, never
//! the state itself: the worker always reconciles to the user's *current*
//! desired state, so a job that waited in a dead-letter queue cannot apply
//! stale data.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::domains::DomainName;
use time::{Duration, OffsetDateTime};

use crate::ids::{OrgId, UserId};
use crate::ports::Organization;
use crate::state::DesiredState;

/// "Reconcile this user": the evaluator → worker message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementJob {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub generation: u64,
    /// Times the product API's rate limit sent this job back to the queue
    /// to wait out `Retry-After` (absent: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub deferrals: u32,
    /// The id of the change this job belongs to (born at the SCIM or admin
    /// request, or at a fan-out task): in every log line about it, sent to
    /// the product API and put on the activity entries. Absent on jobs
    /// queued before it was carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// When the change was made (Unix milliseconds): the start of its
    /// end-to-end latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_ms: Option<u64>,
    /// A drift check's job (the run's task id): the worker reads the
    /// account and writes it only when it differs from the desired state
    /// (absent: an ordinary job, which applies a new generation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_check: Option<String>,
    /// The domain of the active account's address at this generation: the
    /// worker reads the organization's domains that could cover it with
    /// the user's state, in one read. Only a hint: the worker checks the
    /// address of the state it reads, and reads all the organization's
    /// domains when that address is in another domain (absent: a
    /// suspension, or a job queued before it was carried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_domain: Option<String>,
}

impl EntitlementJob {
    /// An ordinary job for `generation` of `user`, not deferred yet; the
    /// jobs queue stamps the change's origin
    /// (`user_sync_aws::correlation`).
    pub fn new(org: &OrgId, user: &UserId, generation: u64) -> Self {
        Self {
            org_id: org.clone(),
            user_id: user.clone(),
            generation,
            deferrals: 0,
            correlation_id: None,
            origin_ms: None,
            drift_check: None,
            email_domain: None,
        }
    }

    /// An ordinary job for `desired`'s generation of `user`, with the
    /// domain of its address when its account is active.
    pub fn of_state(org: &OrgId, user: &UserId, desired: &DesiredState) -> Self {
        Self {
            email_domain: desired
                .assignment
                .is_active()
                .then(|| DomainName::of_email(&desired.facts.email))
                .flatten()
                .map(String::from),
            ..Self::new(org, user, desired.generation)
        }
    }
}

/// Most times a job waits out the product API's `Retry-After` as a new
/// message; after that a rate limit counts as any other failure.
pub const MAX_DEFERRALS: u32 = 20;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// "Send this user the welcome email": the worker → mailer message. It carries
/// what the template needs so that the mailer does not read the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailJob {
    pub org_id: OrgId,
    pub user_id: UserId,
    /// The event this email belongs to; the mailer sends at most one email
    /// per (user, template, event).
    pub event: String,
    pub template: Option<String>,
    pub language: Option<String>,
    pub email: String,
    pub given_name: Option<String>,
    pub products: BTreeSet<String>,
    /// The id of the change that created the account (see
    /// [`EntitlementJob::correlation_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// What the email needs of the organization, as the worker read it
    /// with the user's state just before: the mailer may send from the job
    /// alone ([`MailJob::carried`]). Absent (a retry's job, a job queued
    /// before it was carried), the mailer reads the organization and the
    /// user's current state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<MailOrganization>,
}

/// The organization as a welcome email needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailOrganization {
    /// The company's name in the email.
    pub name: String,
    /// The email's language when the account has none.
    pub default_language: String,
    /// How long the email's activity entry is kept (`None`: the stack's
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_retention_days: Option<u32>,
    /// When the worker read it and the user's state (Unix milliseconds).
    pub read_at_ms: i64,
}

impl MailOrganization {
    /// `o` as read at `at`.
    pub fn read(o: &Organization, at: OffsetDateTime) -> Self {
        Self {
            name: o.name.clone(),
            default_language: o.default_language.clone(),
            activity_retention_days: o.activity_retention_days,
            read_at_ms: i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX),
        }
    }
}

/// How long after the worker's read a mail job is sent from what it
/// carries ([`MailJob::carried`]).
pub const CARRIED_FOR: Duration = Duration::seconds(60);

/// Clocks of two functions may differ by this much.
const CLOCK_SKEW: Duration = Duration::seconds(5);

/// The event of every welcome email: the account's creation.
pub const WELCOME_EVENT: &str = "account";

impl MailJob {
    /// The welcome email of a user whose account was created, from the
    /// user's desired state: sent by the worker when the product API
    /// created the account, and again by Retry sync after it failed.
    pub fn welcome(org: &OrgId, user: &UserId, desired: &DesiredState) -> Self {
        Self {
            org_id: org.clone(),
            user_id: user.clone(),
            // one welcome per account, and an account is never deleted: a
            // creation seen twice claims the same email
            event: WELCOME_EVENT.to_owned(),
            template: desired.assignment.email_template.clone(),
            // the account's language (see `crate::language`)
            language: desired.language().map(|l| l.language),
            email: desired.facts.email.clone(),
            given_name: desired.facts.given_name.clone(),
            products: desired.assignment.products.clone(),
            correlation_id: None,
            organization: None,
        }
    }

    /// The same job, carrying the organization as read with the state at
    /// `at`.
    #[must_use]
    pub fn with_organization(self, org: Option<&Organization>, at: OffsetDateTime) -> Self {
        Self {
            organization: org.map(|o| MailOrganization::read(o, at)),
            ..self
        }
    }

    /// What the job carries of the organization, when its email may be
    /// sent from the job alone: on the job's first delivery, within
    /// [`CARRIED_FOR`] of the worker's read (so moments after it). Any
    /// later delivery (a send failed, the mailer stopped), a job moved back
    /// from a dead-letter queue or one that waited reads the user's current
    /// state instead: an address corrected meanwhile is the one emailed.
    pub fn carried(&self, receive_count: u32, now: OffsetDateTime) -> Option<&MailOrganization> {
        let carried = self.organization.as_ref()?;
        let read_at =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(carried.read_at_ms) * 1_000_000)
                .ok()?;
        let age = now - read_at;
        (receive_count <= 1 && age >= -CLOCK_SKEW && age <= CARRIED_FOR).then_some(carried)
    }
}

/// The SQS message attribute that carries a dead-lettered job's failure class.
pub const FAILURE_CLASS_ATTRIBUTE: &str = "failureClass";

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::directory::DirectoryStatus;
    use crate::memory::ada_desired;

    fn desired(status: DirectoryStatus) -> DesiredState {
        ada_desired(status, "ada@example.com")
    }

    #[test]
    fn a_job_names_the_domain_of_an_active_accounts_address_only() {
        let (org, user) = (OrgId::parse("acme").unwrap(), UserId::parse("u1").unwrap());
        let job = EntitlementJob::of_state(&org, &user, &desired(DirectoryStatus::Active));
        assert_eq!(job.generation, 1);
        assert_eq!(job.email_domain.as_deref(), Some("example.com"));
        assert_eq!(
            serde_json::to_value(&job).unwrap()["emailDomain"],
            "example.com"
        );
        let suspended = EntitlementJob::of_state(&org, &user, &desired(DirectoryStatus::Inactive));
        assert_eq!(suspended.email_domain, None);
        assert!(
            !serde_json::to_string(&suspended)
                .unwrap()
                .contains("emailDomain")
        );
        // a job queued before the domain was carried
        let queued: EntitlementJob =
            serde_json::from_str(r#"{"orgId":"acme","userId":"u1","generation":1}"#).unwrap();
        assert_eq!(queued, EntitlementJob::new(&org, &user, 1));
    }

    #[test]
    fn a_mail_job_is_sent_from_what_it_carries_only_on_its_first_delivery_moments_after_the_read() {
        let (org, user) = (OrgId::parse("acme").unwrap(), UserId::parse("u1").unwrap());
        let read = time::macros::datetime!(2026-12-06 09:00 UTC);
        let acme = Organization::new(org.clone(), "Acme", "2026-12-01T09:00:00.000Z");
        let desired = desired(DirectoryStatus::Active);
        let job = MailJob::welcome(&org, &user, &desired).with_organization(Some(&acme), read);
        let carried = job.carried(1, read + Duration::seconds(2)).unwrap();
        assert_eq!(
            (carried.name.as_str(), carried.default_language.as_str()),
            ("Acme", "en")
        );
        // the same job as sent and received
        let sent: MailJob = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        assert_eq!(sent, job);
        assert!(sent.carried(1, read + CARRIED_FOR).is_some());
        // delivered again, or later (moved back from a dead-letter queue)
        assert!(job.carried(2, read + Duration::seconds(2)).is_none());
        assert!(
            job.carried(1, read + CARRIED_FOR + Duration::seconds(1))
                .is_none()
        );
        assert!(job.carried(1, read - Duration::minutes(5)).is_none());
        // a job that carries nothing: a Retry sync's
        assert!(
            MailJob::welcome(&org, &user, &desired)
                .carried(1, read)
                .is_none()
        );
    }
}
