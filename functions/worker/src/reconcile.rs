//! One job: load the current desired state, apply it, record the outcome.

use aws_lambda_events::sqs::SqsMessage;
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use user_sync_aws::batch::{Delivery, RecordResult};
use user_sync_aws::correlation::{self, Origin};

use crate::domains_read::BatchDomains;
use crate::metrics::{JobLine, Seen};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry};
use user_sync_core::clock::Clock;
use user_sync_core::domains::{DomainName, Domains, OrgDomain, check_email};
use user_sync_core::job::{EntitlementJob, MAX_DEFERRALS, MailJob};
use user_sync_core::ports::{
    AccountWrite, JobInputs, JobQueue, JobReads, MailQueue, ProductApi, ProductApiError, SyncState,
};
use user_sync_core::state::{
    AccountStatus, DesiredState, Failure, FailureClass, FailureEntry, Outcome, SyncStatus,
};

pub struct Worker<'a, S, Q, M, P, D, R> {
    pub state: &'a S,
    /// A job's read: the user's state with the organization's domains that
    /// could cover the address its job names.
    pub reads: &'a R,
    /// The organization's domains, read once per batch: an address outside
    /// its verified ones gets no account and no email.
    pub domains: &'a BatchDomains<'a, D>,
    pub jobs: &'a Q,
    pub mail: &'a M,
    pub product_api: &'a P,
    pub retry: Retry,
    /// The time every outcome and activity entry is stamped with.
    pub clock: &'a dyn Clock,
}

/// How transient failures are retried: SQS redelivers the job after the
/// delay this sets on it, until the queue's redrive policy moves it to the
/// dead-letter queue after `max_receive_count` deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// The delay after the first failed delivery; it doubles with each.
    pub base_seconds: u32,
    /// The jobs queue's `maxReceiveCount`.
    pub max_receive_count: u32,
}

/// Longest delay between two deliveries of a job.
pub const MAX_BACKOFF_SECONDS: u32 = 900;

impl Retry {
    /// The delay before the next delivery of a job delivered `receive_count`
    /// times: `Retry-After` when the product API gave one, else exponential
    /// backoff with jitter (half fixed, half spread by `jitter` in `[0, 1)`),
    /// so that jobs failed together do not come back together.
    pub fn delay(&self, receive_count: u32, retry_after: Option<u64>, jitter: f64) -> u32 {
        if let Some(seconds) = retry_after {
            return u32::try_from(seconds)
                .unwrap_or(MAX_BACKOFF_SECONDS)
                .min(MAX_BACKOFF_SECONDS);
        }
        let exponent = receive_count.saturating_sub(1).min(16);
        let full = self
            .base_seconds
            .saturating_mul(1 << exponent)
            .min(MAX_BACKOFF_SECONDS);
        let half = full / 2;
        // truncation intended: whole seconds
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let spread = (f64::from(full - half) * jitter.clamp(0.0, 1.0)) as u32;
        half + spread
    }
}

/// Why an account was not written.
pub(crate) enum Refusal {
    Api(ProductApiError),
    /// The address is outside the organization's verified domains (the
    /// domain to verify, when it has a valid one).
    Domain(Option<String>),
}

impl Refusal {
    pub(crate) fn class(&self) -> FailureClass {
        match self {
            Refusal::Api(e) => e.class(),
            Refusal::Domain(_) => FailureClass::UnverifiedDomain,
        }
    }
}

