//! The event API Gateway's HTTP API (payload format 2.0) hands a function
//! for one request, shaped as `events/scim/create-user.json`: used by the
//! footprint bench (sent to the release binaries) and, included with
//! `#[path]`, by the SCIM function's in-process tests and benches, which
//! cannot depend on this crate.

use serde_json::{Map, Value, json};

/// The domain the gateway received the request on.
const HOST: &str = "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com";

/// The event for `method path` on the route `ANY {route}` (for instance
/// `/scim/v2/{proxy+}`), with the query parameters as API Gateway splits
/// them and the `authorization` header's value (`Bearer …`).
pub fn http_event(
    method: &str,
    route: &str,
    path: &str,
    query: &[(&str, &str)],
    authorization: &str,
    body: Option<&Value>,
) -> Value {
    let route_key = format!("ANY {route}");
    let proxy = path.splitn(4, '/').nth(3).unwrap_or_default();
    let raw_query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let body = body.map(Value::to_string);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query.join("&"),
        "headers": {
            "accept": "application/scim+json",
            "authorization": authorization,
            "content-length": body.as_ref().map_or(0, String::len).to_string(),
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
            "routeKey": route_key,
            "stage": "$default",
            "time": "22/Nov/2026:07:10:02 +0000",
            "timeEpoch": 1_795_331_402_000_u64
        },
        "pathParameters": {"proxy": proxy},
        "body": body,
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        let params: Map<String, Value> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    event
}
