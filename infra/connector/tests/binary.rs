//! The connector as a scheduler runs it: the binary, its exit codes and
//! what it prints (docs/connector.md, "Output and exit codes"). Runs with
//! no directory and no SCIM endpoint: what needs them is in the end-to-end
//! tests (tests/tests/e2e/connector.rs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "scim-token-that-must-never-be-printed";
const PASSWORD: &str = "directory-password-that-must-never-be-printed";

/// A folder of its own for one test, removed at the end.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("connector-binary-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A complete configuration: the directory and the endpoint on loopback
/// ports nothing answers on.
fn config(dir: &Dir) -> String {
    format!(
        r#"[directory]
kind = "active_directory"
url = "ldaps://127.0.0.1:{ldap}"
bind_dn = "CN=svc-usersync,OU=Service Accounts,DC=corp,DC=example,DC=com"
password_env = "CONNECTOR_TEST_PASSWORD"
timeout_seconds = 2
reconnect_attempts = 0

[scope]
groups = ["CN=Staff,OU=Groups,DC=corp,DC=example,DC=com"]

[scim]
url = "http://127.0.0.1:{scim}/scim/v2"
token_env = "CONNECTOR_TEST_TOKEN"

[sync]
state_dir = "{state}"
"#,
        ldap = closed_port(),
        scim = closed_port(),
        state = dir.0.join("state").display(),
    )
}

fn run(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_user-sync-connector"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("CONNECTOR_TEST_TOKEN", TOKEN)
        .env("CONNECTOR_TEST_PASSWORD", PASSWORD)
        .env_remove("RUST_LOG")
        .env_remove("USER_SYNC_CONNECTOR_CONFIG")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_secret(o: &Output) {
    let all = text(o);
    assert!(!all.contains(TOKEN), "the token was printed: {all}");
    assert!(!all.contains(PASSWORD), "the password was printed: {all}");
}

#[test]
fn a_valid_configuration_passes_the_check() {
    let dir = Dir::new("valid");
    let path = dir.write("connector.toml", &config(&dir));
    let o = run(&path, &["--check-config"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_no_secret(&o);
}

#[test]
fn an_unknown_key_is_a_usage_error_naming_the_key_and_its_line() {
    let dir = Dir::new("unknown");
    let with_typo = config(&dir).replace("timeout_seconds = 2", "timeout_secs = 2");
    let line = with_typo
        .lines()
        .position(|l| l.starts_with("timeout_secs"))
        .unwrap()
        + 1;
    let path = dir.write("connector.toml", &with_typo);
    let o = run(&path, &["--check-config"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("timeout_secs"), "{err}");
    assert!(err.contains(&format!("line {line}")), "{err}");
}

#[test]
fn a_missing_secret_is_a_usage_error_naming_its_source() {
    let dir = Dir::new("missing");
    let path = dir.write("connector.toml", &config(&dir));
    let o = Command::new(env!("CARGO_BIN_EXE_user-sync-connector"))
        .arg("--config")
        .arg(&path)
        .arg("--check-config")
        .env_remove("CONNECTOR_TEST_TOKEN")
        .env("CONNECTOR_TEST_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("CONNECTOR_TEST_TOKEN"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_configuration_file_that_is_not_there_is_a_usage_error() {
    let dir = Dir::new("absent");
    let o = run(&dir.0.join("nowhere.toml"), &["--once"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nowhere.toml"),
        "{}",
        text(&o)
    );
}

#[test]
fn an_unreachable_directory_stops_the_run_with_the_directory_exit_code() {
    let dir = Dir::new("unreachable");
    let path = dir.write("connector.toml", &config(&dir));
    for args in [&["--once"][..], &["--dry-run", "--output", "json"][..]] {
        let o = run(&path, args);
        assert_eq!(o.status.code(), Some(4), "{args:?}: {}", text(&o));
        assert_no_secret(&o);
    }
}
