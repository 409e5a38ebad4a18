//! DirectoryTable: welcome-email templates, at `{org}#TEMPLATES` /
//! `TEMPLATE#{id}`, with the organization's template count at
//! `{org}#TEMPLATES` / `COUNT` (the cap holds under concurrent creates).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use user_sync_core::StoreError;
use user_sync_core::ids::{OrgId, TemplateId};
use user_sync_core::mail::EmailTemplate;
use user_sync_core::ports::{MAX_TEMPLATES, StoredTemplate, Templates};

use super::directory::DirectoryTable;
use super::errors::{json, map_sdk_error};
use super::items::{TemplateItem, sk, templates_pk};
use super::values::{build, from_item, n, to_item};

fn template_sk(id: &TemplateId) -> String {
    format!("{}{id}", sk::TEMPLATE)
}

fn item(org: &OrgId, t: &StoredTemplate) -> Result<TemplateItem, StoreError> {
    Ok(TemplateItem {
        pk: templates_pk(org),
        sk: template_sk(&t.template.id),
        org_id: org.clone(),
        template_id: t.template.id.clone(),
        name: t.template.name.clone(),
        variants: serde_json::to_string(&t.template.variants).map_err(json)?,
        version: t.version,
        updated_at: t.updated_at.clone(),
        updated_by: t.updated_by.clone(),
    })
}

fn stored(item: TemplateItem) -> Result<StoredTemplate, StoreError> {
    Ok(StoredTemplate {
        template: EmailTemplate {
            id: item.template_id,
            name: item.name,
            variants: serde_json::from_str(&item.variants).map_err(json)?,
        },
        version: item.version,
        updated_at: item.updated_at,
        updated_by: item.updated_by,
    })
}

impl DirectoryTable {
    /// The count item, one up on create (on the condition that the cap is
    /// not reached) or one down on delete.
    fn count_update(&self, org: &OrgId, create: bool) -> Result<Update, StoreError> {
        let b = Update::builder()
            .table_name(self.table_name())
            .key("pk", AttributeValue::S(templates_pk(org)))
            .key("sk", AttributeValue::S(sk::TEMPLATE_COUNT.to_owned()))
            .expression_attribute_names("#n", "templateCount")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0));
        let b = if create {
            b.update_expression("SET #n = if_not_exists(#n, :zero) + :one, orgId = :org")
                .condition_expression("attribute_not_exists(#n) OR #n < :max")
                .expression_attribute_values(":max", n(MAX_TEMPLATES))
                .expression_attribute_values(":org", AttributeValue::S(org.to_string()))
        } else {
            b.update_expression("SET #n = if_not_exists(#n, :one) - :one")
        };
        build(b.build())
    }
}

impl Templates for DirectoryTable {
    async fn list_templates(&self, org: &OrgId) -> Result<Vec<StoredTemplate>, StoreError> {
        let mut out = Vec::new();
        for i in self
            .query_all(templates_pk(org), Some(sk::TEMPLATE))
            .await?
        {
            let i: TemplateItem = from_item(i)?;
            out.push(stored(i)?);
        }
        out.sort_by(|a, b| {
            a.template
                .name
                .to_lowercase()
                .cmp(&b.template.name.to_lowercase())
                .then_with(|| a.template.id.cmp(&b.template.id))
        });
        Ok(out)
    }

    async fn get_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        match self.get(templates_pk(org), &template_sk(id)).await? {
            Some(i) => stored(from_item(i)?).map(Some),
            None => Ok(None),
        }
    }

    async fn create_template(&self, org: &OrgId, t: &StoredTemplate) -> Result<(), StoreError> {
        let put = build(
            Put::builder()
                .table_name(self.table_name())
                .set_item(Some(to_item(&item(org, t)?)?))
                .condition_expression("attribute_not_exists(pk)")
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder().put(put).build(),
            TransactWriteItem::builder()
                .update(self.count_update(org, true)?)
                .build(),
        ])
        .await
    }

    async fn replace_template(
        &self,
        org: &OrgId,
        t: &StoredTemplate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table_name())
            .set_item(Some(to_item(&item(org, t)?)?))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", n(expected_version))
            .send()
            .await
            .map_err(map_sdk_error)?;
        Ok(())
    }

    async fn delete_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(self.table_name())
                .key("pk", AttributeValue::S(templates_pk(org)))
                .key("sk", AttributeValue::S(template_sk(id)))
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(expected_version))
                .build(),
        )?;
        self.transact(vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder()
                .update(self.count_update(org, false)?)
                .build(),
        ])
        .await
    }
}
