//! ID token signatures against the issuer's published keys (JWKS), with
//! `ring`. The keys are cached per container, by `jwks_uri`, for
//! [`JwksPolicy::cache_for`]; a token whose `kid` is not among them makes one
//! refetch, at most once per [`JwksPolicy::min_refresh`] per `jwks_uri`.
//! Only asymmetric algorithms are accepted: `none` and every HMAC are
//! refused before any key is looked at, and the header's `alg` must fit the
//! key chosen (its `kty`/`crv`, and its `alg` when the JWK names one).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm};
use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::info;
use user_sync_core::sso::{Claims, IdTokenVerifier, VerifyError};

/// How long a JWKS fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest JWT accepted (bytes).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// How long keys are kept, and how often they may be fetched again.
#[derive(Debug, Clone, Copy)]
pub struct JwksPolicy {
    /// `OIDC_JWKS_CACHE_SECONDS`.
    pub cache_for: Duration,
    /// `OIDC_JWKS_MIN_REFRESH_SECONDS`.
    pub min_refresh: Duration,
}

/// The default of `OIDC_JWKS_CACHE_SECONDS`.
pub const DEFAULT_CACHE_SECONDS: u64 = 3600;
/// The default of `OIDC_JWKS_MIN_REFRESH_SECONDS`.
pub const DEFAULT_MIN_REFRESH_SECONDS: u64 = 30;

/// A JOSE header.
#[derive(Debug, Clone, Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

/// One key of a JWKS.
#[derive(Debug, Clone, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default, rename = "use")]
    pub use_: Option<String>,
    #[serde(default)]
    pub crv: Option<String>,
    #[serde(default)]
    pub n: Option<String>,
    #[serde(default)]
    pub e: Option<String>,
    #[serde(default)]
    pub x: Option<String>,
    #[serde(default)]
    pub y: Option<String>,
}

impl Jwk {
    /// True for a key that may verify signatures with an algorithm this
    /// module accepts (RSA, EC P-256/P-384, Ed25519; not for encryption).
    pub fn is_asymmetric_signing_key(&self) -> bool {
        self.use_.as_deref().is_none_or(|u| u == "sig") && ALGORITHMS.iter().any(|a| fits(self, a))
    }
}

/// A JWKS document.
#[derive(Debug, Clone, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

/// The algorithms accepted.
pub const ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// Whether `alg` may be used with `key`.
fn fits(key: &Jwk, alg: &str) -> bool {
    if key.alg.as_deref().is_some_and(|a| a != alg) {
        return false;
    }
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => key.kty == "RSA",
        "ES256" => key.kty == "EC" && key.crv.as_deref() == Some("P-256"),
        "ES384" => key.kty == "EC" && key.crv.as_deref() == Some("P-384"),
        "EdDSA" => key.kty == "OKP" && key.crv.as_deref() == Some("Ed25519"),
        _ => false,
    }
}

fn b64(part: &str) -> Result<Vec<u8>, VerifyError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| invalid("a part is not base64url"))
}

fn invalid(reason: &str) -> VerifyError {
    VerifyError::Invalid(reason.to_owned())
}

/// A token's three parts, its header decoded.
struct Parts<'t> {
    header: Header,
    signed: &'t str,
    payload: &'t str,
    signature: &'t str,
}

fn split(token: &str) -> Result<Parts<'_>, VerifyError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("too long"));
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(invalid("not three parts"));
    };
    let header: Header =
        serde_json::from_slice(&b64(h)?).map_err(|_| invalid("the header is not a JOSE header"))?;
    let signed = token
        .get(..h.len() + 1 + p.len())
        .ok_or_else(|| invalid("not three parts"))?;
    Ok(Parts {
        header,
        signed,
        payload: p,
        signature: s,
    })
}

/// True when `token` is shaped like a JWT: three base64url parts whose
/// first is a JOSE header. Anything else is taken for an API key.
pub fn looks_like_jwt(token: &str) -> bool {
    split(token).is_ok()
}

/// Verifies `signed` against `key` with `alg`.
fn verify_with(key: &Jwk, alg: &str, signed: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
    let field = |v: &Option<String>| -> Result<Vec<u8>, VerifyError> {
        b64(v
            .as_deref()
            .ok_or_else(|| invalid("a key lacks a parameter"))?)
    };
    let bad = |_| invalid("the signature does not verify");
    let rsa: Option<&signature::RsaParameters> = match alg {
        "RS256" => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        "RS384" => Some(&signature::RSA_PKCS1_2048_8192_SHA384),
        "RS512" => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        "PS256" => Some(&signature::RSA_PSS_2048_8192_SHA256),
        "PS384" => Some(&signature::RSA_PSS_2048_8192_SHA384),
        "PS512" => Some(&signature::RSA_PSS_2048_8192_SHA512),
        _ => None,
    };
    if let Some(params) = rsa {
        let components = RsaPublicKeyComponents {
            n: field(&key.n)?,
            e: field(&key.e)?,
        };
        return components.verify(params, signed, sig).map_err(bad);
    }
    let (algorithm, point): (&dyn VerificationAlgorithm, Vec<u8>) = match alg {
        "ES256" | "ES384" => {
            let mut point = vec![4];
            point.extend(field(&key.x)?);
            point.extend(field(&key.y)?);
            let a: &dyn VerificationAlgorithm = if alg == "ES256" {
                &signature::ECDSA_P256_SHA256_FIXED
            } else {
                &signature::ECDSA_P384_SHA384_FIXED
            };
            (a, point)
        }
        "EdDSA" => (&signature::ED25519, field(&key.x)?),
        _ => return Err(invalid("a refused algorithm")),
    };
    UnparsedPublicKey::new(algorithm, point)
        .verify(signed, sig)
        .map_err(bad)
}

