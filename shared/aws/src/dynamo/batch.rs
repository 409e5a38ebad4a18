//! `BatchGetItem` in pages of 100 keys and `BatchWriteItem` in pages of 25
//! requests, what DynamoDB leaves unprocessed sent again with backoff.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{KeysAndAttributes, WriteRequest};
use user_sync_core::StoreError;

use super::errors::map_sdk_error;
use super::values::Item;

/// Keys per `BatchGetItem` call (the DynamoDB maximum).
const BATCH_GET_MAX: usize = 100;
/// Items per `BatchWriteItem` call (the DynamoDB maximum).
const BATCH_WRITE_MAX: usize = 25;
/// Retries of keys or writes DynamoDB leaves unprocessed (throttling).
const UNPROCESSED_RETRIES: u32 = 8;

/// Reads the items with these keys (strongly consistent); missing items are
/// left out, the order is not kept.
pub async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
) -> Result<Vec<Item>, StoreError> {
    batch_get_projected(client, table, keys, None, true).await
}

/// A projection: the expression and its attribute names (`#name` → name).
pub type Projection<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// [`batch_get`], reading only the attributes of `projection`, strongly
/// consistent or not (half the read capacity: enough for counts).
pub async fn batch_get_projected(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    projection: Option<Projection<'_>>,
    consistent: bool,
) -> Result<Vec<Item>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let read = until_processed(chunk.to_vec(), "reads", |pending| async move {
            let mut request = KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(consistent);
            if let Some((expression, names)) = projection {
                request = request.projection_expression(expression);
                for (k, v) in names {
                    request = request.expression_attribute_names(*k, *v);
                }
            }
            let request = request.build().map_err(StoreError::permanent)?;
            let out = client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(map_sdk_error)?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(table))
                .unwrap_or_default();
            let unprocessed = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(table))
                .map(|k| k.keys)
                .unwrap_or_default();
            Ok((items, unprocessed))
        })
        .await?;
        found.extend(read);
    }
    Ok(found)
}

/// Reads the items with these (table, key) pairs, strongly consistent, up
/// to 100 keys per call whichever tables they are in; each item found comes
/// back with its table, missing items are left out, the order is not kept.
pub async fn batch_get_tables(
    client: &Client,
    keys: Vec<(String, Item)>,
) -> Result<Vec<(String, Item)>, StoreError> {
    let mut found = Vec::new();
    for chunk in keys.chunks(BATCH_GET_MAX) {
        let read = until_processed(chunk.to_vec(), "reads", |pending| async move {
            let mut by_table: HashMap<String, Vec<Item>> = HashMap::new();
            for (table, key) in pending {
                by_table.entry(table).or_default().push(key);
            }
            let mut call = client.batch_get_item();
            for (table, keys) in by_table {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(StoreError::permanent)?;
                call = call.request_items(table, request);
            }
            let out = call.send().await.map_err(map_sdk_error)?;
            let items = out
                .responses
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(table, items)| items.into_iter().map(move |i| (table.clone(), i)))
                .collect();
            let unprocessed = out
                .unprocessed_keys
                .unwrap_or_default()
                .into_iter()
                .flat_map(|(table, k)| k.keys.into_iter().map(move |key| (table.clone(), key)))
                .collect();
            Ok((items, unprocessed))
        })
        .await?;
        found.extend(read);
    }
    Ok(found)
}

/// Writes with `BatchWriteItem` (25 per call).
pub async fn batch_write(
    client: &Client,
    table: &str,
    requests: Vec<WriteRequest>,
) -> Result<(), StoreError> {
    for chunk in requests.chunks(BATCH_WRITE_MAX) {
        until_processed(chunk.to_vec(), "writes", |pending| async move {
            let out = client
                .batch_write_item()
                .request_items(table, pending)
                .send()
                .await
                .map_err(map_sdk_error)?;
            let unprocessed = out
                .unprocessed_items
                .and_then(|mut m| m.remove(table))
                .unwrap_or_default();
            Ok((Vec::<Item>::new(), unprocessed))
        })
        .await?;
    }
    Ok(())
}

/// Sends `pending` with `call`, which answers the items it read and what
/// DynamoDB left unprocessed; that is sent again, with backoff, at most
/// [`UNPROCESSED_RETRIES`] times. `what` names the requests in the error.
async fn until_processed<T, R, F, Fut>(
    mut pending: Vec<T>,
    what: &str,
    mut call: F,
) -> Result<Vec<R>, StoreError>
where
    F: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(Vec<R>, Vec<T>), StoreError>>,
{
    let mut found = Vec::new();
    let mut attempt = 0u32;
    while !pending.is_empty() {
        let (items, unprocessed) = call(pending).await?;
        found.extend(items);
        pending = unprocessed;
        if pending.is_empty() {
            break;
        }
        attempt += 1;
        if attempt > UNPROCESSED_RETRIES {
            return Err(StoreError::Transient(
                format!(
                    "{} {what} still unprocessed after {UNPROCESSED_RETRIES} retries",
                    pending.len()
                )
                .into(),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(
            50 * 2u64.pow(attempt.min(6)),
        ))
        .await;
    }
    Ok(found)
}
