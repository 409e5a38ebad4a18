//! `ops sso set|show|remove|token-sign-in`: an organization's identity
//! provider for admins (OpenID Connect). `set` validates at once: the
//! issuer's discovery document is fetched and checked, and its JWKS must
//! hold an asymmetric signing key; each failure names what is wrong.

use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::{Value, json};
use user_sync_aws::oidc::fetch_jwks;
use user_sync_core::StoreError;
use user_sync_core::access::Role;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::Organizations;
use user_sync_core::sso::{
    DEFAULT_ROLE_CLAIM, Discovered, RoleValues, SsoConfig, SsoConfigs, validate_issuer,
};

use super::{Ctx, Failure, Report, missing_org, org_id, store_error};

/// How long each fetch of `set` may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Subcommand)]
pub enum SsoCommand {
    /// Sets (or replaces) the organization's identity provider, validated
    /// at once against the issuer's discovery document and keys.
    Set {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// The issuer URL (https://, or http:// on a loopback address).
        #[arg(long)]
        issuer: String,
        /// The client id of the User Sync app at the identity provider.
        #[arg(long)]
        client_id: String,
        /// What "Sign in with <name>" shows (default: the organization's name).
        #[arg(long)]
        name: Option<String>,
        /// The ID token claim whose values map to roles.
        #[arg(long, default_value = DEFAULT_ROLE_CLAIM)]
        role_claim: String,
        /// A claim value that gives the admin role (repeatable).
        #[arg(long = "admin", value_name = "VALUE")]
        admin: Vec<String>,
        /// A claim value that gives the operator role (repeatable).
        #[arg(long = "operator", value_name = "VALUE")]
        operator: Vec<String>,
        /// A claim value that gives the viewer role (repeatable).
        #[arg(long = "viewer", value_name = "VALUE")]
        viewer: Vec<String>,
    },
    /// The organization's identity provider, if any.
    Show {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
    },
    /// Removes the organization's identity provider: people sign in with
    /// keys again.
    Remove {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
    },
    /// Whether admin keys may sign in to the console (off: keys work for
    /// automation only; needs single sign-on set).
    TokenSignIn {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        state: OnOff,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

/// The part of a discovery document `set` checks.
#[derive(Debug, Deserialize)]
struct DiscoveryDocument {
    issuer: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    end_session_endpoint: Option<String>,
    jwks_uri: Option<String>,
    #[serde(default)]
    response_types_supported: Vec<String>,
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// Fetches `<issuer>/.well-known/openid-configuration` and its JWKS and
/// checks them; the endpoints they name, or what is wrong.
pub async fn discover(issuer: &str) -> Result<Discovered, String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("cannot reach {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let doc: DiscoveryDocument = response
        .json()
        .await
        .map_err(|e| format!("{url} did not answer a discovery document (JSON): {e}"))?;
    let said = doc.issuer.unwrap_or_default();
    if said != issuer {
        return Err(format!(
            "the issuer's discovery document says issuer {said:?}, not {issuer:?}"
        ));
    }
    let need = |v: Option<String>, field: &str| {
        v.filter(|s| !s.is_empty())
            .ok_or_else(|| format!("the issuer's discovery document has no {field}"))
    };
    let authorization_endpoint = need(doc.authorization_endpoint, "authorization_endpoint")?;
    let token_endpoint = need(doc.token_endpoint, "token_endpoint")?;
    let jwks_uri = need(doc.jwks_uri, "jwks_uri")?;
    if !doc.response_types_supported.iter().any(|t| t == "code") {
        return Err(
            "the issuer's discovery document does not list the response type \"code\"".into(),
        );
    }
    if let Some(methods) = doc.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(
            "the issuer does not support PKCE with S256 (code_challenge_methods_supported)".into(),
        );
    }
    let jwks = fetch_jwks(&client, &jwks_uri).await?;
    if !jwks.keys.iter().any(|k| k.is_asymmetric_signing_key()) {
        return Err(format!(
            "the issuer's keys ({jwks_uri}) hold no asymmetric signing key (RSA, EC P-256/P-384 or Ed25519)"
        ));
    }
    Ok(Discovered {
        authorization_endpoint,
        token_endpoint,
        end_session_endpoint: doc.end_session_endpoint.filter(|s| !s.is_empty()),
        jwks_uri,
    })
}

/// The configuration as `GET /sso` shows it.
pub fn view(c: &SsoConfig) -> Value {
    let mut v = json!({
        "name": c.name,
        "issuer": c.issuer,
        "clientId": c.client_id,
        "roleClaim": c.role_claim,
        "roles": {"admin": c.roles.admin, "operator": c.roles.operator, "viewer": c.roles.viewer},
        "authorizationEndpoint": c.discovered.authorization_endpoint,
        "tokenEndpoint": c.discovered.token_endpoint,
    });
    if let Some(end) = &c.discovered.end_session_endpoint {
        v["endSessionEndpoint"] = json!(end);
    }
    v
}

fn text(org: &OrgId, c: &SsoConfig) -> Vec<String> {
    let mut lines = vec![
        format!("organization {org}: sign in with {}", c.name),
        format!("issuer:         {}", c.issuer),
        format!("client id:      {}", c.client_id),
        format!("role claim:     {}", c.role_claim),
    ];
    for role in Role::ALL {
        lines.push(format!(
            "{:<15} {}",
            format!("{role}:"),
            c.roles.of(role).join(", ")
        ));
    }
    lines.push(format!(
        "token sign-in:  {}",
        if c.token_sign_in { "on" } else { "off" }
    ));
    lines
}

fn report(org: &OrgId, c: &SsoConfig) -> Report {
    Report::new(
        text(org, c),
        json!({"sso": view(c), "tokenSignIn": c.token_sign_in}),
    )
}

pub(super) async fn run(ctx: &Ctx<'_>, command: SsoCommand) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    match command {
        SsoCommand::Set {
            org_id,
            issuer,
            client_id,
            name,
            role_claim,
            admin,
            operator,
            viewer,
        } => {
            validate_issuer(&issuer).map_err(|e| Failure::Usage(e.to_string()))?;
            let org = store
                .get_org(&org_id)
                .await
                .map_err(|e| store_error("read the organization", e))?
                .ok_or_else(|| missing_org(&org_id))?;
            let previous = store
                .get_sso(&org_id)
                .await
                .map_err(|e| store_error("read the single sign-on", e))?;
            let mut config = SsoConfig {
                issuer,
                client_id,
                name: name.unwrap_or(org.name),
                role_claim,
                roles: RoleValues {
                    admin,
                    operator,
                    viewer,
                },
                discovered: Discovered {
                    authorization_endpoint: String::new(),
                    token_endpoint: String::new(),
                    end_session_endpoint: None,
                    jwks_uri: String::new(),
                },
                token_sign_in: previous.is_none_or(|p| p.token_sign_in),
            };
            config
                .validate()
                .map_err(|e| Failure::Usage(e.to_string()))?;
            config.discovered = discover(&config.issuer)
                .await
                .map_err(|e| Failure::Failed(format!("{e}; nothing changed")))?;
            store.put_sso(&org_id, &config).await.map_err(|e| match e {
                StoreError::Conflict(reason) => {
                    Failure::Failed(format!("organization {org_id}: {reason}"))
                }
                other => store_error("set the single sign-on", other),
            })?;
            let r = report(&org_id, &config);
            Ok(Report::new(r.text, json!({"sso": view(&config)})))
        }
        SsoCommand::Show { org_id } => {
            super::require_org(&store, &org_id).await?;
            match store
                .get_sso(&org_id)
                .await
                .map_err(|e| store_error("read the single sign-on", e))?
            {
                Some(c) => Ok(report(&org_id, &c)),
                None => Ok(Report::new(
                    vec![format!(
                        "organization {org_id}: no single sign-on (admins sign in with keys)"
                    )],
                    json!({"sso": null, "tokenSignIn": true}),
                )),
            }
        }
        SsoCommand::Remove { org_id } => {
            super::require_org(&store, &org_id).await?;
            store.remove_sso(&org_id).await.map_err(|e| match e {
                StoreError::NotFound => {
                    Failure::Failed(format!("organization {org_id} has no single sign-on"))
                }
                other => store_error("remove the single sign-on", other),
            })?;
            Ok(Report::new(
                vec![format!(
                    "organization {org_id}: single sign-on removed; admins sign in with keys"
                )],
                json!({"orgId": org_id, "sso": null, "tokenSignIn": true}),
            ))
        }
        SsoCommand::TokenSignIn { org_id, state } => {
            super::require_org(&store, &org_id).await?;
            let on = state == OnOff::On;
            let Some(mut config) = store
                .get_sso(&org_id)
                .await
                .map_err(|e| store_error("read the single sign-on", e))?
            else {
                if on {
                    return Ok(Report::new(
                        vec![format!("organization {org_id}: token sign-in is on")],
                        json!({"orgId": org_id, "tokenSignIn": true}),
                    ));
                }
                return Err(Failure::Failed(format!(
                    "organization {org_id} has no single sign-on: set it first (ops sso set), \
                     or its admins could not sign in at all"
                )));
            };
            config.token_sign_in = on;
            store
                .put_sso(&org_id, &config)
                .await
                .map_err(|e| store_error("set token sign-in", e))?;
            Ok(Report::new(
                vec![format!(
                    "organization {org_id}: token sign-in is {}",
                    if on { "on" } else { "off" }
                )],
                json!({"orgId": org_id, "tokenSignIn": on}),
            ))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use axum::Router;
    use axum::routing::get;

    use super::*;

    const JWKS: &str =
        r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","use":"sig","x":"AA","y":"AA"}]}"#;

    /// An issuer on a local port serving `doc` (with `{issuer}` replaced)
    /// and `jwks`.
    async fn issuer(doc: Value, jwks: &'static str) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let text = doc.to_string().replace("{issuer}", &issuer);
        let app = Router::new()
            .route(
                "/.well-known/openid-configuration",
                get(move || async move { ([("content-type", "application/json")], text) }),
            )
            .route(
                "/jwks",
                get(move || async move { ([("content-type", "application/json")], jwks) }),
            );
        tokio::spawn(async move { axum::serve(listener, app).await });
        issuer
    }

    fn document() -> Value {
        json!({
            "issuer": "{issuer}",
            "authorization_endpoint": "{issuer}/auth",
            "token_endpoint": "{issuer}/token",
            "end_session_endpoint": "{issuer}/session/end",
            "jwks_uri": "{issuer}/jwks",
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
        })
    }

    fn without(field: &str) -> Value {
        let mut d = document();
        d.as_object_mut().unwrap().remove(field);
        d
    }

    #[tokio::test]
    async fn a_valid_issuer_gives_its_endpoints() {
        let iss = issuer(document(), JWKS).await;
        let found = discover(&iss).await.unwrap();
        assert_eq!(found.authorization_endpoint, format!("{iss}/auth"));
        assert_eq!(found.token_endpoint, format!("{iss}/token"));
        assert_eq!(found.jwks_uri, format!("{iss}/jwks"));
        assert_eq!(
            found.end_session_endpoint,
            Some(format!("{iss}/session/end"))
        );
        // code_challenge_methods_supported may be left out
        let iss = issuer(without("code_challenge_methods_supported"), JWKS).await;
        assert!(discover(&iss).await.is_ok());
    }

    #[tokio::test]
    async fn each_failure_names_what_is_wrong() {
        let mut other = document();
        other["issuer"] = json!("https://elsewhere.example.com");
        let iss = issuer(other, JWKS).await;
        let e = discover(&iss).await.unwrap_err();
        assert_eq!(
            e,
            format!(
                "the issuer's discovery document says issuer \"https://elsewhere.example.com\", not \"{iss}\""
            )
        );
        for field in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            let iss = issuer(without(field), JWKS).await;
            let e = discover(&iss).await.unwrap_err();
            assert!(e.contains(field), "{e}");
        }
        let mut implicit = document();
        implicit["response_types_supported"] = json!(["id_token"]);
        let e = discover(&issuer(implicit, JWKS).await).await.unwrap_err();
        assert!(e.contains("\"code\""), "{e}");
        let mut plain = document();
        plain["code_challenge_methods_supported"] = json!(["plain"]);
        let e = discover(&issuer(plain, JWKS).await).await.unwrap_err();
        assert!(e.contains("S256"), "{e}");
        let symmetric = r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#;
        let e = discover(&issuer(document(), symmetric).await)
            .await
            .unwrap_err();
        assert!(e.contains("no asymmetric signing key"), "{e}");
    }

    #[tokio::test]
    async fn an_unreachable_issuer_is_named() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let iss = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let e = discover(&iss).await.unwrap_err();
        assert!(
            e.starts_with(&format!(
                "cannot reach {iss}/.well-known/openid-configuration"
            )),
            "{e}"
        );
    }

    #[test]
    fn the_view_is_what_get_sso_shows() {
        let c = SsoConfig {
            issuer: "https://idp.example.com".into(),
            client_id: "c".into(),
            name: "Acme".into(),
            role_claim: "groups".into(),
            roles: RoleValues {
                admin: vec!["a".into()],
                ..RoleValues::default()
            },
            discovered: Discovered {
                authorization_endpoint: "https://idp.example.com/auth".into(),
                token_endpoint: "https://idp.example.com/token".into(),
                end_session_endpoint: None,
                jwks_uri: "https://idp.example.com/jwks".into(),
            },
            token_sign_in: true,
        };
        let v = view(&c);
        assert_eq!(v["clientId"], "c");
        assert_eq!(v["roles"]["admin"], json!(["a"]));
        assert_eq!(v["roles"]["viewer"], json!([]));
        assert!(v.get("endSessionEndpoint").is_none());
        assert!(v.get("jwksUri").is_none());
    }
}
