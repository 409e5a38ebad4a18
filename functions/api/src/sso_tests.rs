//! The router with in-memory ports and a fake signature check: a person's
//! ID token as the caller (401, 403, 503), `/me`, `GET /sso`,
//! `GET /sign-in/{orgId}`, and keys refused from browsers when token
//! sign-in is off.

#![allow(clippy::unwrap_used, clippy::panic)]

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use time::macros::datetime;
use user_sync_aws::http::HttpRequest;
use user_sync_core::access::Role;
use user_sync_core::auth::{TokenKind, issue};
use user_sync_core::clock::FixedClock;
use user_sync_core::domains::{TxtLookup, TxtResolver};
use user_sync_core::ids::OrgId;
use user_sync_core::memory::{MemoryCounters, MemoryProductApi, MemoryStore};
use user_sync_core::ports::{Organization, Organizations, Tokens};
use user_sync_core::ratelimit::{OrgRateLimiter, RateGate};
use user_sync_core::sso::{
    Claims, Discovered, IdTokenVerifier, RoleValues, SsoConfig, SsoConfigs, VerifyError,
};

use crate::failures::RetryQueues;
use crate::registry::Backend;
use crate::route;

const NOW: time::OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const ISSUER: &str = "https://idp.example.com";
/// A JWT-shaped bearer value: `{"alg":"RS256"}`, a payload, a signature.
const HEADER: &str = "eyJhbGciOiJSUzI1NiJ9";

struct NoDns;
impl TxtResolver for NoDns {
    async fn txt(&self, _: &str) -> TxtLookup {
        TxtLookup::NotFound
    }
}

/// Answers what the test says: the signature "verifies" unless told not to.
struct FakeVerifier(Option<VerifyError>);
impl IdTokenVerifier for FakeVerifier {
    async fn verify(&self, token: &str, _: &str) -> Result<Claims, VerifyError> {
        if let Some(e) = &self.0 {
            return Err(e.clone());
        }
        user_sync_aws::oidc::unverified_claims(token).ok_or(VerifyError::Invalid("shape".into()))
    }
}

struct TestBackend {
    store: MemoryStore,
    product_api: MemoryProductApi,
    queues: RetryQueues<MemoryStore, MemoryStore>,
    rate: RateGate<MemoryCounters>,
    clock: FixedClock,
    verifier: FakeVerifier,
}

impl Backend for TestBackend {
    type Directory = MemoryStore;
    type State = MemoryStore;
    type ProductApi = MemoryProductApi;
    type Jobs = MemoryStore;
    type Mail = MemoryStore;
    type Counters = MemoryCounters;
    type Dns = NoDns;
    type Clock = FixedClock;
    type IdTokens = FakeVerifier;

    fn directory(&self) -> &MemoryStore {
        &self.store
    }
    fn state(&self) -> &MemoryStore {
        &self.store
    }
    fn product_api(&self) -> &MemoryProductApi {
        &self.product_api
    }
    fn queues(&self) -> &RetryQueues<MemoryStore, MemoryStore> {
        &self.queues
    }
    fn gate(&self) -> &RateGate<MemoryCounters> {
        &self.rate
    }
    fn login_url(&self) -> &str {
        "https://login.example.com"
    }
    fn dns(&self) -> &NoDns {
        &NoDns
    }
    fn clock(&self) -> &FixedClock {
        &self.clock
    }
    fn id_tokens(&self) -> &FakeVerifier {
        &self.verifier
    }
}

fn acme() -> OrgId {
    OrgId::parse("acme").unwrap()
}

pub(crate) fn config(token_sign_in: bool) -> SsoConfig {
    SsoConfig {
        issuer: ISSUER.into(),
        client_id: "user-sync".into(),
        name: "Okta".into(),
        role_claim: "groups".into(),
        roles: RoleValues {
            admin: vec!["admins".into()],
            operator: vec![],
            viewer: vec!["viewers".into()],
        },
        discovered: Discovered {
            authorization_endpoint: format!("{ISSUER}/auth"),
            token_endpoint: format!("{ISSUER}/token"),
            end_session_endpoint: None,
            jwks_uri: format!("{ISSUER}/jwks"),
        },
        token_sign_in,
    }
}

