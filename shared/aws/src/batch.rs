//! Lambda batch helpers: per-record processing of SQS batches with bounded
//! concurrency and partial batch failures.

use std::future::Future;
use std::hash::{Hash, Hasher};

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

/// One delivery of an SQS message: what SQS says about it.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    pub receipt_handle: Option<String>,
    /// 1 on the first delivery.
    pub receive_count: u32,
    pub jitter: f64,
}

impl Delivery {
    pub fn of(record: &SqsMessage) -> Self {
        let receive_count = record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1);
        let mut hasher = std::hash::DefaultHasher::new();
        record.message_id.hash(&mut hasher);
        receive_count.hash(&mut hasher);
        // 53 bits of the hash as a fraction in [0, 1)
        #[allow(clippy::cast_precision_loss)]
        let jitter = (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64;
        Self {
            receipt_handle: record.receipt_handle.clone(),
            receive_count,
            jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_reads_its_receive_count_and_spreads_jitter() {
        let mut record = SqsMessage::default();
        record.message_id = Some("m-1".into());
        record.receipt_handle = Some("r-1".into());
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        let d = Delivery::of(&record);
        assert_eq!(d.receive_count, 3);
        assert_eq!(d.receipt_handle.as_deref(), Some("r-1"));
        assert!((0.0..1.0).contains(&d.jitter));
        record.message_id = Some("m-2".into());
        assert_ne!(Delivery::of(&record).jitter, d.jitter);
        assert_eq!(Delivery::of(&SqsMessage::default()).receive_count, 1);
    }
}
