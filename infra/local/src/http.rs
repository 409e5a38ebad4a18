//! The HTTP API: one local server that routes requests by the template's
//! `HttpApi` event paths and invokes the functions with the event API Gateway
//! (HTTP API, payload format 2.0) would send them.
//!
//! Events are built in their wire form (the JSON Lambda delivers) and then
//! deserialized, and responses are serialized and read back as API Gateway
//! reads them, so a handler sees here exactly what it sees on AWS, quirks
//! included (e.g. format 2.0 ignores `multiValueHeaders`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Base64Data;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::functions::{HttpFunction, InvokeError, request_id};
use crate::resolve::ACCOUNT_ID;
use crate::shutdown::Shutdown;

/// Largest request body passed to a function (6 MiB, Lambda's limit for a
/// synchronous invocation); larger ones get 413. Above each function's own
/// cap (SCIM 1 MiB, admin 64 KiB), so a body just over it reaches the
/// function and is refused in the function's error format, as on AWS.
pub const MAX_BODY: usize = 6 * 1024 * 1024;

/// A route of the HTTP API: `METHOD /path` → a function.
#[derive(Clone)]
pub struct HttpRoute {
    /// `None` for `ANY`.
    method: Option<Method>,
    pattern: RoutePattern,
    /// `ANY /scim/v2/{proxy+}`, as API Gateway names it.
    route_key: String,
    function: HttpFunction,
}

impl HttpRoute {
    /// A route from an `HttpApi` event's `Method` and `Path`. The path
    /// [`DEFAULT_ROUTE`] (method `ANY`) is the route of every request no
    /// other route matches.
    pub fn new(method: &str, path: &str, function: HttpFunction) -> Result<Self, String> {
        let method_upper = method.to_ascii_uppercase();
        let parsed_method = match method_upper.as_str() {
            "ANY" | "X-AMAZON-APIGATEWAY-ANY-METHOD" => None,
            m => Some(
                Method::from_bytes(m.as_bytes())
                    .map_err(|_| format!("invalid method {method:?}"))?,
            ),
        };
        if path == DEFAULT_ROUTE && parsed_method.is_some() {
            return Err(format!("the {DEFAULT_ROUTE} route takes the method ANY"));
        }
        let route_key = if path == DEFAULT_ROUTE {
            DEFAULT_ROUTE.to_owned()
        } else {
            format!(
                "{} {path}",
                parsed_method.as_ref().map_or("ANY", Method::as_str)
            )
        };
        Ok(Self {
            method: parsed_method,
            pattern: RoutePattern::parse(path)?,
            route_key,
            function,
        })
    }

    pub fn route_key(&self) -> &str {
        &self.route_key
    }
}

/// The path of the route that catches every request no other route
/// matches (its route key too).
pub const DEFAULT_ROUTE: &str = "$default";

/// A route path: literal segments, `{name}` (one segment) and a final
/// `{name+}` (the rest, one or more segments); or [`DEFAULT_ROUTE`], which
/// matches any path and is chosen last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
    /// The whole of the `$default` route.
    Default,
}

impl RoutePattern {
    pub fn parse(path: &str) -> Result<Self, String> {
        if path == DEFAULT_ROUTE {
            return Ok(Self(vec![Segment::Default]));
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(format!("route path {path:?} does not start with /"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let last = parts.len() - 1;
        let mut segments = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) if i == last => Segment::Greedy(greedy.to_owned()),
                    Some(_) => return Err(format!("in {path:?}, a greedy parameter must be last")),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal((*part).to_owned()),
            };
            segments.push(segment);
        }
        Ok(Self(segments))
    }

    /// The path parameters (decoded) when `raw_path` matches.
    pub fn matches(&self, raw_path: &str) -> Option<BTreeMap<String, String>> {
        let rest = raw_path.strip_prefix('/')?;
        let mut parts = rest.split('/');
        let mut params = BTreeMap::new();
        let mut consumed = 0usize;
        for segment in &self.0 {
            match segment {
                Segment::Default => return Some(params),
                Segment::Greedy(name) => {
                    let remainder = rest.get(consumed..).unwrap_or("");
                    if remainder.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(remainder, false));
                    return Some(params);
                }
                Segment::Literal(literal) => {
                    let part = parts.next()?;
                    if percent_decode(part, false) != *literal {
                        return None;
                    }
                    consumed += part.len() + 1;
                }
                Segment::Param(name) => {
                    let part = parts.next()?;
                    if part.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(part, false));
                    consumed += part.len() + 1;
                }
            }
        }
        parts.next().is_none().then_some(params)
    }

    /// Sort key: API Gateway prefers the most specific route, and takes the
    /// `$default` route last.
    fn specificity(&self) -> (bool, bool, usize, usize) {
        let default = self.0.iter().any(|s| matches!(s, Segment::Default));
        let greedy = self.0.iter().any(|s| matches!(s, Segment::Greedy(_)));
        let literals = self
            .0
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        (!default, !greedy, self.0.len(), literals)
    }
}

/// The routes, most specific first.
#[derive(Clone)]
pub struct Routes(Vec<HttpRoute>);

impl Routes {
    pub fn new(mut routes: Vec<HttpRoute>) -> Self {
        routes.sort_by(|a, b| {
            b.pattern
                .specificity()
                .cmp(&a.pattern.specificity())
                .then(b.method.is_some().cmp(&a.method.is_some()))
        });
        Self(routes)
    }

    fn find(
        &self,
        method: &Method,
        raw_path: &str,
    ) -> Option<(&HttpRoute, BTreeMap<String, String>)> {
        self.0.iter().find_map(|route| {
            if route.method.as_ref().is_some_and(|m| m != method) {
                return None;
            }
            route
                .pattern
                .matches(raw_path)
                .map(|params| (route, params))
        })
    }
}