/// The keys of one `jwks_uri`, as last fetched.
#[derive(Debug, Clone)]
struct Cached {
    keys: Vec<Jwk>,
    /// When they were fetched (`None`: never successfully).
    fetched: Option<Instant>,
    /// When a fetch was last tried.
    tried: Instant,
}

/// Verifies ID tokens against JWKS fetched over HTTP and kept per
/// container.
#[derive(Debug)]
pub struct OidcVerifier {
    client: reqwest::Client,
    policy: JwksPolicy,
    cache: Mutex<HashMap<String, Cached>>,
}

impl OidcVerifier {
    pub fn new(policy: JwksPolicy) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(FETCH_TIMEOUT).build()?,
            policy,
            cache: Mutex::new(HashMap::new()),
        })
    }

    fn cached(&self, uri: &str) -> Option<Cached> {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(uri)
            .cloned()
    }

    /// Fetches the keys unless a fetch was tried less than
    /// `min_refresh` ago; answers the keys to use (fresh or not).
    async fn refresh(&self, uri: &str) -> Result<Vec<Jwk>, VerifyError> {
        let now = Instant::now();
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = cache.get_mut(uri) {
                if now.duration_since(c.tried) < self.policy.min_refresh {
                    return match c.fetched {
                        Some(_) => Ok(c.keys.clone()),
                        None => Err(VerifyError::Unavailable(
                            "the last fetch failed; not retried yet".into(),
                        )),
                    };
                }
                c.tried = now;
            } else {
                cache.insert(
                    uri.to_owned(),
                    Cached {
                        keys: Vec::new(),
                        fetched: None,
                        tried: now,
                    },
                );
            }
        }
        info!("fetching the identity provider's keys");
        let fetched = fetch_jwks(&self.client, uri).await;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match fetched {
            Ok(set) => {
                let entry = Cached {
                    keys: set.keys,
                    fetched: Some(now),
                    tried: now,
                };
                let keys = entry.keys.clone();
                cache.insert(uri.to_owned(), entry);
                Ok(keys)
            }
            Err(e) => match cache.get(uri) {
                // stale keys beat none while the issuer is unreachable
                Some(c) if c.fetched.is_some() => Ok(c.keys.clone()),
                _ => Err(VerifyError::Unavailable(e)),
            },
        }
    }

    /// The keys to try: cached while fresh, else fetched.
    async fn keys(&self, uri: &str) -> Result<Vec<Jwk>, VerifyError> {
        if let Some(c) = self.cached(uri)
            && c.fetched
                .is_some_and(|at| at.elapsed() < self.policy.cache_for)
        {
            return Ok(c.keys);
        }
        self.refresh(uri).await
    }
}

/// The key a header names: by `kid`, or the only signing key when it names
/// none.
fn choose<'k>(keys: &'k [Jwk], header: &Header) -> Option<&'k Jwk> {
    match &header.kid {
        Some(kid) => keys.iter().find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let mut signing = keys.iter().filter(|k| k.is_asymmetric_signing_key());
            match (signing.next(), signing.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

/// Fetches and parses a JWKS (used by ops too).
pub async fn fetch_jwks(client: &reqwest::Client, uri: &str) -> Result<JwkSet, String> {
    let response = client
        .get(uri)
        .send()
        .await
        .map_err(|e| format!("cannot reach {uri}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{uri} answered {status}"));
    }
    response
        .json::<JwkSet>()
        .await
        .map_err(|e| format!("{uri} did not answer a JWKS: {e}"))
}

impl IdTokenVerifier for OidcVerifier {
    async fn verify(&self, token: &str, jwks_uri: &str) -> Result<Claims, VerifyError> {
        let parts = split(token)?;
        let alg = parts.header.alg.as_str();
        if !ALGORITHMS.contains(&alg) {
            return Err(invalid("a refused algorithm"));
        }
        let signature = b64(parts.signature)?;
        let mut keys = self.keys(jwks_uri).await?;
        if choose(&keys, &parts.header).is_none() {
            // an unknown key id: the issuer may have rotated its keys
            keys = self.refresh(jwks_uri).await?;
        }
        let key = choose(&keys, &parts.header).ok_or_else(|| invalid("no such key"))?;
        if !fits(key, alg) || key.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(invalid("the algorithm does not fit the key"));
        }
        verify_with(key, alg, parts.signed.as_bytes(), &signature)?;
        let payload: Map<String, Value> = serde_json::from_slice(&b64(parts.payload)?)
            .map_err(|_| invalid("the payload is not a JSON object"))?;
        Ok(Claims(payload))
    }
}

/// The claims of a token, decoded WITHOUT verifying anything: only to find
/// which organization's configuration to verify it against.
pub fn unverified_claims(token: &str) -> Option<Claims> {
    let parts = split(token).ok()?;
    let payload = b64(parts.payload).ok()?;
    serde_json::from_slice(&payload).ok().map(Claims)
}