async fn backend(verify: Option<VerifyError>, sso: Option<SsoConfig>) -> TestBackend {
    let b = TestBackend {
        store: MemoryStore::default(),
        product_api: MemoryProductApi::default(),
        queues: RetryQueues {
            jobs: MemoryStore::default(),
            mail: MemoryStore::default(),
        },
        rate: RateGate::new(OrgRateLimiter::new("admin", 0), MemoryCounters::default()),
        clock: FixedClock::at(NOW),
        verifier: FakeVerifier(verify),
    };
    b.store
        .create_org(&Organization::new(
            acme(),
            "Acme",
            "2026-01-01T00:00:00.000Z",
        ))
        .await
        .unwrap();
    if let Some(c) = sso {
        b.store.put_sso(&acme(), &c).await.unwrap();
    }
    b
}

fn id_token(claims: Value) -> String {
    use base64::Engine;
    let mut base = json!({"iss": ISSUER, "aud": "user-sync", "sub": "ada", "name": "Ada Admin",
        "exp": NOW.unix_timestamp() + 300, "iat": NOW.unix_timestamp(), "groups": ["admins"]});
    for (k, v) in claims.as_object().unwrap() {
        base[k] = v.clone();
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(base.to_string());
    format!("{HEADER}.{payload}.c2ln")
}

fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> HttpRequest {
    let mut event = ApiGatewayV2httpRequest::default();
    event.raw_path = Some(path.to_owned());
    event.request_context.http.method = method.parse().unwrap();
    event.request_context.http.path = Some(path.to_owned());
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        let name: aws_lambda_events::http::HeaderName = k.parse().unwrap();
        map.insert(name, HeaderValue::from_str(v).unwrap());
    }
    event.headers = map;
    HttpRequest::from_event(event, 1024).unwrap()
}

async fn call(
    b: &TestBackend,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value, ApiGatewayV2httpResponse) {
    let answer = route(b, &request("GET", path, headers)).await;
    let body = match &answer.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
        _ => Value::Null,
    };
    (u16::try_from(answer.status_code).unwrap(), body, answer)
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[tokio::test]
async fn a_person_is_the_caller_with_the_role_their_groups_give() {
    let b = backend(None, Some(config(true))).await;
    let auth = bearer(&id_token(json!({})));
    let (status, me, _) = call(&b, "/api/v1/me", &[("authorization", &auth)]).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        me,
        json!({"kind": "person", "orgId": "acme", "name": "Ada Admin", "subject": "ada",
            "role": "admin", "expiresAt": "2026-06-01T12:05:00.000Z"})
    );
    let viewer = bearer(&id_token(
        json!({"groups": "viewers", "name": null, "preferred_username": "vera"}),
    ));
    let (status, me, _) = call(&b, "/api/v1/me", &[("authorization", &viewer)]).await;
    assert_eq!(
        (status, me["role"].clone(), me["name"].clone()),
        (200, json!("viewer"), json!("vera"))
    );
    // a viewer reads the configuration, and may not list keys
    let (status, sso, _) = call(&b, "/api/v1/sso", &[("authorization", &viewer)]).await;
    assert_eq!(status, 200);
    assert_eq!(sso["sso"]["clientId"], "user-sync");
    assert_eq!(sso["sso"]["roles"]["viewer"], json!(["viewers"]));
    assert_eq!(sso["tokenSignIn"], true);
    assert!(sso["sso"].get("jwksUri").is_none());
    let (status, _, _) = call(&b, "/api/v1/keys", &[("authorization", &viewer)]).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn refused_tokens_are_401_invalid_token_and_no_role_is_403() {
    let b = backend(None, Some(config(true))).await;
    for (claims, why) in [
        (
            json!({"aud": "another-client"}),
            "another audience: no organization",
        ),
        (json!({"iss": "https://evil.example.com"}), "another issuer"),
        (json!({"exp": NOW.unix_timestamp() - 120}), "expired"),
        (json!({"sub": ""}), "no subject"),
    ] {
        let auth = bearer(&id_token(claims));
        let (status, body, answer) = call(&b, "/api/v1/me", &[("authorization", &auth)]).await;
        assert_eq!(status, 401, "{why}");
        assert_eq!(
            body["detail"], "a valid admin bearer token is required",
            "{why}"
        );
        assert_eq!(
            answer.headers["www-authenticate"],
            "Bearer realm=\"user-sync-admin\", error=\"invalid_token\"",
            "{why}"
        );
    }
    let nobody = bearer(&id_token(json!({"groups": []})));
    let (status, body, _) = call(&b, "/api/v1/me", &[("authorization", &nobody)]).await;
    assert_eq!(status, 403);
    assert_eq!(body["detail"], crate::sso::NO_ROLE);

    let bad_signature = backend(
        Some(VerifyError::Invalid("signature".into())),
        Some(config(true)),
    )
    .await;
    let auth = bearer(&id_token(json!({})));
    let (status, _, _) = call(&bad_signature, "/api/v1/me", &[("authorization", &auth)]).await;
    assert_eq!(status, 401);
    let down = backend(
        Some(VerifyError::Unavailable("timeout".into())),
        Some(config(true)),
    )
    .await;
    let (status, body, _) = call(&down, "/api/v1/me", &[("authorization", &auth)]).await;
    assert_eq!(
        (status, body["code"].clone()),
        (503, json!("identity_provider_unavailable"))
    );
}

