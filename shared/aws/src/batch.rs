//! Lambda batch helpers: per-record processing of SQS batches with bounded
//! concurrency and partial batch failures.

use std::future::Future;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures::StreamExt;

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordResult {
    /// Done (or deliberately dropped): delete it.
    Done,
    /// Failed: leave it for redelivery (and eventually the DLQ).
    Retry,
}

/// Runs `f` over the records, at most `concurrency` at a time, and reports
/// the failed ones. A record without a message id cannot be reported and is
/// processed like the others.
pub async fn process_sqs<F, Fut>(
    records: Vec<SqsMessage>,
    concurrency: usize,
    f: F,
) -> SqsBatchResponse
where
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = RecordResult>,
{
    let results: Vec<(Option<String>, RecordResult)> = futures::stream::iter(records)
        .map(|record| {
            let id = record.message_id.clone();
            let fut = f(record);
            async move { (id, fut.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (id, result) in results {
        if let (RecordResult::Retry, Some(id)) = (result, id) {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}
