//! A real OpenID provider for the tests: `tests/oidc/provider.mjs`, the
//! certified `oidc-provider` package from npm (pinned in
//! `tests/oidc/package-lock.json`, installed by `scripts/setup`), started
//! once per test process on a loopback port. Its accounts: `ada` (group
//! `user-sync-admins`), `otto` (`user-sync-operators`), `vera`
//! (`user-sync-viewers`), `nina` (no group); any password.
//!
//! [`OidcProvider::id_token`] signs a person in as a browser would, over
//! HTTP: the authorization request with PKCE, state and nonce, the login
//! page's form, the redirect's code, the token request.
//!
//! node runs under `sh`, which stops it when its standard input closes:
//! when the test process ends, however it ends, the provider ends.

use std::io::{BufRead, BufReader, Read};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{enc, repo_root};

static PROVIDER: OnceLock<Result<OidcProvider, String>> = OnceLock::new();

/// The test process's OpenID provider, started on first use. If it cannot
/// start (node or the package is missing), the test fails with the reason.
pub fn oidc() -> &'static OidcProvider {
    match PROVIDER.get_or_init(OidcProvider::start) {
        Ok(p) => p,
        Err(e) => panic!("the tests' OpenID provider could not start: {e}"),
    }
}

/// The running provider.
pub struct OidcProvider {
    issuer: String,
    control: String,
    /// What it wrote on stderr (the last few kilobytes), for failures.
    stderr: Arc<Mutex<String>>,
    /// Closing it stops the provider.
    _stdin: Mutex<ChildStdin>,
}

impl std::fmt::Debug for OidcProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcProvider")
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// A code from the authorization endpoint, and what redeeming it needs.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub code: String,
    pub verifier: String,
    pub nonce: String,
}

const STDERR_KEPT: usize = 8 * 1024;

