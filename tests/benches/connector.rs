//! The directory connector at scale, on the local stack: a directory of
//! 10,000 users in 200 groups (50 members each) generated into a real
//! OpenLDAP `slapd`, then
//!
//! 1. the first run (a full read, every user and group created through the
//!    SCIM endpoint, at its per-organization rate limit);
//! 2. a no-change full run (0 writes);
//! 3. one user changed in the directory, and the run that sends it; a
//!    no-change incremental run; another user changed and the incremental
//!    run that sends it.
//!
//! `cargo bench -p user-sync-tests --bench connector` prints one table;
//! `CONNECTOR_BENCH_USERS` and `CONNECTOR_BENCH_GROUPS` change the sizes
//! (10,000 and 200 by default). Not
//! a timed test: nothing asserts a speed, but a run that does not converge
//! (a failure, a write on a no-change run) fails the bench.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

use user_sync_connector::config::Config;
use user_sync_connector::directory::LdapDirectory;
use user_sync_connector::scim::ScimClient;
use user_sync_connector::sync::{self, Kind, Options, Report};
use user_sync_tests::directory_servers::openldap;
use user_sync_tests::{new_org, stack};

/// A size from the environment, or its default.
fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn line(what: &str, r: &Report, elapsed: Duration) {
    println!(
        "| {what} | {:?} | {} | {} | {} | {} | {} | {:.1} s |",
        r.kind,
        r.directory_users,
        r.done.created + r.done.groups_created,
        r.done.updated,
        r.reads,
        r.writes,
        elapsed.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (users, groups) = (
        size("CONNECTOR_BENCH_USERS", 10_000),
        size("CONNECTOR_BENCH_GROUPS", 200),
    );
    let server = openldap();
    let org = new_org("bench-conn").await;
    let ou = server.new_ou("bench").await;
    let start = Instant::now();
    let populated = ou.populate(users, groups).await;
    let populate = start.elapsed();

    let dir = std::env::temp_dir().join(format!("connector-bench-{}", org.org_id));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), &org.scim_token).unwrap();
    std::fs::write(dir.join("password"), &server.bind_password).unwrap();
    let group_dns: Vec<String> = populated
        .groups
        .iter()
        .map(|g| format!("\"{}\"", g.dn))
        .collect();
    let text = format!(
        "[scim]\nurl = \"{}\"\ntoken_file = \"{}\"\n[sync]\nstate_dir = \"{}\"\n\
         [directory]\nkind = \"ldap\"\nurl = \"{}\"\nca_file = \"{}\"\nbind_dn = \"{}\"\n\
         password_file = \"{}\"\nbase_dn = \"{}\"\n[scope]\ngroups = [{}]\nbase_dns = [\"{}\"]\n",
        stack().scim_url,
        dir.join("token").display(),
        dir.display(),
        server.ldaps_url,
        server.ca_file.display(),
        server.bind_dn,
        dir.join("password").display(),
        server.base_dn,
        group_dns.join(", "),
        ou.dn,
    );
    let config = Config::parse(&text).unwrap();
    let mut directory = LdapDirectory::new(
        config.directory.clone(),
        config.scope.clone(),
        config.mapping.clone(),
    );
    let client = ScimClient::new(
        &config.scim.url,
        config.scim.read_token().unwrap(),
        config.scim.timeout,
    )
    .unwrap();
    let state = config.sync.state_dir.join("state.json");
    let options = Options {
        dry_run: false,
        allow_deactivations: false,
        force_full: false,
        guard: config.sync.guard,
        full_every: config.sync.full_every,
        concurrency: config.scim.concurrency,
    };
    let full = Options {
        force_full: true,
        ..options.clone()
    };
    let mut run = async |options: &Options| {
        let start = Instant::now();
        let r = sync::run(&mut directory, &client, &state, options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        (r, start.elapsed())
    };

    println!(
        "directory: {users} users in {groups} groups generated into slapd in {:.1} s",
        populate.as_secs_f64()
    );
    println!(
        "| run | kind | users read | created | updated | SCIM reads | SCIM writes | duration |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let retries_before = client
        .counters
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    let (first, t) = run(&options).await;
    let retries = client
        .counters
        .retries
        .load(std::sync::atomic::Ordering::Relaxed)
        - retries_before;
    assert_eq!(first.done.created, users);
    line("first run", &first, t);
    let first_rate = first.writes as f64 / t.as_secs_f64();

    let (quiet_full, t) = run(&full).await;
    assert_eq!(quiet_full.writes, 0, "{quiet_full:?}");
    line("no change, full", &quiet_full, t);
    // slapd's modifyTimestamp has whole seconds and the marker is
    // inclusive: the first incremental read sees again what the first run's
    // last second wrote (and reads everything when that is too much); the
    // marker moves past it with the first change
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let changed = &populated.users[users / 2];
    ou.set_attribute(&changed.dn, "departmentNumber", &["Bench"])
        .await;
    let (one, t) = run(&options).await;
    assert_eq!((one.done.updated, one.writes), (1, 1), "{one:?}");
    line("one user changed", &one, t);

    let (quiet, t) = run(&options).await;
    assert_eq!(quiet.kind, Kind::Incremental);
    assert_eq!(quiet.writes, 0, "{quiet:?}");
    line("no change, incremental", &quiet, t);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let other = &populated.users[users / 3];
    ou.set_attribute(&other.dn, "departmentNumber", &["Bench"])
        .await;
    let (two, t) = run(&options).await;
    assert_eq!(two.kind, Kind::Incremental);
    assert_eq!((two.done.updated, two.writes), (1, 1), "{two:?}");
    line("another user changed", &two, t);

    println!(
        "first run: {first_rate:.0} SCIM writes/s ({retries} requests retried after 429 or errors)"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
