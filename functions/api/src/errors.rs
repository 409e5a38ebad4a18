//! The admin API's one error format: RFC 9457 problem details with a code
//! from [`ErrorCode`], the list clients (and the console) match on.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use schemars::JsonSchema;
use serde::Serialize;
use tracing::warn;
use user_sync_aws::http::response;
use user_sync_core::StoreError;

/// Where the problem types live: `urn:user-sync:problem:{code}`. Stable: a
/// client may match on `type` (or on the same `code`).
pub const PROBLEM_TYPE_PREFIX: &str = "urn:user-sync:problem:";

/// Declares [`ErrorCode`]: each variant with the name clients see.
macro_rules! error_codes {
    ($($variant:ident => $name:literal,)*) => {
        /// Every error code of the admin API: stable, for clients to match
        /// on (docs/admin-api.md#errors says when each is answered).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order declared.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as clients see it (`precondition_failed`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    InvalidBody => "invalid_body",
    InvalidQuery => "invalid_query",
    InvalidHeader => "invalid_header",
    InvalidRequest => "invalid_request",
    Unauthorized => "unauthorized",
    Forbidden => "forbidden",
    NotFound => "not_found",
    ReadOnly => "read_only",
    MethodNotAllowed => "method_not_allowed",
    CatalogInUse => "catalog_in_use",
    Conflict => "conflict",
    FullAdminRuleRequired => "full_admin_rule_required",
    VerifiedDomainRequired => "verified_domain_required",
    DomainExists => "domain_exists",
    TooManyDomains => "too_many_domains",
    RecordNotFound => "record_not_found",
    DomainTaken => "domain_taken",
    DnsLookupFailed => "dns_lookup_failed",
    MassSuspension => "mass_suspension",
    TemplateInUse => "template_in_use",
    TemplateLimit => "template_limit",
    PreconditionFailed => "precondition_failed",
    PayloadTooLarge => "payload_too_large",
    UnknownField => "unknown_field",
    InvalidCatalog => "invalid_catalog",
    InvalidSettings => "invalid_settings",
    InvalidRule => "invalid_rule",
    InvalidDomain => "invalid_domain",
    InvalidTemplate => "invalid_template",
    PreconditionRequired => "precondition_required",
    RateLimited => "rate_limited",
    Internal => "internal",
    Unavailable => "unavailable",
    ProductsUnavailable => "products_unavailable",
    IdentityProviderUnavailable => "identity_provider_unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `console/codes.js`: every code as an exported constant
/// (`export const MASS_SUSPENSION = 'mass_suspension';`), so that the console
/// compares with names the compiler's list keeps true (a unit test fails
/// when the committed file differs).
#[cfg(test)]
pub(crate) fn console_module() -> String {
    let mut module = String::from(
        "// Generated from ErrorCode (functions/api/src/errors.rs): do not edit.\n\
         // UPDATE_OPENAPI=1 cargo test -p api openapi rewrites it.\n\n",
    );
    for code in ErrorCode::ALL {
        let name = code.as_str();
        module.push_str(&format!(
            "export const {} = '{name}';\n",
            name.to_uppercase()
        ));
    }
    module
}

/// The one error of the admin API: RFC 9457 problem details
/// (`application/problem+json`) with `type`, `title`, `status`, `detail`,
/// and the code itself as the extension member `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: ErrorCode,
    pub message: String,
    /// For `405`: the methods the resource allows.
    pub allow: Option<String>,
    /// For `429`: seconds until the organization may call again.
    pub retry_after: Option<u64>,
    /// For a `401` refusing an ID token: `error="invalid_token"` in
    /// `WWW-Authenticate` (RFC 6750 §3.1).
    pub invalid_token: bool,
}

/// An error's body: RFC 9457 problem details.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Problem {
    /// `urn:user-sync:problem:{code}`: stable, for clients to match on.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// The code in words, the same for every occurrence of the type.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, naming the field when there is one.
    pub detail: String,
    /// The error code (docs/admin-api.md#errors lists them).
    pub code: ErrorCode,
}

