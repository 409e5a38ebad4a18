//! Organizations and their tokens in the DirectoryTable.

use super::*;

impl Organizations for DirectoryTable {
    /// The organization's item and, in the same transaction, the mark
    /// that its deleted users are all filed (it has none yet).
    async fn create_org(&self, org: &Organization) -> Result<(), StoreError> {
        let item = self.put(to_item(&org_item(org)?)?, Some("attribute_not_exists(pk)"))?;
        self.transact(vec![
            TransactWriteItem::builder().put(item).build(),
            TransactWriteItem::builder()
                .put(self.returnable_mark(&org.id)?)
                .build(),
        ])
        .await
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
}

impl Tokens for DirectoryTable {
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
            role: t.role,
            expires_at: t.expires_at.clone(),
            last_used_at: t.last_used_at.clone(),
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
        let items = query_all_pages(
            self.client
                .query()
                .table_name(&self.table)
                .index_name("gsi1")
                .key_condition_expression("gsi1pk = :pk")
                .expression_attribute_values(":pk", AttributeValue::S(tokens_gsi(org))),
        )
        .await?;
        items
            .into_iter()
            .map(|item| from_item(item).map(stored_token))
            .collect()
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

    async fn mark_token_used(
        &self,
        org: &OrgId,
        token_id: &str,
        at: &str,
        cutoff: &str,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(token_pk(org, token_id)))
            .key("sk", AttributeValue::S(sk::TOKEN.into()))
            .update_expression("SET lastUsedAt = :at")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(lastUsedAt) OR lastUsedAt < :cutoff)",
            )
            .expression_attribute_values(":at", AttributeValue::S(at.to_owned()))
            .expression_attribute_values(":cutoff", AttributeValue::S(cutoff.to_owned()))
            .send()
            .await
            .map_err(map_sdk_error);
        match result {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
