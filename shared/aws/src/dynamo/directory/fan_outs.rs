//! Fan-out tasks in the DirectoryTable.

use super::*;

impl FanOuts for DirectoryTable {
    async fn start_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        let item = fan_out_item(org, task)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(stamped(to_item(&item)?)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error)
        {
            // started before: a replayed record
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn get_fan_out(&self, org: &OrgId, id: &str) -> Result<Option<FanOutTask>, StoreError> {
        match self
            .get(fan_out_pk(org), &format!("{}{id}", sk::TASK))
            .await?
        {
            Some(item) => {
                let item: FanOutItem = from_item(item)?;
                item.task().map(Some).map_err(json)
            }
            None => Ok(None),
        }
    }

    async fn advance_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        let item = fan_out_item(org, task)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(stamped(to_item(&item)?)))
            .condition_expression("chunk = :c")
            .expression_attribute_values(
                ":c",
                AttributeValue::N(task.chunk.saturating_sub(1).to_string()),
            )
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn running_fan_outs(
        &self,
        org: &OrgId,
        limit: usize,
    ) -> Result<Vec<FanOutTask>, StoreError> {
        let mut tasks = Vec::new();
        let items = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .filter_expression("done = :f")
            .expression_attribute_values(":pk", s(fan_out_pk(org)))
            .expression_attribute_values(":p", s(sk::TASK))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .send()
            .await
            .map_err(map_sdk_error)?
            .items
            .unwrap_or_default();
        for item in items {
            let item: FanOutItem = from_item(item)?;
            tasks.push(item.task().map_err(json)?);
        }
        tasks.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        tasks.truncate(limit);
        Ok(tasks)
    }
}
