//! DirectoryTable: an organization's domains (`{org}#DOMAINS`, one item per
//! domain) and the global claims (`DOMAINCLAIM#{domain}`), the one place a
//! key does not start with an organization: a domain can be held by one
//! organization only, which a conditional write of that one item decides.

use aws_sdk_dynamodb::types::AttributeValue;
use user_sync_core::StoreError;
use user_sync_core::domains::{ClaimMode, DomainClaim, DomainName, Domains, OrgDomain};
use user_sync_core::ids::OrgId;

use super::directory::DirectoryTable;
use super::errors::{json, map_sdk_error};
use super::items::{ClaimItem, DomainItem, claim_pk, domains_pk, sk};
use super::values::{from_item, to_item};

fn domain_item(org: &OrgId, d: &OrgDomain) -> Result<DomainItem, StoreError> {
    Ok(DomainItem {
        pk: domains_pk(org),
        sk: format!("{}{}", sk::DOMAIN, d.domain),
        org_id: org.clone(),
        doc: serde_json::to_string(d).map_err(json)?,
    })
}

pub(super) fn org_domain(item: DomainItem) -> Result<OrgDomain, StoreError> {
    serde_json::from_str(&item.doc).map_err(json)
}

impl DirectoryTable {
    async fn put_domain_item(
        &self,
        org: &OrgId,
        d: &OrgDomain,
        condition: &str,
    ) -> Result<(), StoreError> {
        let item = to_item(&domain_item(org, d)?)?;
        self.client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item))
            .condition_expression(condition)
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }
}

impl Domains for DirectoryTable {
    async fn list_domains(&self, org: &OrgId) -> Result<Vec<OrgDomain>, StoreError> {
        self.query_all(domains_pk(org), Some(sk::DOMAIN))
            .await?
            .into_iter()
            .map(|i| org_domain(from_item(i)?))
            .collect()
    }

    async fn get_domain(
        &self,
        org: &OrgId,
        domain: &DomainName,
    ) -> Result<Option<OrgDomain>, StoreError> {
        let Some(item) = self
            .get(domains_pk(org), &format!("{}{domain}", sk::DOMAIN))
            .await?
        else {
            return Ok(None);
        };
        org_domain(from_item(item)?).map(Some)
    }

    async fn add_domain(&self, org: &OrgId, d: &OrgDomain) -> Result<(), StoreError> {
        self.put_domain_item(org, d, "attribute_not_exists(pk)")
            .await
    }

    async fn put_domain(&self, org: &OrgId, d: &OrgDomain) -> Result<(), StoreError> {
        match self.put_domain_item(org, d, "attribute_exists(pk)").await {
            Err(StoreError::Conflict(_)) => Err(StoreError::NotFound),
            r => r,
        }
    }

    async fn remove_domain(&self, org: &OrgId, domain: &DomainName) -> Result<(), StoreError> {
        let removed = self
            .client()
            .delete_item()
            .table_name(self.table_name())
            .key("pk", AttributeValue::S(domains_pk(org)))
            .key("sk", AttributeValue::S(format!("{}{domain}", sk::DOMAIN)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await
            .map_err(map_sdk_error);
        match removed {
            Err(StoreError::Conflict(_)) => return Err(StoreError::NotFound),
            r => r?,
        };
        // the claim goes with it, when this organization holds it
        let released = self
            .client()
            .delete_item()
            .table_name(self.table_name())
            .key("pk", AttributeValue::S(claim_pk(domain)))
            .key("sk", AttributeValue::S(sk::CLAIM.to_owned()))
            .condition_expression("orgId = :org")
            .expression_attribute_values(":org", AttributeValue::S(org.to_string()))
            .send()
            .await
            .map_err(map_sdk_error);
        match released {
            Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn claim(&self, claim: &DomainClaim, mode: ClaimMode) -> Result<(), StoreError> {
        let item = to_item(&ClaimItem {
            pk: claim_pk(&claim.domain),
            sk: sk::CLAIM.to_owned(),
            org_id: claim.org.clone(),
            domain: claim.domain.to_string(),
            at: claim.at.clone(),
            by_ops: claim.by_ops,
        })?;
        let mut put = self
            .client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(item));
        if mode == ClaimMode::FirstCome {
            put = put
                .condition_expression("attribute_not_exists(pk) OR orgId = :org")
                .expression_attribute_values(":org", AttributeValue::S(claim.org.to_string()));
        }
        put.send().await.map_err(map_sdk_error)?;
        Ok(())
    }

    async fn get_claim(&self, domain: &DomainName) -> Result<Option<DomainClaim>, StoreError> {
        let Some(item) = self.get(claim_pk(domain), sk::CLAIM).await? else {
            return Ok(None);
        };
        let c: ClaimItem = from_item(item)?;
        Ok(Some(DomainClaim {
            domain: domain.clone(),
            org: c.org_id,
            at: c.at,
            by_ops: c.by_ops,
        }))
    }
}
