//! Welcome-email templates: create, replace, delete and preview. The shipped
//! default (id `default`) is read only; an organization has at most
//! [`MAX_TEMPLATES`]; a write names the version it read, and a template
//! that rules use is not deleted. Every write is an activity entry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use tracing::info;

use crate::StoreError;
use crate::activity::{Action, ActivityEntry, Subject, SubjectKind};
use crate::clock::{Clock, IdSource, NoRandomness};
use crate::ids::{OrgId, TemplateId, UserId};
use crate::mail::template::canonical_language;
use crate::mail::{EmailTemplate, RenderedEmail, Variant, WelcomeValues, default_template, render};
use crate::ports::{
    ActivityLog, Configuration, DesiredStates, MAX_TEMPLATES, Organizations, StoredTemplate,
    Templates, Users,
};
use crate::state::Outcome;

/// The sample first name and products of a preview without a user.
const SAMPLE_FIRST_NAME: &str = "Alex";
const SAMPLE_PRODUCT: &str = "GoTo Meeting";

/// Why a template operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no such template")]
    NotFound,
    /// The shipped default cannot be changed or deleted.
    #[error("the default template is built in")]
    ReadOnly,
    /// The template (or the preview's language) is not valid; the message
    /// names the field.
    #[error("{0}")]
    Invalid(String),
    /// The organization has [`MAX_TEMPLATES`] already.
    #[error("an organization has at most {MAX_TEMPLATES} templates")]
    Limit,
    /// Rules use the template: each as `id` or `id ("description")`.
    #[error("rules use the template")]
    InUse(Vec<String>),
    /// The version the caller read is no longer stored.
    #[error("the template was changed by someone else")]
    PreconditionFailed,
    /// The user a preview is for does not exist.
    #[error("no such user")]
    UserNotFound,
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses the shipped default, which cannot be written.
pub fn writable(id: &TemplateId) -> Result<(), TemplateError> {
    if id.is_shipped_default() {
        return Err(TemplateError::ReadOnly);
    }
    Ok(())
}

/// A template's name and texts as an admin gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateInput {
    pub name: String,
    pub variants: BTreeMap<String, Variant>,
}

/// What a preview is asked for: a language, and a user whose values fill
/// the template (sample values otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreviewRequest {
    pub language: Option<String>,
    pub user_id: Option<String>,
}

/// A template read: the shipped default (`stored` is `None`) or one of the
/// organization's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub template: EmailTemplate,
    pub stored: Option<StoredTemplate>,
}

/// The templates' decisions, over the ports they read and write.
pub struct TemplateService<'a, T, C, O, U, S, K, I> {
    pub templates: &'a T,
    /// The rules (a template in use is not deleted).
    pub config: &'a C,
    /// The organization's name and language (previews).
    pub orgs: &'a O,
    /// The user a preview is for.
    pub users: &'a U,
    /// The user's account (previews) and the activity history.
    pub state: &'a S,
    pub clock: &'a K,
    pub ids: &'a I,
}

