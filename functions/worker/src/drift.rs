//! A drift check's job (`user_sync_core::drift`): read the account back
//! from the product API, compare it with the user's desired state, and
//! write it only when it differs, recording `drift_corrected` with the
//! fields that differed and, when the product says so, who changed them.

use serde_json::json;
use tracing::{info, warn};
use user_sync_aws::batch::{Delivery, RecordResult};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry};
use user_sync_core::domains::Domains;
use user_sync_core::drift::checkable;
use user_sync_core::job::EntitlementJob;
use user_sync_core::ports::{
    JobQueue, JobReads, MailQueue, ProductApi, ProductApiError, SyncState,
};
use user_sync_core::state::{DriftVerdict, Outcome, drift_verdict};

use crate::reconcile::{Refusal, Worker, deferral, rate_limit};

impl<S, Q, M, P, D, R> Worker<'_, S, Q, M, P, D, R>
where
    R: JobReads,
    S: SyncState,
    Q: JobQueue,
    M: MailQueue,
    P: ProductApi,
    D: Domains,
{
    /// Checks one user's account for the run `run`.
    pub(crate) async fn check_drift(
        &self,
        job: &EntitlementJob,
        run: &str,
        delivery: &Delivery,
    ) -> Result<RecordResult, StoreError> {
        let org = &job.org_id;
        let (desired, status) = self.state.user_state(org, &job.user_id).await?;
        let (Some(desired), Some(status)) = (desired, status) else {
            return Ok(RecordResult::Done);
        };
        if desired.generation != job.generation || !checkable(&desired, &status) {
            // changed since the run looked: the pipeline's own job applies it
            info!("not in step since the run looked: not checked");
            return Ok(RecordResult::Done);
        }
        let account = desired.account();
        // a returning person's account is the one its deleted self had
        let key = desired.facts.account_key.as_ref().unwrap_or(&job.user_id);
        let remote = match self.product_api.get_account(org, key).await {
            Ok(remote) => remote,
            Err(e) => return self.check_later(job, &e, delivery).await,
        };
        let changed_by = remote.as_ref().and_then(|r| r.updated_by.clone());
        let (fields, missing) = match drift_verdict(&account, remote.as_ref().map(|r| &r.account)) {
            DriftVerdict::InSync | DriftVerdict::Absent => {
                info!("account in step");
                return Ok(RecordResult::Done);
            }
            DriftVerdict::Correct { fields } => (fields, false),
            DriftVerdict::Missing => (Vec::new(), true),
        };
        let at = self.clock.timestamp();
        let suffix = format!("{}#{}#drift#{run}", job.user_id, desired.generation);
        let mut details = json!({
            "run": run,
            "generation": desired.generation,
            "fields": fields,
            "status": account.status,
        });
        if let Some(by) = &changed_by {
            details["changedBy"] = json!(by);
        }
        if missing {
            details["missing"] = json!(true);
        }
        let entry = match self.write_account(org, key, &account, None).await? {
            Ok(_) => {
                let mut entry = ActivityEntry::by_sync(
                    at,
                    &suffix,
                    Action::DriftCorrected,
                    job.user_id.as_str(),
                    Outcome::Success,
                );
                entry.details = details;
                info!(fields = ?fields, "drift corrected");
                let change = user_sync_aws::correlation::current()
                    .map(|o| o.correlation_id)
                    .unwrap_or_default();
                user_sync_aws::metrics::drift_corrected(org.as_str(), &change);
                entry
            }
            Err(Refusal::Api(e)) if !e.class().is_permanent() => {
                return self.check_later(job, &e, delivery).await;
            }
            Err(refusal) => {
                let class = refusal.class();
                let mut entry = ActivityEntry::by_sync(
                    at,
                    &suffix,
                    Action::SyncFailed,
                    job.user_id.as_str(),
                    Outcome::Failure,
                );
                entry.failure_class = Some(class);
                details["drift"] = json!(true);
                entry.details = details;
                // the account stays as the product has it; the next run
                // finds it again
                warn!(
                    class = class.as_str(),
                    "drift found but the correction was refused"
                );
                entry
            }
        };
        self.state.append_activity(org, &entry).await?;
        Ok(RecordResult::Done)
    }

    /// The product API could not answer the check now: a rate limit waits
    /// out `Retry-After` as a new message (as ordinary jobs do), anything
    /// else is delivered again after a backoff. A check is never
    /// dead-lettered: after the last delivery it is dropped, and the next
    /// run checks the account again.
    async fn check_later(
        &self,
        job: &EntitlementJob,
        error: &ProductApiError,
        delivery: &Delivery,
    ) -> Result<RecordResult, StoreError> {
        let retry_after = rate_limit(error);
        if let Some(seconds) = deferral(job, retry_after) {
            let delay = self
                .retry
                .delay(delivery.receive_count, Some(seconds), 0.0)
                .max(1);
            self.defer(job, delay).await?;
            warn!(
                delay_seconds = delay,
                "product API rate limit; drift check deferred"
            );
            return Ok(RecordResult::Done);
        }
        if delivery.receive_count >= self.retry.max_receive_count {
            warn!(error = %error, "product API unavailable; drift check dropped until the next run");
            return Ok(RecordResult::Done);
        }
        let delay = self
            .delay_next_delivery(delivery, retry_after, "drift check")
            .await;
        warn!(error = %error, delay_seconds = delay, "product API unavailable; drift check retried later");
        Ok(RecordResult::Retry)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
