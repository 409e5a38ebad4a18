//! Writes in one DynamoDB transaction, for both tables.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::TransactWriteItem;
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
