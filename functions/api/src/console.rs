//! The admin console: a static page (HTML, CSS, JavaScript modules) embedded
//! in the binary and served at `/console/…`. The assets hold no data: the
//! page signs in (with a key, or through the organization's identity
//! provider) and calls the admin API, so they are served without a token and
//! are not counted against the organization's request limit.
//!
//! An organization's console address, `/console/?org={orgId}`, is also the
//! redirect URI its identity provider answers to: the page is then served
//! with a content security policy that lets it connect to that provider's
//! token endpoint too (to redeem the code, as a public client), and to
//! nothing else.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use tracing::warn;
use user_sync_aws::http::response;
use user_sync_core::ids::OrgId;
use user_sync_core::sso::SsoConfigs;

/// Where the console lives.
pub const CONSOLE_PREFIX: &str = "/console";

/// What the page may load and where it may connect: its own assets and the
/// API of the same origin, nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// [`CONTENT_SECURITY_POLICY`], with `token_origin` (an identity provider's
/// token endpoint origin, from [`origin_of`]) added to where the page may
/// connect.
pub fn content_security_policy(token_origin: Option<&str>) -> String {
    match token_origin {
        Some(origin) => CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'",
            &format!("connect-src 'self' {origin}"),
        ),
        None => CONTENT_SECURITY_POLICY.to_owned(),
    }
}

/// The origin (`scheme://host[:port]`) of an `http` or `https` URL, when it
/// is plain enough to write into a content security policy; else `None`.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let plain = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    plain.then(|| format!("{scheme}://{authority}"))
}

/// The token endpoint origin of the organization a request for the page
/// names (`?org={orgId}`, with single sign-on set): what the page may
/// connect to besides its own origin. `None` for any other path, an unknown
/// organization or one without single sign-on; a store failure is logged
/// and the page is served without it.
pub async fn token_origin<D: SsoConfigs>(
    directory: &D,
    path: &str,
    query: &HashMap<String, String>,
) -> Option<String> {
    if path != PAGE {
        return None;
    }
    let org = OrgId::parse(query.get("org")?).ok()?;
    match directory.get_sso(&org).await {
        Ok(config) => origin_of(&config?.discovered.token_endpoint),
        Err(e) => {
            warn!(error = %e, "the console's sign-in provider could not be read");
            None
        }
    }
}

/// The page itself.
const PAGE: &str = "/console/index.html";

/// Assets change with a deployment: browsers revalidate each time, and an
/// unchanged asset answers `304` from its ETag.
const CACHE_CONTROL: &str = "no-cache";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../console/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file the console is made of; any other path is `404`.
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("console.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("access.js", JS),
    asset!("codes.js", JS),
    asset!("ui.js", JS),
    asset!("sync.js", JS),
    asset!("rule-form.js", JS),
    asset!("rule-fields.js", JS),
    asset!("catalogue.js", JS),
    asset!("preview.js", JS),
    asset!("users.js", JS),
    asset!("activity.js", JS),
    asset!("activity-sentences.js", JS),
    asset!("templates.js", JS),
    asset!("attributes.js", JS),
    asset!("domains.js", JS),
    asset!("sso.js", JS),
];

/// Whether `path` belongs to the console (`/console` or below it).
pub fn is_console_path(path: &str) -> bool {
    path == CONSOLE_PREFIX
        || path
            .strip_prefix(CONSOLE_PREFIX)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The headers every console answer carries.
fn security_headers() -> Vec<(&'static str, String)> {
    security_headers_with(None)
}

fn security_headers_with(token_origin: Option<&str>) -> Vec<(&'static str, String)> {
    vec![
        (
            "content-security-policy",
            content_security_policy(token_origin),
        ),
        ("x-content-type-options", "nosniff".to_owned()),
        ("referrer-policy", "no-referrer".to_owned()),
        ("x-frame-options", "DENY".to_owned()),
    ]
}

fn plain(status: u16, text: &str, extra: &[(&'static str, String)]) -> ApiGatewayV2httpResponse {
    let mut headers = security_headers();
    headers.push(("cache-control", "no-store".to_owned()));
    headers.extend(extra.iter().cloned());
    response(
        status,
        "text/plain; charset=utf-8",
        text.to_owned(),
        &headers,
    )
}

/// A strong ETag from the asset's bytes (FNV-1a, 64 bits).
fn etag(body: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in body.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{hash:016x}\"")
}

/// `query` written back as a query string (`?a=1&b=2`, keys in order), or
/// nothing when it is empty.
fn query_string(query: &HashMap<String, String>) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    let mut pairs: Vec<_> = query.iter().collect();
    pairs.sort();
    let joined: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    if joined.is_empty() {
        String::new()
    } else {
        format!("?{}", joined.join("&"))
    }
}

/// A request for a console path.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a HashMap<String, String>,
    /// The `If-None-Match` header.
    pub if_none_match: Option<&'a str>,
    /// What the page may connect to besides its own origin ([`token_origin`]).
    pub token_origin: Option<&'a str>,
}

