//! One organization on the in-memory ports with a SCIM token, and the
//! requests an identity provider sends it, shared by the in-process tests
//! and the benchmarks (included with `#[path]`).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Value, json};
use user_sync_aws::http::HttpRequest;
use user_sync_core::auth::{TokenKind, issue};
use user_sync_core::ids::OrgId;
use user_sync_core::memory::{MemoryCounters, MemoryStore};
use user_sync_core::ports::Tokens;
use user_sync_core::ratelimit::{OrgRateLimiter, RateGate};

const HOST: &str = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";

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
    let query_map: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "ANY /scim/v2/{proxy+}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/scim+json",
            "authorization": authorization,
            "content-type": "application/scim+json",
            "host": HOST,
            "user-agent": "Okta SCIM Client 1.0.0",
            "x-forwarded-for": "52.0.0.1",
            "x-forwarded-port": "443",
            "x-forwarded-proto": "https"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "a1b2c3d4e5",
            "domainName": HOST,
            "domainPrefix": "a1b2c3d4e5",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "52.0.0.1",
                "userAgent": "Okta SCIM Client 1.0.0"
            },
            "requestId": "TXkgcmVxdWVzdCBpZA=",
            "routeKey": "ANY /scim/v2/{proxy+}",
            "stage": "$default",
            "time": "22/Nov/2026:07:10:02 +0000",
            "timeEpoch": 1_795_331_402_000_u64
        },
        "isBase64Encoded": false
    });
    if !query_map.is_empty() {
        event["queryStringParameters"] = Value::Object(query_map);
    }
    if let Some(body) = body {
        event["body"] = Value::String(body.to_string());
    }
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event).unwrap();
    HttpRequest::from_event(event, scim::MAX_BODY_BYTES).unwrap()
}
