//! DirectoryTable: organizations, tokens, users, groups, memberships, rules
//! and the sync switch.

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};
use serde_json::Value;
use user_sync_core::StoreError;
use user_sync_core::auth::StoredToken;
use user_sync_core::directory::{DirectoryGroup, DirectoryStatus};
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::RuleId;
use user_sync_core::ids::{GroupId, OrgId, UserId};
use user_sync_core::organization::SettingVersions;
use user_sync_core::ports::{
    Configuration, DEFAULT_GUARDRAIL_PERCENT, Directory, FanOuts, Organization, Organizations,
    RuleSet, RuleWrite, StoredRule, StoredUser, SyncSettings, UserStatus,
};
use user_sync_core::rules::{Priority, Rule};

use super::batch_get::batch_get;
use super::errors::{json, map_sdk_error, shape};
use super::items::*;

type Item = HashMap<String, AttributeValue>;

/// Items per `BatchWriteItem` call (the DynamoDB maximum).
const BATCH_WRITE_MAX: usize = 25;
/// Retries of items DynamoDB leaves unprocessed (throttling).
const BATCH_WRITE_RETRIES: u32 = 8;
/// Up to this many groups, memberships are read as user × group keys (100
/// per call); beyond, each user's `MEMBEROF#` items are queried.
const BATCHED_MEMBERSHIP_GROUPS: usize = 25;

/// The DirectoryTable adapter.
#[derive(Debug, Clone)]
pub struct DirectoryTable {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn to_item<T: serde::Serialize>(v: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(v).map_err(shape)
}

fn from_item<T: serde::de::DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(shape)
}

fn build<T, E: std::error::Error + Send + Sync + 'static>(
    r: Result<T, E>,
) -> Result<T, StoreError> {
    r.map_err(StoreError::permanent)
}

/// Users from items.
fn stored_users(items: Vec<Item>) -> Result<Vec<StoredUser>, StoreError> {
    items
        .into_iter()
        .map(|i| from_item::<UserItem>(i).and_then(stored_user))
        .collect()
}

fn stored_user(item: UserItem) -> Result<StoredUser, StoreError> {
    let attributes: Value = serde_json::from_str(&item.attributes).map_err(json)?;
    Ok(StoredUser {
        user: item.user(),
        attributes,
    })
}

