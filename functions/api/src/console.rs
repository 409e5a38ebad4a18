//! The admin console: a static page (HTML, CSS, JavaScript modules) embedded
//! in the binary and served at `/console/…`. The assets hold no data: the
//! page signs in with the admin token and calls the admin API, so they are
//! served without a token and are not counted against the organization's
//! request limit.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use user_sync_aws::http::response;

/// Where the console lives.
pub const CONSOLE_PREFIX: &str = "/console";

/// What the page may load and where it may connect: its own assets and the
/// API of the same origin, nothing inline, nothing from elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

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
    vec![
        (
            "content-security-policy",
            CONTENT_SECURITY_POLICY.to_owned(),
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

/// Answers a request for `path` (a console path) with `method`;
/// `if_none_match` is the request's `If-None-Match` header.
pub fn serve(method: &str, path: &str, if_none_match: Option<&str>) -> ApiGatewayV2httpResponse {
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
        return plain(302, "see index.html", &[("location", location.to_owned())]);
    }
    // an exact name from the table: `..`, `%2e`, `//` or a folder match none
    let Some(asset) = rest
        .strip_prefix('/')
        .and_then(|name| ASSETS.iter().find(|a| a.name == name))
    else {
        return plain(404, "not found", &[]);
    };
    let tag = etag(asset.body);
    let mut headers = security_headers();
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
            let r = serve("GET", &format!("/console/{name}"), None);
            assert_eq!(r.status_code, 200, "{name}");
            assert_eq!(header(&r, "content-type"), Some(ct), "{name}");
            assert_eq!(header(&r, "cache-control"), Some("no-cache"));
            assert!(header(&r, "etag").is_some());
            assert_secure(&r);
            assert!(!text(&r).is_empty());
        }
        for a in ASSETS {
            assert_eq!(
                serve("GET", &format!("/console/{}", a.name), None).status_code,
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
            let r = serve("GET", p, None);
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
            let r = serve("GET", p, None);
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
        let r = serve("POST", "/console/index.html", None);
        assert_eq!(r.status_code, 405);
        assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
        let head = serve("HEAD", "/console/index.html", None);
        assert_eq!(head.status_code, 200);
        assert!(text(&head).is_empty());
    }

    #[test]
    fn an_unchanged_asset_answers_304() {
        let first = serve("GET", "/console/app.js", None);
        let tag = header(&first, "etag").unwrap().to_owned();
        let again = serve("GET", "/console/app.js", Some(&tag));
        assert_eq!(again.status_code, 304);
        assert!(again.body.is_none());
        assert_secure(&again);
        let other = serve("GET", "/console/app.js", Some("\"0\""));
        assert_eq!(other.status_code, 200);
        // another asset's tag does not match
        let css = serve("GET", "/console/console.css", Some(&tag));
        assert_eq!(css.status_code, 200);
    }
}
