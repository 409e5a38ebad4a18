//! Lambda batch helpers: per-record processing of SQS batches with bounded
//! concurrency and partial batch failures.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsMessage};
use futures::StreamExt;
use user_sync_core::ports::DeliveryToken;

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
    report(results)
}

/// Like [`process_sqs`], but records with the same key (the same user) run
/// one after the other, in the batch's order, never at the same time: a job
/// delivered twice in one batch, or an older job beside a newer one, then
/// finds the first one's outcome recorded instead of racing it to the
/// product API. Records without a key run on their own.
pub async fn process_sqs_by_key<K, KF, F, Fut>(
    records: Vec<SqsMessage>,
    concurrency: usize,
    key: KF,
    f: F,
) -> SqsBatchResponse
where
    K: Eq + Hash,
    KF: Fn(&SqsMessage) -> Option<K>,
    F: Fn(SqsMessage) -> Fut,
    Fut: Future<Output = RecordResult>,
{
    let mut groups: Vec<Vec<SqsMessage>> = Vec::new();
    let mut index: HashMap<K, usize> = HashMap::new();
    for record in records {
        match key(&record) {
            Some(k) => {
                if let Some(&i) = index.get(&k) {
                    if let Some(group) = groups.get_mut(i) {
                        group.push(record);
                    }
                } else {
                    index.insert(k, groups.len());
                    groups.push(vec![record]);
                }
            }
            None => groups.push(vec![record]),
        }
    }
    let f = &f;
    let results: Vec<Vec<(Option<String>, RecordResult)>> = futures::stream::iter(groups)
        .map(|group| async move {
            let mut results = Vec::with_capacity(group.len());
            for record in group {
                let id = record.message_id.clone();
                results.push((id, f(record).await));
            }
            results
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    report(results.into_iter().flatten())
}

fn report(results: impl IntoIterator<Item = (Option<String>, RecordResult)>) -> SqsBatchResponse {
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
    /// What [`user_sync_core::ports::JobQueue::retry_after`] names this
    /// delivery by (from its receipt handle).
    pub token: Option<DeliveryToken>,
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
            token: record
                .receipt_handle
                .as_deref()
                .map(crate::sqs::delivery_token),
            receive_count,
            jitter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A future that is pending once, so that others run in between.
    fn yield_once() -> impl Future<Output = ()> {
        let mut yielded = false;
        futures::future::poll_fn(move |cx| {
            if yielded {
                std::task::Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        })
    }

    #[test]
    fn records_of_one_key_run_one_at_a_time_in_order_and_others_alongside() {
        use std::cell::RefCell;
        let record = |id: &str, key: &str| {
            let mut r = SqsMessage::default();
            r.message_id = Some(id.into());
            r.body = Some(key.into());
            r
        };
        let records = vec![
            record("1", "a"),
            record("2", "b"),
            record("3", "a"),
            record("4", "c"),
            record("5", "a"),
        ];
        let running: RefCell<HashMap<String, u32>> = RefCell::default();
        let most = RefCell::new(0u32);
        let order: RefCell<Vec<String>> = RefCell::default();
        let response = futures::executor::block_on(process_sqs_by_key(
            records,
            4,
            |r| r.body.clone(),
            |r| {
                let (running, most, order) = (&running, &most, &order);
                async move {
                    let key = r.body.clone().unwrap_or_default();
                    {
                        let mut running = running.borrow_mut();
                        let now = running.entry(key.clone()).or_default();
                        *now += 1;
                        assert!(*now <= 1, "two records of {key} at once");
                        let total: u32 = running.values().sum();
                        most.replace_with(|m| (*m).max(total));
                    }
                    yield_once().await;
                    *running.borrow_mut().entry(key.clone()).or_default() -= 1;
                    order.borrow_mut().push(r.message_id.unwrap_or_default());
                    if r.body.as_deref() == Some("c") {
                        RecordResult::Retry
                    } else {
                        RecordResult::Done
                    }
                }
            },
        ));
        let order = order.into_inner();
        let of_a: Vec<&String> = order
            .iter()
            .filter(|id| ["1", "3", "5"].contains(&id.as_str()))
            .collect();
        assert_eq!(of_a, ["1", "3", "5"]);
        assert!(most.into_inner() > 1, "different keys run together");
        let failed: Vec<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        assert_eq!(failed, ["4"]);
    }

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
        assert_eq!(d.token.as_ref().map(DeliveryToken::as_str), Some("r-1"));
        assert!((0.0..1.0).contains(&d.jitter));
        record.message_id = Some("m-2".into());
        assert_ne!(Delivery::of(&record).jitter, d.jitter);
        assert_eq!(Delivery::of(&SqsMessage::default()).receive_count, 1);
    }
}
