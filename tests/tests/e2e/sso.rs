//! Single sign-on against a real OpenID provider (the tests' `oidc-provider`,
//! see `tests/src/oidc.rs`): `ops sso set` validates the issuer, the sign-in
//! page shows the provider without a token, people sign in through the
//! provider's login page with the role their groups map to (the activity
//! history names them), forged, foreign and stale tokens are refused 401
//! with nothing changed, a rotated signing key is picked up, and token
//! sign-in can be turned off for browsers.

use std::time::Duration;

use serde_json::{Value, json};
use user_sync_tests::oidc::{
    OidcProvider, jwt_part, jwt_with_signature, oidc, rsa_key, rsa_public_pem,
};
use user_sync_tests::{Client, Ran, Urls, api_url, eventually, ops_cli, unique_id};

use crate::admin::TestOrg;
use crate::hostile::{first_difference, seed, settled_snapshot};

const REFUSED: &str = "a valid admin bearer token is required";
const NO_ROLE: &str = "your account has no role in User Sync: ask your administrator to add you to one of the groups it maps";

/// `org`'s console address, where the console takes the provider's answer
/// (the redirect URI docs/admin-access.md has admins register).
pub(crate) fn redirect_uri(org: &TestOrg) -> String {
    format!("{}/?org={}", Urls::of_stack().console(), org.org_id)
}

/// `ops sso set` for `org` with `issuer` and `client`, the test groups
/// mapped to the three roles, and `extra` arguments.
pub(crate) async fn sso_set(org: &TestOrg, issuer: &str, client: &str, extra: &[&str]) -> Ran {
    let mut args = vec![
        "--output",
        "json",
        "sso",
        "set",
        &org.org_id,
        "--issuer",
        issuer,
        "--client-id",
        client,
        "--admin",
        "user-sync-admins",
        "--operator",
        "user-sync-operators",
        "--viewer",
        "user-sync-viewers",
    ];
    args.extend_from_slice(extra);
    ops_cli(&args).await
}

