//! The worker: reconciles one user to its *current* desired state through the
//! product API, records the outcome and an activity entry, and enqueues the
//! welcome email when the product API created the account.

mod domains_read;
mod drift;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod fixtures;
mod metrics;
mod reconcile;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use user_sync_aws::batch::process_sqs_by_key;
use user_sync_aws::config::ProductSync;
use user_sync_aws::dynamo::{BothTables, DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, number, required};
use user_sync_aws::product_api::HttpProductApi;
use user_sync_aws::sqs::{SqsJobQueue, SqsMailQueue};
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::job::EntitlementJob;

pub use domains_read::BatchDomains;
pub use reconcile::{MAX_BACKOFF_SECONDS, Retry, Worker};

#[derive(Clone, Debug)]
pub struct Config {
    /// The tables, the activity retention and the product API.
    pub sync: ProductSync,
    pub jobs_queue_url: String,
    pub jobs_dlq_url: String,
    pub mail_queue_url: String,
    pub concurrency: usize,
    pub retry: Retry,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            sync: ProductSync::from_lookup(get, 10_000)?,
            jobs_queue_url: required(get, "JOBS_QUEUE_URL")?,
            jobs_dlq_url: required(get, "JOBS_DLQ_URL")?,
            mail_queue_url: required(get, "MAIL_QUEUE_URL")?,
            concurrency: number(get, "WORKER_RECORD_CONCURRENCY", 4usize)?,
            retry: Retry {
                base_seconds: number(get, "RETRY_BASE_SECONDS", 15u32)?,
                max_receive_count: number(get, "MAX_RECEIVE_COUNT", 5u32)?,
            },
        })
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub state: StateTable,
    /// Both tables, for a job's read of the state and the domains.
    pub reads: BothTables,
    pub directory: DirectoryTable,
    pub jobs: SqsJobQueue,
    pub mail: SqsMailQueue,
    pub product_api: HttpProductApi,
    pub concurrency: usize,
    pub retry: Retry,
}

impl Deps {
    /// Builds the tables and queues the worker reads and writes; reads the
    /// product API key (the one call to AWS made here).
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        config: Config,
    ) -> Result<Self, lambda_runtime::Error> {
        let (directory, state, product_api) = config.sync.connect(sdk).await?;
        let sqs = aws_sdk_sqs::Client::new(sdk);
        Ok(Self {
            reads: BothTables::new(&directory, &state),
            state,
            directory,
            jobs: SqsJobQueue::new(sqs.clone(), config.jobs_queue_url, config.jobs_dlq_url),
            mail: SqsMailQueue::new(sqs, config.mail_queue_url, None),
            product_api,
            concurrency: config.concurrency,
            retry: config.retry,
        })
    }
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    let domains = BatchDomains::new(&deps.directory);
    let worker = Worker {
        state: &deps.state,
        reads: &deps.reads,
        domains: &domains,
        jobs: &deps.jobs,
        mail: &deps.mail,
        product_api: &deps.product_api,
        retry: deps.retry,
        clock: &SystemClock,
    };
    // jobs of one user run one after the other: a job delivered twice in a
    // batch calls the product API once
    Ok(Box::pin(process_sqs_by_key(
        event.payload.records,
        deps.concurrency,
        job_key,
        |record| worker.handle_record(record),
    ))
    .await)
}

/// The user a job names, if its body is a job.
fn job_key(record: &SqsMessage) -> Option<(OrgId, UserId)> {
    let job: EntitlementJob = serde_json::from_str(record.body.as_deref()?).ok()?;
    Some((job.org_id, job.user_id))
}