/// Serves `routes` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    routes: Routes,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    let state = Arc::new(HttpState { routes, port });
    let app = Router::new().fallback(handle).with_state(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.wait().await })
    .await
}

struct HttpState {
    routes: Routes,
    port: u16,
}

async fn handle(
    State(state): State<Arc<HttpState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Some((route, path_parameters)) = state.routes.find(&parts.method, parts.uri.path()) else {
        return message(StatusCode::NOT_FOUND, "Not Found", None);
    };
    let declared_length = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|n| n > MAX_BODY) {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large",
            None,
        );
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large",
            None,
        );
    };

    let request_id = request_id();
    let incoming = IncomingRequest {
        method: &parts.method,
        uri: &parts.uri,
        version: parts.version,
        headers: &parts.headers,
        body: &body,
        peer,
        local_port: state.port,
    };
    let wire = request_event(
        &incoming,
        route.route_key(),
        &path_parameters,
        &request_id,
        OffsetDateTime::now_utc(),
    );
    let event: ApiGatewayV2httpRequest = match serde_json::from_value(wire) {
        Ok(event) => event,
        Err(e) => {
            tracing::warn!(function = %route.function.name, error = %e, "the request does not make a valid event");
            return message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                Some(&request_id),
            );
        }
    };

    let invocation = route.function.invoke(event).await;
    route
        .function
        .record(1, usize::from(invocation.result.is_err()), 0, &invocation);
    match invocation.result {
        Ok(response) => match response_from_function(&response) {
            Ok(mut response) => {
                if let Ok(v) = HeaderValue::from_str(&request_id) {
                    response.headers_mut().insert("apigw-requestid", v);
                }
                response
            }
            Err(reason) => {
                tracing::warn!(function = %route.function.name, %reason, "the function returned an invalid response");
                message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    Some(&request_id),
                )
            }
        },
        Err(InvokeError::Timeout(_)) => message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service Unavailable",
            Some(&request_id),
        ),
        Err(_) => message(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal Server Error",
            Some(&request_id),
        ),
    }
}

/// API Gateway's own answers: `{"message": "..."}`.
fn message(status: StatusCode, text: &str, request_id: Option<&str>) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({ "message": text }).to_string(),
    )
        .into_response();
    if let Some(v) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        response.headers_mut().insert("apigw-requestid", v);
    }
    response
}

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

/// Percent-decodes (and `+` → space when `plus_as_space`); invalid escapes
/// are kept as they are, invalid UTF-8 is replaced.
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_as_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Base64 (standard alphabet, padded), as a JSON string.
pub fn base64_encode(bytes: &[u8]) -> Value {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    serde_json::to_value(&data).unwrap_or(Value::Null)
}

/// Decodes standard base64; `None` when invalid.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    serde_json::from_value::<Base64Data>(Value::String(text.to_owned()))
        .ok()
        .map(|d| d.to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use aws_lambda_events::encodings::Body as LambdaBody;

    fn route(path: &str) -> RoutePattern {
        RoutePattern::parse(path).unwrap()
    }

    #[test]
    fn greedy_routes_take_the_rest_of_the_path() {
        let r = route("/scim/v2/{proxy+}");
        assert_eq!(r.matches("/scim/v2/Users").unwrap()["proxy"], "Users");
        assert_eq!(
            r.matches("/scim/v2/Users/abc%20d").unwrap()["proxy"],
            "Users/abc d"
        );
        assert_eq!(r.matches("/scim/v2/Users/").unwrap()["proxy"], "Users/");
        assert!(r.matches("/scim/v2").is_none());
        assert!(r.matches("/scim/v2/").is_none());
        assert!(r.matches("/api/v1/rules").is_none());
        assert!(r.matches("/scim/v1/Users").is_none());
        let p = route("/users/{id}");
        assert_eq!(p.matches("/users/42").unwrap()["id"], "42");
        assert!(p.matches("/users/42/x").is_none());
        assert!(p.matches("/users/").is_none());
        assert!(route("/health").matches("/health").unwrap().is_empty());
        assert!(RoutePattern::parse("/{a+}/b").is_err());
        assert!(RoutePattern::parse("x").is_err());
    }

    #[test]
    fn the_default_route_matches_any_path_and_is_chosen_last() {
        let d = route(DEFAULT_ROUTE);
        for path in ["/console/", "/", "/nowhere/at/all", "/scim/v2"] {
            assert!(d.matches(path).unwrap().is_empty(), "{path}");
        }
        // a greedy parameter takes one or more characters: `/console/`
        // matches neither console route, only the default one
        assert!(route("/console/{proxy+}").matches("/console/").is_none());
        assert!(route("/console").matches("/console/").is_none());
        for other in ["/{proxy+}", "/console/{proxy+}", "/console", "/a/{b}"] {
            assert!(d.specificity() < route(other).specificity(), "{other}");
        }
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%2Fb+c%zz%4", false), "a/b+c%zz%4");
        assert_eq!(percent_decode("a+b%3D%3d", true), "a b==");
        assert_eq!(
            query_parameters("filter=userName+eq+%22bjensen%22&count=5&a=1&a=2&flag"),
            BTreeMap::from([
                ("filter".to_owned(), "userName eq \"bjensen\"".to_owned()),
                ("count".to_owned(), "5".to_owned()),
                ("a".to_owned(), "1,2".to_owned()),
                ("flag".to_owned(), String::new()),
            ])
        );
        assert_eq!(
            base64_decode(base64_encode(&[0, 159, 255]).as_str().unwrap()).unwrap(),
            [0, 159, 255]
        );
        assert_eq!(base64_encode(b"hi"), Value::String("aGk=".into()));
        assert!(base64_decode("***").is_none());
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
