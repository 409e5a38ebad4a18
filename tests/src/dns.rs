//! A real DNS server for the tests: Debian's dnsmasq (installed by
//! `scripts/setup`), started once per test process on a loopback port.
//!
//! dnsmasq serves `--txt-record`s only as they were when it started, and
//! re-reads only some files on SIGHUP, among them `--servers-file`. So the
//! server the resolver asks (the front) forwards each test domain's
//! `_user-sync.` name to a zone of its own, listed in its servers file:
//! - a zone with records is a second dnsmasq that serves them (changing
//!   them restarts that one only, so other tests' lookups never see a
//!   server down);
//! - a failing zone forwards to a port where nothing listens, which the
//!   front answers with SERVFAIL (or REFUSED);
//! - a silent zone forwards to a UDP socket that reads and never answers:
//!   the resolver times out.
//!
//! Each process runs under `sh`, which stops it when its standard input
//! closes: when the test process ends, however it ends, the servers end
//! (and the front's folder of files is removed).

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use user_sync_aws::dns::{DnsResolver, Nameserver};
use user_sync_core::domains::{TxtLookup, TxtResolver};

const DNSMASQ: &str = "/usr/sbin/dnsmasq";

static SERVER: OnceLock<Result<DnsServer, String>> = OnceLock::new();

/// The test process's DNS server, started on first use. If it cannot start,
/// the test fails with the reason.
pub fn dns() -> &'static DnsServer {
    match SERVER.get_or_init(DnsServer::start) {
        Ok(s) => s,
        Err(e) => panic!("the tests' DNS server (dnsmasq) could not start: {e}"),
    }
}

/// What a test domain's `_user-sync.` name answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zone {
    /// These TXT values (none: NXDOMAIN).
    Txt(Vec<String>),
    /// SERVFAIL (the front cannot reach the zone's server).
    ServFail,
    /// No answer at all.
    Silent,
}

/// A dnsmasq under `sh`, stopped when dropped.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Process {
    /// Runs dnsmasq with `args`; once it stops, removes `cleanup` (a folder).
    fn spawn(args: &[String], cleanup: Option<&std::path::Path>) -> Result<Self, String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"d=$1; shift; "$@" & p=$!; read -r _; kill $p; wait $p; [ -z "$d" ] || rm -rf "$d""#)
            .arg("sh")
            .arg(cleanup.map(|d| d.display().to_string()).unwrap_or_default())
            .arg(DNSMASQ)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{DNSMASQ} could not be run: {e}"))?;
        let stdin = child.stdin.take();
        // dnsmasq reports a bad option or a port in use at once
        std::thread::sleep(Duration::from_millis(150));
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ignored = std::io::Read::read_to_string(&mut e, &mut err);
            }
            return Err(format!("dnsmasq exited ({status}): {}", err.trim()));
        }
        Ok(Self { child, stdin })
    }

    fn stop(mut self) {
        self.stdin.take();
        let _ignored = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stdin.take();
    }
}

struct Zones {
    /// domain → what it answers, and the dnsmasq serving its records
    zones: HashMap<String, (u16, Option<Process>)>,
}

pub struct DnsServer {
    addr: SocketAddr,
    dir: PathBuf,
    front: Mutex<Option<Process>>,
    zones: Mutex<Zones>,
    /// A port where nothing listens (SERVFAIL).
    dead_port: u16,
    /// A socket that never answers (timeouts), kept open.
    silent: UdpSocket,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("addr", &self.addr)
            .finish()
    }
}

/// A port free for both UDP and TCP (dnsmasq listens on both).
fn free_port() -> Result<u16, String> {
    let mut last = String::new();
    for _ in 0..20 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
        let port = udp
            .local_addr()
            .map(|a| a.port())
            .map_err(|e| format!("no free port: {e}"))?;
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = e.to_string(),
        }
    }
    Err(format!("no port free for UDP and TCP: {last}"))
}

fn common(port: u16) -> Vec<String> {
    vec![
        "--keep-in-foreground".into(),
        "--conf-file=/dev/null".into(),
        format!("--port={port}"),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--cache-size=0".into(),
        "--no-negcache".into(),
        "--user=root".into(),
    ]
}