impl DirectoryTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    pub(super) fn client(&self) -> &Client {
        &self.client
    }

    pub(super) async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(out.item)
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<Put, StoreError> {
        build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_owned))
                .build(),
        )
    }

    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        if items.is_empty() {
            return Ok(());
        }
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    /// Queries one partition (optionally by sort-key prefix), all pages.
    pub(super) async fn query_all(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .expression_attribute_values(":pk", s(pk.clone()))
                .set_exclusive_start_key(start.take());
            q = match prefix {
                Some(p) => q
                    .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                    .expression_attribute_values(":p", s(p)),
                None => q.key_condition_expression("pk = :pk"),
            };
            let out = q.send().await.map_err(map_sdk_error)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }

    /// A page of a `gsi1` listing (users or groups, in id order), after the
    /// item with the given (`gsi1sk`, `pk`, `sk`); `true` when more follow.
    async fn listing_page(
        &self,
        gsi1pk: String,
        after: Option<(String, String, &str)>,
        limit: usize,
        projection: Option<&str>,
    ) -> Result<(Vec<Item>, bool), StoreError> {
        let start = after.map(|(gsi1sk, pk, sort)| {
            HashMap::from([
                ("gsi1pk".to_owned(), s(gsi1pk.clone())),
                ("gsi1sk".to_owned(), s(gsi1sk)),
                ("pk".to_owned(), s(pk)),
                ("sk".to_owned(), s(sort)),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi1")
            .key_condition_expression("gsi1pk = :pk")
            .expression_attribute_values(":pk", s(gsi1pk))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .set_projection_expression(projection.map(str::to_owned))
            .send()
            .await
            .map_err(map_sdk_error)?;
        let more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), more))
    }

    /// The users in one lookup index partition.
    async fn users_from_index(
        &self,
        index: &str,
        key: &str,
        value: String,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        stored_users(self.query_index(index, key, value, limit).await?)
    }

    /// Up to `limit` items of a lookup index partition.
    async fn query_index(
        &self,
        index: &str,
        key: &str,
        value: String,
        limit: usize,
    ) -> Result<Vec<Item>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#k = :v")
            .expression_attribute_names("#k", key)
            .expression_attribute_values(":v", s(value))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(out.items.unwrap_or_default())
    }

    /// Writes items with `BatchWriteItem` (25 per call), retrying what
    /// DynamoDB leaves unprocessed, with backoff, a bounded number of times.
    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(BATCH_WRITE_MAX) {
            let mut pending: Vec<WriteRequest> = chunk.to_vec();
            let mut attempt = 0u32;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(map_sdk_error)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                attempt += 1;
                if attempt > BATCH_WRITE_RETRIES {
                    return Err(StoreError::Transient(
                        format!(
                            "{} writes still unprocessed after {BATCH_WRITE_RETRIES} retries",
                            pending.len()
                        )
                        .into(),
                    ));
                }
                tokio::time::sleep(std::time::Duration::from_millis(
                    50 * 2u64.pow(attempt.min(6)),
                ))
                .await;
            }
        }
        Ok(())
    }

    /// Counts what a query matches, all pages (`Select: COUNT`).
    async fn count(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<u64, StoreError> {
        let query = query.select(aws_sdk_dynamodb::types::Select::Count);
        let mut count = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_sdk_error)?;
            count += u64::try_from(out.count).unwrap_or(0);
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(count),
            }
        }
    }

    /// Puts or deletes memberships. The user sides first: when the evaluator
    /// sees a group side in the stream, the user's groups already say so.
    async fn write_memberships(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
        request: fn(&MemberItem) -> Result<WriteRequest, StoreError>,
    ) -> Result<(), StoreError> {
        let items: Vec<(MemberItem, MemberItem)> = users
            .iter()
            .map(|u| self.membership_items(org, group, u))
            .collect();
        self.batch_write(
            items
                .iter()
                .map(|(user_side, _)| request(user_side))
                .collect::<Result<_, _>>()?,
        )
        .await?;
        self.batch_write(
            items
                .iter()
                .map(|(_, group_side)| request(group_side))
                .collect::<Result<_, _>>()?,
        )
        .await
    }

    /// The two items of a membership: (user side, group side).
    fn membership_items(
        &self,
        org: &OrgId,
        group: &GroupId,
        user: &UserId,
    ) -> (MemberItem, MemberItem) {
        let group_side = MemberItem {
            pk: group_pk(org, group),
            sk: format!("{}{user}", sk::MEMBER),
            org_id: org.clone(),
            group_id: group.clone(),
            user_id: user.clone(),
        };
        let user_side = MemberItem {
            pk: user_pk(org, user),
            sk: format!("{}{group}", sk::MEMBER_OF),
            ..group_side.clone()
        };
        (user_side, group_side)
    }
}

impl DirectoryTable {
    /// A new user's item and its userName claim, each written only if new.
    fn new_user_items(
        &self,
        org: &OrgId,
        u: &StoredUser,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let item = UserItem::new(org, &u.user, u.attributes.to_string());
        let claim = UserNameItem {
            pk: user_name_pk(org, &u.user.user_name),
            sk: sk::USERNAME.into(),
            org_id: org.clone(),
            user_id: u.user.id.clone(),
        };
        Ok(vec![
            TransactWriteItem::builder()
                .put(self.put(to_item(&item)?, Some("attribute_not_exists(pk)"))?)
                .build(),
            TransactWriteItem::builder()
                .put(self.put(to_item(&claim)?, Some("attribute_not_exists(pk)"))?)
                .build(),
        ])
    }

