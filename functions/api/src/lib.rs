//! The admin API (`/api/v1/...`): rules (with preview and the
//! mass-suspension guardrail), sync on/off and progress, explain, users and
//! their sync status, custom attributes, welcome-email templates, activity
//! history. The admin console's page is served at `/console/` (see
//! `console`).
//! Authenticated by one of the organization's admin API keys, or by a
//! person's ID token from its identity provider (`sso`).

mod activity;
mod body;
mod catalog;
pub mod console;
mod custom_attributes;
mod domains;
mod drift;
pub mod drift_schedule;
mod endpoints;
mod errors;
mod explain;
mod failures;
mod groups;
mod keys;
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
mod sso;
#[cfg(test)]
mod sso_tests;
mod sync;
mod templates;
mod users;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::LambdaEvent;
use user_sync_aws::config::{ProductSync, org_requests_per_second};
use user_sync_aws::correlation;
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, required};
use user_sync_aws::http::{HttpRequest, RequestError};
use user_sync_aws::oidc::{self, JwksPolicy, OidcVerifier};
use user_sync_aws::product_api::{CachedProducts, HttpProductApi};
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

#[derive(Clone, Debug)]
pub struct Config {
    /// The tables, the activity retention and the product API.
    pub sync: ProductSync,
    /// Retry sync sends the organization's failed jobs and welcome emails
    /// to these queues again (it reads no dead-letter queue).
    pub jobs_queue_url: String,
    pub mail_queue_url: String,
    /// The product's login URL, shown in template previews.
    pub login_url: String,
    /// Admin requests per second an organization may make; 0: no limit.
    pub org_requests_per_second: u32,
    /// Where domain verification looks TXT records up (`DNS_SERVER`).
    pub dns: user_sync_aws::dns::Nameserver,
    /// How long the products the product API offers an organization are
    /// kept in this container (`PRODUCT_CATALOGUE_CACHE_SECONDS`).
    pub products_cache: std::time::Duration,
    /// How long identity providers' keys are kept, and how often they may
    /// be fetched again (`OIDC_JWKS_CACHE_SECONDS`,
    /// `OIDC_JWKS_MIN_REFRESH_SECONDS`).
    pub jwks: JwksPolicy,
}

/// The default of `PRODUCT_CATALOGUE_CACHE_SECONDS`.
pub const DEFAULT_PRODUCTS_CACHE_SECONDS: u64 = 60;

/// The default of `ORG_REQUESTS_PER_SECOND`.
pub const DEFAULT_ORG_REQUESTS_PER_SECOND: u32 = 50;

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            sync: ProductSync::from_lookup(get, 3_000)?,
            jobs_queue_url: required(get, "JOBS_QUEUE_URL")?,
            mail_queue_url: required(get, "MAIL_QUEUE_URL")?,
            login_url: required(get, "LOGIN_URL")?,
            org_requests_per_second: org_requests_per_second(get, DEFAULT_ORG_REQUESTS_PER_SECOND)?,
            dns: user_sync_aws::dns::Nameserver::from_lookup(get)?,
            products_cache: std::time::Duration::from_secs(user_sync_aws::env::number(
                get,
                "PRODUCT_CATALOGUE_CACHE_SECONDS",
                DEFAULT_PRODUCTS_CACHE_SECONDS,
            )?),
            jwks: JwksPolicy {
                cache_for: std::time::Duration::from_secs(user_sync_aws::env::number(
                    get,
                    "OIDC_JWKS_CACHE_SECONDS",
                    oidc::DEFAULT_CACHE_SECONDS,
                )?),
                min_refresh: std::time::Duration::from_secs(user_sync_aws::env::number(
                    get,
                    "OIDC_JWKS_MIN_REFRESH_SECONDS",
                    oidc::DEFAULT_MIN_REFRESH_SECONDS,
                )?),
            },
        })
    }
}

#[derive(Debug)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    /// The product API, its products kept briefly (the catalogue and rule
    /// writes read them).
    pub product_api: CachedProducts<HttpProductApi>,
    pub queues: RetryQueues<SqsJobQueue, SqsMailQueue>,
    pub rate: RateGate<StateTable>,
    pub login_url: String,
    pub dns: user_sync_aws::dns::DnsResolver,
    pub clock: SystemClock,
    pub id_tokens: OidcVerifier,
}

impl Deps {
    /// Builds the tables, the rate gate, the retry queues and the DNS
    /// resolver; reads the product API key (the one call to AWS made here).
    pub async fn new(
        sdk: &aws_config::SdkConfig,
        config: Config,
    ) -> Result<Self, lambda_runtime::Error> {
        let retention = config.sync.activity_retention_days;
        let (directory, state, product_api) = config.sync.connect(sdk).await?;
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let counters = StateTable::new(ddb, state.table_name(), retention);
        Ok(Self {
            directory,
            state,
            rate: RateGate::new(
                OrgRateLimiter::new("admin", config.org_requests_per_second),
                counters,
            ),
            product_api: CachedProducts::new(product_api, config.products_cache),
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
            id_tokens: OidcVerifier::new(config.jwks)?,
        })
    }
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
            Err(e) => return unreadable(&e),
        };
        if console::is_console_path(&req.path) {
            let origin = Box::pin(console::token_origin(
                &deps.directory,
                &req.path,
                &req.query,
            ))
            .await;
            return console::serve(console::Request {
                method: &req.method,
                path: &req.path,
                query: &req.query,
                if_none_match: req.header("if-none-match"),
                token_origin: origin.as_deref(),
            });
        }
        Box::pin(route(deps, &req)).await
    })
    .await)
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
    type ProductApi = CachedProducts<HttpProductApi>;
    type Jobs = SqsJobQueue;
    type Mail = SqsMailQueue;
    type Counters = StateTable;
    type Dns = user_sync_aws::dns::DnsResolver;
    type Clock = SystemClock;
    type IdTokens = OidcVerifier;

    fn directory(&self) -> &DirectoryTable {
        &self.directory
    }
    fn state(&self) -> &StateTable {
        &self.state
    }
    fn product_api(&self) -> &CachedProducts<HttpProductApi> {
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
    fn id_tokens(&self) -> &OidcVerifier {
        &self.id_tokens
    }
}
