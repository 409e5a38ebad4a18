//! The DynamoDB stream event source mapping, as Lambda runs it:
//!
//! - one reader per shard (new shards found by describing the stream every
//!   few seconds; a child shard waits until its parent is done), records in
//!   strict order, never two batches of one shard at a time;
//! - records matching no `FilterCriteria` pattern are dropped before invoking;
//! - batches of up to `BatchSize`, gathered for up to
//!   `MaximumBatchingWindowInSeconds`;
//! - `ReportBatchItemFailures`: the records before the lowest reported
//!   sequence number are done, the batch is retried from that record;
//! - a handler error (or timeout) fails the whole batch, which is split in
//!   two when `BisectBatchOnFunctionError` (splits do not count as retries);
//! - after `MaximumRetryAttempts` retries, or for records older than
//!   `MaximumRecordAgeInSeconds`, an on-failure record naming the shard and
//!   sequence numbers goes to the `DestinationConfig.OnFailure` queue, and the
//!   reader moves past the batch.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::error::BoxError;
use crate::shutdown::Shutdown;

/// Pause when a shard has nothing new.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How often the stream is described to find new shards.
const DESCRIBE_INTERVAL: Duration = Duration::from_secs(5);
/// Longest pause between retries of a failing batch.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

mod mapping;
mod reader;
mod records;
mod retry;

pub use mapping::*;
use reader::*;
use records::*;
pub use retry::*;

/// Runs the mapping until `shutdown`: finds the shards and reads each.
pub async fn run(mapping: Arc<StreamMapping>, clients: StreamClients, mut shutdown: Shutdown) {
    let mut shards: HashMap<String, watch::Receiver<bool>> = HashMap::new();
    let mut readers = JoinSet::new();
    let mut first_round = true;
    loop {
        match describe_shards(&clients.streams, &mapping.stream_arn).await {
            Ok(found) => {
                let mut new = Vec::new();
                for (shard_id, parent) in found {
                    if shards.contains_key(&shard_id) {
                        continue;
                    }
                    let (done_tx, done_rx) = watch::channel(false);
                    shards.insert(shard_id.clone(), done_rx);
                    new.push((shard_id, parent, done_tx));
                }
                for (shard_id, parent, done) in new {
                    let parent_done = parent.and_then(|p| shards.get(&p).cloned());
                    let position = if first_round {
                        mapping.starting_position
                    } else {
                        StartingPosition::TrimHorizon
                    };
                    let reader = ShardReader {
                        mapping: mapping.clone(),
                        clients: clients.clone(),
                        shard_id,
                        position,
                        shutdown: shutdown.clone(),
                    };
                    readers.spawn(reader.run(parent_done, done));
                }
                first_round = false;
            }
            Err(e) => tracing::warn!(
                function = %mapping.function.name,
                error = %crate::error::error_chain(e.as_ref()),
                "describing the stream failed"
            ),
        }
        while readers.try_join_next().is_some() {}
        if shutdown.sleep(DESCRIBE_INTERVAL).await {
            break;
        }
    }
    while readers.join_next().await.is_some() {}
}

/// Every shard of the stream with its parent.
async fn describe_shards(
    client: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Result<Vec<(String, Option<String>)>, BoxError> {
    let mut out = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let described = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| e.into_service_error())?;
        let Some(description) = described.stream_description else {
            return Ok(out);
        };
        for shard in description.shards.unwrap_or_default() {
            if let Some(id) = shard.shard_id {
                out.push((id, shard.parent_shard_id));
            }
        }
        match description.last_evaluated_shard_id {
            Some(last) => start = Some(last),
            None => return Ok(out),
        }
    }
}
