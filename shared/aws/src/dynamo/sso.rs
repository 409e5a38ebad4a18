//! DirectoryTable: an organization's identity provider configuration
//! (`{org}#SSO`, one item) and the global index that finds an organization
//! by the (issuer, client id) of a token (`SSOCLIENT#{issuer}#{clientId}`),
//! held by one organization only: a conditional write of that one item
//! decides, in the same transaction as the configuration.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use user_sync_core::StoreError;
use user_sync_core::ids::OrgId;
use user_sync_core::sso::{SsoConfig, SsoConfigs};

use super::directory::DirectoryTable;
use super::errors::json;
use super::items::{SsoClientItem, SsoItem, sk, sso_client_pk, sso_pk};
use super::values::{build, from_item, key, to_item};

impl DirectoryTable {
    fn sso_index_delete(
        &self,
        org: &OrgId,
        config: &SsoConfig,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(self.table_name())
                .set_key(Some(key(
                    sso_client_pk(&config.issuer, &config.client_id),
                    sk::SSO_CLIENT,
                )))
                .condition_expression("attribute_not_exists(pk) OR orgId = :org")
                .expression_attribute_values(":org", AttributeValue::S(org.to_string()))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

impl SsoConfigs for DirectoryTable {
    async fn get_sso(&self, org: &OrgId) -> Result<Option<SsoConfig>, StoreError> {
        let Some(item) = self.get(sso_pk(org), sk::SSO).await? else {
            return Ok(None);
        };
        let item: SsoItem = from_item(item)?;
        serde_json::from_str(&item.doc).map(Some).map_err(json)
    }

    async fn put_sso(&self, org: &OrgId, config: &SsoConfig) -> Result<(), StoreError> {
        let previous = self.get_sso(org).await?;
        let config_item = to_item(&SsoItem {
            pk: sso_pk(org),
            sk: sk::SSO.to_owned(),
            org_id: org.clone(),
            doc: serde_json::to_string(config).map_err(json)?,
        })?;
        let index_item = to_item(&SsoClientItem {
            pk: sso_client_pk(&config.issuer, &config.client_id),
            sk: sk::SSO_CLIENT.to_owned(),
            org_id: org.clone(),
        })?;
        let mut items = vec![
            TransactWriteItem::builder()
                .put(build(
                    Put::builder()
                        .table_name(self.table_name())
                        .set_item(Some(config_item))
                        .build(),
                )?)
                .build(),
            TransactWriteItem::builder()
                .put(build(
                    Put::builder()
                        .table_name(self.table_name())
                        .set_item(Some(index_item))
                        .condition_expression("attribute_not_exists(pk) OR orgId = :org")
                        .expression_attribute_values(":org", AttributeValue::S(org.to_string()))
                        .build(),
                )?)
                .build(),
        ];
        if let Some(old) = previous
            && (old.issuer != config.issuer || old.client_id != config.client_id)
        {
            items.push(self.sso_index_delete(org, &old)?);
        }
        match self.transact(items).await {
            Err(StoreError::Conflict(_)) => Err(StoreError::Conflict(
                "another organization is configured with this issuer and client id".into(),
            )),
            r => r,
        }
    }

    async fn remove_sso(&self, org: &OrgId) -> Result<(), StoreError> {
        let Some(old) = self.get_sso(org).await? else {
            return Err(StoreError::NotFound);
        };
        let delete = build(
            Delete::builder()
                .table_name(self.table_name())
                .set_key(Some(key(sso_pk(org), sk::SSO)))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.sso_index_delete(org, &old)?,
        ])
        .await
    }

    async fn find_sso_org(
        &self,
        issuer: &str,
        client_id: &str,
    ) -> Result<Option<OrgId>, StoreError> {
        let Some(item) = self
            .get(sso_client_pk(issuer, client_id), sk::SSO_CLIENT)
            .await?
        else {
            return Ok(None);
        };
        let item: SsoClientItem = from_item(item)?;
        Ok(Some(item.org_id))
    }
}
