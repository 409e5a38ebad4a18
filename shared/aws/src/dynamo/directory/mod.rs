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
    Configuration, DEFAULT_GUARDRAIL_PERCENT, FanOuts, Groups, Memberships, Organization,
    Organizations, RuleSet, RuleWrite, StoredRule, StoredUser, SyncSettings, TokenReads,
    TokenWithGroup, Tokens, UserLookup, UserStatus, Users,
};
use user_sync_core::rules::{Priority, Rule};

use super::batch::{batch_get, batch_write};
use super::errors::{json, map_sdk_error};
use super::items::*;
use super::query::{count_all_pages, query_all_pages};
use super::transact::transact_write;
use super::values::{Item, build, from_item, key, s, to_item};

/// Up to this many groups, memberships are read as user × group keys (100
/// per call); beyond, each user's `MEMBEROF#` items are queried.
pub(super) const BATCHED_MEMBERSHIP_GROUPS: usize = 25;

/// The DirectoryTable adapter.
#[derive(Debug, Clone)]
pub struct DirectoryTable {
    client: Client,
    table: String,
}

/// Users from items.
fn stored_users(items: Vec<Item>) -> Result<Vec<StoredUser>, StoreError> {
    items
        .into_iter()
        .map(|i| from_item::<UserItem>(i).and_then(stored_user))
        .collect()
}

pub(super) fn stored_user(item: UserItem) -> Result<StoredUser, StoreError> {
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
                .set_item(Some(stamped(item)))
                .set_condition_expression(condition.map(str::to_owned))
                .build(),
        )
    }

    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        transact_write(&self.client, items).await
    }

    /// A transaction's put of `item`, written only over `version`.
    fn versioned_put(&self, item: Item, version: u64) -> Result<TransactWriteItem, StoreError> {
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(stamped(item)))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction's delete of the item at `key`, only at `version`.
    fn versioned_delete(&self, key: Item, version: u64) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Queries one partition (optionally by sort-key prefix), all pages.
    pub(super) async fn query_all(
        &self,
        pk: String,
        prefix: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_values(":pk", s(pk));
        query_all_pages(match prefix {
            Some(p) => q
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":p", s(p)),
            None => q.key_condition_expression("pk = :pk"),
        })
        .await
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
        batch_write(
            &self.client,
            &self.table,
            items
                .iter()
                .map(|(user_side, _)| request(user_side))
                .collect::<Result<_, _>>()?,
        )
        .await?;
        batch_write(
            &self.client,
            &self.table,
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
        self.versioned_put(item, previous.version)
    }
}

/// An item written within a change carries the change's origin (see
/// `crate::correlation`): the stream record the evaluator reads has it.
pub(super) fn stamped(mut item: Item) -> Item {
    crate::correlation::stamp(&mut item);
    item
}

fn put_request(item: &MemberItem) -> Result<WriteRequest, StoreError> {
    let put = build(
        PutRequest::builder()
            .set_item(Some(stamped(to_item(item)?)))
            .build(),
    )?;
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

/// Items a `Scan` for organizations examines per call.
const ORG_SCAN_PAGE: i32 = 1_000;
/// `Scan` calls per page of organizations.
const ORG_SCAN_CALLS: usize = 10;

pub(super) fn organization(o: OrgItem) -> Result<Organization, StoreError> {
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
            drift_check: o.drift_check_version,
        },
        drift_check: o.drift_check.unwrap_or_default(),
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
        role: t.role,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
    }
}

use user_sync_core::directory::DirectoryUser;

mod configuration;
mod fan_outs;
mod groups;
mod organizations;
mod returning;
mod users;

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
        drift_check: Some(org.drift_check),
        drift_check_version: org.setting_versions.drift_check,
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
                .set_item(Some(stamped(item)))
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