    /// A user's item, written only over `previous`'s version.
    fn versioned_user_put(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        u: &StoredUser,
    ) -> Result<TransactWriteItem, StoreError> {
        let item = to_item(&UserItem::new(org, &u.user, u.attributes.to_string()))?;
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(previous.version.to_string()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}

fn put_request(item: &MemberItem) -> Result<WriteRequest, StoreError> {
    let put = build(PutRequest::builder().set_item(Some(to_item(item)?)).build())?;
    Ok(WriteRequest::builder().put_request(put).build())
}

fn delete_request(item: &MemberItem) -> Result<WriteRequest, StoreError> {
    let del = build(
        DeleteRequest::builder()
            .set_key(Some(key(item.pk.clone(), item.sk.clone())))
            .build(),
    )?;
    Ok(WriteRequest::builder().delete_request(del).build())
}

impl Organizations for DirectoryTable {
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&org_item(org)?)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    /// A `PutItem` of the next version, on the condition that the item is
    /// at the version read (an item written before organizations had
    /// versions has none: version 0).
    async fn update_org(&self, org: &Organization) -> Result<(), StoreError> {
        let mut next = org.clone();
        next.version = org.version.saturating_add(1);
        let condition = if org.version == 0 {
            "attribute_exists(pk) AND (attribute_not_exists(#v) OR #v = :v)"
        } else {
            "#v = :v"
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&org_item(&next)?)?))
            .condition_expression(condition)
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":v", AttributeValue::N(org.version.to_string()))
            .send()
            .await
            .map_err(map_sdk_error);
        match result {
            Ok(_) => Ok(()),
            // the condition failed: gone, or written by someone else since
            Err(StoreError::Conflict(_)) => match self.get_org(&org.id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Conflict(
                    "the organization was changed since it was read".into(),
                )),
            },
            Err(e) => Err(e),
        }
    }

    async fn get_org(&self, org: &OrgId) -> Result<Option<Organization>, StoreError> {
        let Some(item) = self.get(org_pk(org), sk::ORG).await? else {
            return Ok(None);
        };
        organization(from_item(item)?).map(Some)
    }

    /// Organizations have no listing of their own (every key starts with its
    /// organization): a `Scan` of the table with a filter on `sk = ORG`,
    /// [`ORG_SCAN_PAGE`] items examined per call, at most
    /// [`ORG_SCAN_CALLS`] calls per page. It reads the whole table over all
    /// pages; it is for the ops CLI, never on a request path.
    async fn list_orgs(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Organization>, Option<String>), StoreError> {
        let mut start = match cursor {
            Some(c) => Some(scan_key(c)?),
            None => None,
        };
        let limit = limit.max(1);
        let mut orgs = Vec::new();
        for _ in 0..ORG_SCAN_CALLS {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :org")
                .expression_attribute_values(":org", s(sk::ORG))
                .limit(ORG_SCAN_PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(map_sdk_error)?;
            for item in out.items.unwrap_or_default() {
                let o: OrgItem = from_item(item)?;
                let (pk, sk) = (o.pk.clone(), o.sk.clone());
                orgs.push(organization(o)?);
                if orgs.len() == limit {
                    // the next page starts after this organization's item
                    return Ok((orgs, Some(scan_cursor(&pk, &sk))));
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok((orgs, None)),
            }
        }
        let next = match start.as_ref().map(|k| (k.get("pk"), k.get("sk"))) {
            Some((Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk)))) => {
                Some(scan_cursor(pk, sk))
            }
            _ => None,
        };
        Ok((orgs, next))
    }

    async fn put_token(&self, t: &StoredToken) -> Result<(), StoreError> {
        let item = TokenItem {
            pk: token_pk(&t.org_id, &t.token_id),
            sk: sk::TOKEN.into(),
            org_id: t.org_id.clone(),
            token_id: t.token_id.clone(),
            kind: t.kind,
            name: t.name.clone(),
            secret_sha256: t.secret_sha256.clone(),
            created: t.created.clone(),
            gsi1pk: Some(tokens_gsi(&t.org_id)),
            gsi1sk: Some(t.token_id.clone()),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn get_token(
        &self,
        org: &OrgId,
        token_id: &str,
    ) -> Result<Option<StoredToken>, StoreError> {
        let Some(item) = self.get(token_pk(org, token_id), sk::TOKEN).await? else {
            return Ok(None);
        };
        let t: TokenItem = from_item(item)?;
        Ok(Some(stored_token(t)))
    }

    async fn list_tokens(&self, org: &OrgId) -> Result<Vec<StoredToken>, StoreError> {
        let mut tokens = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(tokens_gsi(org)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(map_sdk_error)?;
            for item in out.items.unwrap_or_default() {
                tokens.push(stored_token(from_item(item)?));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(tokens),
            }
        }
    }

    async fn delete_token(&self, org: &OrgId, token_id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(token_pk(org, token_id)))
            .key("sk", AttributeValue::S(sk::TOKEN.into()))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error);
        existing(result)
    }
}