/// Answers a request for a console path. The bare paths redirect to the
/// page, keeping the query (an identity provider's answer arrives there).
pub fn serve(req: Request<'_>) -> ApiGatewayV2httpResponse {
    let Request {
        method,
        path,
        query,
        if_none_match,
        token_origin,
    } = req;
    if method != "GET" && method != "HEAD" {
        return plain(
            405,
            "method not allowed",
            &[("allow", "GET, HEAD".to_owned())],
        );
    }
    let Some(rest) = path.strip_prefix(CONSOLE_PREFIX) else {
        return plain(404, "not found", &[]);
    };
    // relative, so that it works below any base path
    let to_page = match rest {
        "" => Some("console/index.html"),
        "/" => Some("index.html"),
        _ => None,
    };
    if let Some(location) = to_page {
        let location = format!("{location}{}", query_string(query));
        return plain(302, "see index.html", &[("location", location)]);
    }
    // an exact name from the table: `..`, `%2e`, `//` or a folder match none
    let Some(asset) = rest
        .strip_prefix('/')
        .and_then(|name| ASSETS.iter().find(|a| a.name == name))
    else {
        return plain(404, "not found", &[]);
    };
    let tag = etag(asset.body);
    let mut headers = security_headers_with(token_origin.filter(|_| asset.name == "index.html"));
    headers.push(("cache-control", CACHE_CONTROL.to_owned()));
    headers.push(("etag", tag.clone()));
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*")) {
        let mut r = response(304, asset.content_type, String::new(), &headers);
        r.body = None;
        return r;
    }
    let body = if method == "HEAD" {
        String::new()
    } else {
        asset.body.to_owned()
    };
    response(200, asset.content_type, body, &headers)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use aws_lambda_events::encodings::Body;

    fn serve_plain(
        method: &str,
        path: &str,
        if_none_match: Option<&str>,
    ) -> ApiGatewayV2httpResponse {
        serve(Request {
            method,
            path,
            query: &HashMap::new(),
            if_none_match,
            token_origin: None,
        })
    }

    fn header<'r>(r: &'r ApiGatewayV2httpResponse, name: &str) -> Option<&'r str> {
        r.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn text(r: &ApiGatewayV2httpResponse) -> String {
        match &r.body {
            Some(Body::Text(t)) => t.clone(),
            Some(Body::Binary(b)) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        }
    }

    fn assert_secure(r: &ApiGatewayV2httpResponse) {
        assert_eq!(
            header(r, "content-security-policy"),
            Some(CONTENT_SECURITY_POLICY)
        );
        assert_eq!(header(r, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(r, "referrer-policy"), Some("no-referrer"));
    }

    #[test]
    fn console_paths_are_recognised() {
        assert!(is_console_path("/console"));
        assert!(is_console_path("/console/"));
        assert!(is_console_path("/console/app.js"));
        assert!(!is_console_path("/consoles"));
        assert!(!is_console_path("/api/v1/console"));
        assert!(!is_console_path("/"));
    }

    #[test]
    fn every_asset_is_served_with_its_type_and_the_strict_headers() {
        for (name, ct) in [
            ("index.html", "text/html; charset=utf-8"),
            ("console.css", "text/css; charset=utf-8"),
            ("app.js", "text/javascript; charset=utf-8"),
            ("sync.js", "text/javascript; charset=utf-8"),
        ] {
            let r = serve_plain("GET", &format!("/console/{name}"), None);
            assert_eq!(r.status_code, 200, "{name}");
            assert_eq!(header(&r, "content-type"), Some(ct), "{name}");
            assert_eq!(header(&r, "cache-control"), Some("no-cache"));
            assert!(header(&r, "etag").is_some());
            assert_secure(&r);
            assert!(!text(&r).is_empty());
        }
        for a in ASSETS {
            assert_eq!(
                serve_plain("GET", &format!("/console/{}", a.name), None).status_code,
                200,
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn the_csp_forbids_inline_code_and_other_origins() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn the_page_has_no_inline_script_style_or_external_resource() {
        for a in ASSETS {
            let body = a.body;
            assert!(!body.contains("http://"), "{}: an absolute URL", a.name);
            assert!(!body.contains("https://"), "{}: an absolute URL", a.name);
            if a.name.ends_with(".html") {
                assert!(!body.contains("style="), "{}: an inline style", a.name);
                assert!(!body.contains("<style"), "{}: an inline style", a.name);
                for (i, _) in body.match_indices("<script") {
                    let tag = &body[i..body[i..].find('>').map_or(body.len(), |e| i + e)];
                    assert!(tag.contains("src="), "{}: an inline script", a.name);
                }
                assert!(!body.contains(" onclick="), "{}: an inline handler", a.name);
            }
            if a.name.ends_with(".js") {
                // the CSP forbids inline styles set through attributes
                assert!(!body.contains(".style."), "{}: an inline style", a.name);
                assert!(!body.contains("eval("), "{}: eval", a.name);
            }
        }
    }

    #[test]
    fn the_bare_path_redirects_to_the_page() {
        for (p, to) in [
            ("/console", "console/index.html"),
            ("/console/", "index.html"),
        ] {
            let r = serve_plain("GET", p, None);
            assert_eq!(r.status_code, 302);
            assert_eq!(header(&r, "location"), Some(to));
            assert_secure(&r);
        }
    }

    #[test]
    fn unknown_assets_and_traversal_are_not_found() {
        for p in [
            "/console/nope.js",
            "/console/../src/lib.rs",
            "/console/..%2fsrc%2flib.rs",
            "/console/%2e%2e/Cargo.toml",
            "/console//app.js",
            "/console/./app.js",
            "/console/app.js/",
            "/console/APP.JS",
            "/console/sub/app.js",
            "/console/index.html%00",
            "/consoleindex.html",
        ] {
            let r = serve_plain("GET", p, None);
            assert_eq!(r.status_code, 404, "{p}");
            assert_eq!(
                header(&r, "content-type"),
                Some("text/plain; charset=utf-8")
            );
            assert_secure(&r);
            assert_eq!(text(&r), "not found");
        }
    }

    #[test]
    fn only_get_and_head_are_allowed() {
        let r = serve_plain("POST", "/console/index.html", None);
        assert_eq!(r.status_code, 405);
        assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
        let head = serve_plain("HEAD", "/console/index.html", None);
        assert_eq!(head.status_code, 200);
        assert!(text(&head).is_empty());
    }

    #[test]
    fn an_unchanged_asset_answers_304() {
        let first = serve_plain("GET", "/console/app.js", None);
        let tag = header(&first, "etag").unwrap().to_owned();
        let again = serve_plain("GET", "/console/app.js", Some(&tag));
        assert_eq!(again.status_code, 304);
        assert!(again.body.is_none());
        assert_secure(&again);
        let other = serve_plain("GET", "/console/app.js", Some("\"0\""));
        assert_eq!(other.status_code, 200);
        // another asset's tag does not match
        let css = serve_plain("GET", "/console/console.css", Some(&tag));
        assert_eq!(css.status_code, 200);
    }

    #[test]
    fn the_bare_path_keeps_the_query_on_its_way_to_the_page() {
        let query: HashMap<String, String> = [("org", "acme"), ("code", "a b/c"), ("state", "xyz")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let r = serve(Request {
            method: "GET",
            path: "/console/",
            query: &query,
            if_none_match: None,
            token_origin: None,
        });
        assert_eq!(r.status_code, 302);
        assert_eq!(
            header(&r, "location"),
            Some("index.html?code=a%20b%2Fc&org=acme&state=xyz")
        );
    }

    #[test]
    fn the_page_may_connect_to_the_token_endpoint_of_the_organization_it_names() {
        let query = HashMap::from([("org".to_owned(), "acme".to_owned())]);
        let at = |path| {
            serve(Request {
                method: "GET",
                path,
                query: &query,
                if_none_match: None,
                token_origin: Some("https://idp.example.com:8443"),
            })
        };
        let page = at("/console/index.html");
        assert_eq!(
            header(&page, "content-security-policy"),
            Some(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' https://idp.example.com:8443; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            )
        );
        // the scripts themselves keep the strict policy
        assert_secure(&at("/console/app.js"));
    }

    #[test]
    fn only_plain_http_origins_reach_the_policy() {
        for (url, origin) in [
            (
                "https://idp.example.com/oauth2/v1/token",
                Some("https://idp.example.com"),
            ),
            ("http://127.0.0.1:4011/token", Some("http://127.0.0.1:4011")),
            ("https://[::1]:9/t?x=1", Some("https://[::1]:9")),
            (
                "https://login.example.com",
                Some("https://login.example.com"),
            ),
            ("ftp://idp.example.com/token", None),
            ("https://idp.example.com; script-src *", None),
            ("https://user@idp.example.com/token", None),
            ("https:///token", None),
            ("idp.example.com/token", None),
        ] {
            assert_eq!(origin_of(url).as_deref(), origin, "{url}");
        }
    }

    #[tokio::test]
    async fn the_origin_comes_from_the_named_organizations_single_sign_on() {
        use user_sync_core::memory::MemoryStore;
        let directory = MemoryStore::default();
        let org = OrgId::parse("acme").unwrap();
        directory
            .put_sso(&org, &crate::sso_tests::config(true))
            .await
            .unwrap();
        let q = |org: &str| HashMap::from([("org".to_owned(), org.to_owned())]);
        assert_eq!(
            token_origin(&directory, "/console/index.html", &q("acme"))
                .await
                .as_deref(),
            Some("https://idp.example.com")
        );
        for (path, query) in [
            ("/console/index.html", q("nobody")),
            ("/console/index.html", q("ACME!")),
            ("/console/index.html", HashMap::new()),
            ("/console/app.js", q("acme")),
        ] {
            assert_eq!(token_origin(&directory, path, &query).await, None, "{path}");
        }
    }
}
