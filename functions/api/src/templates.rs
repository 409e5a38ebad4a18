//! Welcome-email templates: list, create, read, replace, delete and preview.
//! The shipped default (id `default`) is listed and previewed like the
//! others but cannot be changed. Writes take `If-Match` (`428` without it,
//! `412` when stale), as rules do; a template that rules use cannot be
//! deleted.

use std::collections::{BTreeMap, BTreeSet};

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, Subject, SubjectKind};
use user_sync_core::auth::StoredToken;
use user_sync_core::ids::{TemplateId, new_id};
pub use user_sync_core::mail::RenderedEmail;
use user_sync_core::mail::template::canonical_language;
use user_sync_core::mail::{EmailTemplate, Variant, WelcomeValues, default_template, render};
use user_sync_core::ports::{
    Configuration, Directory, MAX_TEMPLATES, Organizations, StoredTemplate, SyncState, Templates,
};
use user_sync_core::state::Outcome;

use crate::PREFIX;
use crate::body::Json;
use crate::errors::{ApiError, ErrorCode, store_error};
use crate::routes::{json_response, now, ok};
use crate::rules::{if_match, stale, with_etag};

/// The sample first name and products of a preview without a user.
const SAMPLE_FIRST_NAME: &str = "Alex";
const SAMPLE_PRODUCT: &str = "GoTo Meeting";

/// What a handler needs.
pub struct Ctx<'a, D, S> {
    pub directory: &'a D,
    pub state: &'a S,
    pub token: &'a StoredToken,
    pub login_url: &'a str,
}

/// The body of `POST /templates` and `PUT /templates/{id}`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    name: String,
    variants: BTreeMap<String, Variant>,
}

/// The body of `POST /templates/{id}/preview` (optional).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplatePreviewBody {
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::new(404, ErrorCode::NotFound, "no such template")
}

/// `405`: the shipped default is built in.
fn read_only() -> ApiError {
    ApiError::new(
        405,
        ErrorCode::ReadOnly,
        "the default template is built in and cannot be changed or deleted; create a template of your own instead",
    )
    .with_allow("GET".to_owned())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(422, ErrorCode::InvalidTemplate, message)
}

fn parse_id(s: &str) -> Result<TemplateId, ApiError> {
    TemplateId::parse(s).map_err(|_| not_found())
}

/// A template as listed: without its texts.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSummary {
    pub id: TemplateId,
    pub name: String,
    pub languages: Vec<String>,
    /// The shipped default: it cannot be changed or deleted.
    pub read_only: bool,
    /// `null` for the shipped default.
    pub version: Option<u64>,
    pub updated_at: Option<String>,
    pub updated_by: Option<String>,
}

/// `GET /templates`: the shipped default first, then the organization's own.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateList {
    pub items: Vec<TemplateSummary>,
}

/// A template with its texts.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateView {
    #[serde(flatten)]
    pub summary: TemplateSummary,
    /// Subject and body per language tag.
    pub variants: BTreeMap<String, Variant>,
}

fn summary(t: &EmailTemplate, stored: Option<&StoredTemplate>) -> TemplateSummary {
    TemplateSummary {
        id: t.id.clone(),
        name: t.name.clone(),
        languages: t.languages().into_iter().map(str::to_owned).collect(),
        read_only: stored.is_none(),
        version: stored.map(|s| s.version),
        updated_at: stored.map(|s| s.updated_at.clone()),
        updated_by: stored.map(|s| s.updated_by.clone()),
    }
}

fn template_view(t: &EmailTemplate, stored: Option<&StoredTemplate>) -> TemplateView {
    TemplateView {
        summary: summary(t, stored),
        variants: t.variants.clone(),
    }
}

fn stored_response(status: u16, s: &StoredTemplate) -> Result<ApiGatewayV2httpResponse, ApiError> {
    with_etag(status, &template_view(&s.template, Some(s)), s.version)
}

/// Checks a body and builds the template it describes.
fn template_from(id: TemplateId, body: &Json<'_, TemplateBody>) -> Result<EmailTemplate, ApiError> {
    let body = body.read()?;
    EmailTemplate::parse(id, &body.name, body.variants).map_err(|e| invalid(e.to_string()))
}

