//! `BatchGetItem` in pages of 100 keys, with the unprocessed keys retried.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use user_sync_core::StoreError;

use super::errors::map_sdk_error;

type Item = HashMap<String, AttributeValue>;

/// Keys per `BatchGetItem` call (the DynamoDB maximum).
const BATCH_GET_MAX: usize = 100;
/// Retries of keys DynamoDB leaves unprocessed (throttling).
const BATCH_GET_RETRIES: u32 = 8;

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
        let mut pending = chunk.to_vec();
        let mut attempt = 0u32;
        while !pending.is_empty() {
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
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(table))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut m| m.remove(table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > BATCH_GET_RETRIES {
                return Err(StoreError::Transient(
                    format!(
                        "{} reads still unprocessed after {BATCH_GET_RETRIES} retries",
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
    }
    Ok(found)
}
