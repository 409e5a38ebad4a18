//! The HTTP API: one local server that routes requests by the template's
//! `HttpApi` event paths and invokes the functions with the event API Gateway
//! (HTTP API, payload format 2.0) would send them.
//!
//! Events are built in their wire form (the JSON Lambda delivers) and then
//! deserialized, and responses are serialized and read back as API Gateway
//! reads them, so a handler sees here exactly what it sees on AWS, quirks
//! included (e.g. format 2.0 ignores `multiValueHeaders`).

mod encoding;
mod event;
mod routes;

pub use encoding::{base64_decode, base64_encode, percent_decode};
pub use event::{IncomingRequest, request_event, response_from_function};
pub use routes::{DEFAULT_ROUTE, HttpRoute, RoutePattern, Routes};

use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use time::OffsetDateTime;

use crate::functions::{InvokeError, request_id};
use crate::shutdown::Shutdown;

/// Largest request body passed to a function (6 MiB, Lambda's limit for a
/// synchronous invocation); larger ones get 413. Above each function's own
/// cap (SCIM 1 MiB, admin 64 KiB), so a body just over it reaches the
/// function and is refused in the function's error format, as on AWS.
pub const MAX_BODY: usize = 6 * 1024 * 1024;

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
