//! Sync outcomes (users' sync statuses) in the StateTable.

use super::*;

impl SyncOutcomes for StateTable {
    async fn record_outcome(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
        entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        let item = self.status_item(org, user, status)?;
        // a success must be newer than what was applied; a failure must not
        // overwrite a newer success
        let condition = status_condition(status.last_outcome);
        let put_status = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .expression_attribute_values(":g", n(status.applied_generation))
            .build()
            .map_err(StoreError::permanent)?;
        self.with_activity(
            org,
            vec![TransactWriteItem::builder().put(put_status).build()],
            entry,
        )
        .await
    }

    async fn record_status(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.status_item(org, user, status)?))
            .condition_expression(status_condition(status.last_outcome))
            .expression_attribute_values(":g", n(status.applied_generation))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn mark_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        marked: &SyncStatus,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.status_item(org, user, marked)?))
            // still a failure at this generation, not retried meanwhile
            .condition_expression(
                "attribute_exists(failureSk) AND appliedGeneration = :g \
                 AND (attribute_not_exists(retriedAt) OR retriedAt < :since)",
            )
            .expression_attribute_values(":g", n(marked.applied_generation))
            .expression_attribute_values(":since", s(not_retried_since))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}
