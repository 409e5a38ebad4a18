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
//! The full runs (first and no-change) run in a child process of their own
//! (this bench again, told so by `CONNECTOR_BENCH_CHILD`), so that the
//! connector's memory is measured alone: the child prints its peak resident
//! size (`VmHWM`) before and after the run. Then the no-change full run's
//! parts are timed one by one: the directory read, the endpoint's users,
//! its groups.
//!
//! `CONNECTOR_BENCH_BEFORE_EXE`, this bench built from an earlier commit,
//! adds that build's no-change full run (to compare memory).
//!
//! `cargo bench -p user-sync-tests --bench connector` prints one table;
//! `CONNECTOR_BENCH_USERS` and `CONNECTOR_BENCH_GROUPS` change the sizes
//! (10,000 and 200 by default). `CONNECTOR_BENCH_SCIM_RATE` runs it against
//! a stack of its own whose SCIM endpoint allows that many requests a
//! second per organization (the template's `ScimRequestsPerSecondPerOrg`;
//! the shared stack's is 100): below what the local stack can serve, the
//! first run shows whether the connector keeps to the endpoint's limit. Not
//! a timed test: nothing asserts a speed, but a run that does not converge
//! (a failure, a write on a no-change run) fails the bench.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::path::Path;
use std::process::Command;
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

/// The process's peak resident size so far, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The connector, its directory, client and options, from a config file.
fn connector(config: &Path) -> (LdapDirectory, ScimClient, std::path::PathBuf, Options) {
    let config = Config::parse(&std::fs::read_to_string(config).unwrap()).unwrap();
    let directory = LdapDirectory::new(
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
    (directory, client, state, options)
}

/// In the child: one full run (`first`: the first one, else a forced full
/// run that must send nothing), its table line and its memory.
async fn child(config: &Path, what: &str) {
    let (mut directory, client, state, options) = connector(config);
    if what == "directory read" || what == "SCIM listing" {
        let before = peak_rss();
        let n = if what == "directory read" {
            use user_sync_connector::sync::Directory as _;
            let (tx, mut rx) =
                tokio::sync::mpsc::channel::<Vec<user_sync_connector::model::SourceUser>>(1);
            let drain = async move {
                let mut n = 0;
                while let Some(page) = rx.recv().await {
                    n += page.len();
                }
                n
            };
            let (read, n) = tokio::join!(directory.read_full_paged(tx), drain);
            read.unwrap();
            n
        } else {
            let (users, groups) = tokio::join!(client.users(), client.groups());
            users.unwrap().len() + groups.unwrap().len()
        };
        println!(
            "memory of the {what} alone ({n} resources): peak resident {:.1} MiB ({:.1} MiB before)",
            mib(peak_rss()),
            mib(before)
        );
        return;
    }
    let options = Options {
        force_full: what != "first run",
        ..options
    };
    let before = peak_rss();
    let start = Instant::now();
    let r = sync::run(&mut directory, &client, &state, &options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let t = start.elapsed();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    if what == "first run" {
        assert_eq!(r.done.created, r.directory_users);
    } else {
        assert_eq!(r.writes, 0, "{r:?}");
    }
    line(what, &r, t);
    let retries = client
        .counters
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "memory {what}: peak resident {:.1} MiB ({:.1} MiB before the run); connector CPU {:.1} s; {:.0} SCIM writes/s; {retries} requests retried",
        mib(peak_rss()),
        mib(before),
        cpu()[0].1,
        r.writes as f64 / t.as_secs_f64()
    );
}

/// CPU seconds used so far by this process and by each of its children
/// (the AWS emulator, slapd), by command name (Linux's 100 ticks a second).
fn cpu() -> Vec<(String, f64)> {
    let me = std::process::id();
    let read = |pid: u32| -> Option<(String, u32, f64)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (head, tail) = stat.rsplit_once(')')?;
        let name = head.split_once('(')?.1.to_owned();
        let f: Vec<&str> = tail.split_whitespace().collect();
        let ppid = f.get(1)?.parse().ok()?;
        let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
        Some((name, ppid, ticks / 100.0))
    };
    let mut out = vec![(
        "bench (stack and connector)".to_owned(),
        read(me).map_or(0.0, |r| r.2),
    )];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if let Some((name, ppid, secs)) = read(pid)
            && ppid == me
        {
            out.push((name, secs));
        }
    }
    out
}

