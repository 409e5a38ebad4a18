//! StateTable: desired state, sync status, activity, email claims.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use futures::StreamExt;
use user_sync_core::StoreError;
use user_sync_core::activity::{ActivityEntry, ActivityFilter};
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{
    ActivityLog, DesiredStates, EmailClaim, EmailClaims, FailureIndex, Organizations,
    STALE_EMAIL_CLAIM_SECONDS, SyncOutcomes, UserStates,
};
use user_sync_core::progress::SyncSummary;
use user_sync_core::ratelimit::{RateCounters, WINDOW_SECONDS};
use user_sync_core::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, SyncStatus,
};

use super::DirectoryTable;
use super::batch_get::{batch_get, batch_get_projected};
use super::errors::{json, map_sdk_error, shape};
use super::items::*;

type Item = HashMap<String, AttributeValue>;

/// The keys of the users' desired states and sync statuses.
fn state_keys(org: &OrgId, users: &[UserId]) -> Vec<Item> {
    users
        .iter()
        .flat_map(|u| {
            [sk::DESIRED, sk::STATUS].map(|sort| {
                HashMap::from([
                    ("pk".to_owned(), s(user_pk(org, u))),
                    ("sk".to_owned(), s(sort)),
                ])
            })
        })
        .collect()
}

/// The write condition of a sync status: a success must be newer than what
/// was applied; a failure must not overwrite a newer success.
fn status_condition(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "attribute_not_exists(pk) OR appliedGeneration < :g",
        Outcome::Failure => "attribute_not_exists(pk) OR appliedGeneration <= :g",
    }
}

/// Entries a filtered history query reads per `Query`, and at most per call.
const ACTIVITY_PAGE: usize = 200;
const ACTIVITY_SCAN: usize = 2_000;

/// The StateTable's sparse index of failed users.
const FAILURES_INDEX: &str = "failures";

/// How long an organization's own retention setting is trusted before it is
/// read again.
const RETENTION_CACHE: std::time::Duration = std::time::Duration::from_secs(300);

/// Where an organization's own activity retention is read (DirectoryTable's
/// organization item, through the DirectoryTable's own mapping of it), with
/// what was read lately.
#[derive(Debug, Clone)]
struct OrgRetention {
    directory: DirectoryTable,
    cache: Arc<Mutex<RetentionCache>>,
}

/// Organization → its own retention (`None`: the default) and when it was read.
type RetentionCache = HashMap<OrgId, (Option<u32>, Instant)>;

/// The StateTable adapter.
#[derive(Debug, Clone)]
pub struct StateTable {
    client: Client,
    table: String,
    activity_retention_days: u32,
    org_retention: Option<OrgRetention>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(shape)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(shape)
}