impl<D, S> Ctx<'_, D, S>
where
    D: Directory + Configuration + Organizations + Templates,
    S: SyncState,
{
    /// `GET /templates`: the shipped default first, then the organization's
    /// own, by name (without their texts).
    pub async fn list(&self) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let stored = self
            .directory
            .list_templates(&self.token.org_id)
            .await
            .map_err(store_error)?;
        let mut items = vec![summary(&default_template(), None)];
        items.extend(stored.iter().map(|s| summary(&s.template, Some(s))));
        ok(&TemplateList { items })
    }

    /// The template `id` (the shipped default when it is `default`).
    async fn read(&self, id: &TemplateId) -> Result<Option<StoredTemplate>, ApiError> {
        self.directory
            .get_template(&self.token.org_id, id)
            .await
            .map_err(store_error)
    }

    /// The template a `PUT` or `DELETE` writes: it must exist, not be the
    /// shipped default, and be at the version `If-Match` names.
    async fn to_write(
        &self,
        id: &str,
        req: &HttpRequest,
    ) -> Result<(TemplateId, StoredTemplate), ApiError> {
        let id = parse_id(id)?;
        if id.is_shipped_default() {
            return Err(read_only());
        }
        let expected = if_match(req, true)?.flatten();
        let current = self.read(&id).await?.ok_or_else(not_found)?;
        if expected.is_some_and(|v| v != current.version) {
            return Err(stale("the template"));
        }
        Ok((id, current))
    }

    pub async fn get(&self, id: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_id(id)?;
        if id.is_shipped_default() {
            return json_response(200, &template_view(&default_template(), None), &[]);
        }
        let stored = self.read(&id).await?.ok_or_else(not_found)?;
        stored_response(200, &stored)
    }

    pub async fn create(
        &self,
        body: Json<'_, TemplateBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random)
            .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
        let id = TemplateId::parse(&new_id(random))
            .map_err(|_| ApiError::new(500, ErrorCode::Internal, "internal error"))?;
        let template = template_from(id.clone(), &body)?;
        let org = &self.token.org_id;
        let count = self
            .directory
            .list_templates(org)
            .await
            .map_err(store_error)?
            .len();
        let limit = || {
            ApiError::new(
                409,
                ErrorCode::TemplateLimit,
                format!(
                    "an organization has at most {MAX_TEMPLATES} templates; delete one you no longer use"
                ),
            )
        };
        if u64::try_from(count).unwrap_or(u64::MAX) >= MAX_TEMPLATES {
            return Err(limit());
        }
        let stored = StoredTemplate {
            template,
            version: 1,
            updated_at: now(),
            updated_by: self.token.name.clone(),
        };
        match self.directory.create_template(org, &stored).await {
            Ok(()) => {}
            // the id is fresh: the cap was reached meanwhile
            Err(StoreError::Conflict(_)) => return Err(limit()),
            Err(e) => return Err(store_error(e)),
        }
        self.record(Action::TemplateCreated, &stored).await?;
        let mut r = stored_response(201, &stored)?;
        if let Ok(location) = format!("{PREFIX}/templates/{id}").parse() {
            r.headers.insert("location", location);
        }
        Ok(r)
    }

    /// `PUT /templates/{id}` with `If-Match`.
    pub async fn replace(
        &self,
        id: &str,
        req: &HttpRequest,
        body: Json<'_, TemplateBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (id, current) = self.to_write(id, req).await?;
        let stored = StoredTemplate {
            template: template_from(id, &body)?,
            version: current.version + 1,
            updated_at: now(),
            updated_by: self.token.name.clone(),
        };
        match self
            .directory
            .replace_template(&self.token.org_id, &stored, current.version)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(stale("the template")),
            Err(e) => return Err(store_error(e)),
        }
        self.record(Action::TemplateUpdated, &stored).await?;
        stored_response(200, &stored)
    }

    /// `DELETE /templates/{id}` with `If-Match`; refused while rules use it.
    pub async fn delete(
        &self,
        id: &str,
        req: &HttpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (id, current) = self.to_write(id, req).await?;
        let org = &self.token.org_id;
        let set = self.directory.rule_set(org).await.map_err(store_error)?;
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
            return Err(ApiError::new(
                409,
                ErrorCode::TemplateInUse,
                format!(
                    "the template is the welcome email of {} rule{}: {}; give {} another template first",
                    users.len(),
                    if users.len() == 1 { "" } else { "s" },
                    users.join(", "),
                    if users.len() == 1 { "it" } else { "them" },
                ),
            ));
        }
        match self
            .directory
            .delete_template(org, &id, current.version)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(stale("the template")),
            Err(e) => return Err(store_error(e)),
        }
        self.record(Action::TemplateDeleted, &current).await?;
        Ok(response(204, "application/json", String::new(), &[]))
    }

    /// `POST /templates/{id}/preview`: the email as a user would receive it,
    /// with sample values or a given user's.
    pub async fn preview(
        &self,
        id: &str,
        body: Json<'_, TemplatePreviewBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_id(id)?;
        let template = if id.is_shipped_default() {
            default_template()
        } else {
            self.read(&id).await?.ok_or_else(not_found)?.template
        };
        let body = body.read()?;
        if let Some(l) = &body.language
            && canonical_language(l).is_none()
        {
            return Err(invalid(
                "language: not a language tag such as \"de\" or \"pt-BR\"",
            ));
        }
        let org_id = &self.token.org_id;
        let org = self.directory.get_org(org_id).await.map_err(store_error)?;
        let mut first_name = Some(SAMPLE_FIRST_NAME.to_owned());
        let mut products = BTreeSet::from([SAMPLE_PRODUCT.to_owned()]);
        let mut user_language = None;
        if let Some(user) = &body.user_id {
            let stored = crate::users::existing(self.directory, org_id, user).await?;
            let user = stored.user.id.clone();
            let (desired, _) = self
                .state
                .user_state(org_id, &user)
                .await
                .map_err(store_error)?;
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
            body.language.as_deref(),
            user_language.as_deref(),
            org.as_ref().map(|o| o.default_language.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let email = render(
            &template,
            &preferred,
            &WelcomeValues {
                first_name: first_name.as_deref(),
                products: &products,
                login_url: self.login_url,
                company_name: org.as_ref().map_or("your company", |o| o.name.as_str()),
            },
        );
        ok(&email)
    }

    async fn record(&self, action: Action, t: &StoredTemplate) -> Result<(), ApiError> {
        let at = now();
        let id = t.template.id.to_string();
        let mut entry = ActivityEntry::new(
            at,
            &format!("template#{id}#{action:?}#{}", t.version),
            &self.token.name,
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
        self.state
            .append_activity(&self.token.org_id, &entry)
            .await
            .map_err(store_error)?;
        info!(org = %self.token.org_id, template = %id, action = ?action, "templates changed");
        Ok(())
    }
}