/// Items a `Scan` for organizations examines per call.
const ORG_SCAN_PAGE: i32 = 1_000;
/// `Scan` calls per page of organizations.
const ORG_SCAN_CALLS: usize = 10;

fn organization(o: OrgItem) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: o.org_id,
        name: o.name,
        default_language: o.default_language,
        created: o.created,
        custom_attributes: o.custom_attributes,
        suspension_guardrail_percent: o
            .suspension_guardrail_percent
            .unwrap_or(DEFAULT_GUARDRAIL_PERCENT),
        activity_retention_days: o.activity_retention_days,
        catalog: o
            .catalog
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(json)?,
        version: o.version,
        setting_versions: SettingVersions {
            catalog: o.catalog_version,
            custom_attributes: o.custom_attributes_version,
            activity_retention: o.activity_retention_version,
        },
    })
}

/// A scan position as an opaque cursor: the key of the last item read.
fn scan_cursor(pk: &str, sk: &str) -> String {
    serde_json::json!([pk, sk]).to_string()
}

fn scan_key(cursor: &str) -> Result<Item, StoreError> {
    match serde_json::from_str::<(String, String)>(cursor) {
        Ok((pk, sk)) => Ok(key(pk, sk)),
        Err(_) => Err(StoreError::Invalid("not a cursor of this listing".into())),
    }
}

/// A write conditioned on `attribute_exists(pk)`: its failed condition
/// means there was nothing to write to.
fn existing<T>(result: Result<T, StoreError>) -> Result<(), StoreError> {
    match result {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(StoreError::NotFound),
        Err(e) => Err(e),
    }
}

fn stored_token(t: TokenItem) -> StoredToken {
    StoredToken {
        org_id: t.org_id,
        token_id: t.token_id,
        kind: t.kind,
        name: t.name,
        secret_sha256: t.secret_sha256,
        created: t.created,
    }
}

impl Directory for DirectoryTable {
    async fn create_user(&self, org: &OrgId, u: &StoredUser) -> Result<(), StoreError> {
        self.transact(self.new_user_items(org, u)?).await
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        match self.get(user_pk(org, id), sk::USER).await? {
            Some(item) => stored_user(from_item(item)?).map(Some),
            None => Ok(None),
        }
    }