impl StateTable {
    /// One write and the activity entry that tells of it, in one
    /// transaction: both or neither.
    async fn with_activity(
        &self,
        org: &OrgId,
        writes: Vec<TransactWriteItem>,
        entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        let put_entry = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.activity_item(org, entry).await?))
            .build()
            .map_err(StoreError::permanent)?;
        let mut items = writes;
        items.push(TransactWriteItem::builder().put(put_entry).build());
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    pub fn new(client: Client, table: impl Into<String>, activity_retention_days: u32) -> Self {
        Self {
            client,
            table: table.into(),
            activity_retention_days,
            org_retention: None,
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Keeps activity entries for the organization's own retention when it
    /// has one (read from `directory_table`, cached for 5 minutes), else for
    /// the default given to [`StateTable::new`].
    #[must_use]
    pub fn with_org_retention(mut self, directory_table: impl Into<String>) -> Self {
        self.org_retention = Some(OrgRetention {
            directory: DirectoryTable::new(self.client.clone(), directory_table),
            cache: Arc::new(Mutex::new(HashMap::new())),
        });
        self
    }

    /// Days an entry of `org` written now is kept. A failed read falls back
    /// to the default: the entry is written either way.
    async fn retention_days(&self, org: &OrgId) -> u32 {
        let Some(source) = &self.org_retention else {
            return self.activity_retention_days;
        };
        let cached = source
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(org).copied())
            .filter(|(_, at)| at.elapsed() < RETENTION_CACHE);
        let own = match cached {
            Some((days, _)) => days,
            None => match source.directory.get_org(org).await {
                Ok(found) => {
                    let days = found.and_then(|o| o.activity_retention_days);
                    if let Ok(mut c) = source.cache.lock() {
                        c.insert(org.clone(), (days, Instant::now()));
                    }
                    days
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the organization's retention; the default applies");
                    None
                }
            },
        };
        own.unwrap_or(self.activity_retention_days)
    }

    fn status_item(
        &self,
        org: &OrgId,
        user: &UserId,
        status: &SyncStatus,
    ) -> Result<Item, StoreError> {
        let failure = status
            .failure
            .as_ref()
            .filter(|_| status.last_outcome == Outcome::Failure);
        to_item(&StatusItem {
            pk: user_pk(org, user),
            sk: sk::STATUS.into(),
            applied_generation: status.applied_generation,
            status: serde_json::to_string(status).map_err(json)?,
            failure_pk: failure.map(|_| failures_pk(org)),
            failure_sk: failure.map(|f| format!("{}{user}", failure_prefix(f))),
            retried_at: status.retried_at.clone(),
        })
    }

    async fn activity_item(&self, org: &OrgId, entry: &ActivityEntry) -> Result<Item, StoreError> {
        let days = self.retention_days(org).await;
        let at = user_sync_core::time::parse(&entry.at)
            .map(|t| t.unix_timestamp())
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
        to_item(&ActivityItem {
            pk: activity_pk(org),
            sk: entry.id.clone(),
            entry: serde_json::to_string(entry).map_err(json)?,
            expires_at: user_sync_core::activity::expires_at(at, days),
        })
    }
}

impl DesiredStates for StateTable {
    async fn user_state(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> Result<(Option<DesiredState>, Option<SyncStatus>), StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(user_pk(org, user)))
            .send()
            .await
            .map_err(map_sdk_error)?;
        let mut desired = None;
        let mut status = None;
        for item in out.items.unwrap_or_default() {
            match item.get("sk") {
                Some(AttributeValue::S(k)) if k == sk::DESIRED => {
                    let d: DesiredItem = serde_dynamo::from_item(item).map_err(shape)?;
                    desired = Some(serde_json::from_str(&d.state).map_err(json)?);
                }
                Some(AttributeValue::S(k)) if k == sk::STATUS => {
                    let st: StatusItem = serde_dynamo::from_item(item).map_err(shape)?;
                    status = Some(serde_json::from_str(&st.status).map_err(json)?);
                }
                _ => {}
            }
        }
        Ok((desired, status))
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
                let d: DesiredItem = serde_dynamo::from_item(item).map_err(shape)?;
                entry.0 = Some(serde_json::from_str(&d.state).map_err(json)?);
            } else if sort == sk::STATUS {
                let st: StatusItem = serde_dynamo::from_item(item).map_err(shape)?;
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
        let item = to_item(&DesiredItem {
            pk: user_pk(org, user),
            sk: sk::DESIRED.into(),
            generation: state.generation,
            state: serde_json::to_string(state).map_err(json)?,
        })?;
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
        }
        const PROJECTION: &str = "pk, sk, generation, #status";
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
                let p: Projected = serde_dynamo::from_item(item).map_err(shape)?;
                let Some(user) = by_pk.get(&p.pk).map(|u| (*u).clone()) else {
                    continue;
                };
                let entry = out.entry(user).or_default();
                if p.sk == sk::DESIRED {
                    entry.desired_generation = p.generation;
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
                q = q.set_exclusive_start_key(Some(HashMap::from([
                    ("pk".to_owned(), s(activity_pk(org))),
                    ("sk".to_owned(), s(b.clone())),
                ])));
            }
            let out = q.send().await.map_err(map_sdk_error)?;
            for item in out.items.unwrap_or_default() {
                read += 1;
                let a: ActivityItem = serde_dynamo::from_item(item).map_err(shape)?;
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

impl EmailClaims for StateTable {
    async fn claim_email(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
    ) -> Result<EmailClaim, StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let (pk, sort) = (user_pk(org, user), format!("{}{key}", sk::EMAIL));
        let item = to_item(&EmailClaimItem {
            pk: pk.clone(),
            sk: sort.clone(),
            claimed_at: user_sync_core::time::format(now),
            state: Some(claim_state::SENDING.to_owned()),
        })?;
        let first = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error);
        match first {
            Ok(_) => return Ok(EmailClaim::Claimed),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        let old = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sort))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_sdk_error)?
            .item
            .map(from_item::<EmailClaimItem>)
            .transpose()?;
        // given back meanwhile (a failed send): look again later
        let Some(old) = old else {
            return Ok(EmailClaim::InProgress);
        };
        if old.state.as_deref() != Some(claim_state::SENDING) {
            return Ok(EmailClaim::Sent);
        }
        let age = user_sync_core::time::parse(&old.claimed_at)
            .map_or(STALE_EMAIL_CLAIM_SECONDS, |then| {
                (now - then).whole_seconds()
            });
        if age < STALE_EMAIL_CLAIM_SECONDS {
            return Ok(EmailClaim::InProgress);
        }
        // the delivery that claimed it died before recording its send
        let taken = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("claimedAt = :c AND #s = :sending")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":c", s(old.claimed_at))
            .expression_attribute_values(":sending", s(claim_state::SENDING))
            .send()
            .await
            .map_err(map_sdk_error);
        match taken {
            Ok(_) => Ok(EmailClaim::TakenOver),
            Err(StoreError::Conflict(_)) => Ok(EmailClaim::InProgress),
            Err(e) => Err(e),
        }
    }

    async fn email_sent(
        &self,
        org: &OrgId,
        user: &UserId,
        key: &str,
        entry: &ActivityEntry,
    ) -> Result<(), StoreError> {
        let now = user_sync_core::time::format(time::OffsetDateTime::now_utc());
        let sent = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(format!("{}{key}", sk::EMAIL)))
            .update_expression("SET #s = :sent, sentAt = :now")
            .expression_attribute_names("#s", "state")
            .expression_attribute_values(":sent", s(claim_state::SENT))
            .expression_attribute_values(":now", s(now))
            .build()
            .map_err(StoreError::permanent)?;
        // a failure recorded by an earlier delivery is over
        let failure_over = Delete::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .build()
            .map_err(StoreError::permanent)?;
        self.with_activity(
            org,
            vec![
                TransactWriteItem::builder().update(sent).build(),
                TransactWriteItem::builder().delete(failure_over).build(),
            ],
            entry,
        )
        .await
    }

    async fn release_email(&self, org: &OrgId, user: &UserId, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(format!("{}{key}", sk::EMAIL)))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}

