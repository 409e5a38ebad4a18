//! One organization on the in-memory ports with a SCIM token, and the
//! requests an identity provider sends it, shared by the in-process tests
//! and the benchmarks (included with `#[path]`).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::Value;
use user_sync_aws::http::HttpRequest;
use user_sync_core::auth::{TokenKind, issue};
use user_sync_core::ids::OrgId;
use user_sync_core::memory::{MemoryCounters, MemoryStore};
use user_sync_core::ports::Tokens;
use user_sync_core::ratelimit::{OrgRateLimiter, RateGate};

#[path = "../../../../tests/src/http_event.rs"]
mod http_event;

/// A limit no request reaches, so that every request takes the limiter's
/// usual path (a lease spent locally) and none is refused.
const REQUESTS_PER_SECOND: u32 = 10_000_000;

pub(crate) struct Fixture {
    pub(crate) store: MemoryStore,
    pub(crate) gate: RateGate<MemoryCounters>,
    /// The `authorization` header value for the organization's token.
    pub(crate) authorization: String,
}

pub(crate) async fn fixture() -> Fixture {
    let store = MemoryStore::default();
    let org = OrgId::parse("acme").unwrap();
    let token = issue(
        &org,
        TokenKind::Scim,
        "Okta",
        [42; 40],
        "2026-11-22T00:00:00Z".to_owned(),
    );
    store.put_token(&token.stored).await.unwrap();
    Fixture {
        store,
        gate: RateGate::new(
            OrgRateLimiter::new("scim", REQUESTS_PER_SECOND),
            MemoryCounters::default(),
        ),
        authorization: format!("Bearer {}", token.plain),
    }
}

/// An API Gateway (payload 2.0) request, read as the handler reads it.
pub(crate) fn request(
    authorization: &str,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> HttpRequest {
    let event = http_event::http_event(
        method,
        "/scim/v2/{proxy+}",
        path,
        query,
        authorization,
        body,
    );
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event).unwrap();
    HttpRequest::from_event(event, scim::MAX_BODY_BYTES).unwrap()
}
