//! Answers: SCIM JSON with its ETag and Location, `304`, `204`, the
//! request's JSON body and projection, and every error mapped to a SCIM
//! error (one `From` per service error).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::{Value, json};
use tracing::warn;
use user_sync_aws::http::{HttpRequest, response};
use user_sync_core::StoreError;
use user_sync_core::scim::{
    LIST_RESPONSE_SCHEMA, Projection, ScimError, etag, if_none_match_names,
};
use user_sync_core::service::scim_error::ScimWriteError;

use crate::SCIM_JSON;

/// A storage failure as a SCIM error: a conflict is `412` (the version
/// moved on), a failure `503` or `500` (logged, never shown).
pub(crate) fn store_error(e: StoreError) -> ScimError {
    match e {
        StoreError::NotFound => ScimError::not_found("resource not found"),
        StoreError::Conflict(_) => ScimError::precondition_failed(),
        StoreError::Invalid(_) => ScimError::invalid_value("the request could not be stored"),
        StoreError::Transient(source) => {
            warn!(error = %source, "storage temporarily unavailable");
            ScimError::unavailable()
        }
        StoreError::Permanent(source) => {
            warn!(error = %source, "storage failure");
            ScimError::internal()
        }
    }
}

/// A refusal of the users or groups service as a SCIM error (the one
/// mapping; the orphan rule keeps it a function: both types are the
/// domain's). `resource` names what was not found.
pub(crate) fn write_error(e: ScimWriteError, resource: &str) -> ScimError {
    match e {
        ScimWriteError::NotFound => ScimError::not_found(format!("{resource} not found")),
        ScimWriteError::Uniqueness => {
            ScimError::uniqueness("a user with this userName already exists")
        }
        ScimWriteError::PreconditionFailed | ScimWriteError::Conflict(_) => {
            ScimError::precondition_failed()
        }
        ScimWriteError::Invalid(e) => e,
        ScimWriteError::NoRandomness(_) => ScimError::internal(),
        ScimWriteError::Store(e) => store_error(e),
    }
}

/// A refusal of the users service as a SCIM error.
pub(crate) fn user_error(e: ScimWriteError) -> ScimError {
    write_error(e, "user")
}

/// A refusal of the groups service as a SCIM error.
pub(crate) fn group_error(e: ScimWriteError) -> ScimError {
    write_error(e, "group")
}

/// `status` with a SCIM JSON body, and the ETag of `version` when given.
pub(crate) fn ok(status: u16, body: &Value, version: Option<u64>) -> ApiGatewayV2httpResponse {
    let mut extra = Vec::new();
    if let Some(v) = version {
        extra.push(("etag", etag(v)));
    }
    response(status, SCIM_JSON, body.to_string(), &extra)
}

/// `201 Created`, with the resource's URI in `Location` (RFC 7644 §3.3),
/// the same as its `meta.location`.
pub(crate) fn created(body: &Value, version: u64) -> ApiGatewayV2httpResponse {
    let mut extra = vec![("etag", etag(version))];
    if let Some(location) = body["meta"]["location"].as_str() {
        extra.push(("location", location.to_owned()));
    }
    response(201, SCIM_JSON, body.to_string(), &extra)
}

/// `204 No Content`, with the ETag of `version` when given.
pub(crate) fn no_content(version: Option<u64>) -> ApiGatewayV2httpResponse {
    let extra: Vec<(&str, String)> = version.map(|v| ("etag", etag(v))).into_iter().collect();
    response(204, SCIM_JSON, String::new(), &extra)
}

/// `GET` with `If-None-Match` naming the current version: `304`.
pub(crate) fn not_modified(req: &HttpRequest, version: u64) -> Option<ApiGatewayV2httpResponse> {
    let v = req.header("if-none-match")?;
    if_none_match_names(v, version)
        .then(|| response(304, SCIM_JSON, String::new(), &[("etag", etag(version))]))
}

/// The request's JSON body (`415` for another content type).
pub(crate) fn parse_json(req: &HttpRequest) -> Result<Value, ScimError> {
    if let Some(ct) = req.header("content-type") {
        let ct = ct.to_ascii_lowercase();
        if !ct.contains("json") {
            return Err(ScimError::new(
                415,
                None,
                "content type must be application/scim+json or application/json",
            ));
        }
    }
    serde_json::from_slice(&req.body)
        .map_err(|_| ScimError::invalid_syntax("the body is not valid JSON"))
}

pub(crate) fn query_param<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `attributes` / `excludedAttributes` of a GET.
pub(crate) fn projection(req: &HttpRequest) -> Result<Projection, ScimError> {
    Projection::parse(
        query_param(req, "attributes"),
        query_param(req, "excludedAttributes"),
    )
}

/// Largest response body a listing builds: under Lambda's 6 MB limit for a
/// synchronous response, with room for the headers.
pub const MAX_RESPONSE_BYTES: usize = 5 * 1024 * 1024;

/// A single resource larger than a response may be.
pub(crate) fn too_large() -> ScimError {
    ScimError::new(
        400,
        Some("tooMany"),
        "the resource is larger than a response may be; ask for fewer attributes (excludedAttributes=members)",
    )
}

/// An index-based ListResponse.
pub(crate) fn list_response(resources: Vec<Value>, total: usize, start_index: usize) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
