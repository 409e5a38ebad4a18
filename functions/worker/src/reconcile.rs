//! One job: load the current desired state, apply it, record the outcome.

use aws_lambda_events::sqs::SqsMessage;
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use user_sync_aws::batch::RecordResult;
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, SYNC_USER, Subject, SubjectKind};
use user_sync_core::job::{EntitlementJob, MailJob};
use user_sync_core::ports::{
    AccountWrite, JobQueue, MailQueue, ProductApi, ProductApiError, SyncState,
};
use user_sync_core::state::{AccountStatus, DesiredState, Failure, Outcome, SyncStatus};

pub struct Worker<'a, S, Q, M, P> {
    pub state: &'a S,
    pub jobs: &'a Q,
    pub mail: &'a M,
    pub product_api: &'a P,
}

fn now() -> String {
    user_sync_core::time::format(time::OffsetDateTime::now_utc())
}

/// Handles one SQS record.
pub async fn handle_record<S, Q, M, P>(
    w: &Worker<'_, S, Q, M, P>,
    record: SqsMessage,
) -> RecordResult
where
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
{
    let Some(job) = record
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<EntitlementJob>(b).ok())
    else {
        // never succeeds: let the redrive policy move it to the DLQ for ops
        warn!(message_id = ?record.message_id, "job body is not a job");
        return RecordResult::Retry;
    };
    let span =
        info_span!("job", org = %job.org_id, user_id = %job.user_id, generation = job.generation);
    match w.reconcile(&job).instrument(span).await {
        Ok(r) => r,
        Err(e) => {
            warn!(org = %job.org_id, user_id = %job.user_id, error = %e, "job failed; it will be retried");
            RecordResult::Retry
        }
    }
}

impl<S, Q, M, P> Worker<'_, S, Q, M, P>
where
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
{
    async fn reconcile(&self, job: &EntitlementJob) -> Result<RecordResult, StoreError> {
        let (desired, status) = self.state.user_state(&job.org_id, &job.user_id).await?;
        let Some(desired) = desired else {
            info!("no desired state: nothing to apply");
            return Ok(RecordResult::Done);
        };
        let applied = status.as_ref().map_or(0, |s| s.applied_generation);
        if applied >= desired.generation {
            info!(applied, "already applied");
            return Ok(RecordResult::Done);
        }
        let attempts = match &status {
            Some(s) if s.last_outcome == Outcome::Failure => s.attempts + 1,
            _ => 1,
        };
        let account = desired.account();
        match self
            .product_api
            .put_account(&job.org_id, &job.user_id, &account)
            .await
        {
            Ok(write) => {
                if write == AccountWrite::Created && account.status == AccountStatus::Active {
                    self.mail.send_mail(&welcome(job, &desired)).await?;
                }
                let action = match (write, account.status) {
                    (AccountWrite::Created, _) => Action::AccountCreated,
                    (AccountWrite::Updated, AccountStatus::Suspended) => Action::AccountSuspended,
                    (AccountWrite::Updated, AccountStatus::Active) => Action::AccountUpdated,
                };
                let status = SyncStatus {
                    applied_generation: desired.generation,
                    last_outcome: Outcome::Success,
                    failure: None,
                    attempts,
                    at: now(),
                };
                let mut entry = entry(job, &desired, action, Outcome::Success, &status.at);
                entry.details = json!({
                    "generation": desired.generation,
                    "status": account.status,
                    "products": account.products,
                    "role": account.role,
                });
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
                info!(action = ?action, "account reconciled");
                Ok(RecordResult::Done)
            }
            Err(e) => {
                let class = e.class();
                if !class.is_permanent() {
                    warn!(error = %e, "product API unavailable; retrying later");
                    return Ok(RecordResult::Retry);
                }
                let product = match &e {
                    ProductApiError::OutOfLicenses { product } => Some(product.clone()),
                    _ => None,
                };
                let status = SyncStatus {
                    applied_generation: applied,
                    last_outcome: Outcome::Failure,
                    failure: Some(Failure {
                        class,
                        product: product.clone(),
                    }),
                    attempts,
                    at: now(),
                };
                let mut entry = entry(
                    job,
                    &desired,
                    Action::SyncFailed,
                    Outcome::Failure,
                    &status.at,
                );
                entry.failure_class = Some(class);
                entry.details = json!({"generation": desired.generation, "product": product});
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
}

fn entry(
    job: &EntitlementJob,
    desired: &DesiredState,
    action: Action,
    outcome: Outcome,
    at: &str,
) -> ActivityEntry {
    let suffix = format!("{}#{}#{:?}", job.user_id, desired.generation, action);
    ActivityEntry::new(
        at.to_owned(),
        &suffix,
        SYNC_USER,
        action,
        Subject {
            kind: SubjectKind::User,
            id: job.user_id.to_string(),
        },
        outcome,
    )
}

fn welcome(job: &EntitlementJob, desired: &DesiredState) -> MailJob {
    MailJob {
        org_id: job.org_id.clone(),
        user_id: job.user_id.clone(),
        event: desired.generation.to_string(),
        template: desired.assignment.email_template.clone(),
        language: desired
            .assignment
            .language
            .clone()
            .or_else(|| desired.facts.locale.clone()),
        email: desired.facts.email.clone(),
        given_name: desired.facts.given_name.clone(),
        products: desired.assignment.products.clone(),
    }
}