impl<T, C, O, U, S, K, I> TemplateService<'_, T, C, O, U, S, K, I>
where
    T: Templates,
    C: Configuration,
    O: Organizations,
    U: Users,
    S: DesiredStates + ActivityLog,
    K: Clock,
    I: IdSource,
{
    /// The organization's own templates, by name.
    pub async fn list(&self, org: &OrgId) -> Result<Vec<StoredTemplate>, TemplateError> {
        Ok(self.templates.list_templates(org).await?)
    }

    /// The template `id`: the shipped default when it is `default`.
    pub async fn get(&self, org: &OrgId, id: &TemplateId) -> Result<Found, TemplateError> {
        if id.is_shipped_default() {
            return Ok(Found {
                template: default_template(),
                stored: None,
            });
        }
        let stored = self.stored(org, id).await?;
        Ok(Found {
            template: stored.template.clone(),
            stored: Some(stored),
        })
    }

    async fn stored(&self, org: &OrgId, id: &TemplateId) -> Result<StoredTemplate, TemplateError> {
        self.templates
            .get_template(org, id)
            .await?
            .ok_or(TemplateError::NotFound)
    }

    /// A new template, by `actor`, at version 1.
    pub async fn create(
        &self,
        org: &OrgId,
        actor: &str,
        input: TemplateInput,
    ) -> Result<StoredTemplate, TemplateError> {
        let id = TemplateId::parse(&self.ids.new_id()?)
            .map_err(|e| TemplateError::Invalid(e.to_string()))?;
        let template = parse(id, input)?;
        let count = self.templates.list_templates(org).await?.len();
        if u64::try_from(count).unwrap_or(u64::MAX) >= MAX_TEMPLATES {
            return Err(TemplateError::Limit);
        }
        let stored = StoredTemplate {
            template,
            version: 1,
            updated_at: self.clock.timestamp(),
            updated_by: actor.to_owned(),
        };
        match self.templates.create_template(org, &stored).await {
            Ok(()) => {}
            // the id is fresh: the cap was reached meanwhile
            Err(StoreError::Conflict(_)) => return Err(TemplateError::Limit),
            Err(e) => return Err(e.into()),
        }
        self.record(org, actor, Action::TemplateCreated, &stored)
            .await?;
        Ok(stored)
    }

    /// The template a write changes: one of the organization's, at
    /// `expected` (`None`: any).
    async fn to_write(
        &self,
        org: &OrgId,
        id: &TemplateId,
        expected: Option<u64>,
    ) -> Result<StoredTemplate, TemplateError> {
        writable(id)?;
        let current = self.stored(org, id).await?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(TemplateError::PreconditionFailed);
        }
        Ok(current)
    }

    /// Replaces template `id` with what `input` gives (asked for once the
    /// template is found at `expected`), by `actor`.
    pub async fn replace<E>(
        &self,
        org: &OrgId,
        actor: &str,
        id: &TemplateId,
        expected: Option<u64>,
        input: impl FnOnce() -> Result<TemplateInput, E>,
    ) -> Result<StoredTemplate, E>
    where
        E: From<TemplateError>,
    {
        let current = self.to_write(org, id, expected).await?;
        let stored = StoredTemplate {
            template: parse(id.clone(), input()?)?,
            version: current.version + 1,
            updated_at: self.clock.timestamp(),
            updated_by: actor.to_owned(),
        };
        match self
            .templates
            .replace_template(org, &stored, current.version)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(TemplateError::PreconditionFailed.into()),
            Err(e) => return Err(TemplateError::from(e).into()),
        }
        self.record(org, actor, Action::TemplateUpdated, &stored)
            .await?;
        Ok(stored)
    }

    /// Deletes template `id` at `expected` (`None`: any), by `actor`;
    /// refused while rules use it.
    pub async fn delete(
        &self,
        org: &OrgId,
        actor: &str,
        id: &TemplateId,
        expected: Option<u64>,
    ) -> Result<(), TemplateError> {
        let current = self.to_write(org, id, expected).await?;
        let set = self.config.rule_set(org).await?;
        let users: Vec<String> = set
            .rules
            .iter()
            .filter(|r| r.rule.email_template.as_deref() == Some(id.as_str()))
            .map(|r| {
                if r.rule.description.is_empty() {
                    r.rule.id.to_string()
                } else {
                    format!("{} (\"{}\")", r.rule.id, r.rule.description)
                }
            })
            .collect();
        if !users.is_empty() {
            return Err(TemplateError::InUse(users));
        }
        match self
            .templates
            .delete_template(org, id, current.version)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(TemplateError::PreconditionFailed),
            Err(e) => return Err(e.into()),
        }
        self.record(org, actor, Action::TemplateDeleted, &current)
            .await
    }

    /// The email as a user would receive it from template `id`, with
    /// sample values or a given user's (`request`, asked for once the
    /// template is found). `login_url` is the product's.
    pub async fn preview<E>(
        &self,
        org_id: &OrgId,
        id: &TemplateId,
        login_url: &str,
        request: impl FnOnce() -> Result<PreviewRequest, E>,
    ) -> Result<RenderedEmail, E>
    where
        E: From<TemplateError>,
    {
        let template = self.get(org_id, id).await?.template;
        let request = request()?;
        if let Some(l) = &request.language
            && canonical_language(l).is_none()
        {
            return Err(TemplateError::Invalid(
                "language: not a language tag such as \"de\" or \"pt-BR\"".to_owned(),
            )
            .into());
        }
        let org = self
            .orgs
            .get_org(org_id)
            .await
            .map_err(TemplateError::from)?;
        let mut first_name = Some(SAMPLE_FIRST_NAME.to_owned());
        let mut products = BTreeSet::from([SAMPLE_PRODUCT.to_owned()]);
        let mut user_language = None;
        if let Some(user) = &request.user_id {
            let user = UserId::parse(user).map_err(|_| TemplateError::UserNotFound)?;
            let stored = self
                .users
                .get_user(org_id, &user)
                .await
                .map_err(TemplateError::from)?
                .ok_or(TemplateError::UserNotFound)?;
            let (desired, _) = self
                .state
                .user_state(org_id, &user)
                .await
                .map_err(TemplateError::from)?;
            first_name = stored.user.given_name.clone();
            products = desired
                .as_ref()
                .map(|d| d.assignment.products.clone())
                .unwrap_or_default();
            // as the mailer would choose: the account's language, else the
            // user's locale
            user_language = desired
                .and_then(|d| d.language())
                .map(|l| l.language)
                .or(stored.user.locale);
        }
        let preferred: Vec<&str> = [
            request.language.as_deref(),
            user_language.as_deref(),
            org.as_ref().map(|o| o.default_language.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        Ok(render(
            &template,
            &preferred,
            &WelcomeValues {
                first_name: first_name.as_deref(),
                products: &products,
                login_url,
                company_name: org.as_ref().map_or("your company", |o| o.name.as_str()),
            },
        ))
    }

    /// The activity entry of a write.
    async fn record(
        &self,
        org: &OrgId,
        actor: &str,
        action: Action,
        t: &StoredTemplate,
    ) -> Result<(), TemplateError> {
        let id = t.template.id.to_string();
        let mut entry = ActivityEntry::new(
            self.clock.timestamp(),
            &format!("template#{id}#{action:?}#{}", t.version),
            actor,
            action,
            Subject {
                kind: SubjectKind::Template,
                id: id.clone(),
            },
            Outcome::Success,
        );
        entry.details = json!({
            "name": t.template.name,
            "languages": t.template.languages(),
            "version": t.version,
        });
        self.state.append_activity(org, &entry).await?;
        info!(org = %org, template = %id, action = ?action, "templates changed");
        Ok(())
    }
}

fn parse(id: TemplateId, input: TemplateInput) -> Result<EmailTemplate, TemplateError> {
    EmailTemplate::parse(id, &input.name, input.variants)
        .map_err(|e| TemplateError::Invalid(e.to_string()))
}