/// CPU seconds spent by each process between two [`cpu`] readings.
fn cpu_spent(before: &[(String, f64)], after: &[(String, f64)]) -> String {
    after
        .iter()
        .map(|(name, secs)| {
            let was = before.iter().find(|(n, _)| n == name).map_or(0.0, |b| b.1);
            format!("{name} {:.1} s", secs - was)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The parts of a no-change full run, one after the other: the directory
/// read, then the endpoint's users, then its groups.
async fn parts(config: &Path) {
    use user_sync_connector::sync::Directory as _;
    let (mut directory, client, _, _) = connector(config);
    let start = Instant::now();
    let snapshot = directory.read_full().await.unwrap();
    let read = start.elapsed();
    let (start, cpu_before) = (Instant::now(), cpu());
    let users = client.users().await.unwrap();
    let listed = start.elapsed();
    let users_cpu = cpu_spent(&cpu_before, &cpu());
    let (start, cpu_before) = (Instant::now(), cpu());
    let groups = client.groups().await.unwrap();
    let grouped = start.elapsed();
    let groups_cpu = cpu_spent(&cpu_before, &cpu());
    println!(
        "parts, one after the other: directory read {:.1} s ({} users); SCIM users {:.1} s ({}); SCIM groups {:.1} s ({})",
        read.as_secs_f64(),
        snapshot.users.len(),
        listed.as_secs_f64(),
        users.len(),
        grouped.as_secs_f64(),
        groups.len()
    );
    println!("CPU while listing users: {users_cpu}; while listing groups: {groups_cpu}");
}

/// One full run in a child process; its output is printed as it is.
fn in_child(config: &Path, what: &str) {
    in_child_of(&std::env::current_exe().unwrap(), config, what);
}

/// One full run in a child process of `exe` (this bench, or another build
/// of it).
fn in_child_of(exe: &Path, config: &Path, what: &str) {
    let out = Command::new(exe)
        .env("CONNECTOR_BENCH_CHILD", config)
        .env("CONNECTOR_BENCH_RUN", what)
        .output()
        .unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(
        out.status.success(),
        "the {what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A local stack of this bench's own whose SCIM endpoint allows `rate`
/// requests a second per organization.
async fn own_stack(rate: &str) -> local_stack::Stack {
    let mut options = local_stack::StackOptions::new(user_sync_tests::repo_root());
    options
        .parameters
        .insert("ScimRequestsPerSecondPerOrg".to_owned(), rate.to_owned());
    local_stack::Stack::start(options)
        .await
        .unwrap_or_else(|e| panic!("the bench's stack could not start: {e}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Some(config) = std::env::var_os("CONNECTOR_BENCH_CHILD") {
        let what = std::env::var("CONNECTOR_BENCH_RUN").unwrap();
        child(Path::new(&config), &what).await;
        return;
    }
    let (users, groups) = (
        size("CONNECTOR_BENCH_USERS", 10_000),
        size("CONNECTOR_BENCH_GROUPS", 200),
    );
    let server = openldap();
    // with CONNECTOR_BENCH_SCIM_RATE, a stack of its own with that limit
    let rate = std::env::var("CONNECTOR_BENCH_SCIM_RATE").ok();
    let own = match &rate {
        Some(rate) => Some(own_stack(rate).await),
        None => None,
    };
    // (the organization's id, its SCIM token, the endpoint)
    let (org_id, scim_token, scim_url) = match &own {
        Some(own) => {
            let id = user_sync_core::ids::OrgId::parse("bench-rate").unwrap();
            let created = own.create_organization(&id, "Bench").await.unwrap();
            (id.to_string(), created.scim_token, own.scim_url.clone())
        }
        None => {
            let org = new_org("bench-conn").await;
            (
                org.org_id.to_string(),
                org.scim_token.clone(),
                stack().scim_url.clone(),
            )
        }
    };
    let ou = server.new_ou("bench").await;
    let start = Instant::now();
    let populated = ou.populate(users, groups).await;
    let populate = start.elapsed();

    let dir = std::env::temp_dir().join(format!("connector-bench-{org_id}"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), &scim_token).unwrap();
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
        scim_url,
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
    let config_file = dir.join("connector.toml");
    std::fs::write(&config_file, &text).unwrap();
    let (mut directory, client, state, options) = connector(&config_file);
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
    if let Some(rate) = &rate {
        println!("the SCIM endpoint's limit: {rate} requests a second per organization");
    }
    println!(
        "| run | kind | users read | created | updated | SCIM reads | SCIM writes | duration |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for what in [
        "first run",
        "no change, full",
        "directory read",
        "SCIM listing",
    ] {
        let before = cpu();
        in_child(&config_file, what);
        println!("CPU during the {what}: {}", cpu_spent(&before, &cpu()));
    }
    // with CONNECTOR_BENCH_BEFORE_EXE (this bench built from an earlier
    // commit), that build's no-change full run too, for its memory
    if let Some(exe) = std::env::var_os("CONNECTOR_BENCH_BEFORE_EXE") {
        println!("the earlier build's run:");
        in_child_of(Path::new(&exe), &config_file, "no change, full");
    }
    // slapd keeps entryCSN: an incremental read starts exactly after the
    // last change the full run saw, in the same second or not
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

    let other = &populated.users[users / 3];
    ou.set_attribute(&other.dn, "departmentNumber", &["Bench"])
        .await;
    let (two, t) = run(&options).await;
    assert_eq!(two.kind, Kind::Incremental);
    assert_eq!((two.done.updated, two.writes), (1, 1), "{two:?}");
    line("another user changed", &two, t);

    parts(&config_file).await;
    std::fs::remove_dir_all(&dir).unwrap();
    if let Some(own) = own {
        own.shutdown().await;
    }
}
