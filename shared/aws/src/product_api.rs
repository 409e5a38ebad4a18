//! The product API's HTTP adapter (contract: `docs/product-api.md`).

use std::time::Duration;

use reqwest::StatusCode;
use std::collections::BTreeMap;
use user_sync_core::ids::{OrgId, UserId};

use user_sync_core::ports::{AccountWrite, OfferedProduct, ProductApi, ProductApiError, Seats};
use user_sync_core::state::{ProductAccount, RemoteAccount};

/// One reused client per process; every call has a timeout.
#[derive(Clone)]
pub struct HttpProductApi {
    client: reqwest::Client,
    base_url: String,
    api_key: String,
}

impl std::fmt::Debug for HttpProductApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProductApi")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Where the product API is and where its key is kept, read once at
/// start-up by every function that calls it.
#[derive(Clone, Debug)]
pub struct ProductApiSettings {
    pub url: String,
    /// The Secrets Manager secret (ARN or name) whose `SecretString` holds
    /// the product API key as `{"apiKey": "…"}`; read once, at start.
    pub key_secret: String,
    pub timeout: Duration,
}

impl ProductApiSettings {
    /// `PRODUCT_API_URL`, `PRODUCT_API_KEY_SECRET_ARN` and
    /// `PRODUCT_API_TIMEOUT_MS` (by default `default_timeout_ms`).
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        default_timeout_ms: u64,
    ) -> Result<Self, crate::env::ConfigError> {
        Ok(Self {
            url: crate::env::required(get, "PRODUCT_API_URL")?,
            key_secret: crate::env::required(get, "PRODUCT_API_KEY_SECRET_ARN")?,
            timeout: Duration::from_millis(crate::env::number(
                get,
                "PRODUCT_API_TIMEOUT_MS",
                default_timeout_ms,
            )?),
        })
    }

    /// The adapter, its key read now (the one call to AWS this makes).
    pub async fn connect(
        &self,
        sdk: &aws_config::SdkConfig,
    ) -> Result<HttpProductApi, Box<dyn std::error::Error + Send + Sync>> {
        HttpProductApi::with_key_from_secret(sdk, &self.url, &self.key_secret, self.timeout).await
    }
}

/// Longest `Retry-After` we honour; anything longer is capped.
const MAX_RETRY_AFTER_SECONDS: u64 = 900;

impl HttpProductApi {
    pub fn new(
        base_url: &str,
        api_key: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.into(),
        })
    }

    /// The adapter, with its API key read now from the Secrets Manager
    /// secret `secret_id` (see [`crate::secrets::product_api_key`]): once,
    /// when the function starts.
    pub async fn with_key_from_secret(
        sdk: &aws_config::SdkConfig,
        base_url: &str,
        secret_id: &str,
        timeout: Duration,
    ) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let key = crate::secrets::product_api_key(sdk, secret_id).await?;
        Ok(Self::new(base_url, key, timeout)?)
    }
}

/// Calls of one account write, at most: a `5xx` or a refused connection is
/// tried again at once (after a short pause), as the AWS SDKs do; a timeout
/// or a `429` is not (the job's next delivery retries it, after
/// `Retry-After`).
const PUT_ATTEMPTS: u32 = 3;

/// The pause before the `n`th retry (from 1): 100 ms doubled per retry, half
/// of it spread at random so that writes failed together do not retry
/// together.
fn retry_pause(retry: u32) -> Duration {
    let full = 100u64 << retry.saturating_sub(1).min(4);
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or_default();
    Duration::from_millis(full / 2 + jitter % (full / 2 + 1))
}

/// Whether a failed write is worth an immediate second call.
fn retry_at_once(e: &ProductApiError) -> bool {
    matches!(e, ProductApiError::Unavailable(reason) if reason != "timeout")
}

