//! Writes in one DynamoDB transaction, for both tables.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use futures::StreamExt;
use user_sync_core::StoreError;

use super::errors::map_sdk_error;

/// Writes `items` in one `TransactWriteItems` call: all of them or none (a
/// failed condition is `Conflict`). Nothing to write makes no call.
pub(super) async fn transact_write(
    client: &Client,
    items: Vec<TransactWriteItem>,
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    client
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
        .map_err(map_sdk_error)?;
    Ok(())
}

/// Most writes in one transaction: the 25 the local emulator takes
/// (DynamoDB takes 100).
pub(super) const TRANSACTION_ITEMS: usize = 25;

/// Transactions of [`transact_each`] in flight at once.
const TRANSACTIONS_IN_FLIGHT: usize = 4;

/// Times a transaction's writes are tried again when it was cancelled for
/// a reason other than their own conditions (another transaction on the
/// same items at the same moment).
const CANCELLED_ATTEMPTS: usize = 3;

/// Writes independent conditional writes (each on an item of its own) in
/// transactions of up to [`TRANSACTION_ITEMS`], where each would otherwise
/// be a call of its own: one result per write, in order (a write that could
/// not be built keeps its error and is not sent). A write whose condition
/// fails is `Conflict` and the others of its transaction are written again
/// without it, so that one user's conflict does not hold back the others;
/// an error the cancellation does not explain fails the writes of that
/// transaction.
pub(super) async fn transact_each(
    client: &Client,
    items: Vec<Result<TransactWriteItem, StoreError>>,
) -> Vec<Result<(), StoreError>> {
    let mut results: Vec<Option<Result<(), StoreError>>> = Vec::with_capacity(items.len());
    let mut chunks: Vec<Vec<(usize, TransactWriteItem)>> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let item = match item {
            Ok(item) => item,
            Err(e) => {
                results.push(Some(Err(e)));
                continue;
            }
        };
        results.push(None);
        match chunks.last_mut() {
            Some(chunk) if chunk.len() < TRANSACTION_ITEMS => chunk.push((i, item)),
            _ => chunks.push(vec![(i, item)]),
        }
    }
    let done: Vec<Vec<(usize, Result<(), StoreError>)>> = futures::stream::iter(chunks)
        .map(|chunk| transact_chunk(client, chunk))
        .buffer_unordered(TRANSACTIONS_IN_FLIGHT)
        .collect()
        .await;
    for (i, r) in done.into_iter().flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StoreError::Invalid("a write had no result".into()))))
        .collect()
}

/// One transaction of [`transact_each`], tried again without the writes
/// whose conditions failed.
async fn transact_chunk(
    client: &Client,
    mut chunk: Vec<(usize, TransactWriteItem)>,
) -> Vec<(usize, Result<(), StoreError>)> {
    let mut results = Vec::with_capacity(chunk.len());
    for attempt in 1..=CANCELLED_ATTEMPTS {
        if chunk.is_empty() {
            break;
        }
        let sent = client
            .transact_write_items()
            .set_transact_items(Some(chunk.iter().map(|(_, item)| item.clone()).collect()))
            .send()
            .await;
        let error = match sent {
            Ok(_) => {
                results.extend(chunk.drain(..).map(|(i, _)| (i, Ok(()))));
                break;
            }
            Err(e) => e,
        };
        let reasons: Option<Vec<Option<String>>> = match &error {
            SdkError::ServiceError(service) => match service.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
                    cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code().map(str::to_owned))
                        .collect(),
                ),
                _ => None,
            },
            _ => None,
        };
        let Some(reasons) = reasons.filter(|r| r.len() == chunk.len()) else {
            let error = map_sdk_error(error);
            results.extend(chunk.drain(..).map(|(i, _)| (i, Err(error.again()))));
            break;
        };
        // the writes whose own condition failed are out; the others were
        // cancelled with them and go again
        let mut again = Vec::with_capacity(chunk.len());
        for ((i, item), reason) in chunk.drain(..).zip(reasons) {
            if reason.as_deref() == Some("ConditionalCheckFailed") {
                results.push((i, Err(StoreError::Conflict("condition failed".into()))));
            } else {
                again.push((i, item));
            }
        }
        chunk = again;
        if attempt == CANCELLED_ATTEMPTS && !chunk.is_empty() {
            let error = StoreError::transient(TransactionKeptCancelled);
            results.extend(chunk.drain(..).map(|(i, _)| (i, Err(error.again()))));
        }
    }
    results
}

/// A transaction cancelled [`CANCELLED_ATTEMPTS`] times by other writes.
#[derive(Debug)]
struct TransactionKeptCancelled;

impl std::fmt::Display for TransactionKeptCancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the transaction kept being cancelled by other writes")
    }
}

impl std::error::Error for TransactionKeptCancelled {}
