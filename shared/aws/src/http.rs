//! API Gateway HTTP API (payload 2.0) requests and responses.

use std::collections::HashMap;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// A request reduced to what the handlers route on.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: HashMap<String, String>,
    headers: HeaderMap,
    pub body: Vec<u8>,
    /// The domain the request came in on, as API Gateway (or the local
    /// runner) sets it in the request context: never the client's `Host`.
    pub domain_name: Option<String>,
}

/// Why a request could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    TooLarge,
    BadEncoding,
}

impl HttpRequest {
    /// Reads the event; bodies over `max_body` bytes are refused.
    pub fn from_event(req: ApiGatewayV2httpRequest, max_body: usize) -> Result<Self, RequestError> {
        let body = match req.body {
            None => Vec::new(),
            Some(b) if req.is_base64_encoded => {
                decode_base64(&b).ok_or(RequestError::BadEncoding)?
            }
            Some(b) => b.into_bytes(),
        };
        if body.len() > max_body {
            return Err(RequestError::TooLarge);
        }
        // API Gateway joins repeated parameters with commas and the event
        // type splits them again: join them back, so `attributes=a,b` reads
        // as sent
        let query = req
            .query_string_parameters
            .iter()
            .map(|(k, _)| {
                let all = req.query_string_parameters.all(k).unwrap_or_default();
                (k.to_owned(), all.join(","))
            })
            .collect();
        Ok(Self {
            method: req
                .request_context
                .http
                .method
                .as_str()
                .to_ascii_uppercase(),
            path: req.raw_path.unwrap_or_default(),
            query,
            headers: req.headers,
            body,
            domain_name: req.request_context.domain_name,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The service's own base URL for `prefix` (`https://{domain}{prefix}`),
    /// from the domain the gateway received the request on, never from a
    /// header the client sets (`Host` can name any site); plain `http` only
    /// for a loopback domain, which no gateway terminates TLS for.
    pub fn base_url(&self, prefix: &str) -> String {
        match self.domain_name.as_deref() {
            Some(domain)
                if !domain.is_empty()
                    && domain
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)) =>
            {
                let host = domain.rsplit_once(':').map_or(domain, |(h, _)| h);
                let loopback = matches!(host, "localhost" | "[::1]") || host.starts_with("127.");
                let scheme = if loopback { "http" } else { "https" };
                format!("{scheme}://{domain}{prefix}")
            }
            _ => prefix.to_owned(),
        }
    }

    /// Path segments after `prefix` (e.g. `/scim/v2`).
    pub fn segments_after<'a>(&'a self, prefix: &str) -> Option<Vec<&'a str>> {
        let rest = self.path.strip_prefix(prefix)?;
        Some(rest.split('/').filter(|s| !s.is_empty()).collect())
    }
}

/// Standard base64 as API Gateway sends it: padding optional, whitespace
/// and anything after the first `=` ignored, stray low bits allowed.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let text: String = s
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .take_while(|c| *c != '=')
        .collect();
    LENIENT.decode(text).ok()
}

/// A response with a body and content type, plus extra headers.
pub fn response(
    status: u16,
    content_type: &str,
    body: String,
    extra: &[(&str, String)],
) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert("content-type", v);
    }
    // answers hold an organization's data: no cache keeps them, and no
    // browser reads them as another type (`extra` may say otherwise)
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    for (k, v) in extra {
        if let (Ok(name), Ok(value)) = (
            aws_lambda_events::http::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(name, value);
        }
    }
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(Body::Text(body));
    r.is_base64_encoded = false;
    r
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_comes_from_the_gateways_domain_never_from_host() {
        let mut req = HttpRequest::from_event(ApiGatewayV2httpRequest::default(), 10).unwrap();
        req.headers
            .insert("host", HeaderValue::from_static("evil.example"));
        assert_eq!(req.base_url("/scim/v2"), "/scim/v2");
        req.domain_name = Some("abc.execute-api.eu-west-1.amazonaws.com".into());
        assert_eq!(
            req.base_url("/scim/v2"),
            "https://abc.execute-api.eu-west-1.amazonaws.com/scim/v2"
        );
        req.domain_name = Some("127.0.0.1:8080".into());
        assert_eq!(req.base_url("/scim/v2"), "http://127.0.0.1:8080/scim/v2");
        req.domain_name = Some("evil.example/phish?".into());
        assert_eq!(req.base_url("/scim/v2"), "/scim/v2");
    }

    #[test]
    fn answers_are_not_cached_nor_sniffed() {
        let r = response(200, "application/json", "{}".into(), &[]);
        assert_eq!(r.headers["cache-control"], "no-store");
        assert_eq!(r.headers["x-content-type-options"], "nosniff");
        let r = response(
            200,
            "text/css",
            String::new(),
            &[("cache-control", "max-age=60".into())],
        );
        assert_eq!(r.headers["cache-control"], "max-age=60");
    }

    #[test]
    fn base64_decodes() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert!(decode_base64("***").is_none());
        // unpadded, wrapped, or with stray low bits: read as before
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs\nbG8=\n").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG9=").unwrap(), b"hello");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("aGk=trailing").unwrap(), b"hi");
    }
}
