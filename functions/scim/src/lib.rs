//! The SCIM 2.0 endpoint (`/scim/v2/...`): validates, authenticates, writes
//! directory state with conditional writes, answers fast. It never calls the
//! product API; the evaluator reacts to the table's stream.

mod routes;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_aws::env::{ConfigError, required};
use user_sync_aws::http::{HttpRequest, RequestError, response};
use user_sync_core::scim::ScimError;

pub use routes::route;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The path prefix of every SCIM route.
pub const PREFIX: &str = "/scim/v2";

/// Settings read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    pub directory_table: String,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            directory_table: required(get, "DIRECTORY_TABLE")?,
        })
    }
}

/// Clients built once per process and borrowed by every invocation.
#[derive(Debug, Clone)]
pub struct Deps {
    pub directory: DirectoryTable,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        Self {
            directory: DirectoryTable::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.directory_table,
            ),
        }
    }
}

pub(crate) const SCIM_JSON: &str = "application/scim+json";

pub(crate) fn scim_error(e: &ScimError) -> ApiGatewayV2httpResponse {
    let challenge = [(
        "www-authenticate",
        "Bearer realm=\"User Sync SCIM\"".to_owned(),
    )];
    let extra: &[(&str, String)] = if e.status == 401 { &challenge } else { &[] };
    response(e.status, SCIM_JSON, e.to_json().to_string(), extra)
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let req = match HttpRequest::from_event(event.payload, MAX_BODY_BYTES) {
        Ok(r) => r,
        Err(RequestError::TooLarge) => {
            return Ok(scim_error(&ScimError::too_large(MAX_BODY_BYTES)));
        }
        Err(RequestError::BadEncoding) => {
            return Ok(scim_error(&ScimError::invalid_syntax(
                "the body is not valid base64",
            )));
        }
    };
    Ok(route(&deps.directory, &req).await)
}
