//! Reading a query to its end, for both tables.

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::Select;
use user_sync_core::StoreError;

use super::errors::map_sdk_error;
use super::values::Item;

/// Every item `query` matches, over all its pages.
pub(super) async fn query_all_pages(query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    each_page(query, |out| items.extend(out.items.unwrap_or_default())).await?;
    Ok(items)
}

/// How many items `query` matches, over all its pages (`Select: COUNT`).
pub(super) async fn count_all_pages(query: QueryFluentBuilder) -> Result<u64, StoreError> {
    let mut count = 0u64;
    each_page(query.select(Select::Count), |out| {
        count += u64::try_from(out.count).unwrap_or(0);
    })
    .await?;
    Ok(count)
}

/// Sends `query` page after page, each page's answer to `page`, until the
/// last one.
async fn each_page(
    query: QueryFluentBuilder,
    mut page: impl FnMut(QueryOutput),
) -> Result<(), StoreError> {
    let mut start: Option<Item> = None;
    loop {
        let mut out = query
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(map_sdk_error)?;
        let next = out.last_evaluated_key.take().filter(|k| !k.is_empty());
        page(out);
        match next {
            Some(k) => start = Some(k),
            None => return Ok(()),
        }
    }
}