impl ProductApi for HttpProductApi {
    async fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        let mut attempt = 1;
        loop {
            match self.put_once(org, user_key, account).await {
                Err(e) if attempt < PUT_ATTEMPTS && retry_at_once(&e) => {
                    tokio::time::sleep(retry_pause(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    async fn seats(&self, org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        self.seats_once(org).await
    }

    async fn products(&self, org: &OrgId) -> Result<Vec<OfferedProduct>, ProductApiError> {
        self.products_once(org).await
    }

    async fn get_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
    ) -> Result<Option<RemoteAccount>, ProductApiError> {
        let mut attempt = 1;
        loop {
            match self.get_once(org, user_key).await {
                Err(e) if attempt < PUT_ATTEMPTS && retry_at_once(&e) => {
                    tokio::time::sleep(retry_pause(attempt)).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// `GET …/users/{userKey}`'s answer: the account and who changed it last.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountBody {
    #[serde(flatten)]
    account: ProductAccount,
    #[serde(default)]
    updated_by: Option<String>,
}

/// A call that got no answer: the product API is unavailable.
fn no_answer(e: reqwest::Error) -> ProductApiError {
    ProductApiError::Unavailable(if e.is_timeout() {
        "timeout".into()
    } else {
        "connection failed".into()
    })
}

/// A `429`'s `Retry-After`, bounded.
fn rate_limited(response: &reqwest::Response) -> ProductApiError {
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .min(MAX_RETRY_AFTER_SECONDS);
    ProductApiError::RateLimited {
        retry_after_seconds: retry_after,
    }
}

impl HttpProductApi {
    /// One `PUT` of an account (the call is idempotent: safe to repeat).
    async fn put_once(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        let url = format!("{}/v1/accounts/{org}/users/{user_key}", self.base_url);
        let response = self
            .send(self.client.put(url).json(account))
            .await
            .map_err(no_answer)?;
        let status = response.status();
        match status {
            StatusCode::CREATED => return Ok(AccountWrite::Created),
            StatusCode::OK => return Ok(AccountWrite::Updated),
            StatusCode::TOO_MANY_REQUESTS => return Err(rate_limited(&response)),
            s if s.is_server_error() => {
                return Err(ProductApiError::Unavailable(format!(
                    "status {}",
                    s.as_u16()
                )));
            }
            _ => {}
        }
        let body: Option<ErrorBody> = response.json().await.ok();
        let code = body.as_ref().map(|b| b.code.as_str()).unwrap_or_default();
        Err(match (status, code) {
            (StatusCode::CONFLICT, "existing_account") => ProductApiError::ExistingAccount,
            (StatusCode::CONFLICT, "out_of_licenses") => ProductApiError::OutOfLicenses {
                product: body.and_then(|b| b.product).unwrap_or_default(),
            },
            (StatusCode::UNPROCESSABLE_ENTITY, _) => ProductApiError::InvalidUserData(
                body.and_then(|b| b.message)
                    .unwrap_or_else(|| "invalid user data".into()),
            ),
            // 401/403 and anything unexpected: our configuration is wrong, not
            // the user; retrying later (after ops fix it) is the right move
            (s, _) => ProductApiError::Unavailable(format!("unexpected status {}", s.as_u16())),
        })
    }

    /// One `GET` of an account: `None` on `404`.
    async fn get_once(
        &self,
        org: &OrgId,
        user_key: &UserId,
    ) -> Result<Option<RemoteAccount>, ProductApiError> {
        let url = format!("{}/v1/accounts/{org}/users/{user_key}", self.base_url);
        let response = self.send(self.client.get(url)).await.map_err(no_answer)?;
        match response.status() {
            StatusCode::OK => response
                .json::<AccountBody>()
                .await
                .map(|b| {
                    Some(RemoteAccount {
                        account: b.account,
                        updated_by: b.updated_by,
                    })
                })
                .map_err(|_| ProductApiError::Unavailable("account: unreadable answer".into())),
            StatusCode::NOT_FOUND => Ok(None),
            StatusCode::TOO_MANY_REQUESTS => Err(rate_limited(&response)),
            s => Err(ProductApiError::Unavailable(format!(
                "account: status {}",
                s.as_u16()
            ))),
        }
    }

    async fn seats_once(&self, org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        let url = format!("{}/v1/accounts/{org}/seats", self.base_url);
        self.read("seats", url).await
    }

    /// Sends `request` with the bearer key and, when known, the change it
    /// belongs to (for the product API's own logs).
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = request.bearer_auth(&self.api_key);
        if let Some(origin) = crate::correlation::current() {
            request = request.header(crate::correlation::HEADER, origin.correlation_id);
        }
        request.send().await
    }

    /// One `GET` of `url` whose `2xx` answer is a `T`; anything else makes
    /// the product API unavailable, the message naming `what`.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        url: String,
    ) -> Result<T, ProductApiError> {
        let response = self
            .send(self.client.get(url))
            .await
            .map_err(|_| ProductApiError::Unavailable(format!("{what}: no answer")))?;
        if !response.status().is_success() {
            return Err(ProductApiError::Unavailable(format!(
                "{what}: status {}",
                response.status().as_u16()
            )));
        }
        response
            .json::<T>()
            .await
            .map_err(|_| ProductApiError::Unavailable(format!("{what}: unreadable answer")))
    }
}

/// The answer of `GET /v1/accounts/{orgId}/products`.
#[derive(serde::Deserialize)]
struct ProductsBody {
    products: Vec<OfferedProduct>,
}

impl HttpProductApi {
    /// One read of the products the organization's account offers (one
    /// call, the client's timeout: a caller waits at most that long).
    async fn products_once(&self, org: &OrgId) -> Result<Vec<OfferedProduct>, ProductApiError> {
        let url = format!("{}/v1/accounts/{org}/products", self.base_url);
        self.read::<ProductsBody>("products", url)
            .await
            .map(|b| b.products)
    }
}

/// Organizations whose products one container keeps at most; past it, the
/// expired ones are dropped, then all.
const CACHED_ORGS: usize = 1_000;

/// A product API whose `products` answers are kept for `ttl` per
/// organization, in this process (one Lambda container): the catalogue and
/// every rule write read them, the product API is asked at most once per
/// `ttl` per organization. A failed read is not kept. Account writes and
/// seats go straight through.
#[derive(Debug)]
pub struct CachedProducts<P> {
    inner: P,
    ttl: Duration,
    kept: std::sync::Mutex<
        std::collections::HashMap<OrgId, (std::time::Instant, Vec<OfferedProduct>)>,
    >,
}

impl<P> CachedProducts<P> {
    /// `inner`'s products kept for `ttl` (zero: not kept).
    pub fn new(inner: P, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            kept: std::sync::Mutex::default(),
        }
    }

    fn kept(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<OrgId, (std::time::Instant, Vec<OfferedProduct>)>,
    > {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<P: ProductApi + Send> ProductApi for CachedProducts<P> {
    async fn put_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
        account: &ProductAccount,
    ) -> Result<AccountWrite, ProductApiError> {
        self.inner.put_account(org, user_key, account).await
    }

    async fn seats(&self, org: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
        self.inner.seats(org).await
    }

    async fn products(&self, org: &OrgId) -> Result<Vec<OfferedProduct>, ProductApiError> {
        let fresh = |at: &std::time::Instant| at.elapsed() < self.ttl;
        if let Some((_, products)) = self.kept().get(org).filter(|(at, _)| fresh(at)) {
            return Ok(products.clone());
        }
        let products = self.inner.products(org).await?;
        if !self.ttl.is_zero() {
            let mut kept = self.kept();
            if kept.len() >= CACHED_ORGS {
                kept.retain(|_, (at, _)| fresh(at));
                if kept.len() >= CACHED_ORGS {
                    kept.clear();
                }
            }
            kept.insert(org.clone(), (std::time::Instant::now(), products.clone()));
        }
        Ok(products)
    }

    async fn get_account(
        &self,
        org: &OrgId,
        user_key: &UserId,
    ) -> Result<Option<RemoteAccount>, ProductApiError> {
        self.inner.get_account(org, user_key).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use user_sync_core::memory::MemoryProductApi;

    use super::*;

    /// A product API that never answers.
    struct Down;

    impl ProductApi for Down {
        async fn put_account(
            &self,
            _: &OrgId,
            _: &UserId,
            _: &ProductAccount,
        ) -> Result<AccountWrite, ProductApiError> {
            Err(ProductApiError::Unavailable("down".into()))
        }
        async fn seats(&self, _: &OrgId) -> Result<BTreeMap<String, Seats>, ProductApiError> {
            Err(ProductApiError::Unavailable("down".into()))
        }
        async fn products(&self, _: &OrgId) -> Result<Vec<OfferedProduct>, ProductApiError> {
            Err(ProductApiError::Unavailable("down".into()))
        }
        async fn get_account(
            &self,
            _: &OrgId,
            _: &UserId,
        ) -> Result<Option<RemoteAccount>, ProductApiError> {
            Err(ProductApiError::Unavailable("down".into()))
        }
    }

    #[tokio::test]
    async fn products_are_kept_for_the_ttl_and_a_failure_is_not() {
        let org = OrgId::parse("acme").unwrap();
        let cached = CachedProducts::new(MemoryProductApi::default(), Duration::from_millis(200));
        let first = cached.products(&org).await.unwrap();
        assert!(first.iter().any(|p| p.id == "G2M"));
        cached.inner.offer(&[("X", "Product X", false)]);
        assert_eq!(cached.products(&org).await.unwrap(), first);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = cached.products(&org).await.unwrap();
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].id, "X");

        let down = CachedProducts::new(Down, Duration::from_secs(60));
        assert!(down.products(&org).await.is_err());
        assert!(down.kept().is_empty());
    }
}