#[tokio::test]
async fn keys_from_a_browser_are_refused_when_token_sign_in_is_off() {
    let b = backend(None, Some(config(false))).await;
    let key = issue(
        &acme(),
        TokenKind::Admin,
        "Release pipeline",
        [7; 40],
        "2026-01-01T00:00:00.000Z".into(),
    )
    .with_role(Role::Admin);
    b.store.put_token(&key.stored).await.unwrap();
    let auth = bearer(&key.plain);
    let (status, me, _) = call(&b, "/api/v1/me", &[("authorization", &auth)]).await;
    assert_eq!(status, 200, "automation keeps working");
    assert_eq!(me["kind"], "key");
    assert_eq!(me["name"], "Release pipeline");
    assert!(me.get("subject").is_none());
    let (status, body, _) = call(
        &b,
        "/api/v1/me",
        &[("authorization", &auth), ("sec-fetch-mode", "cors")],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body["detail"],
        "token sign-in is turned off for this organization: sign in with Okta"
    );
    // on again: the browser's key works
    b.store.put_sso(&acme(), &config(true)).await.unwrap();
    let (status, _, _) = call(
        &b,
        "/api/v1/me",
        &[("authorization", &auth), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_sign_in_page_reads_without_a_token() {
    let b = backend(None, Some(config(false))).await;
    let (status, body, _) = call(&b, "/api/v1/sign-in/acme", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"organization": "Acme", "tokenSignIn": false, "sso": {"name": "Okta",
            "issuer": ISSUER, "clientId": "user-sync", "authorizationEndpoint": format!("{ISSUER}/auth"),
            "tokenEndpoint": format!("{ISSUER}/token"), "scopes": "openid profile"}})
    );
    let (status, _, _) = call(&b, "/api/v1/sign-in/nobody", &[]).await;
    assert_eq!(status, 404);
    let plain = backend(None, None).await;
    let (status, body, _) = call(&plain, "/api/v1/sign-in/acme", &[]).await;
    assert_eq!(
        (status, body["sso"].clone(), body["tokenSignIn"].clone()),
        (200, Value::Null, json!(true))
    );
    let (status, _, _) = call(&plain, "/api/v1/sso", &[]).await;
    assert_eq!(status, 401, "GET /sso needs a credential");
}
