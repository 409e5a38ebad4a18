//! The index of an organization's deleted users by the keys a returning
//! person finds them by: one item per key (`RETURNABLE` in the key's
//! partition) whose string set `users` holds the deleted users filed under
//! it, and the organization's mark that all of them are filed.

use aws_sdk_dynamodb::types::Update;
use user_sync_core::directory::{DirectoryUser, ReturningKey};
use user_sync_core::ports::{Returnable, ReturningIndex};

use super::*;

/// What `users` is changed by: `ADD` files, `DELETE` takes out (a set
/// left empty loses the attribute, and the key reads as nobody's).
#[derive(Debug, Clone, Copy)]
pub(super) enum Filing {
    File,
    Unfile,
}

impl DirectoryTable {
    /// A transaction's updates of `user`'s index items: one per key it can
    /// be found by.
    pub(super) fn returnable_updates(
        &self,
        org: &OrgId,
        user: &DirectoryUser,
        filing: Filing,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        ReturningKey::all_of(user)
            .iter()
            .map(|k| {
                let update = self.returnable_update(org, k, vec![user.id.to_string()], filing)?;
                Ok(TransactWriteItem::builder().update(update).build())
            })
            .collect()
    }

    fn returnable_update(
        &self,
        org: &OrgId,
        returning: &ReturningKey,
        ids: Vec<String>,
        filing: Filing,
    ) -> Result<Update, StoreError> {
        let verb = match filing {
            Filing::File => "ADD",
            Filing::Unfile => "DELETE",
        };
        build(
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(returnable_pk(org, returning), sk::RETURNABLE)))
                .update_expression(format!("{verb} #u :ids"))
                .expression_attribute_names("#u", "users")
                .expression_attribute_values(":ids", AttributeValue::Ss(ids))
                .build(),
        )
    }

    /// The mark that the organization's deleted users are all filed.
    pub(super) fn returnable_mark(&self, org: &OrgId) -> Result<Put, StoreError> {
        let mut item = key(org_pk(org), sk::RETURNABLE);
        item.insert("orgId".into(), s(org.as_str()));
        self.put(item, None)
    }

    /// One `BatchGetItem` of the token's item, the organization's mark and
    /// the key's index item.
    pub(super) async fn read_token_with_returning(
        &self,
        org: &OrgId,
        token_id: &str,
        returning: &ReturningKey,
    ) -> Result<(Option<StoredToken>, Returnable), StoreError> {
        let (mark_pk, filed_pk) = (org_pk(org), returnable_pk(org, returning));
        let keys = vec![
            key(token_pk(org, token_id), sk::TOKEN),
            key(mark_pk.clone(), sk::RETURNABLE),
            key(filed_pk.clone(), sk::RETURNABLE),
        ];
        let (mut token, mut indexed, mut filed) = (None, false, false);
        for item in batch_get(&self.client, &self.table, keys).await? {
            let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(k))) =
                (item.get("pk"), item.get("sk"))
            else {
                continue;
            };
            match k.as_str() {
                sk::TOKEN => token = Some(stored_token(from_item(item)?)),
                sk::RETURNABLE if *pk == mark_pk => indexed = true,
                sk::RETURNABLE if *pk == filed_pk => {
                    filed = matches!(item.get("users"), Some(AttributeValue::Ss(ids)) if !ids.is_empty());
                }
                _ => {}
            }
        }
        let returnable = if indexed && !filed {
            Returnable::None
        } else {
            Returnable::Maybe
        };
        Ok((token, returnable))
    }
}

impl ReturningIndex for DirectoryTable {
    /// One `UpdateItem` per key, filing every user of `deleted` it holds.
    async fn file_returnable(
        &self,
        org: &OrgId,
        deleted: &[DirectoryUser],
    ) -> Result<(), StoreError> {
        let mut by_key: std::collections::BTreeMap<ReturningKey, Vec<String>> = Default::default();
        for user in deleted {
            for k in ReturningKey::all_of(user) {
                by_key.entry(k).or_default().push(user.id.to_string());
            }
        }
        for (returning, ids) in by_key {
            let u = self.returnable_update(org, &returning, ids, Filing::File)?;
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(u.key))
                .update_expression(u.update_expression)
                .set_expression_attribute_names(u.expression_attribute_names)
                .set_expression_attribute_values(u.expression_attribute_values)
                .send()
                .await
                .map_err(map_sdk_error)?;
        }
        Ok(())
    }

    async fn mark_returnable_indexed(&self, org: &OrgId) -> Result<(), StoreError> {
        let mark = self.returnable_mark(org)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(mark.item))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}
