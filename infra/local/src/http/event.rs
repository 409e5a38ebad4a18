//! The API Gateway (HTTP API, payload format 2.0) side of a request: the
//! event a function receives and the HTTP response made of its answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::resolve::ACCOUNT_ID;

use super::{base64_decode, base64_encode, percent_decode};

/// An HTTP request as received.
pub struct IncomingRequest<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub version: Version,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: SocketAddr,
    /// The port the server listens on (for `x-forwarded-port`).
    pub local_port: u16,
}

/// The event API Gateway (HTTP API, payload format 2.0) sends for `request`,
/// in its JSON wire form.
pub fn request_event(
    request: &IncomingRequest<'_>,
    route_key: &str,
    path_parameters: &BTreeMap<String, String>,
    request_id: &str,
    now: OffsetDateTime,
) -> Value {
    // Headers: lowercased names, repeated headers joined with commas; cookies
    // move to their own field.
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for name in request.headers.keys() {
        let values: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        if name == header::COOKIE {
            cookies.extend(
                values
                    .iter()
                    .flat_map(|v| v.split(';'))
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
        } else {
            headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
        }
    }
    let source_ip = request.peer.ip().to_string();
    let forwarded_for = match headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(existing) => format!("{existing}, {source_ip}"),
        None => source_ip.clone(),
    };
    headers.insert("x-forwarded-for".into(), Value::String(forwarded_for));
    headers.insert("x-forwarded-proto".into(), Value::String("http".into()));
    headers.insert(
        "x-forwarded-port".into(),
        Value::String(request.local_port.to_string()),
    );
    let epoch_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    headers.entry("x-amzn-trace-id").or_insert_with(|| {
        let id: String = request_id
            .chars()
            .filter(char::is_ascii_hexdigit)
            .chain(std::iter::repeat('0'))
            .take(24)
            .collect();
        Value::String(format!("Root=1-{:08x}-{id}", now.unix_timestamp()))
    });

    let raw_path = request.uri.path();
    let raw_query = request.uri.query().unwrap_or("");
    let user_agent = request
        .headers
        .get(header::USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    // the domain the stack serves on, as API Gateway names the API's own
    // domain: never the client's Host header
    let domain_name = format!("127.0.0.1:{}", request.local_port);
    let domain_prefix = domain_name
        .split(['.', ':'])
        .next()
        .unwrap_or("")
        .to_owned();

    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method.as_str(),
                "path": raw_path,
                "protocol": protocol(request.version),
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": api_gateway_time(now),
            "timeEpoch": epoch_ms,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    let query = query_parameters(raw_query);
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = json!(path_parameters);
    }
    if !request.body.is_empty() {
        match std::str::from_utf8(request.body) {
            Ok(text) => event["body"] = Value::String(text.to_owned()),
            Err(_) => {
                event["body"] = base64_encode(request.body);
                event["isBase64Encoded"] = Value::Bool(true);
            }
        }
    }
    event
}