    async fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let Some(item) = self.get(user_name_pk(org, user_name), sk::USERNAME).await? else {
            return Ok(None);
        };
        let claim: UserNameItem = from_item(item)?;
        self.get_user(org, &claim.user_id).await
    }

    async fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        u: &StoredUser,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.versioned_user_put(org, previous, u)?];
        if previous.user_name.to_lowercase() != u.user.user_name.to_lowercase() {
            let claim = UserNameItem {
                pk: user_name_pk(org, &u.user.user_name),
                sk: sk::USERNAME.into(),
                org_id: org.clone(),
                user_id: u.user.id.clone(),
            };
            items.push(
                TransactWriteItem::builder()
                    .put(self.put(to_item(&claim)?, Some("attribute_not_exists(pk)"))?)
                    .build(),
            );
            let old = build(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        user_name_pk(org, &previous.user_name),
                        sk::USERNAME,
                    )))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().delete(old).build());
        }
        self.transact(items).await
    }

    async fn create_returning_user(
        &self,
        org: &OrgId,
        u: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> Result<(), StoreError> {
        let mut items = self.new_user_items(org, u)?;
        items.push(self.versioned_user_put(org, previous, handed_over)?);
        let retired = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    user_name_pk(org, &previous.user_name),
                    format!("{}{}", sk::RETIRED, previous.id),
                )))
                .build(),
        )?;
        items.push(TransactWriteItem::builder().delete(retired).build());
        self.transact(items).await
    }

    async fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> Result<(), StoreError> {
        let mut items = vec![self.versioned_user_put(org, previous, deleted)?];
        // the userName is free for another user (unless, against every
        // write's rule, another user holds it)
        let claim = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    user_name_pk(org, &previous.user_name),
                    sk::USERNAME,
                )))
                .condition_expression("attribute_not_exists(pk) OR userId = :me")
                .expression_attribute_values(":me", s(previous.id.as_str()))
                .build(),
        )?;
        items.push(TransactWriteItem::builder().delete(claim).build());
        // and the deleted user stays findable by it, for a returning person
        let retired = UserNameItem {
            pk: user_name_pk(org, &previous.user_name),
            sk: format!("{}{}", sk::RETIRED, previous.id),
            org_id: org.clone(),
            user_id: previous.id.clone(),
        };
        items.push(
            TransactWriteItem::builder()
                .put(self.put(to_item(&retired)?, None)?)
                .build(),
        );
        self.transact(items).await
    }

    async fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let ids: Vec<UserId> = self
            .query_all(user_name_pk(org, user_name), Some(sk::RETIRED))
            .await?
            .into_iter()
            .map(|i| from_item::<UserNameItem>(i).map(|c| c.user_id))
            .collect::<Result<_, _>>()?;
        let ids: Vec<UserId> = ids.into_iter().take(limit).collect();
        self.get_users(org, &ids).await
    }

    async fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.users_from_index("gsi2", "gsi2pk", external_id_gsi(org, external_id), limit)
            .await
    }

    async fn find_users_by_email(
        &self,
        org: &OrgId,
        email: &str,
        limit: usize,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.users_from_index("gsi3", "gsi3pk", email_gsi(org, email), limit)
            .await
    }

    async fn find_groups_by_name(
        &self,
        org: &OrgId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<DirectoryGroup>, StoreError> {
        self.query_index("gsi2", "gsi2pk", group_name_gsi(org, name), limit)
            .await?
            .into_iter()
            .map(|i| from_item::<GroupItem>(i).map(directory_group))
            .collect()
    }

    async fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<StoredUser>, Option<UserId>), StoreError> {
        let after = start_after.map(|u| (u.to_string(), user_pk(org, u), sk::USER));
        let (items, more) = self
            .listing_page(users_gsi(org), after, limit, None)
            .await?;
        let users = stored_users(items)?;
        let next = if more {
            users.last().map(|u| u.user.id.clone())
        } else {
            None
        };
        Ok((users, next))
    }

    async fn create_group(&self, org: &OrgId, g: &DirectoryGroup) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&group_item(org, g))?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn get_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> Result<Option<DirectoryGroup>, StoreError> {
        let Some(item) = self.get(group_pk(org, id), sk::GROUP).await? else {
            return Ok(None);
        };
        Ok(Some(directory_group(from_item(item)?)))
    }

    async fn list_groups(
        &self,
        org: &OrgId,
        start_after: Option<&GroupId>,
        limit: usize,
    ) -> Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError> {
        let after = start_after.map(|g| (g.to_string(), group_pk(org, g), sk::GROUP));
        let (items, more) = self
            .listing_page(groups_gsi(org), after, limit, None)
            .await?;
        let groups = items
            .into_iter()
            .map(|i| from_item::<GroupItem>(i).map(directory_group))
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            groups.last().map(|g| g.id.clone())
        } else {
            None
        };
        Ok((groups, next))
    }

    async fn update_group(&self, org: &OrgId, g: &DirectoryGroup) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&group_item(org, g))?))
            .condition_expression("version = :v")
            .expression_attribute_values(
                ":v",
                AttributeValue::N(g.version.saturating_sub(1).to_string()),
            )
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn delete_group(&self, org: &OrgId, id: &GroupId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(group_pk(org, id), sk::GROUP)))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.write_memberships(org, group, users, put_request).await
    }

    async fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<(), StoreError> {
        self.write_memberships(org, group, users, delete_request)
            .await
    }

    async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<UserId>), StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s(group_pk(org, group)))
            .expression_attribute_values(":p", s(sk::MEMBER))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        if let Some(after) = start_after {
            q = q.set_exclusive_start_key(Some(key(
                group_pk(org, group),
                format!("{}{after}", sk::MEMBER),
            )));
        }
        let out = q.send().await.map_err(map_sdk_error)?;
        let ids = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| from_item::<MemberItem>(i).map(|m| m.user_id))
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => ids.last().cloned(),
            _ => None,
        };
        Ok((ids, next))
    }

    async fn groups_of(&self, org: &OrgId, user: &UserId) -> Result<BTreeSet<GroupId>, StoreError> {
        self.query_all(user_pk(org, user), Some(sk::MEMBER_OF))
            .await?
            .into_iter()
            .map(|i| from_item::<MemberItem>(i).map(|m| m.group_id))
            .collect()
    }

    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        let keys = ids.iter().map(|u| key(user_pk(org, u), sk::USER)).collect();
        stored_users(batch_get(&self.client, &self.table, keys).await?)
    }

    async fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError> {
        let mut out: HashMap<UserId, BTreeSet<GroupId>> = HashMap::new();
        if groups.is_empty() || users.is_empty() {
            return Ok(out);
        }
        if groups.len() > BATCHED_MEMBERSHIP_GROUPS {
            // many groups: each user's own list is fewer reads
            for u in users {
                let mine: BTreeSet<GroupId> = self
                    .groups_of(org, u)
                    .await?
                    .intersection(groups)
                    .cloned()
                    .collect();
                if !mine.is_empty() {
                    out.insert(u.clone(), mine);
                }
            }
            return Ok(out);
        }
        // the user sides: they are written first, so they are never behind
        let keys = users
            .iter()
            .flat_map(|u| {
                groups
                    .iter()
                    .map(move |g| key(user_pk(org, u), format!("{}{g}", sk::MEMBER_OF)))
            })
            .collect();
        for item in batch_get(&self.client, &self.table, keys).await? {
            let m: MemberItem = from_item(item)?;
            out.entry(m.user_id).or_default().insert(m.group_id);
        }
        Ok(out)
    }

    async fn user_statuses(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> Result<(Vec<UserStatus>, Option<UserId>), StoreError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Status {
            user_id: UserId,
            active: bool,
            #[serde(default)]
            deleted: bool,
        }
        let after = start_after.map(|u| (u.to_string(), user_pk(org, u), sk::USER));
        let (items, more) = self
            .listing_page(
                users_gsi(org),
                after,
                limit,
                Some("userId, active, deleted"),
            )
            .await?;
        let users = items
            .into_iter()
            .map(|i| {
                from_item::<Status>(i).map(|st| {
                    let status = match (st.deleted, st.active) {
                        (true, _) => DirectoryStatus::Deleted,
                        (false, false) => DirectoryStatus::Inactive,
                        (false, true) => DirectoryStatus::Active,
                    };
                    (st.user_id, status)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let next = if more {
            users.last().map(|(u, _)| u.clone())
        } else {
            None
        };
        Ok((users, next))
    }

    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        self.count(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(group_pk(org, group)))
                .expression_attribute_values(":p", s(sk::MEMBER)),
        )
        .await
    }

    async fn count_users(&self, org: &OrgId) -> Result<u64, StoreError> {
        self.count(
            self.client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", s(users_gsi(org))),
        )
        .await
    }
}

use user_sync_core::directory::DirectoryUser;

fn org_item(org: &Organization) -> Result<OrgItem, StoreError> {
    Ok(OrgItem {
        pk: org_pk(&org.id),
        sk: sk::ORG.into(),
        org_id: org.id.clone(),
        name: org.name.clone(),
        default_language: org.default_language.clone(),
        created: org.created.clone(),
        custom_attributes: org.custom_attributes.clone(),
        suspension_guardrail_percent: Some(org.suspension_guardrail_percent),
        activity_retention_days: org.activity_retention_days,
        catalog: org
            .catalog
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(json)?,
        version: org.version,
        catalog_version: org.setting_versions.catalog,
        custom_attributes_version: org.setting_versions.custom_attributes,
        activity_retention_version: org.setting_versions.activity_retention,
    })
}

fn directory_group(g: GroupItem) -> DirectoryGroup {
    DirectoryGroup {
        id: g.group_id,
        display_name: g.display_name,
        external_id: g.external_id,
        created: g.created,
        last_modified: g.last_modified,
        version: g.version,
    }
}

fn group_item(org: &OrgId, g: &DirectoryGroup) -> GroupItem {
    GroupItem {
        pk: group_pk(org, &g.id),
        sk: sk::GROUP.into(),
        gsi1pk: groups_gsi(org),
        gsi1sk: g.id.to_string(),
        gsi2pk: group_name_gsi(org, &g.display_name),
        gsi2sk: g.id.to_string(),
        org_id: org.clone(),
        group_id: g.id.clone(),
        display_name: g.display_name.clone(),
        external_id: g.external_id.clone(),
        created: g.created.clone(),
        last_modified: g.last_modified.clone(),
        version: g.version,
    }
}

impl DirectoryTable {
    fn rule_item(org: &OrgId, rule: &Rule, version: u64) -> Result<RuleItem, StoreError> {
        Ok(RuleItem {
            pk: config_pk(org),
            sk: format!("{}{}", sk::RULE, rule.id),
            org_id: org.clone(),
            rule_id: rule.id.clone(),
            group_id: rule.group_id.clone(),
            rule: serde_json::to_string(rule).map_err(json)?,
            version,
        })
    }

    /// The order item at the next configuration version, on the condition
    /// that nobody moved it since `read`.
    fn order_put(&self, org: &OrgId, order: &[RuleId], read: u64) -> Result<Put, StoreError> {
        let item = to_item(&OrderItem {
            pk: config_pk(org),
            sk: sk::ORDER.into(),
            org_id: org.clone(),
            rule_ids: order.to_vec(),
            version: read + 1,
        })?;
        build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR version = :v")
                .expression_attribute_values(":v", AttributeValue::N(read.to_string()))
                .build(),
        )
    }

    /// The sync switch is still as it was read.
    fn sync_unchanged(&self, org: &OrgId, enabled: bool) -> Result<ConditionCheck, StoreError> {
        let b = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(config_pk(org), sk::SYNC)));
        let b = if enabled {
            b.condition_expression("enabled = :t")
                .expression_attribute_values(":t", AttributeValue::Bool(true))
        } else {
            b.condition_expression("attribute_not_exists(pk) OR enabled = :f")
                .expression_attribute_values(":f", AttributeValue::Bool(false))
        };
        build(b.build())
    }
}