/// A client of the provider for `org`'s console, and `org`'s SSO set to it;
/// the client id.
async fn with_sso(org: &TestOrg) -> String {
    let client = unique_id("console");
    oidc().add_client(&client, &redirect_uri(org)).await;
    let ran = sso_set(org, oidc().issuer(), &client, &[]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    client
}

/// `org` seen through a person's ID token.
fn as_person(org: &TestOrg, token: String) -> TestOrg {
    let mut seen = org.clone();
    seen.admin_token = token;
    seen
}

/// `login` signed in through the provider's login page, for `client`.
async fn signed_in(org: &TestOrg, client: &str, login: &str) -> TestOrg {
    let token = oidc().id_token(client, &redirect_uri(org), login).await;
    as_person(org, token)
}

/// An organization with a directory group; a rule on it that an admin may
/// create.
async fn with_group(prefix: &str) -> (TestOrg, Value) {
    let org = TestOrg::new(prefix).await;
    let group = org.scim().group_with("SSO Sales", &[]).await;
    let rule = json!({"groupId": group, "products": ["G2M"], "adminRole": {"type": "full_admin"}});
    (org, rule)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Claims the admin API would accept from `provider` for `client`: Ada, an
/// admin, for ten minutes.
fn valid_claims(provider: &OidcProvider, client: &str) -> Value {
    json!({"iss": provider.issuer(), "aud": client, "sub": "ada", "name": "Ada Admin",
        "groups": ["user-sync-admins"], "iat": now(), "exp": now() + 600})
}

/// The organization's rules, read with its admin key.
async fn rule_count(org: &TestOrg) -> usize {
    org.admin().read("/rules").await["rules"]
        .as_array()
        .map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_set_validates_the_issuer_against_the_real_provider_and_shows_it_read_only() {
    let org = TestOrg::new("sso-set").await;
    let provider = oidc();
    let issuer = provider.issuer();
    let client = unique_id("console");
    provider.add_client(&client, &redirect_uri(&org)).await;

    let set = sso_set(&org, issuer, &client, &["--name", "Example IdP"])
        .await
        .json();
    let view = &set["sso"];
    assert_eq!(view["issuer"], issuer, "{set}");
    assert_eq!(view["clientId"], client.as_str());
    assert_eq!(view["name"], "Example IdP");
    assert_eq!(view["roleClaim"], "groups");
    assert_eq!(
        view["roles"],
        json!({"admin": ["user-sync-admins"], "operator": ["user-sync-operators"],
            "viewer": ["user-sync-viewers"]})
    );
    assert_eq!(view["authorizationEndpoint"], format!("{issuer}/auth"));
    assert_eq!(view["tokenEndpoint"], format!("{issuer}/token"));
    assert_eq!(view["endSessionEndpoint"], format!("{issuer}/session/end"));

    // the same server under another name: its discovery document names the
    // issuer it is, which is not the one given
    let port = issuer.rsplit(':').next().unwrap();
    let other_name = format!("http://localhost:{port}");
    let refused = sso_set(&org, &other_name, &client, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    let said = format!("{}{}", refused.out, refused.err);
    assert!(
        said.contains(&format!("says issuer \"{issuer}\", not \"{other_name}\"")),
        "{refused:?}"
    );
    // another path: no discovery document there
    let refused = sso_set(&org, &format!("{issuer}/elsewhere"), &client, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    // another port: nobody answers
    let refused = sso_set(&org, "http://127.0.0.1:9", &client, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        format!("{}{}", refused.out, refused.err).contains("cannot reach"),
        "{refused:?}"
    );
    // plain http is for loopback addresses only
    let refused = sso_set(&org, "http://idp.example.com", &client, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    // the same issuer and client belong to one organization only
    let other = TestOrg::new("sso-set-other").await;
    let refused = sso_set(&other, issuer, &client, &[]).await;
    assert_ne!(refused.code, 0, "{refused:?}");

    // the refusals changed nothing
    let shown = ops_cli(&["--output", "json", "sso", "show", &org.org_id])
        .await
        .json();
    assert_eq!(shown["sso"], set["sso"], "{shown}");
    let shown = ops_cli(&["--output", "json", "sso", "show", &other.org_id])
        .await
        .json();
    assert_eq!(shown["sso"], Value::Null, "{shown}");

    // the admin API shows it, read-only
    let api = org.admin().read("/sso").await;
    assert_eq!(api["tokenSignIn"], true);
    for field in [
        "name",
        "issuer",
        "clientId",
        "roleClaim",
        "roles",
        "authorizationEndpoint",
        "tokenEndpoint",
        "endSessionEndpoint",
    ] {
        assert_eq!(api["sso"][field], view[field], "{field}: {api}");
    }
    let put = org.admin().put("/sso", json!({"issuer": issuer})).await;
    assert!([404, 405].contains(&put.status), "{}", put.body);
    assert_eq!(other.admin().read("/sso").await["sso"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_the_sign_in_page_shows_the_provider_without_a_token() {
    let org = TestOrg::new("sso-page").await;
    let http = Client::new();
    let url = api_url(&format!("/sign-in/{}", org.org_id));
    let (status, page) = http.send("GET", &url, None, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["organization"], "Test Company");
    assert_eq!(page["tokenSignIn"], true);
    assert_eq!(page["sso"], Value::Null);

    let client = with_sso(&org).await;
    let issuer = oidc().issuer();
    let (status, page) = http.send("GET", &url, None, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["sso"],
        json!({"name": "Test Company", "issuer": issuer, "clientId": client,
            "authorizationEndpoint": format!("{issuer}/auth"),
            "tokenEndpoint": format!("{issuer}/token"),
            "endSessionEndpoint": format!("{issuer}/session/end"),
            "scopes": "openid profile"}),
        "{page}"
    );
    // with a token, the same
    let (status, with_key) = http.send("GET", &url, Some(&org.admin_token), None).await;
    assert_eq!(status, 200);
    assert_eq!(with_key, page);

    let (status, body) = http
        .send(
            "GET",
            &api_url(&format!("/sign-in/{}", unique_id("nobody"))),
            None,
            None,
        )
        .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_an_admin_signs_in_through_the_login_page_and_the_activity_names_the_person() {
    let (org, rule) = with_group("sso-admin").await;
    let client = with_sso(&org).await;
    let ada = signed_in(&org, &client, "ada").await;

    let me = ada.admin().read("/me").await;
    assert_eq!(me["kind"], "person", "{me}");
    assert_eq!(me["orgId"], org.org_id.as_str());
    assert_eq!(me["name"], "Ada Admin");
    assert_eq!(me["subject"], "ada");
    assert_eq!(me["role"], "admin");
    let exp = jwt_part(&ada.admin_token, 1)["exp"].as_i64().unwrap();
    let expires = me["expiresAt"].as_str().unwrap();
    let parsed =
        time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
            .unwrap();
    assert_eq!(parsed.unix_timestamp(), exp, "{me}");
    assert!(me.get("keyId").is_none(), "{me}");
    // a key says it is one
    assert_eq!(org.admin().read("/me").await["kind"], "key");

    // as the console calls it: from a browser
    let created = ada
        .admin()
        .request("POST", "/rules", Some(&rule), &[("sec-fetch-mode", "cors")])
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let correlation = created.correlation_id.clone().expect("a correlation id");
    let activity = org.admin().read("/activity?action=rule_created").await;
    let entry = &activity["items"][0];
    assert_eq!(entry["actor"], "Ada Admin", "{activity}");
    assert_eq!(entry["actorSubject"], "ada", "{activity}");
    assert_eq!(
        correlation_of(entry),
        Some(correlation.as_str()),
        "{activity}"
    );

    // a key's change names the key, and no subject
    let by_key = org.admin().post("/rules", rule.clone()).await;
    assert_eq!(by_key.status, 201, "{}", by_key.body);
    let activity = org.admin().read("/activity?action=rule_created").await;
    let entry = &activity["items"][0];
    assert_ne!(entry["actor"], "Ada Admin", "{activity}");
    assert!(entry["actorSubject"].is_null(), "{activity}");
    assert_eq!(
        correlation_of(entry),
        by_key.correlation_id.as_deref(),
        "{activity}"
    );
}

/// The correlation id an activity entry carries (beside its actor, or in
/// its details as the pipeline's entries carry it).
fn correlation_of(entry: &Value) -> Option<&str> {
    entry["correlationId"]
        .as_str()
        .or_else(|| entry["details"]["correlationId"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_a_viewer_reads_an_operator_retries_and_nobody_without_a_group_gets_in() {
    let org = TestOrg::new("sso-roles").await;
    let s = seed(&org).await;
    let client = with_sso(&org).await;
    let rule = json!({"groupId": s.group, "products": ["G2M"], "adminRole": {"type": "user"}});
    let before = settled_snapshot(&org).await;

    let vera = signed_in(&org, &client, "vera").await;
    assert_eq!(vera.admin().read("/me").await["role"], "viewer");
    for path in ["/rules", "/sync", "/activity", "/sso"] {
        assert_eq!(vera.admin().get(path).await.status, 200, "{path}");
    }
    let forced = vera.admin().post("/rules", rule.clone()).await;
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert_eq!(forced.body["code"], "forbidden");
    assert!(
        forced.body["detail"]
            .as_str()
            .unwrap()
            .contains("needs the admin role"),
        "{}",
        forced.body
    );

    let nina = signed_in(&org, &client, "nina").await;
    for answer in [
        nina.admin().get("/rules").await,
        nina.admin().post("/rules", rule.clone()).await,
    ] {
        assert_eq!(answer.status, 403, "{}", answer.body);
        assert_eq!(answer.body["code"], "forbidden");
        assert_eq!(answer.body["detail"], NO_ROLE);
    }

    let after = settled_snapshot(&org).await;
    if let Some(diff) = first_difference(&before, &after, "org") {
        panic!("the viewer's or nobody's calls changed the organization: {diff}");
    }

    let otto = signed_in(&org, &client, "otto").await;
    assert_eq!(otto.admin().read("/me").await["role"], "operator");
    let retried = otto.admin().retry(json!({"userId": s.user})).await;
    assert_eq!(retried.status, 200, "{}", retried.body);
    let created = otto.admin().post("/rules", rule).await;
    assert_eq!(created.status, 403, "{}", created.body);
    assert!(
        created.body["detail"]
            .as_str()
            .unwrap()
            .contains("needs the admin role"),
        "{}",
        created.body
    );
    assert_eq!(rule_count(&org).await, 1);
}

/// `POST /rules` with `token` is refused 401 as a bad key is, saying how to
/// authenticate.
async fn assert_refused(token: &str, rule: &Value, what: &str) {
    let resp = reqwest::Client::new()
        .post(api_url("/rules"))
        .bearer_auth(token)
        .json(rule)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "{what}");
    let header = resp.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        header, r#"Bearer realm="user-sync-admin", error="invalid_token""#,
        "{what}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized", "{what}: {body}");
    assert_eq!(body["detail"], REFUSED, "{what}: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_forged_foreign_and_stale_tokens_are_refused_401_with_nothing_changed() {
    let provider = oidc();
    let (org, rule) = with_group("sso-refused").await;
    let client = with_sso(&org).await;
    let claims = valid_claims(provider, &client);

    // the control: these claims, signed with the provider's key, get in
    let good = provider.sign(&claims, false).await;
    assert_eq!(
        as_person(&org, good).admin().read("/me").await["name"],
        "Ada Admin"
    );

    let mut refused: Vec<(String, String)> = Vec::new();
    refused.push((
        "signed by another key".into(),
        provider.sign(&claims, true).await,
    ));
    let mut other_audience = claims.clone();
    other_audience["aud"] = json!(unique_id("someone-else"));
    refused.push((
        "for another audience".into(),
        provider.sign(&other_audience, false).await,
    ));
    let mut expired = claims.clone();
    expired["iat"] = json!(now() - 7200);
    expired["exp"] = json!(now() - 3600);
    refused.push(("expired".into(), provider.sign(&expired, false).await));
    let mut early = claims.clone();
    early["nbf"] = json!(now() + 3600);
    refused.push(("not yet valid".into(), provider.sign(&early, false).await));
    let mut unknown_issuer = claims.clone();
    unknown_issuer["iss"] = json!(format!("{}/{}", provider.issuer(), unique_id("nobody")));
    refused.push((
        "from an issuer no organization configured".into(),
        provider.sign(&unknown_issuer, false).await,
    ));
    let mut anonymous = claims.clone();
    anonymous["sub"] = json!("");
    refused.push((
        "with an empty subject".into(),
        provider.sign(&anonymous, false).await,
    ));
    refused.push((
        "alg none".into(),
        jwt_with_signature(&json!({"alg": "none", "typ": "JWT"}), &claims, &[]),
    ));
    // HS256 with the provider's public key as the secret: as PEM, and as the
    // modulus' bytes, with and without the key's kid
    let jwks = provider.jwks().await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let (n, e) = rsa_key(&jwks, &kid).unwrap();
    for (secret, as_what) in [
        (rsa_public_pem(&n, &e).into_bytes(), "PEM"),
        (n.clone(), "n"),
    ] {
        for header in [
            json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
            json!({"alg": "HS256", "typ": "JWT"}),
        ] {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
            let unsigned = jwt_with_signature(&header, &claims, &[]);
            let tag = ring::hmac::sign(&key, unsigned.trim_end_matches('.').as_bytes());
            refused.push((
                format!("HS256 with the public key as {as_what} ({header})"),
                jwt_with_signature(&header, &claims, tag.as_ref()),
            ));
        }
    }
    // a genuine sign-in of another organization's client reaches that
    // organization only
    let (other, other_rule) = with_group("sso-refused-other").await;
    let other_client = with_sso(&other).await;
    let b = signed_in(&other, &other_client, "ada").await;
    assert_eq!(b.admin().read("/me").await["orgId"], other.org_id.as_str());
    assert_eq!(b.admin().post("/rules", other_rule).await.status, 201);
    let seen = b.admin().read("/rules").await;
    assert_eq!(seen["rules"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(rule_count(&other).await, 1);

    for (what, token) in &refused {
        assert_refused(token, &rule, what).await;
    }
    assert_eq!(rule_count(&org).await, 0);
    let activity = org.admin().read("/activity?action=rule_created").await;
    assert_eq!(activity["items"], json!([]), "{activity}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_a_rotated_signing_key_is_picked_up() {
    let provider = oidc();
    let org = TestOrg::new("sso-rotate").await;
    let client = with_sso(&org).await;
    // the old key is cached
    let ada = signed_in(&org, &client, "ada").await;
    assert_eq!(ada.admin().get("/me").await.status, 200);

    let kid = provider.rotate().await;
    let fresh = signed_in(&org, &client, "ada").await;
    assert_eq!(jwt_part(&fresh.admin_token, 0)["kid"], kid.as_str());
    eventually(
        "a token of the new key is accepted",
        Duration::from_secs(10),
        || {
            let fresh = fresh.clone();
            async move { (fresh.admin().get("/me").await.status == 200).then_some(()) }
        },
    )
    .await;
    assert_eq!(fresh.admin().read("/me").await["name"], "Ada Admin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sso_token_sign_in_turned_off_refuses_keys_from_browsers_only() {
    let org = TestOrg::new("sso-off").await;
    // without SSO there is nothing else to sign in with
    let refused = ops_cli(&["sso", "token-sign-in", &org.org_id, "off"]).await;
    assert_ne!(refused.code, 0, "{refused:?}");
    assert_eq!(org.admin().read("/sso").await["tokenSignIn"], true);

    let client = unique_id("console");
    oidc().add_client(&client, &redirect_uri(&org)).await;
    let ran = sso_set(&org, oidc().issuer(), &client, &["--name", "Example IdP"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    let ran = ops_cli(&["sso", "token-sign-in", &org.org_id, "off"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");

    for header in ["sec-fetch-mode", "sec-fetch-site"] {
        let value = if header == "sec-fetch-mode" {
            "cors"
        } else {
            "same-origin"
        };
        let browser = org
            .admin()
            .request("GET", "/rules", None, &[(header, value)])
            .await;
        assert_eq!(browser.status, 401, "{header}: {}", browser.body);
        assert_eq!(browser.body["code"], "unauthorized");
        assert_eq!(
            browser.body["detail"],
            "token sign-in is turned off for this organization: sign in with Example IdP"
        );
    }
    // automation keeps its key
    assert_eq!(org.admin().get("/rules").await.status, 200);
    // and a person signs in from the browser
    let ada = signed_in(&org, &client, "ada").await;
    let from_browser = ada
        .admin()
        .request("GET", "/rules", None, &[("sec-fetch-mode", "cors")])
        .await;
    assert_eq!(from_browser.status, 200, "{}", from_browser.body);
    assert_eq!(org.admin().read("/sso").await["tokenSignIn"], false);
    let (_, page) = Client::new()
        .send(
            "GET",
            &api_url(&format!("/sign-in/{}", org.org_id)),
            None,
            None,
        )
        .await;
    assert_eq!(page["tokenSignIn"], false, "{page}");

    // on again
    let ran = ops_cli(&["sso", "token-sign-in", &org.org_id, "on"]).await;
    assert_eq!(ran.code, 0, "{ran:?}");
    let browser = org
        .admin()
        .request("GET", "/rules", None, &[("sec-fetch-mode", "cors")])
        .await;
    assert_eq!(browser.status, 200, "{}", browser.body);
}
