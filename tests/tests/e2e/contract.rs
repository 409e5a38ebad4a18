//! The admin API against its own OpenAPI document, as schemathesis sees it:
//! thousands of generated requests (valid ones, and ones that break the
//! schema) to every operation, on an organization with a group, users, a
//! rule and a template to find. No answer may be a 5xx; every status, header,
//! content type and body must be the documented one; a request the schema
//! forbids must be refused; every method a path does not document answers
//! `405` with `Allow`; a request without its token is refused; what was
//! deleted is gone and what was created is found.

use std::path::PathBuf;

use serde_json::json;
use user_sync_tests::api_url;

use crate::admin::{TestOrg, id};

/// Generated requests per operation and phase, and the seed (fixed, so a
/// failure replays; `USER_SYNC_SCHEMATHESIS_SEED` picks another).
const MAX_EXAMPLES: &str = "20";
const SEED: &str = "1";
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
response_headers_conformance,response_schema_conformance,negative_data_rejection,\
missing_required_header,unsupported_method,allow_header_conformance,ignored_auth,use_after_free,\
ensure_resource_availability";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the summary belongs in the test log
async fn the_admin_api_conforms_to_its_openapi_document() {
    let a = TestOrg::new("oas").await;
    let ada = a.scim().user("ada").await;
    let bob = a.scim().user("bob").await;
    let sales = a.scim().group_with("Sales", &[&ada, &bob]).await;
    a.admin()
        .rule(json!({"groupId": sales, "products": ["G2M"], "adminRole": {"type": "full_admin"}}))
        .await;
    let r = a
        .admin()
        .post(
            "/templates",
            json!({"name": "Sales welcome", "variants": {"en": {
                "subject": "Welcome, {{firstName}}",
                "body": "Your products: {{products}}. Sign in: {{loginUrl}}"
            }}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let _template = id(&r.body);

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap();
    let seed = std::env::var("USER_SYNC_SCHEMATHESIS_SEED").unwrap_or_else(|_| SEED.to_owned());
    let out = tokio::process::Command::new(repo.join(".venv/bin/schemathesis"))
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .args(["--config-file"])
        .arg(repo.join("tests/contract/schemathesis.toml"))
        .arg("run")
        .arg(api_url("/openapi.json"))
        .args([
            "--header",
            &format!("Authorization: Bearer {}", a.admin_token),
        ])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", &seed])
        // one worker: Python 3.11's parser is not safe to run in two threads
        // at once, and hypothesis parses source while it generates
        .args(["--workers", "1", "--request-timeout", "30"])
        // under the organization's admin request limit (50 a second over
        // 10-second windows), so that the checks see the API, not 429s
        .args(["--rate-limit", "30/s"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("could not run schemathesis (run scripts/setup): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // the closing lines: operations, phases, checks, counts, the verdict
    let summary = text
        .rsplit_once("SUMMARY")
        .map_or(text.as_str(), |(_, tail)| tail);
    println!("schemathesis{summary}");
    assert!(out.status.success(), "schemathesis failed:\n{text}");
    assert!(
        summary.contains("passed") && !summary.contains("Failures:"),
        "schemathesis reported failures:\n{text}"
    );
}
