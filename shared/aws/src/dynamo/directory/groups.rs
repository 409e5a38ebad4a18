//! The directory's groups and memberships in the DirectoryTable.

use user_sync_core::directory::ReturningKey;
use user_sync_core::ports::Returnable;

use super::*;
use crate::dynamo::transact::TRANSACTION_ITEMS;

/// Most membership changes written in one transaction with their group's
/// version (12): each is two items (its user side and its group side)
/// beside the group's, within the items a transaction holds
/// (`transact::TRANSACTION_ITEMS`). A request changing more members writes the
/// group first, then the memberships in batches; one changing none, the
/// group alone.
pub const MEMBER_CHANGES_WITH_GROUP: usize = (TRANSACTION_ITEMS - 1) / 2;

impl Groups for DirectoryTable {
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

    /// One `BatchGetItem` (100 keys per call): the group's item with the
    /// users'.
    async fn group_with_users(
        &self,
        org: &OrgId,
        id: &GroupId,
        users: &[UserId],
    ) -> Result<(Option<DirectoryGroup>, Vec<StoredUser>), StoreError> {
        let (_, group, found) = self.read_group_with_users(org, id, users, None).await?;
        Ok((group, found))
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

    async fn update_group(
        &self,
        org: &OrgId,
        g: &DirectoryGroup,
        add: &[UserId],
        remove: &[UserId],
    ) -> Result<(), StoreError> {
        let previous = AttributeValue::N(g.version.saturating_sub(1).to_string());
        let changes = add.len() + remove.len();
        if changes == 0 || changes > MEMBER_CHANGES_WITH_GROUP {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&group_item(org, g))?))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", previous)
                .send()
                .await
                .map_err(map_sdk_error)?;
            self.remove_members(org, &g.id, remove).await?;
            return self.add_members(org, &g.id, add).await;
        }
        // one transaction: the group's version and both sides of each
        // membership, all or nothing
        let group = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&group_item(org, g))?))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", previous)
                .build(),
        )?;
        let mut items = vec![TransactWriteItem::builder().put(group).build()];
        let added: BTreeSet<&UserId> = add.iter().collect();
        // a user removed and added again stays a member: only its put is
        // written (a transaction writes an item once)
        let removed: BTreeSet<&UserId> = remove.iter().filter(|u| !added.contains(u)).collect();
        for user in removed {
            let (user_side, group_side) = self.membership_items(org, &g.id, user);
            for side in [user_side, group_side] {
                let delete = build(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(side.pk, side.sk)))
                        .build(),
                )?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
        }
        for user in added {
            let (user_side, group_side) = self.membership_items(org, &g.id, user);
            for side in [user_side, group_side] {
                items.push(
                    TransactWriteItem::builder()
                        .put(self.put(to_item(&side)?, None)?)
                        .build(),
                );
            }
        }
        self.transact(items).await
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
}

impl Memberships for DirectoryTable {
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

    async fn count_members(&self, org: &OrgId, group: &GroupId) -> Result<u64, StoreError> {
        count_all_pages(
            self.client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(group_pk(org, group)))
                .expression_attribute_values(":p", s(sk::MEMBER)),
        )
        .await
    }
}

impl DirectoryTable {
    /// A group and the users among `users` that exist, with a token's item
    /// when `token_id` names one, in one `BatchGetItem`.
    pub(super) async fn read_group_with_users(
        &self,
        org: &OrgId,
        id: &GroupId,
        users: &[UserId],
        token_id: Option<&str>,
    ) -> Result<TokenWithGroup, StoreError> {
        let mut keys = vec![key(group_pk(org, id), sk::GROUP)];
        keys.extend(token_id.map(|t| key(token_pk(org, t), sk::TOKEN)));
        keys.extend(users.iter().map(|u| key(user_pk(org, u), sk::USER)));
        let mut token = None;
        let mut group = None;
        let mut found = Vec::with_capacity(users.len());
        for item in batch_get(&self.client, &self.table, keys).await? {
            match item.get("sk") {
                Some(AttributeValue::S(k)) if k == sk::GROUP => {
                    group = Some(directory_group(from_item(item)?));
                }
                Some(AttributeValue::S(k)) if k == sk::TOKEN => {
                    token = Some(stored_token(from_item(item)?));
                }
                _ => found.push(stored_user(from_item(item)?)?),
            }
        }
        Ok((token, group, found))
    }
}

impl TokenReads for DirectoryTable {
    /// One `BatchGetItem` of the token's item and the user's.
    async fn token_with_user(
        &self,
        org: &OrgId,
        token_id: &str,
        user: &UserId,
    ) -> Result<(Option<StoredToken>, Option<StoredUser>), StoreError> {
        let keys = vec![
            key(token_pk(org, token_id), sk::TOKEN),
            key(user_pk(org, user), sk::USER),
        ];
        let mut token = None;
        let mut found = None;
        for item in batch_get(&self.client, &self.table, keys).await? {
            match item.get("sk") {
                Some(AttributeValue::S(k)) if k == sk::TOKEN => {
                    token = Some(stored_token(from_item(item)?));
                }
                Some(AttributeValue::S(k)) if k == sk::USER => {
                    found = Some(stored_user(from_item(item)?)?);
                }
                _ => {}
            }
        }
        Ok((token, found))
    }

    /// One `BatchGetItem` of the token's item, the group's and the users'.
    async fn token_with_group(
        &self,
        org: &OrgId,
        token_id: &str,
        group: &GroupId,
        users: &[UserId],
    ) -> Result<TokenWithGroup, StoreError> {
        self.read_group_with_users(org, group, users, Some(token_id))
            .await
    }

    /// One `BatchGetItem` of the token's item, the organization's mark
    /// that its deleted users are filed, and the key's index item.
    async fn token_with_returning(
        &self,
        org: &OrgId,
        token_id: &str,
        key: &ReturningKey,
    ) -> Result<(Option<StoredToken>, Returnable), StoreError> {
        self.read_token_with_returning(org, token_id, key).await
    }
}
