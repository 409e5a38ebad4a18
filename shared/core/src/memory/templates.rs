//! Welcome-email templates in memory, with the limit and version contracts
//! of [`Templates`].

use super::*;
use crate::ids::TemplateId;
use crate::ports::{MAX_TEMPLATES, StoredTemplate, Templates};

fn stale() -> StoreError {
    StoreError::Conflict("the template is not at the version read".to_owned())
}

impl Templates for MemoryStore {
    async fn list_templates(&self, org: &OrgId) -> Result<Vec<StoredTemplate>, StoreError> {
        let mut all: Vec<StoredTemplate> =
            self.with_org(org, |o| o.templates.values().cloned().collect());
        all.sort_by(|a, b| a.template.name.cmp(&b.template.name));
        Ok(all)
    }

    async fn get_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
    ) -> Result<Option<StoredTemplate>, StoreError> {
        Ok(self.with_org(org, |o| o.templates.get(id).cloned()))
    }

    async fn create_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| {
            let t = &mut o.templates;
            if t.contains_key(&template.template.id) {
                return Err(StoreError::Conflict("the template exists".to_owned()));
            }
            if u64::try_from(t.len()).unwrap_or(u64::MAX) >= MAX_TEMPLATES {
                return Err(StoreError::Conflict(
                    "the organization has as many templates as it may".to_owned(),
                ));
            }
            t.insert(template.template.id.clone(), template.clone());
            Ok(())
        })
    }

    async fn replace_template(
        &self,
        org: &OrgId,
        template: &StoredTemplate,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.templates.get_mut(&template.template.id) {
            Some(stored) if stored.version == expected_version => {
                *stored = template.clone();
                Ok(())
            }
            _ => Err(stale()),
        })
    }

    async fn delete_template(
        &self,
        org: &OrgId,
        id: &TemplateId,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.with_org(org, |o| match o.templates.get(id) {
            Some(stored) if stored.version == expected_version => {
                o.templates.remove(id);
                Ok(())
            }
            _ => Err(stale()),
        })
    }
}
