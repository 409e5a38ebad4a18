//! Desired states and what counting reads of them, in the StateTable.

use super::*;
use user_sync_core::progress::{DesiredSummary, suspend_reason};
use user_sync_core::rules::SuspendReason;

impl DesiredStates for StateTable {
    /// The user's two items: one `Query` of the user's partition (one read
    /// unit for both), or, when the activity entries written next need the
    /// organization's retention and it was not read lately (see
    /// [`StateTable::with_org_retention`]), one `BatchGetItem` of the two
    /// with the organization's item.
    async fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(Option<DesiredState>, Option<SyncStatus>), StoreError> {
        let items: Vec<Item> = match self.retention_unknown(org) {
            None => self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(user_pk(org, user)))
                .send()
                .await
                .map_err(map_sdk_error)?
                .items
                .unwrap_or_default(),
            Some(directory) => {
                let directory = directory.table_name().to_owned();
                let keys = vec![
                    (self.table.clone(), key(user_pk(org, user), sk::DESIRED)),
                    (self.table.clone(), key(user_pk(org, user), sk::STATUS)),
                    (directory.clone(), key(org_pk(org), sk::ORG)),
                ];
                let mut items = Vec::with_capacity(2);
                let mut retention = None;
                for (table, item) in batch_get_tables(&self.client, keys).await? {
                    if table == directory {
                        retention = from_item::<OrgItem>(item)?.activity_retention_days;
                    } else {
                        items.push(item);
                    }
                }
                self.remember_retention(org, retention);
                items
            }
        };
        user_state_of(items)
    }

    async fn user_states(&self, org: &OrgId, users: &[UserId]) -> Result<UserStates, StoreError> {
        let keys = state_keys(org, users);
        // the partition key names the user: `{org}#USER#{id}`
        let by_pk: HashMap<String, &UserId> = users.iter().map(|u| (user_pk(org, u), u)).collect();
        let mut out = UserStates::new();
        for item in batch_get(&self.client, &self.table, keys).await? {
            let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sort))) =
                (item.get("pk"), item.get("sk"))
            else {
                continue;
            };
            let Some(user) = by_pk.get(pk).map(|u| (*u).clone()) else {
                continue;
            };
            let entry = out.entry(user).or_default();
            if sort == sk::DESIRED {
                let d: DesiredItem = from_item(item)?;
                entry.0 = Some(serde_json::from_str(&d.state).map_err(json)?);
            } else if sort == sk::STATUS {
                let st: StatusItem = from_item(item)?;
                entry.1 = Some(serde_json::from_str(&st.status).map_err(json)?);
            }
        }
        Ok(out)
    }

    async fn put_desired(
        &self,
        org: &OrgId,
        user: &UserId,
        state: &DesiredState,
        expected_generation: Option<u64>,
    ) -> Result<(), StoreError> {
        let item = desired_item(org, user, state)?;
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let req = match expected_generation {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(g) => req
                .condition_expression("generation = :g")
                .expression_attribute_values(":g", n(g)),
        };
        req.send().await.map_err(map_sdk_error)?;
        Ok(())
    }

    /// One write: a `PutItem`; more: transactions of up to 25 conditional
    /// puts, one call where each was one (a transaction's writes cost twice
    /// the write units).
    async fn put_desired_many(
        &self,
        org: &OrgId,
        writes: &[DesiredWrite<'_>],
    ) -> Vec<Result<(), StoreError>> {
        if let [w] = writes {
            return vec![
                self.put_desired(org, w.user, w.state, w.expected_generation)
                    .await,
            ];
        }
        let items = writes.iter().map(|w| self.desired_put(org, w)).collect();
        transact_each(&self.client, items).await
    }

    async fn sync_summaries(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, SyncSummary>, StoreError> {
        /// The projected attributes of a `DESIRED` or `STATUS` item.
        #[derive(serde::Deserialize)]
        struct Projected {
            pk: String,
            sk: String,
            #[serde(default)]
            generation: Option<u64>,
            #[serde(default)]
            status: Option<String>,
            #[serde(default)]
            suspended: Option<SuspendReason>,
        }
        const PROJECTION: &str = "pk, sk, generation, #status, suspended";
        const NAMES: &[(&str, &str)] = &[("#status", "status")];
        let keys = state_keys(org, users);
        // a few batches at once: counting reads every user of an organization
        let reads: Vec<_> = keys
            .chunks(SUMMARY_BATCH)
            .map(<[Item]>::to_vec)
            .map(|chunk| {
                batch_get_projected(
                    &self.client,
                    &self.table,
                    chunk,
                    Some((PROJECTION, NAMES)),
                    // counts: eventually consistent reads, half the capacity
                    false,
                )
            })
            .collect();
        let reads = futures::stream::iter(reads)
            .buffer_unordered(SUMMARY_READS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let by_pk: HashMap<String, &UserId> = users.iter().map(|u| (user_pk(org, u), u)).collect();
        let mut out: HashMap<UserId, SyncSummary> = HashMap::new();
        for items in reads {
            for item in items? {
                let p: Projected = from_item(item)?;
                let Some(user) = by_pk.get(&p.pk).map(|u| (*u).clone()) else {
                    continue;
                };
                let entry = out.entry(user).or_default();
                if p.sk == sk::DESIRED {
                    entry.desired = p.generation.map(|generation| DesiredSummary {
                        generation,
                        suspended: p.suspended,
                    });
                } else if p.sk == sk::STATUS
                    && let Some(st) = p.status
                {
                    entry.status = Some(serde_json::from_str(&st).map_err(json)?);
                }
            }
        }
        Ok(out)
    }
}

/// Keys per read of [`SyncState::sync_summaries`] (the `BatchGetItem` maximum).
const SUMMARY_BATCH: usize = 100;
/// Reads of [`SyncState::sync_summaries`] in flight at once.
const SUMMARY_READS_IN_FLIGHT: usize = 4;

impl StateTable {
    /// A desired state's conditional put, as one write of a transaction.
    fn desired_put(
        &self,
        org: &OrgId,
        w: &DesiredWrite<'_>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(desired_item(org, w.user, w.state)?));
        let put = match w.expected_generation {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(g) => put
                .condition_expression("generation = :g")
                .expression_attribute_values(":g", n(g)),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(StoreError::permanent)?)
            .build())
    }
}

/// A user's desired state as its item.
fn desired_item(org: &OrgId, user: &UserId, state: &DesiredState) -> Result<Item, StoreError> {
    to_item(&DesiredItem {
        pk: user_pk(org, user),
        sk: sk::DESIRED.into(),
        generation: state.generation,
        state: serde_json::to_string(state).map_err(json)?,
        suspended: suspend_reason(&state.assignment.status),
    })
}
