//! ID token signatures against a JWKS served by a local HTTP server: what
//! is accepted, what is refused, key rotation and the fetch rate limit.
//! Keys are made here (ring) or read from a fixture (RSA).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;
use user_sync_aws::oidc::{JwksPolicy, OidcVerifier, looks_like_jwt};
use user_sync_core::sso::{
    Discovered, IdTokenVerifier, RoleValues, SsoConfig, TokenRefusal, VerifyError, check_claims,
};

const ISSUER: &str = "https://idp.example.com";
const CLIENT: &str = "user-sync";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key with its JWK.
enum Key {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl Key {
    fn rsa() -> Self {
        let pem = include_str!("fixtures/oidc-rsa-2048.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).unwrap();
        Key::Rsa(RsaKeyPair::from_pkcs8(&der).unwrap())
    }

    fn ec() -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Key::Ec(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Rsa(_) => "RS256",
            Key::Ec(_) => "ES256",
        }
    }

    fn jwk(&self, kid: &str) -> Value {
        match self {
            Key::Rsa(k) => {
                let c: signature::RsaPublicKeyComponents<Vec<u8>> = k.public().into();
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(&c.n), "e": b64(&c.e)})
            }
            Key::Ec(k) => {
                let point = k.public_key().as_ref();
                json!({"kty": "EC", "crv": "P-256", "kid": kid,
                    "x": b64(&point[1..33]), "y": b64(&point[33..])})
            }
        }
    }

    /// The public key's bytes (what an HS256 forgery would use as secret).
    fn public_bytes(&self) -> Vec<u8> {
        match self {
            Key::Rsa(k) => k.public().as_ref().to_vec(),
            Key::Ec(k) => k.public_key().as_ref().to_vec(),
        }
    }

    fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = json!({"alg": self.alg(), "typ": "JWT"});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let signed = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let rng = SystemRandom::new();
        let sig = match self {
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &rng,
                    signed.as_bytes(),
                    &mut sig,
                )
                .unwrap();
                sig
            }
            Key::Ec(k) => k.sign(&rng, signed.as_bytes()).unwrap().as_ref().to_vec(),
        };
        format!("{signed}.{}", b64(&sig))
    }
}

fn claims() -> Value {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    json!({"iss": ISSUER, "aud": CLIENT, "sub": "ada", "name": "Ada Admin",
        "iat": now, "exp": now + 300, "groups": ["admins"]})
}

fn config(jwks_uri: &str) -> SsoConfig {
    SsoConfig {
        issuer: ISSUER.into(),
        client_id: CLIENT.into(),
        name: "Acme".into(),
        role_claim: "groups".into(),
        roles: RoleValues {
            admin: vec!["admins".into()],
            ..RoleValues::default()
        },
        discovered: Discovered {
            authorization_endpoint: format!("{ISSUER}/auth"),
            token_endpoint: format!("{ISSUER}/token"),
            end_session_endpoint: None,
            jwks_uri: jwks_uri.into(),
        },
        token_sign_in: true,
    }
}