impl<S, Q, M, P, D, R> Worker<'_, S, Q, M, P, D, R>
where
    R: JobReads,
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
    D: Domains,
{
    /// Handles one SQS record.
    pub async fn handle_record(&self, record: SqsMessage) -> RecordResult {
        let Some(job) = record
            .body
            .as_deref()
            .and_then(|b| serde_json::from_str::<EntitlementJob>(b).ok())
        else {
            // never succeeds: let the redrive policy move it to the DLQ for ops
            warn!(message_id = ?record.message_id, "job body is not a job");
            return RecordResult::Retry;
        };
        // a job queued before origins were carried: a change of its own
        let origin =
            Origin::of_job(&job).unwrap_or_else(|| Origin::born(record.message_id.as_deref()));
        let span = info_span!(
            "job",
            org = %job.org_id,
            user_id = %job.user_id,
            generation = job.generation,
            correlation_id = %origin.correlation_id
        );
        let delivery = Delivery::of(&record);
        let line = JobLine::default();
        // the product API call and the mail job carry the change's id
        let result = match &job.drift_check {
            Some(run) => {
                let checked = self.check_drift(&job, run, &delivery).instrument(span);
                correlation::within(origin.clone(), checked).await
            }
            None => {
                let reconciled = self.reconcile(&job, &delivery, &line).instrument(span);
                correlation::within(origin.clone(), reconciled).await
            }
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                warn!(
                    org = %job.org_id,
                    user_id = %job.user_id,
                    correlation_id = %origin.correlation_id,
                    error = %e,
                    "job failed; it will be retried"
                );
                RecordResult::Retry
            }
        };
        line.emit(&job, &origin.correlation_id);
        result
    }

    /// An active account is written only for an address in a verified (or
    /// grandfathered) domain of the organization; a suspension always is.
    /// `read` holds the organization's domains that could cover a domain
    /// read with the state (the job's): when the address is in that domain
    /// they decide, else the batch's read of all its domains does.
    pub(crate) async fn write_account(
        &self,
        org: &user_sync_core::ids::OrgId,
        key: &user_sync_core::ids::UserId,
        account: &user_sync_core::state::ProductAccount,
        read: Option<(&DomainName, &[OrgDomain])>,
    ) -> Result<Result<AccountWrite, Refusal>, StoreError> {
        if account.status == AccountStatus::Active {
            let covering = read.filter(|(domain, _)| {
                DomainName::of_email(&account.email).as_ref() == Some(*domain)
            });
            let domains = match covering {
                Some((_, domains)) => domains.to_vec(),
                None => self.domains.of(org).await?,
            };
            if let Err(e) = check_email(&domains, &account.email) {
                return Ok(Err(Refusal::Domain(e.domain.map(|d| d.to_string()))));
            }
        }
        Ok(self
            .product_api
            .put_account(org, key, account)
            .await
            .map_err(Refusal::Api))
    }

    async fn reconcile(
        &self,
        job: &EntitlementJob,
        delivery: &Delivery,
        line: &JobLine,
    ) -> Result<RecordResult, StoreError> {
        let asked = job
            .email_domain
            .as_deref()
            .and_then(|d| DomainName::parse(d).ok());
        let read_at = self.clock.now();
        let JobInputs {
            desired,
            status,
            domains,
            organization,
        } = self
            .reads
            .job_inputs(&job.org_id, &job.user_id, asked.as_ref())
            .await?;
        let Some(desired) = desired else {
            info!("no desired state: nothing to apply");
            line.set(Seen::Unchanged);
            return Ok(RecordResult::Done);
        };
        if desired.facts.handed_over {
            info!("a returning person took this user's account over: nothing to apply");
            line.set(Seen::Unchanged);
            return Ok(RecordResult::Done);
        }
        let applied = status.as_ref().map_or(0, |s| s.applied_generation);
        if applied >= desired.generation {
            info!(applied, "already applied");
            line.set(Seen::Unchanged);
            return Ok(RecordResult::Done);
        }
        let attempts = attempts(status.as_ref());
        let account = desired.account();
        // a returning person's account is the one its deleted self had
        let relinked = desired.facts.account_key.as_ref();
        let key = relinked.unwrap_or(&job.user_id);
        let read = asked.as_ref().zip(domains.as_deref());
        let written = self.write_account(&job.org_id, key, &account, read).await?;
        // the product API answered: the change has arrived
        let answered_ms = correlation::now_ms();
        match written {
            Ok(write) => {
                let never_succeeded = status.as_ref().is_none_or(|s| s.applied_generation == 0);
                // The account's user key is this user's own id, so no account
                // exists but one we created. With no success recorded yet, a
                // 200 means an earlier delivery created it and stopped before
                // recording (the process died): that was the creation, and
                // its welcome email may not have been queued. A returning
                // person's account existed before it: the answer stands.
                let write = if never_succeeded && relinked.is_none() {
                    AccountWrite::Created
                } else {
                    write
                };
                if write == AccountWrite::Created && account.status == AccountStatus::Active {
                    // with the organization read with the state, and when:
                    // the mailer need not read them again
                    let mail = MailJob::welcome(&job.org_id, &job.user_id, &desired)
                        .with_organization(organization.as_ref(), read_at);
                    self.mail.send_mail(&mail).await?;
                }
                let action = match (write, account.status) {
                    (AccountWrite::Updated, _) if never_succeeded && relinked.is_some() => {
                        Action::AccountRelinked
                    }
                    (AccountWrite::Created, _) => Action::AccountCreated,
                    (AccountWrite::Updated, AccountStatus::Suspended) => Action::AccountSuspended,
                    (AccountWrite::Updated, AccountStatus::Active) => Action::AccountUpdated,
                };
                let status = SyncStatus {
                    applied_generation: desired.generation,
                    last_outcome: Outcome::Success,
                    failure: None,
                    attempts,
                    at: self.clock.timestamp(),
                    dead_lettered: false,
                    retried_at: None,
                    failure_entry: None,
                };
                let mut entry = entry(job, &desired, action, Outcome::Success, &status.at);
                entry.details = json!({
                    "generation": desired.generation,
                    "status": account.status,
                    "products": account.products,
                    "role": account.role,
                });
                tag(&mut entry);
                if action == Action::AccountRelinked {
                    entry.details["account"] = json!(key);
                    entry.details["relinkedFrom"] = json!(desired.facts.relinked_from);
                }
                match self
                    .state
                    .record_outcome(&job.org_id, &job.user_id, &status, &entry)
                    .await
                {
                    Ok(()) => {}
                    // A duplicate job recorded this generation first. Only one
                    // call can have created the account, so the creation is
                    // news the history must keep.
                    Err(StoreError::Conflict(_)) if write == AccountWrite::Created => {
                        self.state.append_activity(&job.org_id, &entry).await?;
                    }
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
                let latency_ms = job.origin_ms.map(|o| answered_ms.saturating_sub(o));
                info!(action = ?action, latency_ms, "account reconciled");
                line.set(Seen::Written(action, latency_ms));
                Ok(RecordResult::Done)
            }
            Err(refusal) => {
                let (class, product, domain) = match &refusal {
                    Refusal::Api(e) if !e.class().is_permanent() => {
                        return self
                            .transient_failure(job, &desired, status.as_ref(), e, delivery, line)
                            .await;
                    }
                    Refusal::Api(ProductApiError::OutOfLicenses { product }) => {
                        (FailureClass::OutOfLicenses, Some(product.clone()), None)
                    }
                    Refusal::Api(e) => (e.class(), None, None),
                    Refusal::Domain(domain) => {
                        (FailureClass::UnverifiedDomain, None, domain.clone())
                    }
                };
                let failure = Failure {
                    class,
                    product: product.clone(),
                    domain: domain.clone(),
                };
                // dead-lettered just below
                let mut status = self.failed_status(status.as_ref(), &failure, true);
                let mut entry = entry(
                    job,
                    &desired,
                    Action::SyncFailed,
                    Outcome::Failure,
                    &status.at,
                );
                entry.failure_class = Some(class);
                entry.details = json!({"generation": desired.generation, "product": product});
                if let Some(domain) = &domain {
                    entry.details["domain"] = json!(domain);
                }
                tag(&mut entry);
                line.set(Seen::Failed(class));
                counted(&mut entry, &mut status, &failure, desired.generation);
                match self
                    .state
                    .record_outcome(&job.org_id, &job.user_id, &status, &entry)
                    .await
                {
                    Ok(()) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
                self.jobs.dead_letter(job, class).await?;
                warn!(
                    class = class.as_str(),
                    "permanent failure recorded; job dead-lettered"
                );
                Ok(RecordResult::Done)
            }
        }
    }

    /// The status after a failed attempt (`previous` the one before it):
    /// the generation applied before and a retry's time stay (the next
    /// retry waits for it), and so does the failure's history entry.
    fn failed_status(
        &self,
        previous: Option<&SyncStatus>,
        failure: &Failure,
        dead_lettered: bool,
    ) -> SyncStatus {
        SyncStatus {
            applied_generation: previous.map_or(0, |s| s.applied_generation),
            last_outcome: Outcome::Failure,
            failure: Some(failure.clone()),
            attempts: attempts(previous),
            at: self.clock.timestamp(),
            dead_lettered,
            retried_at: previous.and_then(|s| s.retried_at.clone()),
            failure_entry: previous.and_then(|s| s.failure_entry.clone()),
        }
    }

    /// The product API is unavailable (5xx, timeout, 429): record it on the
    /// user's status and have SQS deliver the job again later. The last
    /// delivery the redrive policy allows records it in the history too and
    /// dead-letters the job itself.
    async fn transient_failure(
        &self,
        job: &EntitlementJob,
        desired: &DesiredState,
        previous: Option<&SyncStatus>,
        error: &ProductApiError,
        delivery: &Delivery,
        line: &JobLine,
    ) -> Result<RecordResult, StoreError> {
        let retry_after = rate_limit(error);
        // A rate limit is not a failure of the job: the job waits out
        // Retry-After as a new message, whose deliveries start over, so a
        // long spell of 429s never dead-letters it (up to MAX_DEFERRALS).
        let deferral = deferral(job, retry_after);
        let last = deferral.is_none() && delivery.receive_count >= self.retry.max_receive_count;
        if deferral.is_none() {
            // a rate limit waited out is no failure
            line.set(Seen::Failed(FailureClass::ProductApiUnavailable));
        }
        let failure = Failure {
            class: FailureClass::ProductApiUnavailable,
            product: None,
            domain: None,
        };
        // the last delivery dead-letters the job below
        let mut status = self.failed_status(previous, &failure, last);
        let recorded = if last {
            let mut entry = entry(
                job,
                desired,
                Action::SyncFailed,
                Outcome::Failure,
                &status.at,
            );
            entry.failure_class = Some(FailureClass::ProductApiUnavailable);
            entry.details = json!({
                "generation": desired.generation,
                "deliveries": delivery.receive_count,
                "deadLettered": true,
            });
            tag(&mut entry);
            counted(&mut entry, &mut status, &failure, desired.generation);
            self.state
                .record_outcome(&job.org_id, &job.user_id, &status, &entry)
                .await
        } else {
            self.state
                .record_status(&job.org_id, &job.user_id, &status)
                .await
        };
        match recorded {
            // a newer success is recorded: nothing is outstanding any more
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        if last {
            // straight to the dead-letter queue, tagged like a permanent
            // failure, rather than waiting out a visibility timeout for the
            // redrive policy to move it
            self.jobs
                .dead_letter(job, FailureClass::ProductApiUnavailable)
                .await?;
            warn!(error = %error, deliveries = delivery.receive_count, "product API unavailable; job dead-lettered");
            return Ok(RecordResult::Done);
        }
        if let Some(seconds) = deferral {
            let wait = self.retry.delay(delivery.receive_count, Some(seconds), 0.0);
            // up to half as long again, so that jobs limited together do not
            // come back together
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let spread = (f64::from(wait) * 0.5 * delivery.jitter.clamp(0.0, 1.0)) as u32;
            let delay = (wait + spread).clamp(1, MAX_BACKOFF_SECONDS);
            let deferrals = self.defer(job, delay).await?;
            warn!(
                delay_seconds = delay,
                deferrals, "product API rate limit; job deferred"
            );
            return Ok(RecordResult::Done);
        }
        let delay = self.delay_next_delivery(delivery, retry_after, "job").await;
        warn!(error = %error, delay_seconds = delay, deliveries = delivery.receive_count, "product API unavailable; retrying later");
        Ok(RecordResult::Retry)
    }
}

/// Puts the change's correlation id on an activity entry
/// (`details.correlationId`), where the admin finds it.
fn tag(entry: &mut ActivityEntry) {
    if let Some(origin) = correlation::current() {
        entry.details["correlationId"] = json!(origin.correlation_id);
    }
}

fn entry(
    job: &EntitlementJob,
    desired: &DesiredState,
    action: Action,
    outcome: Outcome,
    at: &str,
) -> ActivityEntry {
    let suffix = format!("{}#{}#{:?}", job.user_id, desired.generation, action);
    ActivityEntry::by_sync(
        at.to_owned(),
        &suffix,
        action,
        job.user_id.as_str(),
        outcome,
    )
}

/// The attempts at the current generation, this one included.
fn attempts(previous: Option<&SyncStatus>) -> u32 {
    match previous {
        Some(s) if s.last_outcome == Outcome::Failure => s.attempts + 1,
        _ => 1,
    }
}

/// Records a failure in the history as the domain decides
/// ([`FailureEntry::next`]): when the user's last recorded failure is this
/// same failure at this same generation, `entry` becomes that entry, counted
/// once more (`details.attempts`, and `details.lastAt`), so that writing it
/// replaces it; else it is a new entry. `status` (recorded with it, in the
/// same write) remembers which.
fn counted(entry: &mut ActivityEntry, status: &mut SyncStatus, failure: &Failure, generation: u64) {
    let next = FailureEntry::next(
        status.failure_entry.as_ref(),
        failure,
        generation,
        &entry.id,
        &entry.at,
    );
    entry.id.clone_from(&next.id);
    entry.at.clone_from(&next.at);
    entry.details["attempts"] = json!(next.count);
    if next.count > 1 {
        entry.details["lastAt"] = json!(status.at);
    }
    status.failure_entry = Some(next);
}

/// The `Retry-After` of a rate limit (`None`: another failure).
pub(crate) fn rate_limit(error: &ProductApiError) -> Option<u64> {
    match error {
        ProductApiError::RateLimited {
            retry_after_seconds,
        } => Some(*retry_after_seconds),
        _ => None,
    }
}

/// The wait when `job` may still wait out a rate limit as a new message
/// (up to [`MAX_DEFERRALS`] times).
pub(crate) fn deferral(job: &EntitlementJob, retry_after: Option<u64>) -> Option<u64> {
    retry_after.filter(|_| job.deferrals < MAX_DEFERRALS)
}

impl<S, Q, M, P, D, R> Worker<'_, S, Q, M, P, D, R>
where
    R: JobReads,
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
    D: Domains,
{
    /// Sends `job` again as a new message in `delay` seconds, one more
    /// deferral counted; returns the deferrals counted.
    pub(crate) async fn defer(&self, job: &EntitlementJob, delay: u32) -> Result<u32, StoreError> {
        let next = EntitlementJob {
            deferrals: job.deferrals + 1,
            ..job.clone()
        };
        self.jobs.defer(&next, delay).await?;
        Ok(next.deferrals)
    }

    /// Has SQS deliver the record again after the backoff (or
    /// `Retry-After`); returns that delay. When it cannot be set, the
    /// queue's own visibility timeout applies instead.
    pub(crate) async fn delay_next_delivery(
        &self,
        delivery: &Delivery,
        retry_after: Option<u64>,
        what: &str,
    ) -> u32 {
        let delay = self
            .retry
            .delay(delivery.receive_count, retry_after, delivery.jitter);
        if let Some(token) = &delivery.token
            && let Err(e) = self.jobs.retry_after(token, delay).await
        {
            warn!(error = %e, "could not delay the {what}'s next delivery");
        }
        delay
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod job_domains;

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Retry = Retry {
        base_seconds: 15,
        max_receive_count: 5,
    };

    #[test]
    fn retry_after_wins_and_is_capped() {
        assert_eq!(RETRY.delay(1, Some(7), 0.9), 7);
        assert_eq!(RETRY.delay(4, Some(0), 0.9), 0);
        assert_eq!(RETRY.delay(1, Some(86_400), 0.0), MAX_BACKOFF_SECONDS);
    }

    #[test]
    fn backoff_doubles_with_each_delivery_within_its_jitter() {
        for (count, full) in [(1, 15), (2, 30), (3, 60), (4, 120)] {
            assert_eq!(RETRY.delay(count, None, 0.0), full / 2, "delivery {count}");
            let top = RETRY.delay(count, None, 0.999_999);
            assert!(top <= full && top >= full - 1, "delivery {count}: {top}");
        }
    }

    #[test]
    fn backoff_is_capped() {
        assert_eq!(RETRY.delay(40, None, 0.999_999), MAX_BACKOFF_SECONDS - 1);
        assert_eq!(RETRY.delay(40, None, 0.0), MAX_BACKOFF_SECONDS / 2);
    }
}