impl OidcProvider {
    fn start() -> Result<Self, String> {
        let dir = repo_root().join("tests").join("oidc");
        if !dir.join("node_modules").join("oidc-provider").exists() {
            return Err(format!(
                "{} lacks oidc-provider: run scripts/setup (it runs npm ci there)",
                dir.join("node_modules").display()
            ));
        }
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$@" & p=$!; read -r _; kill $p; wait $p"#)
            .arg("sh")
            .arg("node")
            .arg(dir.join("provider.mjs"))
            .args(["--port", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("sh could not be run: {e}"))?;
        let stdin = child.stdin.take().ok_or("no standard input for sh")?;
        let stdout = child.stdout.take().ok_or("no standard output from sh")?;
        let mut err = child.stderr.take().ok_or("no standard error from sh")?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let kept = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buf) {
                let mut text = kept
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                if text.len() > STDERR_KEPT {
                    let cut = text.len() - STDERR_KEPT;
                    let cut = (cut..text.len())
                        .find(|i| text.is_char_boundary(*i))
                        .unwrap_or(0);
                    text.drain(..cut);
                }
            }
        });
        // the ready line, then whatever else it prints (its notices) is read
        // and dropped, so that it never blocks on a full pipe
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with('{')
                    && let Some(tx) = tx.take()
                {
                    let _ignored = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(e) => {
                let _ignored = child.kill();
                std::thread::sleep(Duration::from_millis(200));
                let text = stderr
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .clone();
                return Err(format!(
                    "node tests/oidc/provider.mjs did not say it was ready ({e}): {}",
                    text.trim()
                ));
            }
        };
        let ready: Value =
            serde_json::from_str(&line).map_err(|e| format!("its ready line {line:?}: {e}"))?;
        let field = |name: &str| {
            ready[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("its ready line lacks {name}: {line}"))
        };
        Ok(Self {
            issuer: field("issuer")?,
            control: field("control")?,
            stderr,
            _stdin: Mutex::new(stdin),
        })
    }

    /// `http://127.0.0.1:PORT`, the issuer its tokens name.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Its JSON Web Key Set, as `jwks_uri` serves it.
    pub async fn jwks(&self) -> Value {
        let discovery = self
            .get_json(&format!("{}/.well-known/openid-configuration", self.issuer))
            .await;
        let uri = discovery["jwks_uri"]
            .as_str()
            .expect("the discovery document names jwks_uri");
        self.get_json(uri).await
    }

    /// Adds (or replaces) a public client that may redirect to `redirect_uri`
    /// (and go there after signing out).
    pub async fn add_client(&self, client_id: &str, redirect_uri: &str) {
        self.control_call(
            "clients",
            &json!({"client_id": client_id, "redirect_uris": [redirect_uri],
                "post_logout_redirect_uris": [redirect_uri]}),
        )
        .await;
    }

    /// A new signing key becomes the current one (the JWKS lists it first,
    /// the previous one after); its `kid`.
    pub async fn rotate(&self) -> String {
        let answer = self.control_call("rotate", &json!({})).await;
        answer["kid"].as_str().expect("the new kid").to_owned()
    }

    /// `claims` signed RS256 with its current key, or with a key it does not
    /// publish (`other_key`).
    pub async fn sign(&self, claims: &Value, other_key: bool) -> String {
        let key = if other_key { "other" } else { "current" };
        let answer = self
            .control_call("sign", &json!({"claims": claims, "key": key}))
            .await;
        answer["token"].as_str().expect("a token").to_owned()
    }

    /// Signs `login` in through the login page for `client_id` and answers
    /// the ID token (the state checked, and the nonce in the token).
    pub async fn id_token(&self, client_id: &str, redirect_uri: &str, login: &str) -> String {
        let authorized = self.authorize(client_id, redirect_uri, login).await;
        let (status, body) = self
            .token_request(
                client_id,
                redirect_uri,
                &authorized.code,
                Some(&authorized.verifier),
            )
            .await;
        assert_eq!(status, 200, "the token endpoint: {body}");
        let token = body["id_token"]
            .as_str()
            .unwrap_or_else(|| panic!("the token endpoint answered no id_token: {body}"))
            .to_owned();
        let claims = jwt_part(&token, 1);
        assert_eq!(
            claims["nonce"], authorized.nonce,
            "the ID token's nonce: {claims}"
        );
        token
    }

    /// The authorization request (code, PKCE S256, state, nonce), the login
    /// page's form with any password, consent if asked; stops at the
    /// redirect to `redirect_uri` and checks its state.
    pub async fn authorize(&self, client_id: &str, redirect_uri: &str, login: &str) -> Authorized {
        let verifier = random_b64url(32);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let state = random_b64url(16);
        let nonce = random_b64url(16);
        let query = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", &state),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ];
        let mut url = format!("{}/auth?{}", self.issuer, form(&query));
        let http = browser();
        let mut jar = Jar::default();
        let mut form_body: Option<String> = None;
        for _ in 0..12 {
            let req = match form_body.take() {
                Some(body) => http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body),
                None => http.get(&url),
            };
            let resp = jar
                .send(req)
                .await
                .unwrap_or_else(|e| panic!("the provider at {url}: {e}"));
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("a redirect without a location from {url}"));
                let next = Url::parse(&url)
                    .and_then(|base| base.join(location))
                    .unwrap_or_else(|e| panic!("the redirect to {location}: {e}"));
                if next.as_str().starts_with(redirect_uri) {
                    let param = |name: &str| {
                        next.query_pairs()
                            .find(|(k, _)| k == name)
                            .map(|(_, v)| v.into_owned())
                    };
                    if let Some(error) = param("error") {
                        panic!(
                            "the provider refused the sign-in: {error}: {}",
                            param("error_description").unwrap_or_default()
                        );
                    }
                    assert_eq!(param("state").as_deref(), Some(state.as_str()), "{next}");
                    let code = param("code").unwrap_or_else(|| panic!("no code in {next}"));
                    return Authorized {
                        code,
                        verifier,
                        nonce,
                    };
                }
                url = next.to_string();
                continue;
            }
            let page = resp.text().await.unwrap_or_default();
            assert!(
                status.is_success(),
                "the provider answered {status} at {url}: {page}\n{}",
                self.stderr_tail()
            );
            let (action, prompt) = login_form(&page)
                .unwrap_or_else(|| panic!("no login or consent form at {url}: {page}"));
            url = Url::parse(&url)
                .and_then(|base| base.join(&action))
                .unwrap_or_else(|e| panic!("the form's action {action}: {e}"))
                .to_string();
            form_body = Some(match prompt.as_str() {
                "login" => form(&[("prompt", "login"), ("login", login), ("password", "any")]),
                _ => form(&[("prompt", &prompt)]),
            });
        }
        panic!("the sign-in did not reach {redirect_uri} within 12 steps (last: {url})")
    }

    /// `POST /token` for `code` (with `code_verifier` when given): the status
    /// and body.
    pub async fn token_request(
        &self,
        client_id: &str,
        redirect_uri: &str,
        code: &str,
        verifier: Option<&str>,
    ) -> (u16, Value) {
        let mut fields = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
        ];
        if let Some(v) = verifier {
            fields.push(("code_verifier", v));
        }
        let resp = browser()
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&fields))
            .send()
            .await
            .unwrap_or_else(|e| panic!("the token endpoint: {e}"));
        let status = resp.status().as_u16();
        let body = resp.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn control_call(&self, what: &str, body: &Value) -> Value {
        let resp = browser()
            .post(format!("{}/{what}", self.control))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("the provider's /control/{what}: {e}"));
        let status = resp.status();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status.is_success(),
            "the provider's /control/{what} answered {status}: {answer}\n{}",
            self.stderr_tail()
        );
        answer
    }

    async fn get_json(&self, url: &str) -> Value {
        let resp = browser()
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.json().await.unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// An HTTP client that follows no redirect (each test has a runtime of its
/// own, so each call makes its client).
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// The cookies the provider set (its session and interaction cookies), all
/// sent back on every request: they are only the provider's, on one host.
#[derive(Debug, Default)]
struct Jar {
    cookies: Vec<(String, String)>,
}

impl Jar {
    async fn send(&mut self, req: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let req = if header.is_empty() {
            req
        } else {
            req.header("cookie", header.join("; "))
        };
        let resp = req.send().await?;
        for set in resp.headers().get_all("set-cookie") {
            let Ok(set) = set.to_str() else { continue };
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
            self.cookies.retain(|(k, _)| *k != name);
            let gone = value.is_empty() || set.to_ascii_lowercase().contains("max-age=0");
            if !gone {
                self.cookies.push((name, value));
            }
        }
        Ok(resp)
    }
}

/// The login or consent page's form: its action and its `prompt`.
fn login_form(page: &str) -> Option<(String, String)> {
    let form = &page[page.find("<form")?..];
    let action = attribute(form, "action")?;
    let hidden = &form[form.find(r#"name="prompt""#)?..];
    let prompt = attribute(hidden, "value")?;
    Some((action.replace("&amp;", "&"), prompt))
}

/// The first `name="…"` attribute's value in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!(r#"{name}=""#))? + name.len() + 2;
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_owned())
}

/// `k=v&…`, percent-encoded.
fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `n` random bytes, base64url without padding.
pub fn random_b64url(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("random bytes");
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT's part (0: the JOSE header, 1: the claims), decoded.
pub fn jwt_part(token: &str, part: usize) -> Value {
    let text = token
        .split('.')
        .nth(part)
        .unwrap_or_else(|| panic!("a JWT has three parts: {token}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("a JWT part is base64url: {e}"));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("a JWT part is JSON: {e}"))
}

/// A JWT made of `header` and `claims` and this signature (already encoded).
pub fn jwt_with_signature(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// The RSA key of `jwks` with this `kid`: its modulus and exponent.
pub fn rsa_key(jwks: &Value, kid: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let key = jwks["keys"]
        .as_array()?
        .iter()
        .find(|k| k["kid"] == kid && k["kty"] == "RSA")?;
    let part = |name: &str| URL_SAFE_NO_PAD.decode(key[name].as_str()?).ok();
    Some((part("n")?, part("e")?))
}

/// Checks an RS256 JWT's signature against the `jwks` key its `kid` names;
/// its claims, or why not.
pub fn verify_rs256(token: &str, jwks: &Value) -> Result<Value, String> {
    let header = jwt_part(token, 0);
    if header["alg"] != "RS256" {
        return Err(format!("alg is {}, not RS256", header["alg"]));
    }
    let kid = header["kid"].as_str().ok_or("no kid")?;
    let (n, e) = rsa_key(jwks, kid).ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
    let (signed, signature) = token.rsplit_once('.').ok_or("not a JWT")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("the signature is not base64url: {e}"))?;
    ring::signature::RsaPublicKeyComponents { n, e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &signature,
        )
        .map_err(|_| "the signature does not verify".to_owned())?;
    Ok(jwt_part(token, 1))
}

/// An RSA public key (modulus, exponent) as PEM (`PUBLIC KEY`,
/// SubjectPublicKeyInfo), the form a confused verifier would take as an
/// HMAC secret.
pub fn rsa_public_pem(n: &[u8], e: &[u8]) -> String {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut content = Vec::new();
        if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend(trimmed);
        der(0x02, &content)
    }
    let rsa_key = der(0x30, &[integer(n), integer(e)].concat());
    // rsaEncryption (1.2.840.113549.1.1.1), NULL parameters
    let algorithm = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let bit_string = der(0x03, &[&[0u8][..], &rsa_key].concat());
    let spki = der(0x30, &[algorithm, bit_string].concat());
    let b64 = base64::engine::general_purpose::STANDARD.encode(spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    )
}
