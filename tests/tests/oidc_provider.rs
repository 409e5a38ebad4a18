//! The tests' OpenID provider on its own (no stack): it signs people in
//! through its login page and issues ID tokens that verify against its JWKS,
//! it refuses a code redeemed without the PKCE verifier, its signing key
//! rotates, and it signs claims with a key it does not publish. The sign-in
//! tests of the admin API (`tests/tests/e2e/sso.rs`) rely on all of this.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use user_sync_tests::oidc::{jwt_part, oidc, rsa_key, rsa_public_pem, verify_rs256};
use user_sync_tests::unique_id;

const REDIRECT: &str = "http://127.0.0.1:9/console/";

#[tokio::test]
async fn the_provider_signs_a_person_in_through_its_login_page() {
    let provider = oidc();
    let client = unique_id("client");
    provider.add_client(&client, REDIRECT).await;
    let discovery: serde_json::Value = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        provider.issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(discovery["issuer"], provider.issuer());
    assert_eq!(
        discovery["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(discovery["end_session_endpoint"].is_string(), "{discovery}");

    let token = provider.id_token(&client, REDIRECT, "ada").await;
    let header = jwt_part(&token, 0);
    assert_eq!(header["alg"], "RS256");
    let claims = verify_rs256(&token, &provider.jwks().await).unwrap();
    assert_eq!(claims["iss"], provider.issuer());
    assert_eq!(claims["aud"], client.as_str());
    assert_eq!(claims["sub"], "ada");
    assert_eq!(claims["name"], "Ada Admin");
    assert_eq!(claims["preferred_username"], "ada");
    assert_eq!(claims["groups"], json!(["user-sync-admins"]));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());

    // the other accounts, with their groups
    for (login, name, groups) in [
        ("otto", "Otto Operator", json!(["user-sync-operators"])),
        ("vera", "Vera Viewer", json!(["user-sync-viewers"])),
        ("nina", "Nina Nobody", json!([])),
    ] {
        let claims = jwt_part(&provider.id_token(&client, REDIRECT, login).await, 1);
        assert_eq!(claims["name"], name, "{claims}");
        assert_eq!(claims["groups"], groups, "{claims}");
    }

    // the token endpoint answers a browser's CORS request from anywhere
    let resp = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/token", provider.issuer()),
        )
        .header("origin", "http://127.0.0.1:9")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    assert!(
        resp.headers().contains_key("access-control-allow-origin"),
        "{:?}",
        resp.headers()
    );
}

#[tokio::test]
async fn a_code_redeemed_without_its_pkce_verifier_is_refused() {
    let provider = oidc();
    let client = unique_id("client");
    provider.add_client(&client, REDIRECT).await;
    let authorized = provider.authorize(&client, REDIRECT, "ada").await;
    let (status, body) = provider
        .token_request(&client, REDIRECT, &authorized.code, None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body.get("id_token").is_none(), "{body}");

    // a wrong verifier neither
    let authorized = provider.authorize(&client, REDIRECT, "ada").await;
    let wrong = user_sync_tests::oidc::random_b64url(32);
    let (status, body) = provider
        .token_request(&client, REDIRECT, &authorized.code, Some(&wrong))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_rotated_key_signs_next_and_another_key_is_never_published() {
    let provider = oidc();
    let client = unique_id("client");
    provider.add_client(&client, REDIRECT).await;
    let before = provider.jwks().await;
    let old_kid = before["keys"][0]["kid"].as_str().unwrap().to_owned();

    let new_kid = provider.rotate().await;
    let after = provider.jwks().await;
    assert_eq!(after["keys"][0]["kid"], new_kid.as_str(), "{after}");
    assert_ne!(new_kid, old_kid);
    // the previous key is still listed, after the new one
    assert_eq!(after["keys"][1]["kid"], old_kid.as_str(), "{after}");
    // a new sign-in is signed with the new key, and verifies
    let token = provider.id_token(&client, REDIRECT, "vera").await;
    assert_eq!(jwt_part(&token, 0)["kid"], new_kid.as_str());
    verify_rs256(&token, &after).unwrap();

    // /control/sign: the current key, or one the JWKS does not list
    let claims = json!({"iss": provider.issuer(), "aud": client, "sub": "ada", "exp": 1});
    let current = provider.sign(&claims, false).await;
    assert_eq!(verify_rs256(&current, &after).unwrap(), claims);
    let other = provider.sign(&claims, true).await;
    let kid = jwt_part(&other, 0)["kid"].as_str().unwrap().to_owned();
    assert!(rsa_key(&after, &kid).is_none(), "{kid} is published");
    assert!(verify_rs256(&other, &after).is_err());
}

/// The PEM the HS256 forgery of the sign-in tests uses is the key the JWKS
/// publishes, as openssl reads it.
#[test]
fn the_public_key_pem_is_what_openssl_reads() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let jwks = runtime.block_on(oidc().jwks());
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let (n, e) = rsa_key(&jwks, kid).unwrap();
    let pem = rsa_public_pem(&n, &e);
    let dir = std::env::temp_dir().join(unique_id("pem"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("key.pem");
    std::fs::write(&file, &pem).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["rsa", "-pubin", "-noout", "-modulus", "-in"])
        .arg(&file)
        .output()
        .expect("openssl runs (scripts/setup installs it)");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex: String = n.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("Modulus={}", hex.trim_start_matches("00"))
    );
}