impl ApiError {
    pub fn new(status: u16, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after: None,
            invalid_token: false,
        }
    }

    /// The message every refused credential gets.
    pub const BAD_CREDENTIAL: &'static str = "a valid admin bearer token is required";

    /// `401 unauthorized` for a refused ID token: the same message as a bad
    /// key, and `error="invalid_token"`.
    pub fn invalid_token() -> Self {
        Self {
            invalid_token: true,
            ..Self::new(401, ErrorCode::Unauthorized, Self::BAD_CREDENTIAL)
        }
    }

    pub fn with_allow(mut self, allow: String) -> Self {
        self.allow = Some(allow);
        self
    }

    /// `429 rate_limited`: the organization sent more than its limit in
    /// this window.
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        Self {
            retry_after: Some(retry_after_seconds),
            ..Self::new(
                429,
                ErrorCode::RateLimited,
                format!(
                    "too many requests for this organization; retry after {retry_after_seconds} seconds"
                ),
            )
        }
    }

    /// `500 internal`: its cause is logged where it happens, never sent.
    pub fn internal() -> Self {
        Self::new(500, ErrorCode::Internal, "internal error")
    }

    /// The problem's `title`: its code in words ("precondition_failed" →
    /// "Precondition failed"), the same for every occurrence of the type.
    pub fn title(&self) -> String {
        let words = self.code.as_str().replace('_', " ");
        let mut chars = words.chars();
        chars
            .next()
            .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
            .unwrap_or_default()
    }

    pub fn body(&self) -> Problem {
        Problem {
            problem_type: format!("{PROBLEM_TYPE_PREFIX}{}", self.code),
            title: self.title(),
            status: self.status,
            detail: self.message.clone(),
            code: self.code,
        }
    }

    pub fn response(&self) -> ApiGatewayV2httpResponse {
        let headers: Vec<(&str, String)> = (self.allow.iter().map(|a| ("allow", a.clone())))
            .chain(self.retry_after.map(|s| ("retry-after", s.to_string())))
            // RFC 9110 §15.5.2: a 401 names the scheme to authenticate with
            .chain((self.status == 401).then(|| {
                let error = if self.invalid_token {
                    ", error=\"invalid_token\""
                } else {
                    ""
                };
                (
                    "www-authenticate",
                    format!("Bearer realm=\"user-sync-admin\"{error}"),
                )
            }))
            .collect();
        response(
            self.status,
            "application/problem+json",
            serde_json::to_string(&self.body()).unwrap_or_default(),
            &headers,
        )
    }
}

pub(crate) fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::new(404, ErrorCode::NotFound, "not found"),
        StoreError::Conflict(_) => ApiError::new(
            409,
            ErrorCode::Conflict,
            "the resource was changed or exists already",
        ),
        StoreError::Invalid(_) => ApiError::new(
            400,
            ErrorCode::InvalidRequest,
            "the request could not be stored",
        ),
        StoreError::Transient(source) => {
            warn!(error = %source, "storage temporarily unavailable");
            ApiError::new(
                503,
                ErrorCode::Unavailable,
                "temporarily unavailable, retry later",
            )
        }
        StoreError::Permanent(source) => {
            warn!(error = %source, "storage failure");
            ApiError::internal()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_written_as_clients_see_it() {
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::Value::from(code.as_str())
            );
        }
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len(), "codes are unique");
    }

    #[test]
    fn a_problem_carries_its_code_as_type_title_and_code() {
        let problem = ApiError::new(412, ErrorCode::PreconditionFailed, "stale").body();
        assert_eq!(
            serde_json::to_value(&problem).unwrap(),
            serde_json::json!({
                "type": "urn:user-sync:problem:precondition_failed",
                "title": "Precondition failed",
                "status": 412,
                "detail": "stale",
                "code": "precondition_failed",
            })
        );
    }
}
