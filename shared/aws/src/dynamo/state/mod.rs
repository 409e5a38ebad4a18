//! StateTable: desired state, sync status, activity, email claims,
//! failures and rate counts, one file per capability.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use futures::StreamExt;
use user_sync_core::StoreError;
use user_sync_core::activity::{ActivityEntry, ActivityFilter};
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{
    ActivityLog, DesiredStates, DesiredWrite, EmailClaim, EmailClaims, EmailKey, FailureIndex,
    Organizations, STALE_EMAIL_CLAIM_SECONDS, SyncOutcomes, UserStates,
};
use user_sync_core::progress::SyncSummary;
use user_sync_core::ratelimit::{RateCounters, WINDOW_SECONDS};
use user_sync_core::state::{
    DesiredState, FailedUser, Failure, FailureClass, FailureCount, Outcome, SyncStatus,
};

use super::DirectoryTable;
use super::batch::{batch_get, batch_get_projected, batch_get_tables};
use super::errors::{json, map_sdk_error};
use super::items::*;
use super::query::query_all_pages;
use super::transact::{transact_each, transact_write};
use super::values::{Item, from_item, key, n, s, to_item};

mod activity;
mod desired;
mod email_claims;
mod failures;
mod outcomes;
mod rate_counters;

/// The keys of the users' desired states and sync statuses.
fn state_keys(org: &OrgId, users: &[UserId]) -> Vec<Item> {
    users
        .iter()
        .flat_map(|u| [sk::DESIRED, sk::STATUS].map(|sort| key(user_pk(org, u), sort)))
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

/// A user's desired state and sync status from its items (others ignored).
pub(super) fn user_state_of(
    items: impl IntoIterator<Item = Item>,
) -> Result<(Option<DesiredState>, Option<SyncStatus>), StoreError> {
    let mut desired = None;
    let mut status = None;
    for item in items {
        match item.get("sk") {
            Some(AttributeValue::S(k)) if k == sk::DESIRED => {
                let d: DesiredItem = from_item(item)?;
                desired = Some(serde_json::from_str(&d.state).map_err(json)?);
            }
            Some(AttributeValue::S(k)) if k == sk::STATUS => {
                let st: StatusItem = from_item(item)?;
                status = Some(serde_json::from_str(&st.status).map_err(json)?);
            }
            _ => {}
        }
    }
    Ok((desired, status))
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
        transact_write(&self.client, items).await
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

    /// Keeps what a read of the organization found of its own retention, as
    /// the organization's own read would (a read elsewhere spares that one).
    pub fn remember_retention(&self, org: &OrgId, days: Option<u32>) {
        if let Some(source) = &self.org_retention
            && let Ok(mut c) = source.cache.lock()
        {
            c.insert(org.clone(), (days, Instant::now()));
        }
    }

    /// Where the organization's retention is read, when the activity
    /// entries written next need it and it was not read lately.
    pub(super) fn retention_unknown(&self, org: &OrgId) -> Option<&DirectoryTable> {
        let source = self.org_retention.as_ref()?;
        Self::kept_retention(source, org)
            .is_none()
            .then_some(&source.directory)
    }

    /// The organization's own retention as read lately (`Some(None)`: it
    /// has none), or `None` when it was not.
    fn kept_retention(source: &OrgRetention, org: &OrgId) -> Option<Option<u32>> {
        source
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(org).copied())
            .filter(|(_, at)| at.elapsed() < RETENTION_CACHE)
            .map(|(days, _)| days)
    }

    /// Days an entry of `org` written now is kept. A failed read falls back
    /// to the default: the entry is written either way.
    async fn retention_days(&self, org: &OrgId) -> u32 {
        let Some(source) = &self.org_retention else {
            return self.activity_retention_days;
        };
        let own = match Self::kept_retention(source, org) {
            Some(days) => days,
            None => match source.directory.get_org(org).await {
                Ok(found) => {
                    let days = found.and_then(|o| o.activity_retention_days);
                    self.remember_retention(org, days);
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
        let entry = crate::correlation::stamp_entry(entry);
        let days = self.retention_days(org).await;
        let at = user_sync_core::time::parse(&entry.at)
            .map(|t| t.unix_timestamp())
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp());
        to_item(&ActivityItem {
            pk: activity_pk(org),
            sk: entry.id.clone(),
            entry: serde_json::to_string(&*entry).map_err(json)?,
            expires_at: user_sync_core::activity::expires_at(at, days),
        })
    }
}
