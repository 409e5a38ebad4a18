//! Welcome-email templates: list, create, read, replace, delete and preview.
//! The shipped default (id `default`) is listed and previewed like the
//! others but cannot be changed. Writes take `If-Match` (`428` without it,
//! `412` when stale), as rules do; a template that rules use cannot be
//! deleted.

use std::collections::BTreeMap;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::clock::{RandomIds, SystemClock};
use user_sync_core::ids::TemplateId;
pub use user_sync_core::mail::RenderedEmail;
use user_sync_core::mail::{EmailTemplate, Variant, default_template};
use user_sync_core::ports::{
    Configuration, Directory, Organizations, StoredTemplate, SyncState, Templates,
};
use user_sync_core::service::templates::{
    PreviewRequest, TemplateError, TemplateInput, TemplateService, writable,
};
use user_sync_core::sso::Caller;

use crate::PREFIX;
use crate::body::Json;
use crate::errors::ApiError;
use crate::routes::{json_response, ok};
use crate::rules::{if_match, with_etag};

/// What a handler needs.
pub struct Ctx<'a, D, S> {
    pub directory: &'a D,
    pub state: &'a S,
    pub caller: &'a Caller,
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

fn parse_id(s: &str) -> Result<TemplateId, ApiError> {
    TemplateId::parse(s).map_err(|_| TemplateError::NotFound.into())
}

impl From<TemplateBody> for TemplateInput {
    fn from(body: TemplateBody) -> Self {
        TemplateInput {
            name: body.name,
            variants: body.variants,
        }
    }
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

/// The templates' service over the handler's ports.
type Service<'a, D, S> = TemplateService<'a, D, D, D, D, S, SystemClock, RandomIds>;

impl<D, S> Ctx<'_, D, S>
where
    D: Directory + Configuration + Organizations + Templates,
    S: SyncState,
{
    fn templates(&self) -> Service<'_, D, S> {
        TemplateService {
            templates: self.directory,
            config: self.directory,
            orgs: self.directory,
            users: self.directory,
            state: self.state,
            clock: &SystemClock,
            ids: &RandomIds,
        }
    }

    /// `GET /templates`: the shipped default first, then the organization's
    /// own, by name (without their texts).
    pub async fn list(&self) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let stored = self.templates().list(&self.caller.org).await?;
        let mut items = vec![summary(&default_template(), None)];
        items.extend(stored.iter().map(|s| summary(&s.template, Some(s))));
        ok(&TemplateList { items })
    }

    /// The template a `PUT` or `DELETE` writes, and the version `If-Match`
    /// names: the shipped default is refused first.
    fn to_write(&self, id: &str, req: &HttpRequest) -> Result<(TemplateId, Option<u64>), ApiError> {
        let id = parse_id(id)?;
        writable(&id)?;
        Ok((id, if_match(req, true)?.flatten()))
    }

    pub async fn get(&self, id: &str) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let id = parse_id(id)?;
        let found = self.templates().get(&self.caller.org, &id).await?;
        match &found.stored {
            None => json_response(200, &template_view(&found.template, None), &[]),
            Some(stored) => stored_response(200, stored),
        }
    }

    pub async fn create(
        &self,
        body: Json<'_, TemplateBody>,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let body = body.read()?;
        let stored = self
            .templates()
            .create(&self.caller.org, &self.caller.name, body.into())
            .await?;
        let mut r = stored_response(201, &stored)?;
        if let Ok(location) = format!("{PREFIX}/templates/{}", stored.template.id).parse() {
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
        let (id, expected) = self.to_write(id, req)?;
        let body = || body.read().map(TemplateInput::from);
        let stored = self
            .templates()
            .replace(&self.caller.org, &self.caller.name, &id, expected, body)
            .await?;
        stored_response(200, &stored)
    }

    /// `DELETE /templates/{id}` with `If-Match`; refused while rules use it.
    pub async fn delete(
        &self,
        id: &str,
        req: &HttpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (id, expected) = self.to_write(id, req)?;
        self.templates()
            .delete(&self.caller.org, &self.caller.name, &id, expected)
            .await?;
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
        let request = || {
            let body = body.read()?;
            Ok::<_, ApiError>(PreviewRequest {
                language: body.language,
                user_id: body.user_id,
            })
        };
        let email = self
            .templates()
            .preview(&self.caller.org, &id, self.login_url, request)
            .await?;
        ok(&email)
    }
}
