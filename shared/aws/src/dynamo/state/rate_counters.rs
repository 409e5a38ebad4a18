//! The organizations' rate counts in the StateTable.

use super::*;

/// Counts live an hour past their window, then expire.
const RATE_COUNT_TTL_SECONDS: u64 = 3_600;

impl RateCounters for StateTable {
    async fn take(
        &self,
        org: &OrgId,
        scope: &str,
        window: u64,
        amount: u32,
        limit: u32,
    ) -> Result<bool, StoreError> {
        let Some(most_before) = limit.checked_sub(amount) else {
            return Ok(false);
        };
        let expires = (window + 1) * WINDOW_SECONDS + RATE_COUNT_TTL_SECONDS;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(rate_pk(org, scope)))
            .key("sk", s(window.to_string()))
            .update_expression("ADD #n :a SET expiresAt = if_not_exists(expiresAt, :e)")
            .condition_expression("attribute_not_exists(#n) OR #n <= :m")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":a", AttributeValue::N(amount.to_string()))
            .expression_attribute_values(":m", AttributeValue::N(most_before.to_string()))
            .expression_attribute_values(":e", AttributeValue::N(expires.to_string()))
            .send()
            .await;
        match result.map_err(map_sdk_error) {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
