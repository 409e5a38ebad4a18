//! The HTTP answer to each refusal of a domain service: one `From` per
//! error type, with the status, code and detail the admin API documents.

use tracing::warn;
use user_sync_core::service::guardrail::Guardrail;
use user_sync_core::service::rules::RuleError;
use user_sync_core::service::settings::{Invalid, SettingsError};
use user_sync_core::service::sync::SyncError;
use user_sync_core::service::templates::TemplateError;
use user_sync_core::service::{self};

use crate::errors::{ApiError, ErrorCode, store_error};

fn internal(e: &impl std::error::Error) -> ApiError {
    warn!(error = %e, "internal error");
    ApiError::new(500, ErrorCode::Internal, "internal error")
}

/// `412`: `what` changed since the client read it.
pub(crate) fn stale(what: &str) -> ApiError {
    ApiError::new(
        412,
        ErrorCode::PreconditionFailed,
        format!("{what} was changed by someone else; read it again and retry"),
    )
}

fn mass_suspension(g: &Guardrail, what: &str) -> ApiError {
    ApiError::new(409, ErrorCode::MassSuspension, g.message(what))
}

/// `409 conflict`: other writes kept landing first.
fn kept_changing() -> ApiError {
    ApiError::new(
        409,
        ErrorCode::Conflict,
        "the rules kept changing while this request was applied; retry",
    )
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Invalid { message, .. } => {
                ApiError::new(422, ErrorCode::InvalidRule, message)
            }
            RuleError::TooMany => ApiError::new(
                422,
                ErrorCode::InvalidRule,
                format!(
                    "at most {} rules per organization",
                    service::rules::MAX_RULES
                ),
            ),
            RuleError::NotFound => ApiError::new(404, ErrorCode::NotFound, "no such rule"),
            RuleError::FullAdminRequired => ApiError::new(
                409,
                ErrorCode::FullAdminRuleRequired,
                "while sync is on, at least one rule must grant Full Admin; turn sync off first, or give another rule Full Admin",
            ),
            RuleError::MassSuspension(g) => mass_suspension(&g, "this rule change"),
            RuleError::Conflict => kept_changing(),
            RuleError::PreconditionFailed(what) => stale(&what.to_string()),
            RuleError::ProductsUnavailable => ApiError::new(
                503,
                ErrorCode::ProductsUnavailable,
                "the product API did not answer, so the rule's products cannot be checked; try again shortly",
            ),
            RuleError::NoRandomness(e) => internal(&e),
            RuleError::Store(e) => store_error(e),
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::VerifiedDomainRequired(reason) => {
                ApiError::new(409, ErrorCode::VerifiedDomainRequired, reason)
            }
            SyncError::FullAdminRequired => ApiError::new(
                409,
                ErrorCode::FullAdminRuleRequired,
                "sync cannot be turned on until at least one rule grants Full Admin",
            ),
            SyncError::MassSuspension(g) => mass_suspension(&g, "turning sync on"),
            SyncError::Conflict => kept_changing(),
            SyncError::Store(e) => store_error(e),
        }
    }
}

impl From<TemplateError> for ApiError {
    fn from(e: TemplateError) -> Self {
        match e {
            TemplateError::NotFound => ApiError::new(404, ErrorCode::NotFound, "no such template"),
            TemplateError::ReadOnly => ApiError::new(
                405,
                ErrorCode::ReadOnly,
                "the default template is built in and cannot be changed or deleted; create a template of your own instead",
            )
            .with_allow("GET".to_owned()),
            TemplateError::Invalid(message) => ApiError::new(422, ErrorCode::InvalidTemplate, message),
            TemplateError::Limit => ApiError::new(
                409,
                ErrorCode::TemplateLimit,
                format!(
                    "an organization has at most {} templates; delete one you no longer use",
                    user_sync_core::ports::MAX_TEMPLATES
                ),
            ),
            TemplateError::InUse(users) => {
                let one = users.len() == 1;
                ApiError::new(
                    409,
                    ErrorCode::TemplateInUse,
                    format!(
                        "the template is the welcome email of {} rule{}: {}; give {} another template first",
                        users.len(),
                        if one { "" } else { "s" },
                        users.join(", "),
                        if one { "it" } else { "them" },
                    ),
                )
            }
            TemplateError::PreconditionFailed => stale("the template"),
            TemplateError::UserNotFound => ApiError::new(404, ErrorCode::NotFound, "no such user"),
            TemplateError::NoRandomness(e) => internal(&e),
            TemplateError::Store(e) => store_error(e),
        }
    }
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> Self {
        match e {
            SettingsError::NotFound => {
                ApiError::new(404, ErrorCode::NotFound, "no such organization")
            }
            SettingsError::Stale(what) => stale(what),
            SettingsError::Invalid(Invalid::Catalog(e)) => {
                ApiError::new(422, ErrorCode::InvalidCatalog, e.to_string())
            }
            SettingsError::Invalid(Invalid::CustomAttributes(e)) => ApiError::new(
                400,
                ErrorCode::InvalidBody,
                format!("attributes: {}", e.reason),
            ),
            SettingsError::Invalid(e @ (Invalid::Retention(_) | Invalid::Guardrail)) => {
                ApiError::new(422, ErrorCode::InvalidSettings, e.to_string())
            }
            e @ SettingsError::CatalogInUse { .. } => {
                ApiError::new(409, ErrorCode::CatalogInUse, e.to_string())
            }
            SettingsError::Store(e) => store_error(e),
        }
    }
}