impl FailureIndex for StateTable {
    async fn failure_counts(&self, org: &OrgId) -> Result<Vec<FailureCount>, StoreError> {
        type Key = (FailureClass, Option<String>, Option<String>);
        let mut counts: BTreeMap<Key, u64> = BTreeMap::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(FAILURES_INDEX)
                .key_condition_expression("failurePk = :pk")
                .expression_attribute_values(":pk", s(failures_pk(org)))
                .projection_expression("failureSk")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk_error)?;
            for item in out.items.unwrap_or_default() {
                if let Some(AttributeValue::S(sort)) = item.get("failureSk")
                    && let Some((failure, _)) = parse_failure_sk(sort)
                {
                    *counts
                        .entry((failure.class, failure.product, failure.domain))
                        .or_default() += 1;
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(counts
            .into_iter()
            .map(|((class, product, domain), users)| FailureCount {
                failure: Failure {
                    class,
                    product,
                    domain,
                },
                users,
            })
            .collect())
    }

    async fn failed_users(
        &self,
        org: &OrgId,
        failure: &Failure,
        after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<FailedUser>, Option<UserId>), StoreError> {
        let prefix = failure_prefix(failure);
        let mail = failure.class == FailureClass::EmailFailed;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(FAILURES_INDEX)
            .key_condition_expression("failurePk = :pk AND begins_with(failureSk, :prefix)")
            .expression_attribute_values(":pk", s(failures_pk(org)))
            .expression_attribute_values(":prefix", s(prefix.clone()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = after {
            q = q.set_exclusive_start_key(Some(HashMap::from([
                ("pk".to_owned(), s(user_pk(org, after))),
                (
                    "sk".to_owned(),
                    s(if mail { sk::MAIL_STATUS } else { sk::STATUS }),
                ),
                ("failurePk".to_owned(), s(failures_pk(org))),
                ("failureSk".to_owned(), s(format!("{prefix}{after}"))),
            ])));
        }
        let out = q.send().await.map_err(map_sdk_error)?;
        let mut users = Vec::new();
        for item in out.items.unwrap_or_default() {
            let Some(AttributeValue::S(sort)) = item.get("failureSk") else {
                continue;
            };
            let Some(user_id) = parse_failure_sk(sort).and_then(|(_, u)| UserId::parse(u).ok())
            else {
                continue;
            };
            let user = if mail {
                let m: MailStatusItem = serde_dynamo::from_item(item).map_err(shape)?;
                FailedUser {
                    user_id,
                    failure: failure.clone(),
                    attempts: m.attempts,
                    at: m.at,
                    retried_at: m.retried_at,
                }
            } else {
                let st: StatusItem = serde_dynamo::from_item(item).map_err(shape)?;
                let st: SyncStatus = serde_json::from_str(&st.status).map_err(json)?;
                FailedUser {
                    user_id,
                    failure: st.failure.unwrap_or_else(|| failure.clone()),
                    attempts: st.attempts,
                    at: st.at,
                    retried_at: st.retried_at,
                }
            };
            users.push(user);
        }
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => users.last().map(|u| u.user_id.clone()),
            _ => None,
        };
        Ok((users, next))
    }

    async fn email_failures(
        &self,
        org: &OrgId,
        users: &[UserId],
    ) -> Result<HashMap<UserId, FailedUser>, StoreError> {
        let keys = users
            .iter()
            .map(|u| {
                HashMap::from([
                    ("pk".to_owned(), s(user_pk(org, u))),
                    ("sk".to_owned(), s(sk::MAIL_STATUS)),
                ])
            })
            .collect();
        let by_pk: HashMap<String, &UserId> = users.iter().map(|u| (user_pk(org, u), u)).collect();
        let mut out = HashMap::new();
        for item in batch_get(&self.client, &self.table, keys).await? {
            let m: MailStatusItem = serde_dynamo::from_item(item).map_err(shape)?;
            let Some(user) = by_pk.get(&m.pk).map(|u| (*u).clone()) else {
                continue;
            };
            out.insert(
                user.clone(),
                FailedUser {
                    user_id: user,
                    failure: Failure {
                        class: FailureClass::EmailFailed,
                        product: None,
                        domain: None,
                    },
                    attempts: m.attempts,
                    at: m.at,
                    retried_at: m.retried_at,
                },
            );
        }
        Ok(out)
    }

    async fn record_email_failure(
        &self,
        org: &OrgId,
        user: &UserId,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(reason) = reason else {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(user_pk(org, user)))
                .key("sk", s(sk::MAIL_STATUS))
                .send()
                .await
                .map_err(map_sdk_error)?;
            return Ok(());
        };
        let failure = Failure {
            class: FailureClass::EmailFailed,
            product: None,
            domain: None,
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .update_expression(
                "SET reason = :reason, #at = :at, failurePk = :fpk, failureSk = :fsk ADD attempts :one",
            )
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":reason", s(reason))
            .expression_attribute_values(
                ":at",
                s(user_sync_core::time::format(time::OffsetDateTime::now_utc())),
            )
            .expression_attribute_values(":fpk", s(failures_pk(org)))
            .expression_attribute_values(":fsk", s(format!("{}{user}", failure_prefix(&failure))))
            .expression_attribute_values(":one", n(1))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn mark_email_retried(
        &self,
        org: &OrgId,
        user: &UserId,
        at: &str,
        not_retried_since: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(org, user)))
            .key("sk", s(sk::MAIL_STATUS))
            .update_expression("SET retriedAt = :at")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(retriedAt) OR retriedAt < :since)",
            )
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":since", s(not_retried_since))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}

/// Keys per read of [`SyncState::sync_summaries`] (the `BatchGetItem` maximum).
const SUMMARY_BATCH: usize = 100;
/// Reads of [`SyncState::sync_summaries`] in flight at once.
const SUMMARY_READS_IN_FLIGHT: usize = 4;

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
