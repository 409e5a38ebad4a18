//! The activity history in the StateTable.

use super::*;

impl ActivityLog for StateTable {
    async fn append_activity(&self, org: &OrgId, entry: &ActivityEntry) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.activity_item(org, entry).await?))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn activity(
        &self,
        org: &OrgId,
        filter: &ActivityFilter,
        before: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ActivityEntry>, Option<String>), StoreError> {
        // the time range is a key range: ids start with the entry's time
        // ("~" sorts after every id character, so `to` is inclusive)
        let low = filter.from.clone();
        let high = filter.to.as_ref().map(|t| format!("{t}~"));
        let range = match (&low, &high) {
            (None, None) => "pk = :pk",
            (Some(_), None) => "pk = :pk AND sk >= :low",
            (None, Some(_)) => "pk = :pk AND sk <= :high",
            (Some(_), Some(_)) => "pk = :pk AND sk BETWEEN :low AND :high",
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut entries = Vec::new();
        let mut start = before.map(str::to_owned);
        let mut read = 0usize;
        loop {
            let page = if filter.is_time_only() {
                limit - entries.len()
            } else {
                ACTIVITY_PAGE
            };
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(range)
                .set_expression_attribute_values(Some(
                    [
                        (":pk", Some(activity_pk(org))),
                        (":low", low.clone()),
                        (":high", high.clone()),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), s(v))))
                    .collect(),
                ))
                .scan_index_forward(false)
                .limit(i32::try_from(page).unwrap_or(i32::MAX));
            if let Some(b) = &start {
                q = q.set_exclusive_start_key(Some(key(activity_pk(org), b.clone())));
            }
            let out = q.send().await.map_err(map_sdk_error)?;
            for item in out.items.unwrap_or_default() {
                read += 1;
                let a: ActivityItem = from_item(item)?;
                start = Some(a.sk.clone());
                if a.expires_at <= now {
                    // expired, and not yet deleted by the TTL (which may
                    // take days)
                    continue;
                }
                let entry: ActivityEntry = serde_json::from_str(&a.entry).map_err(json)?;
                if filter.matches(&entry) {
                    entries.push(entry);
                    if entries.len() == limit {
                        // more may follow: the cursor is this entry
                        return Ok((entries, start));
                    }
                }
            }
            let more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
            if !more {
                return Ok((entries, None));
            }
            if read >= ACTIVITY_SCAN {
                // a sparse filter: carry on from the last entry read
                return Ok((entries, start));
            }
        }
    }
}
