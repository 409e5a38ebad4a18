//! The admin API (`/api/v1/...`): rules (with preview and the
//! mass-suspension guardrail), sync on/off and progress, explain, users and
//! their sync status, custom attributes, welcome-email templates, activity
//! history. The admin console's page is served at `/console/` (see
//! `console`).
//! Authenticated by the organization's admin token.

mod activity;
mod body;
mod catalog;
pub mod console;
mod custom_attributes;
mod domains;
mod endpoints;
mod errors;
mod explain;
mod failures;
mod groups;
pub mod openapi;
mod preview;
mod progress;
mod query;
mod registry;
mod routes;
mod rules;
pub mod schedule;
mod service_errors;
mod settings;
mod sync;
mod templates;
mod users;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, number, required};
use user_sync_aws::http::{HttpRequest, RequestError};
use user_sync_aws::product_api::{HttpProductApi, ProductApiSettings};
use user_sync_aws::sqs::{SqsJobQueue, SqsMailQueue};
use user_sync_core::clock::SystemClock;
use user_sync_core::ratelimit::{OrgRateLimiter, RateGate};

pub use errors::{ApiError, ErrorCode};
pub use failures::RetryQueues;
pub use registry::Backend;
pub use routes::route;
pub use schedule::handle_event;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const PREFIX: &str = "/api/v1";

#[derive(Clone)]
pub struct Config {
    pub directory_table: String,
    pub state_table: String,
    pub activity_retention_days: u32,
    pub product_api: ProductApiSettings,
    /// Retry sync sends the organization's failed jobs and welcome emails
    /// to these queues again (it reads no dead-letter queue).
    pub jobs_queue_url: String,
    pub mail_queue_url: String,
    /// The product's login URL, shown in template previews.
    pub login_url: String,
    /// Admin requests per second an organization may make (averaged over a
    /// window of `ratelimit::WINDOW_SECONDS`); 0: no limit.
    pub org_requests_per_second: u32,
    /// Where domain verification looks TXT records up (`DNS_SERVER`).
    pub dns: user_sync_aws::dns::Nameserver,
}

/// The default of `ORG_REQUESTS_PER_SECOND`.
pub const DEFAULT_ORG_REQUESTS_PER_SECOND: u32 = 50;

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("directory_table", &self.directory_table)
            .field("product_api_url", &self.product_api.url)
            .finish_non_exhaustive()
    }
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            directory_table: required(get, "DIRECTORY_TABLE")?,
            state_table: required(get, "STATE_TABLE")?,
            activity_retention_days: number(get, "ACTIVITY_RETENTION_DAYS", 365u32)?,
            product_api: ProductApiSettings::from_lookup(get, 3_000)?,
            jobs_queue_url: required(get, "JOBS_QUEUE_URL")?,
            mail_queue_url: required(get, "MAIL_QUEUE_URL")?,
            login_url: required(get, "LOGIN_URL")?,
            org_requests_per_second: number(
                get,
                "ORG_REQUESTS_PER_SECOND",
                DEFAULT_ORG_REQUESTS_PER_SECOND,
            )?,
            dns: user_sync_aws::dns::Nameserver::from_lookup(get)?,
        })
    }
}

#[derive(Debug)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    pub product_api: HttpProductApi,
    pub queues: RetryQueues<SqsJobQueue, SqsMailQueue>,
    pub rate: RateGate<StateTable>,
    pub login_url: String,
    pub dns: user_sync_aws::dns::DnsResolver,
    pub clock: SystemClock,
}

impl Deps {
    /// Builds the tables, the rate gate, the retry queues and the DNS
    /// resolver; reads the product API key (the one call to AWS made here).
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        config: Config,
    ) -> Result<Self, lambda_runtime::Error> {
        let product_api = config.product_api.connect(sdk).await?;
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        Ok(Self {
            directory: DirectoryTable::new(ddb.clone(), config.directory_table.clone()),
            state: StateTable::new(
                ddb.clone(),
                config.state_table.clone(),
                config.activity_retention_days,
            )
            .with_org_retention(config.directory_table),
            rate: RateGate::new(
                OrgRateLimiter::new("admin", config.org_requests_per_second),
                StateTable::new(ddb, config.state_table, config.activity_retention_days),
            ),
            product_api,
            queues: {
                let sqs = aws_sdk_sqs::Client::new(sdk);
                RetryQueues {
                    jobs: SqsJobQueue::sender(sqs.clone(), config.jobs_queue_url),
                    mail: SqsMailQueue::new(sqs, config.mail_queue_url, None),
                }
            },
            login_url: config.login_url,
            dns: user_sync_aws::dns::DnsResolver::new(config.dns)?,
            clock: SystemClock,
        })
    }
}

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, lambda_runtime::Error> {
    let req = match HttpRequest::from_event(event.payload, MAX_BODY_BYTES) {
        Ok(r) => r,
        Err(e) => return Ok(unreadable(&e)),
    };
    if console::is_console_path(&req.path) {
        return Ok(console::serve(
            &req.method,
            &req.path,
            req.header("if-none-match"),
        ));
    }
    Ok(Box::pin(route(deps, &req)).await)
}

/// The response to a request whose body cannot be read.
fn unreadable(e: &RequestError) -> ApiGatewayV2httpResponse {
    match e {
        RequestError::TooLarge => ApiError::new(
            413,
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {MAX_BODY_BYTES} bytes"),
        ),
        RequestError::BadEncoding => {
            ApiError::new(400, ErrorCode::InvalidBody, "the body is not valid base64")
        }
    }
    .response()
}

impl Backend for Deps {
    type Directory = DirectoryTable;
    type State = StateTable;
    type ProductApi = HttpProductApi;
    type Jobs = SqsJobQueue;
    type Mail = SqsMailQueue;
    type Counters = StateTable;
    type Dns = user_sync_aws::dns::DnsResolver;
    type Clock = SystemClock;

    fn directory(&self) -> &DirectoryTable {
        &self.directory
    }
    fn state(&self) -> &StateTable {
        &self.state
    }
    fn product_api(&self) -> &HttpProductApi {
        &self.product_api
    }
    fn queues(&self) -> &RetryQueues<SqsJobQueue, SqsMailQueue> {
        &self.queues
    }
    fn gate(&self) -> &RateGate<StateTable> {
        &self.rate
    }
    fn login_url(&self) -> &str {
        &self.login_url
    }
    fn dns(&self) -> &user_sync_aws::dns::DnsResolver {
        &self.dns
    }
    fn clock(&self) -> &SystemClock {
        &self.clock
    }
}
