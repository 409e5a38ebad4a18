//! The directory's users in the DirectoryTable.

use user_sync_core::directory::may_return;

use super::*;

impl Users for DirectoryTable {
    async fn create_user(&self, org: &OrgId, u: &StoredUser) -> Result<(), StoreError> {
        self.transact(self.new_user_items(org, u)?).await
    }

    async fn get_user(&self, org: &OrgId, id: &UserId) -> Result<Option<StoredUser>, StoreError> {
        match self.get(user_pk(org, id), sk::USER).await? {
            Some(item) => stored_user(from_item(item)?).map(Some),
            None => Ok(None),
        }
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
        // nobody returns as it again
        items.extend(self.returnable_updates(org, previous, returning::Filing::Unfile)?);
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
        // and filed under the keys a returning person finds it by
        if may_return(&deleted.user) {
            items.extend(self.returnable_updates(org, &deleted.user, returning::Filing::File)?);
        }
        self.transact(items).await
    }

    async fn get_users(&self, org: &OrgId, ids: &[UserId]) -> Result<Vec<StoredUser>, StoreError> {
        let keys = ids.iter().map(|u| key(user_pk(org, u), sk::USER)).collect();
        stored_users(batch_get(&self.client, &self.table, keys).await?)
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
}

impl UserLookup for DirectoryTable {
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

    async fn count_users(&self, org: &OrgId) -> Result<u64, StoreError> {
        count_all_pages(
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
