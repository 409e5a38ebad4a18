//! Attribute values, keys and the item conversions both tables use.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use user_sync_core::StoreError;

use super::errors::shape;

/// A DynamoDB item, as the SDK reads and writes it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub(super) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item's key: its partition and sort keys.
pub(super) fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// An item mapping (`items.rs`) as the item to write.
pub(super) fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(shape)
}

/// A read item as its mapping (`items.rs`).
pub(super) fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(shape)
}

/// A request the SDK's builder refused (a missing required field: a bug).
pub(super) fn build<T, E: std::error::Error + Send + Sync + 'static>(
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(StoreError::permanent)
}