/// The HTTP response API Gateway makes of a function's response: the
/// response is serialized as Lambda would, then read as format 2.0 reads it
/// (`statusCode`, `headers`, `cookies`, `body`, `isBase64Encoded`).
pub fn response_from_function(response: &ApiGatewayV2httpResponse) -> Result<Response, String> {
    let wire = serde_json::to_value(response).map_err(|e| format!("not serializable: {e}"))?;
    let status = wire
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .filter(|s| s.as_u16() >= 100)
        .ok_or_else(|| format!("invalid statusCode {:?}", wire.get("statusCode")))?;
    if wire
        .get("multiValueHeaders")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.is_empty())
    {
        tracing::warn!(
            "the function set multiValueHeaders, which API Gateway payload format 2.0 ignores; use headers (comma-joined) or cookies"
        );
    }

    let body = match wire.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) => {
            if wire.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                Bytes::from(base64_decode(text).ok_or("the body is not valid base64")?)
            } else {
                Bytes::from(text.clone())
            }
        }
        Some(other) => Bytes::from(other.to_string()),
    };

    let mut builder = Response::builder().status(status);
    if let Some(headers) = wire.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            let value = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("invalid header name {name:?}"))?;
            let value = HeaderValue::from_str(&value)
                .map_err(|_| format!("invalid value of header {name}"))?;
            builder = builder.header(name, value);
        }
    }
    if let Some(cookies) = wire.get("cookies").and_then(Value::as_array) {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            let value = HeaderValue::from_str(cookie).map_err(|_| "invalid cookie".to_owned())?;
            builder = builder.header(header::SET_COOKIE, value);
        }
    }
    builder.body(Body::from(body)).map_err(|e| e.to_string())
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// `12/Mar/2020:19:03:58 +0000`.
fn api_gateway_time(now: OffsetDateTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = now.to_offset(time::UtcOffset::UTC);
    let month = MONTHS[usize::from(u8::from(t.month())) - 1];
    format!(
        "{:02}/{month}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Decoded query parameters; a repeated name's values are joined with commas.
fn query_parameters(raw: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name, true);
        let value = percent_decode(value, true);
        out.entry(name)
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert(value);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
    use aws_lambda_events::encodings::Body as LambdaBody;

    #[test]
    fn query_parameters_are_decoded_and_repeated_names_joined() {
        assert_eq!(
            query_parameters("filter=userName+eq+%22bjensen%22&count=5&a=1&a=2&flag"),
            BTreeMap::from([
                ("filter".to_owned(), "userName eq \"bjensen\"".to_owned()),
                ("count".to_owned(), "5".to_owned()),
                ("a".to_owned(), "1,2".to_owned()),
                ("flag".to_owned(), String::new()),
            ])
        );
    }

    fn incoming<'a>(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> IncomingRequest<'a> {
        IncomingRequest {
            method,
            uri,
            version: Version::HTTP_11,
            headers,
            body,
            peer: "127.0.0.1:50000".parse().unwrap(),
            local_port: 8080,
        }
    }

    #[test]
    fn requests_become_payload_2_0_events() {
        let method = Method::PATCH;
        let uri: Uri = "/scim/v2/Users/u%201?attributes=userName&attributes=emails"
            .parse()
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("Host", HeaderValue::from_static("127.0.0.1:8080"));
        headers.insert(
            "Content-Type",
            HeaderValue::from_static("application/scim+json"),
        );
        headers.insert("Authorization", HeaderValue::from_static("Bearer tok"));
        headers.append("X-Multi", HeaderValue::from_static("a"));
        headers.append("X-Multi", HeaderValue::from_static("b"));
        headers.insert("Cookie", HeaderValue::from_static("s=1; t=2"));
        headers.insert(
            "User-Agent",
            HeaderValue::from_static("Okta SCIM Client 1.0.0"),
        );
        let body = br#"{"Operations":[]}"#;
        let params = BTreeMap::from([("proxy".to_owned(), "Users/u 1".to_owned())]);
        let now = OffsetDateTime::from_unix_timestamp(1_584_039_838).unwrap();
        let wire = request_event(
            &incoming(&method, &uri, &headers, body),
            "ANY /scim/v2/{proxy+}",
            &params,
            "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            now,
        );
        assert_eq!(wire["requestContext"]["time"], "12/Mar/2020:19:03:58 +0000");
        assert_eq!(wire["requestContext"]["timeEpoch"], 1_584_039_838_000i64);

        let event: ApiGatewayV2httpRequest = serde_json::from_value(wire).unwrap();
        assert_eq!(event.version.as_deref(), Some("2.0"));
        assert_eq!(event.route_key.as_deref(), Some("ANY /scim/v2/{proxy+}"));
        assert_eq!(event.raw_path.as_deref(), Some("/scim/v2/Users/u%201"));
        assert_eq!(
            event.raw_query_string.as_deref(),
            Some("attributes=userName&attributes=emails")
        );
        // Repeated parameters arrive comma-joined; the payload 2.0
        // deserializer splits them again, as on AWS.
        assert_eq!(
            event.query_string_parameters.all("attributes"),
            Some(vec!["userName", "emails"])
        );
        assert_eq!(event.path_parameters["proxy"], "Users/u 1");
        assert_eq!(event.headers["content-type"], "application/scim+json");
        assert_eq!(event.headers["authorization"], "Bearer tok");
        assert_eq!(event.headers["x-multi"], "a,b");
        assert_eq!(event.headers["x-forwarded-for"], "127.0.0.1");
        assert!(event.headers.get("cookie").is_none());
        assert_eq!(
            event.cookies,
            Some(vec!["s=1".to_owned(), "t=2".to_owned()])
        );
        assert_eq!(event.body.as_deref(), Some(r#"{"Operations":[]}"#));
        assert!(!event.is_base64_encoded);
        let ctx = &event.request_context;
        assert_eq!(ctx.http.method, Method::PATCH);
        assert_eq!(ctx.http.path.as_deref(), Some("/scim/v2/Users/u%201"));
        assert_eq!(ctx.http.protocol.as_deref(), Some("HTTP/1.1"));
        assert_eq!(ctx.http.source_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(
            ctx.http.user_agent.as_deref(),
            Some("Okta SCIM Client 1.0.0")
        );
        assert_eq!(
            ctx.request_id.as_deref(),
            Some("c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
        );
        assert_eq!(ctx.stage.as_deref(), Some("$default"));
        assert_eq!(ctx.domain_name.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(ctx.time_epoch, 1_584_039_838_000);
    }

    #[test]
    fn binary_bodies_are_base64_and_empty_ones_absent() {
        let method = Method::POST;
        let uri: Uri = "/api/v1/x".parse().unwrap();
        let headers = HeaderMap::new();
        let now = OffsetDateTime::now_utc();
        let params = BTreeMap::new();
        let wire = request_event(
            &incoming(&method, &uri, &headers, &[0xff, 0x00]),
            "ANY /api/v1/{proxy+}",
            &params,
            "id",
            now,
        );
        let event: ApiGatewayV2httpRequest = serde_json::from_value(wire).unwrap();
        assert!(event.is_base64_encoded);
        assert_eq!(event.body.as_deref(), Some("/wA="));

        let wire = request_event(
            &incoming(&method, &uri, &headers, b""),
            "ANY /api/v1/{proxy+}",
            &params,
            "id",
            now,
        );
        assert!(wire.get("body").is_none());
        assert!(wire.get("queryStringParameters").is_none());
        let event: ApiGatewayV2httpRequest = serde_json::from_value(wire).unwrap();
        assert!(event.body.is_none());
        assert!(event.query_string_parameters.is_empty());
    }

    async fn body_of(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec()
    }

    #[tokio::test]
    async fn responses_are_read_as_api_gateway_reads_them() {
        let mut r = ApiGatewayV2httpResponse::default();
        r.status_code = 201;
        r.headers.insert(
            "content-type",
            HeaderValue::from_static("application/scim+json"),
        );
        r.headers
            .insert("etag", HeaderValue::from_static("W/\"3\""));
        r.cookies = vec!["a=1; Path=/".into()];
        r.body = Some(LambdaBody::Text("{\"id\":\"1\"}".into()));
        let response = response_from_function(&r).unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["content-type"], "application/scim+json");
        assert_eq!(response.headers()["etag"], "W/\"3\"");
        assert_eq!(response.headers()["set-cookie"], "a=1; Path=/");
        assert_eq!(body_of(response).await, b"{\"id\":\"1\"}");

        let mut r = ApiGatewayV2httpResponse::default();
        r.status_code = 200;
        r.body = Some(LambdaBody::Text("AAEC".into()));
        r.is_base64_encoded = true;
        assert_eq!(
            body_of(response_from_function(&r).unwrap()).await,
            [0, 1, 2]
        );

        let mut r = ApiGatewayV2httpResponse::default();
        r.status_code = 204;
        let response = response_from_function(&r).unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(body_of(response).await.is_empty());

        // A response without a status (the default) is invalid.
        assert!(response_from_function(&ApiGatewayV2httpResponse::default()).is_err());
    }
}
