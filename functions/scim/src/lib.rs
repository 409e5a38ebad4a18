//! The SCIM 2.0 endpoint (`/scim/v2/...`): validates, authenticates, writes
//! directory state with conditional writes, answers fast. It never calls the
//! product API; the evaluator reacts to the table's stream.

mod cursor_listing;
mod discovery;
mod groups;
mod listing;
mod query;
mod render;
mod routes;
mod users;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use user_sync_aws::config::{Tables, org_requests_per_second};
use user_sync_aws::correlation;
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_aws::env::ConfigError;
use user_sync_aws::http::{HttpRequest, RequestError, response};
use user_sync_core::ratelimit::{OrgRateLimiter, RateGate};
use user_sync_core::scim::ScimError;

pub use cursor_listing::CURSOR_SCAN_BUDGET;
pub use listing::MAX_SCAN;
pub use query::{DEFAULT_COUNT, MAX_COUNT};
pub use render::MAX_RESPONSE_BYTES;
pub use routes::route;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// The path prefix of every SCIM route.
pub const PREFIX: &str = "/scim/v2";

/// Settings read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// The directory, and the state table where the organizations' request
    /// counts are kept.
    pub tables: Tables,
    /// SCIM requests per second an organization may make; 0: no limit.
    pub org_requests_per_second: u32,
}

/// The default of `ORG_REQUESTS_PER_SECOND`.
pub const DEFAULT_ORG_REQUESTS_PER_SECOND: u32 = 100;

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: Tables::from_lookup(get)?,
            org_requests_per_second: org_requests_per_second(get, DEFAULT_ORG_REQUESTS_PER_SECOND)?,
        })
    }
}

/// Clients built once per process and borrowed by every invocation.
#[derive(Debug)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub rate: RateGate<StateTable>,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            directory: DirectoryTable::new(ddb.clone(), config.tables.directory),
            // the activity retention is not used by the counters
            rate: RateGate::new(
                OrgRateLimiter::new("scim", config.org_requests_per_second),
                StateTable::new(ddb, config.tables.state, 0),
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
    // the change this request makes, named by API Gateway's request id
    let request_id = event.payload.request_context.request_id.clone();
    Ok(correlation::http_request(request_id.as_deref(), async {
        let req = match HttpRequest::from_event(event.payload, MAX_BODY_BYTES) {
            Ok(r) => r,
            Err(e) => return scim_error(&unreadable(&e)),
        };
        Box::pin(route(&deps.directory, &deps.rate, &req)).await
    })
    .await)
}

/// Why a request whose body cannot be read is refused.
fn unreadable(e: &RequestError) -> ScimError {
    match e {
        RequestError::TooLarge => ScimError::too_large(MAX_BODY_BYTES),
        RequestError::BadEncoding => ScimError::invalid_syntax("the body is not valid base64"),
    }
}