impl Configuration for DirectoryTable {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        let mut rules: HashMap<RuleId, StoredRule> = HashMap::new();
        let mut order = OrderItem {
            pk: config_pk(org),
            sk: sk::ORDER.into(),
            org_id: org.clone(),
            rule_ids: Vec::new(),
            version: 0,
        };
        let mut sync = SyncSettings {
            enabled: false,
            changed_at: None,
            changed_by: None,
        };
        for item in self.query_all(config_pk(org), None).await? {
            let sort = match item.get("sk") {
                Some(AttributeValue::S(v)) => v.clone(),
                _ => continue,
            };
            if sort.starts_with(sk::RULE) {
                let r: RuleItem = from_item(item)?;
                let rule = r.rule().map_err(json)?;
                rules.insert(
                    rule.id.clone(),
                    StoredRule {
                        rule,
                        version: r.version,
                    },
                );
            } else if sort == sk::ORDER {
                order = from_item(item)?;
            } else if sort == sk::SYNC {
                let s: SyncItem = from_item(item)?;
                sync = SyncSettings {
                    enabled: s.enabled,
                    changed_at: s.changed_at,
                    changed_by: s.changed_by,
                };
            }
        }
        // the order item decides priorities; a rule it does not name (none
        // should exist) goes last, by id
        let mut ordered: Vec<StoredRule> = order
            .rule_ids
            .iter()
            .filter_map(|id| rules.remove(id))
            .collect();
        let mut rest: Vec<StoredRule> = rules.into_values().collect();
        rest.sort_by(|a, b| a.rule.id.cmp(&b.rule.id));
        ordered.extend(rest);
        for (i, r) in ordered.iter_mut().enumerate() {
            let p = u32::try_from(i + 1)
                .unwrap_or(Priority::MAX)
                .min(Priority::MAX);
            r.rule.priority = Priority::new(p).map_err(|e| StoreError::Invalid(e.to_string()))?;
        }
        Ok(RuleSet {
            rules: ordered,
            sync,
            version: order.version,
        })
    }

    async fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[RuleId],
        read: &RuleSet,
    ) -> Result<(), StoreError> {
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.order_put(org, order, read.version)?)
                .build(),
            TransactWriteItem::builder()
                .condition_check(self.sync_unchanged(org, read.sync.enabled)?)
                .build(),
        ];
        match write {
            RuleWrite::Create(rule) => {
                let item = to_item(&Self::rule_item(org, rule, 1)?)?;
                items.push(
                    TransactWriteItem::builder()
                        .put(self.put(item, Some("attribute_not_exists(pk)"))?)
                        .build(),
                );
            }
            RuleWrite::Update {
                rule,
                expected_version,
            } => {
                let item = to_item(&Self::rule_item(org, rule, expected_version + 1)?)?;
                let put = build(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("version = :rv")
                        .expression_attribute_values(
                            ":rv",
                            AttributeValue::N(expected_version.to_string()),
                        )
                        .build(),
                )?;
                items.push(TransactWriteItem::builder().put(put).build());
            }
            RuleWrite::Delete {
                id,
                expected_version,
            } => {
                let delete = build(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(config_pk(org), format!("{}{id}", sk::RULE))))
                        .condition_expression("version = :rv")
                        .expression_attribute_values(
                            ":rv",
                            AttributeValue::N(expected_version.to_string()),
                        )
                        .build(),
                )?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            RuleWrite::Reorder => {}
        }
        self.transact(items).await
    }

    async fn put_sync(
        &self,
        org: &OrgId,
        sync: &SyncSettings,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let item = SyncItem {
            pk: config_pk(org),
            sk: sk::SYNC.into(),
            org_id: org.clone(),
            enabled: sync.enabled,
            changed_at: sync.changed_at.clone(),
            changed_by: sync.changed_by.clone(),
        };
        // the rules are still those the caller checked (the full-admin rule)
        let check = build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(config_pk(org), sk::ORDER)))
                .condition_expression(if expected_version == 0 {
                    "attribute_not_exists(pk) OR version = :v"
                } else {
                    "version = :v"
                })
                .expression_attribute_values(":v", AttributeValue::N(expected_version.to_string()))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder()
                .put(self.put(to_item(&item)?, None)?)
                .build(),
            TransactWriteItem::builder().condition_check(check).build(),
        ])
        .await
    }
}

impl FanOuts for DirectoryTable {
    async fn start_fan_out(&self, org: &OrgId, task: &FanOutTask) -> Result<(), StoreError> {
        let item = fan_out_item(org, task)?;
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
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
            .set_item(Some(to_item(&item)?))
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

fn fan_out_item(org: &OrgId, task: &FanOutTask) -> Result<FanOutItem, StoreError> {
    Ok(FanOutItem {
        pk: fan_out_pk(org),
        sk: format!("{}{}", sk::TASK, task.id),
        org_id: org.clone(),
        task_id: task.id.clone(),
        chunk: task.chunk,
        done: task.done,
        task: serde_json::to_string(task).map_err(json)?,
        expires_at: task.done.then(|| {
            time::OffsetDateTime::now_utc().unix_timestamp() + FINISHED_TASK_DAYS * 86_400
        }),
    })
}

/// How long a finished fan-out task is kept (it shows in the sync status).
const FINISHED_TASK_DAYS: i64 = 7;
