//! The repair function: consumes the evaluator's on-failure queue. Each
//! message names a DynamoDB stream batch the evaluator gave up on; the
//! records are read back from the stream and every organization they belong
//! to is reconciled (`RepairService`: one running reconcile per
//! organization, a `reconcile_started` activity entry).
//!
//! A message is deleted once every organization is reconciled or covered.
//! It is delivered again while a reconcile that started before the lost
//! records runs, after a storage error, when the stream no longer holds the
//! records, and when a repair's own reconcile was lost; after its last
//! delivery the queue dead-letters it, for a human (docs/runbook.md).
//!
//! The function is also subscribed to the `StreamLagTopic` SNS topic: the
//! stream iterator alarm going into `ALARM` reconciles every organization
//! with sync on ([`stream_lag`]).

pub mod stream_lag;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use tracing::{Instrument, error, info, info_span, warn};
use user_sync_aws::batch::{RecordResult, process_sqs};
use user_sync_aws::config::{Tables, activity_retention_days};
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_aws::env::ConfigError;
use user_sync_aws::stream_history::DirectoryStream;
use user_sync_core::clock::SystemClock;
use user_sync_core::repair::LostBatch;
use user_sync_core::service::repair::{RepairError, RepairService};

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    pub activity_retention_days: u32,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: Tables::from_lookup(get)?,
            activity_retention_days: activity_retention_days(get)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    pub stream: DirectoryStream,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let (directory, state) = config.tables.open(&ddb, config.activity_retention_days);
        Self {
            directory,
            state,
            stream: DirectoryStream::new(aws_sdk_dynamodbstreams::Client::new(sdk)),
        }
    }
}

/// The Lambda entry: an SNS event (the stream-lag alarm) or an SQS batch
/// (lost batches, [`handle`]).
pub async fn handle_event(
    deps: &Deps,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    if stream_lag::is_sns(&event.payload) {
        return stream_lag::handle_alarms(deps, &deps.directory, event).await;
    }
    let LambdaEvent { payload, context } = event;
    let batch: SqsEvent = serde_json::from_value(payload)?;
    let response = handle(deps, LambdaEvent::new(batch, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// The SQS handler: one message at a time (lost batches are rare, and
/// each one's organizations are read one after the other).
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(process_sqs(event.payload.records, 1, |message| {
        repair_one(deps, message)
    })
    .await)
}

async fn repair_one(deps: &Deps, message: SqsMessage) -> RecordResult {
    let id = message.message_id.clone().unwrap_or_default();
    let span = info_span!("lost_batch", message = %id);
    async move {
        let Some(batch) = message
            .body
            .as_deref()
            .and_then(|b| LostBatch::from_on_failure_record(b).ok())
        else {
            // nothing to repair from; a human reads it in the dead-letter queue
            error!("not a stream on-failure record; left for a human");
            return RecordResult::Retry;
        };
        let service = RepairService {
            directory: &deps.directory,
            activity: &deps.state,
            history: &deps.stream,
            clock: &SystemClock,
        };
        match service.repair(&batch).await {
            Ok(report) => {
                info!(
                    shard = %batch.shard_id,
                    start = %batch.start_sequence_number,
                    started = report.started.len(),
                    covered = report.covered.len(),
                    sync_off = report.sync_off.len(),
                    waiting = report.waiting.len(),
                    needs_human = report.needs_human.len(),
                    "lost stream batch handled"
                );
                if report.finished() {
                    RecordResult::Done
                } else {
                    RecordResult::Retry
                }
            }
            Err(RepairError::Expired(why)) => {
                error!(shard = %batch.shard_id, start = %batch.start_sequence_number, reason = %why,
                    "the stream no longer holds the lost records; left for a human");
                RecordResult::Retry
            }
            Err(RepairError::Transient(e)) => {
                warn!(error = %e, "repair failed; the message is tried again");
                RecordResult::Retry
            }
        }
    }
    .instrument(span)
    .await
}