/// A JWKS server: the keys it serves (swappable) and how often it was asked.
#[derive(Clone, Default)]
struct Jwks {
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl Jwks {
    async fn start(keys: Vec<Value>) -> (Self, String) {
        let jwks = Jwks::default();
        *jwks.keys.lock().unwrap() = keys;
        let app = Router::new()
            .route(
                "/jwks",
                get(|State(j): State<Jwks>| async move {
                    j.fetches.fetch_add(1, Ordering::SeqCst);
                    axum::Json(json!({"keys": *j.keys.lock().unwrap()}))
                }),
            )
            .with_state(jwks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (jwks, uri)
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn verifier(min_refresh: Duration) -> OidcVerifier {
    OidcVerifier::new(JwksPolicy {
        cache_for: Duration::from_secs(3600),
        min_refresh,
    })
    .unwrap()
}

/// Verifies the signature, then the claims, as the api does.
async fn accept(v: &OidcVerifier, uri: &str, token: &str) -> Result<(), String> {
    let claims = v.verify(token, uri).await.map_err(|e| e.to_string())?;
    check_claims(&claims, &config(uri), OffsetDateTime::now_utc()).map_err(|e| e.to_string())
}

fn refused(r: Result<(), String>) -> String {
    r.expect_err("the token must be refused")
}

#[tokio::test]
async fn tokens_signed_by_the_issuers_keys_are_accepted() {
    let (rsa, ec) = (Key::rsa(), Key::ec());
    let (_jwks, uri) = Jwks::start(vec![rsa.jwk("r1"), ec.jwk("e1")]).await;
    let v = verifier(Duration::from_secs(30));
    let token = rsa.sign(Some("r1"), &claims());
    assert!(looks_like_jwt(&token));
    assert_eq!(accept(&v, &uri, &token).await, Ok(()));
    assert_eq!(
        accept(&v, &uri, &ec.sign(Some("e1"), &claims())).await,
        Ok(())
    );
    let claims = v.verify(&token, &uri).await.unwrap();
    assert_eq!(claims.actor_name(), Some("Ada Admin"));
}

#[tokio::test]
async fn the_only_key_is_used_when_the_token_names_none() {
    let rsa = Key::rsa();
    let (_jwks, uri) = Jwks::start(vec![rsa.jwk("r1")]).await;
    let v = verifier(Duration::from_secs(30));
    assert_eq!(accept(&v, &uri, &rsa.sign(None, &claims())).await, Ok(()));
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let (published, other) = (Key::ec(), Key::ec());
    let (_jwks, uri) = Jwks::start(vec![published.jwk("k1")]).await;
    let v = verifier(Duration::from_secs(30));
    let reason = refused(accept(&v, &uri, &other.sign(Some("k1"), &claims())).await);
    assert!(reason.contains("signature"), "{reason}");
}

#[tokio::test]
async fn another_audience_an_expired_or_a_future_token_is_refused() {
    let rsa = Key::rsa();
    let (_jwks, uri) = Jwks::start(vec![rsa.jwk("r1")]).await;
    let v = verifier(Duration::from_secs(30));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for (change, why) in [
        (json!({"aud": "another-client"}), TokenRefusal::Audience),
        (json!({"exp": now - 120}), TokenRefusal::Expired),
        (json!({"nbf": now + 600}), TokenRefusal::NotYetValid),
        (
            json!({"iss": "https://evil.example.com"}),
            TokenRefusal::Issuer,
        ),
    ] {
        let mut c = claims();
        for (k, val) in change.as_object().unwrap() {
            c[k] = val.clone();
        }
        let reason = refused(accept(&v, &uri, &rsa.sign(Some("r1"), &c)).await);
        assert_eq!(reason, why.to_string());
    }
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let rsa = Key::rsa();
    let (_jwks, uri) = Jwks::start(vec![rsa.jwk("r1")]).await;
    let v = verifier(Duration::from_secs(30));
    let body = b64(claims().to_string().as_bytes());
    let none = format!("{}.{body}.", b64(br#"{"alg":"none","kid":"r1"}"#));
    assert!(matches!(
        v.verify(&none, &uri).await,
        Err(VerifyError::Invalid(_))
    ));
    let signed = format!("{}.{body}", b64(br#"{"alg":"HS256","kid":"r1"}"#));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &rsa.public_bytes());
    let tag = ring::hmac::sign(&key, signed.as_bytes());
    let forged = format!("{signed}.{}", b64(tag.as_ref()));
    assert!(matches!(
        v.verify(&forged, &uri).await,
        Err(VerifyError::Invalid(_))
    ));
    // an RSA key does not verify an ES256 header, whatever the signature
    let ec = Key::ec();
    let mixed = ec.sign(Some("r1"), &claims());
    assert!(matches!(
        v.verify(&mixed, &uri).await,
        Err(VerifyError::Invalid(_))
    ));
    assert!(!looks_like_jwt("us_admin_acme.0123.abcd"));
}

#[tokio::test]
async fn an_unknown_key_id_refetches_once_and_a_rotated_key_is_accepted() {
    let (old, new) = (Key::ec(), Key::ec());
    let (jwks, uri) = Jwks::start(vec![old.jwk("old")]).await;
    let v = verifier(Duration::from_millis(200));
    assert_eq!(
        accept(&v, &uri, &old.sign(Some("old"), &claims())).await,
        Ok(())
    );
    assert_eq!(jwks.fetches(), 1);
    // the issuer rotates: the new key first, the old one still listed
    *jwks.keys.lock().unwrap() = vec![new.jwk("new"), old.jwk("old")];
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        accept(&v, &uri, &new.sign(Some("new"), &claims())).await,
        Ok(())
    );
    assert_eq!(jwks.fetches(), 2, "one refetch for the unknown kid");
    assert_eq!(
        accept(&v, &uri, &old.sign(Some("old"), &claims())).await,
        Ok(())
    );
    assert_eq!(
        accept(&v, &uri, &new.sign(Some("new"), &claims())).await,
        Ok(())
    );
    assert_eq!(jwks.fetches(), 2, "known keys come from the cache");
}

#[tokio::test]
async fn fetches_for_unknown_key_ids_are_rate_limited() {
    let known = Key::ec();
    let (jwks, uri) = Jwks::start(vec![known.jwk("k")]).await;
    let v = verifier(Duration::from_secs(30));
    assert_eq!(
        accept(&v, &uri, &known.sign(Some("k"), &claims())).await,
        Ok(())
    );
    for i in 0..5 {
        let token = known.sign(Some(&format!("unknown-{i}")), &claims());
        assert!(accept(&v, &uri, &token).await.is_err());
    }
    assert_eq!(jwks.fetches(), 1, "no refetch within the minimum interval");
}

#[tokio::test]
async fn an_unreachable_jwks_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
    drop(listener);
    let v = verifier(Duration::from_secs(30));
    let token = Key::ec().sign(Some("k"), &claims());
    assert!(matches!(
        v.verify(&token, &uri).await,
        Err(VerifyError::Unavailable(_))
    ));
}
