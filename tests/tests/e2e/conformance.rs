//! SCIM conformance, as third-party checkers see it: scim2-tester (every
//! check), scim2-cli's `scim test` and scim-sanity's probe (strict mode),
//! each against an organization of its own. Every check must pass (or be skipped by the checker itself).

use std::path::PathBuf;

use user_sync_tests::{new_org, stack};

async fn run(tool: &str) -> (bool, String) {
    let org = new_org("conf").await;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap();
    let out = tokio::process::Command::new(repo.join(".venv/bin/python"))
        .arg(repo.join("tests/conformance/scim_conformance.py"))
        .arg(tool)
        .arg(&stack().scim_url)
        .arg(&org.scim_token)
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("could not run the conformance script (run scripts/setup): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::print_stdout)] // the counts belong in the test log
async fn scim2_tester_scim_test_and_scim_sanity_pass() {
    let (tester, cli, sanity) = tokio::join!(run("tester"), run("cli"), run("sanity"));
    println!("{}\n{}\n{}", tester.1, cli.1, sanity.1);
    assert!(tester.0, "scim2-tester:\n{}", tester.1);
    assert!(cli.0, "scim test:\n{}", cli.1);
    assert!(sanity.0, "scim-sanity:\n{}", sanity.1);
}