impl DnsServer {
    fn start() -> Result<Self, String> {
        if !std::path::Path::new(DNSMASQ).exists() {
            return Err(format!(
                "{DNSMASQ} is missing: run scripts/setup (apt-get install dnsmasq-base)"
            ));
        }
        let dir = std::env::temp_dir().join(format!("user-sync-dns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let servers = dir.join("servers");
        std::fs::write(&servers, "").map_err(|e| format!("{}: {e}", servers.display()))?;
        let silent = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("a silent socket: {e}"))?;
        let dead_port = free_port()?;
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let mut args = common(port);
            args.push(format!("--servers-file={}", servers.display()));
            args.push(format!("--pid-file={}", dir.join("front.pid").display()));
            // every other name under .test does not exist
            args.push("--local=/test/".into());
            match Process::spawn(&args, Some(&dir)) {
                Ok(front) => {
                    return Ok(Self {
                        addr: SocketAddr::from(([127, 0, 0, 1], port)),
                        dir,
                        front: Mutex::new(Some(front)),
                        zones: Mutex::new(Zones {
                            zones: HashMap::new(),
                        }),
                        dead_port,
                        silent,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The address the resolver asks (`DNS_SERVER`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A domain of its own for a test (`d-<random>.test`), with no record.
    pub fn new_domain(&self) -> String {
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).expect("random bytes");
        let id: String = random.iter().map(|b| format!("{b:02x}")).collect();
        format!("d-{id}.test")
    }

    /// Makes the domain's `_user-sync.` name answer `zone`, and waits until
    /// the front answers so (for a failing or silent zone: until a lookup
    /// fails).
    pub async fn set(&self, domain: &str, zone: Zone) {
        self.configure(domain, &zone);
        let mut restarts = 0;
        let mut restart_at = std::time::Instant::now() + Duration::from_secs(6);
        let resolver = DnsResolver::new(Nameserver::At(self.addr)).expect("a resolver");
        let name = format!("_user-sync.{domain}");
        let want = match &zone {
            Zone::Txt(values) if values.is_empty() => Some(TxtLookup::NotFound),
            Zone::Txt(values) => Some(TxtLookup::Found(values.clone())),
            Zone::ServFail | Zone::Silent => None,
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let got = resolver.txt(&name).await;
            let done = match &want {
                Some(TxtLookup::Found(values)) => {
                    matches!(&got, TxtLookup::Found(found) if found.len() == values.len())
                }
                Some(w) => &got == w,
                None => matches!(got, TxtLookup::CouldNotCheck(_)),
            };
            if done {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{name} still answers {got:?}, not {zone:?}"
            );
            // a zone's dnsmasq that lost its port to another process at
            // start is started again
            if std::time::Instant::now() > restart_at && restarts < 2 {
                restarts += 1;
                restart_at = std::time::Instant::now() + Duration::from_secs(6);
                self.configure(domain, &zone);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn configure(&self, domain: &str, zone: &Zone) {
        let mut zones = self.zones.lock().expect("zones");
        if let Some((_, Some(p))) = zones.zones.remove(domain) {
            p.stop();
        }
        let name = format!("_user-sync.{domain}");
        let (port, process) = match zone {
            Zone::ServFail => (self.dead_port, None),
            Zone::Silent => (
                self.silent.local_addr().expect("the silent socket").port(),
                None,
            ),
            Zone::Txt(values) => {
                let mut started = None;
                let mut last = String::new();
                for _ in 0..5 {
                    let port = free_port().expect("a free port");
                    let mut args = common(port);
                    args.push("--pid-file=".into());
                    args.push(format!("--local=/{domain}/"));
                    for v in values {
                        args.push(format!("--txt-record={name},{v}"));
                    }
                    match Process::spawn(&args, None) {
                        Ok(p) => {
                            started = Some((port, p));
                            break;
                        }
                        Err(e) => last = e,
                    }
                }
                let (port, p) =
                    started.unwrap_or_else(|| panic!("a zone's dnsmasq could not start: {last}"));
                (port, Some(p))
            }
        };
        zones.zones.insert(domain.to_owned(), (port, process));
        let mut file = std::fs::File::create(self.dir.join("servers")).expect("the servers file");
        for (d, (port, _)) in &zones.zones {
            writeln!(file, "server=/_user-sync.{d}/127.0.0.1#{port}").expect("the servers file");
        }
        drop(file);
        self.reload();
    }

    /// Publishes TXT values at the domain's `_user-sync.` name.
    pub async fn publish(&self, domain: &str, values: &[&str]) {
        self.set(
            domain,
            Zone::Txt(values.iter().map(|v| (*v).to_owned()).collect()),
        )
        .await;
    }

    /// Removes the domain's records (NXDOMAIN).
    pub async fn unpublish(&self, domain: &str) {
        self.set(domain, Zone::Txt(Vec::new())).await;
    }

    /// Has the front re-read its servers file (SIGHUP).
    fn reload(&self) {
        let _front = self.front.lock().expect("front");
        let pid = std::fs::read_to_string(self.dir.join("front.pid")).expect("the front's pid");
        let status = Command::new("kill")
            .args(["-HUP", pid.trim()])
            .status()
            .expect("kill -HUP");
        assert!(status.success(), "SIGHUP to dnsmasq: {status}");
        // dnsmasq handles the signal in its event loop
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ignored = std::fs::remove_dir_all(&self.dir);
    }
}
