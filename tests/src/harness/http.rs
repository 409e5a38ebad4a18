//! The HTTP client every test uses: answers as (status, JSON body), or as an
//! [`Answer`] with the headers tests look at.

use std::time::{Duration, Instant};

use serde_json::Value;

/// A small HTTP client that returns (status, JSON body).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
}

impl Default for Client {
    fn default() -> Self {
        Self::new()
    }
}

impl Client {
    pub fn new() -> Self {
        Self::with_timeout(Duration::from_secs(30))
    }

    /// A client whose requests may take up to `timeout`.
    pub fn with_timeout(timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("HTTP client"),
        }
    }

    pub async fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let r = self.request(method, url, token, body, &[]).await;
        (r.status, r.body)
    }

    /// A request with extra headers; the answer with its ETag.
    pub async fn request(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let call = Call {
            method,
            url,
            token,
            body,
            headers,
        };
        self.try_request(call)
            .await
            .unwrap_or_else(|e| panic!("request to {url} failed: {e}"))
    }

    /// A request that may get no answer (the server is down).
    pub async fn try_request(&self, call: Call<'_>) -> Result<Answer, reqwest::Error> {
        let method = reqwest::Method::from_bytes(call.method.as_bytes()).expect("method");
        let mut req = self.http.request(method, call.url);
        if let Some(t) = call.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in call.headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = call.body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header("etag");
        let content_type = header("content-type");
        let retry_after = header("retry-after");
        let location = header("location");
        let correlation_id = header("x-correlation-id");
        let text = resp.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Answer {
            status,
            body,
            etag,
            content_type,
            retry_after,
            location,
            correlation_id,
        })
    }
}

/// What [`Client::try_request`] sends: a bearer token, a JSON body and
/// extra headers besides the method and URL, as [`Client::request`] takes them.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<&'a Value>,
    pub headers: &'a [(&'a str, &'a str)],
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub etag: Option<String>,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub location: Option<String>,
    /// `X-Correlation-Id`: the change the request made.
    pub correlation_id: Option<String>,
}

/// Percent-encodes a query value (a SCIM filter).
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Polls `check` until it returns `Some`, or fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
