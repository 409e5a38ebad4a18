//! Real directory servers for the tests: a Samba Active Directory domain
//! controller and an OpenLDAP `slapd`, each started at most once per test
//! process, in a temporary folder of its own, on loopback, with LDAPS and
//! StartTLS under a certificate signed by a CA generated for the run.
//!
//! The servers stop, and their folders are removed, when the test process
//! exits: each runs under a small shell that waits for its standard input to
//! close (the test process holds the other end of the pipe until it exits).
//! If a server cannot start, the test that asked for it fails with the
//! reason (the tail of the server's log); tests never skip.
//!
//! Test data lives in organizational units of its own ([`DirectoryServer::new_ou`]),
//! so tests running in parallel do not see each other's entries.

#![allow(clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};

/// Which kind of directory a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    ActiveDirectory,
    OpenLdap,
}

/// A running directory server.
#[derive(Debug)]
pub struct DirectoryServer {
    pub kind: DirectoryKind,
    /// `ldap://ip:port`: plain LDAP, StartTLS capable.
    pub ldap_url: String,
    /// `ldaps://ip:port`.
    pub ldaps_url: String,
    /// The PEM file of the CA that signed the server's certificate.
    pub ca_file: PathBuf,
    pub base_dn: String,
    /// An administrator.
    pub bind_dn: String,
    pub bind_password: String,
    /// The directory attribute the tests map to a SCIM custom attribute.
    pub custom_attribute: &'static str,
    /// The server's log file (for failure messages).
    pub log_file: PathBuf,
    /// Held until the test process exits; closing it stops the server.
    _stdin: Mutex<ChildStdin>,
}

static SAMBA: OnceLock<Result<DirectoryServer, String>> = OnceLock::new();
static SLAPD: OnceLock<Result<DirectoryServer, String>> = OnceLock::new();

/// The Samba Active Directory domain controller of this test process,
/// provisioned and started on first use (about 10 s).
pub fn samba_dc() -> &'static DirectoryServer {
    let result = SAMBA.get_or_init(|| on_a_thread(start_samba));
    match result {
        Ok(server) => server,
        Err(e) => panic!("the Samba AD domain controller could not start: {e}"),
    }
}

/// The OpenLDAP server of this test process, started on first use.
pub fn openldap() -> &'static DirectoryServer {
    let result = SLAPD.get_or_init(|| on_a_thread(start_slapd));
    match result {
        Ok(server) => server,
        Err(e) => panic!("OpenLDAP (slapd) could not start: {e}"),
    }
}

/// Runs a start-up on a thread of its own (it uses a runtime of its own, and
/// callers are often inside one).
fn on_a_thread(start: fn() -> Result<DirectoryServer, String>) -> Result<DirectoryServer, String> {
    std::thread::spawn(start)
        .join()
        .unwrap_or_else(|_| Err("the start-up thread panicked".into()))
}

/// A fresh temporary folder.
fn temp_dir(prefix: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "user-sync-{prefix}-{}-{}",
        std::process::id(),
        random_hex(4)
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    Ok(dir)
}

pub fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).expect("random bytes");
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a command to completion; its output in the error when it fails.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stdout), 2000),
            tail(&String::from_utf8_lossy(&out.stderr), 2000)
        ))
    }
}

fn tail(text: &str, max: usize) -> String {
    let start = text.len().saturating_sub(max);
    let start = (start..=text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

fn log_tail(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|t| tail(&t, 3000))
        .unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()))
}

/// A CA and a server certificate it signs, valid for `ip` and localhost:
/// (ca.pem, server.pem, server.key) in `dir`.
fn certificates(dir: &Path, ip: Ipv4Addr) -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let ca_key = dir.join("ca.key");
    let ca = dir.join("ca.pem");
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let cert = dir.join("server.pem");
    let ext = dir.join("server.ext");
    run(
        Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3",
            ])
            .args(["-subj", "/CN=User Sync test CA"])
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&ca),
        "openssl (the test CA)",
    )?;
    run(
        Command::new("openssl")
            .args([
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=localhost",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&csr),
        "openssl (the server key)",
    )?;
    std::fs::write(
        &ext,
        format!(
            "subjectAltName=IP:{ip},IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .map_err(|e| format!("write {}: {e}", ext.display()))?;
    run(
        Command::new("openssl")
            .args(["x509", "-req", "-days", "3", "-CAcreateserial"])
            .arg("-in")
            .arg(&csr)
            .arg("-CA")
            .arg(&ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .arg("-out")
            .arg(&cert)
            .arg("-extfile")
            .arg(&ext),
        "openssl (the server certificate)",
    )?;
    set_mode(&key, 0o600)?;
    Ok((ca, cert, key))
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("chmod {}: {e}", path.display()))
}

/// Starts `script` under `sh` with a piped standard input; the script must
/// stop its server when that input closes.
fn spawn_reaped(script: &str, args: &[&str]) -> Result<ChildStdin, String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start sh: {e}"))?;
    child
        .stdin
        .take()
        .ok_or_else(|| "no standard input for the server".to_owned())
}

/// Waits until something accepts TCP connections at `addr`.
fn wait_for_port(addr: SocketAddr, timeout: Duration, log: &Path) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "nothing listens on {addr} after {timeout:?}; log tail:\n{}",
        log_tail(log)
    ))
}

/// Waits until an administrator can bind over LDAPS and read the base entry.
fn wait_for_bind(server: &DirectoryServer, timeout: Duration) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        let attempt = runtime.block_on(async {
            let mut ldap = server.try_connect().await?;
            ldap.search(&server.base_dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
                .await
                .and_then(|r| r.success())
                .map_err(|e| e.to_string())?;
            let _ignored = ldap.unbind().await;
            Ok::<(), String>(())
        });
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(format!(
        "no administrator bind after {timeout:?}: {last}; log tail:\n{}",
        log_tail(&server.log_file)
    ))
}

/// A loopback address on which `ports` are free: Samba's LDAP ports are
/// fixed (389, 636), so each test process gets an address of its own.
fn free_loopback_address(ports: &[u16]) -> Result<Ipv4Addr, String> {
    for _ in 0..50 {
        let mut b = [0u8; 3];
        getrandom::fill(&mut b).map_err(|e| e.to_string())?;
        let ip = Ipv4Addr::new(127, 100 + b[0] % 100, b[1], 2 + b[2] % 250);
        let free = ports
            .iter()
            .all(|p| TcpListener::bind(SocketAddr::from((ip, *p))).is_ok());
        if free {
            return Ok(ip);
        }
    }
    Err("no free loopback address for the LDAP ports".into())
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

const SAMBA_REALM: &str = "USERSYNC.TEST";
const SAMBA_BASE: &str = "DC=usersync,DC=test";
const SAMBA_PASSWORD: &str = "Adm1n.Passw0rd-Test";

fn start_samba() -> Result<DirectoryServer, String> {
    let dir = temp_dir("samba")?;
    let ip = free_loopback_address(&[389, 636])?;
    let (ca, cert, key) = certificates(&dir, ip)?;
    let target = dir.join("dc");
    let log_file = dir.join("samba.log");
    run(
        Command::new("samba-tool")
            .args(["domain", "provision"])
            .arg(format!("--targetdir={}", target.display()))
            .arg(format!("--realm={SAMBA_REALM}"))
            .args([
                "--domain=USERSYNC",
                "--server-role=dc",
                "--dns-backend=NONE",
            ])
            .args(["--host-name=dc1"])
            .arg(format!("--adminpass={SAMBA_PASSWORD}"))
            .arg(format!("--option=interfaces = {ip}/8"))
            .arg("--option=bind interfaces only = yes")
            .arg("--option=server services = ldap")
            // no fsync per transaction (as Samba's own test suite runs):
            // loading thousands of test users takes seconds, not minutes
            .arg("--option=ldb:nosync = true")
            .arg(format!("--option=pid directory = {}", target.display()))
            .arg(format!("--option=log file = {}", log_file.display()))
            .arg("--option=tls enabled = yes")
            .arg(format!("--option=tls keyfile = {}", key.display()))
            .arg(format!("--option=tls certfile = {}", cert.display()))
            .arg(format!("--option=tls cafile = {}", ca.display())),
        "samba-tool domain provision (is samba-ad-dc installed? scripts/setup installs it)",
    )?;
    let conf = target.join("etc").join("smb.conf");
    let conf = conf.to_string_lossy().into_owned();
    let dir_s = dir.to_string_lossy().into_owned();
    let log_s = log_file.to_string_lossy().into_owned();
    // samba -i stops when its standard input closes: `cat` forwards ours.
    let stdin = spawn_reaped(
        r#"cat | samba -i -s "$1" >>"$3" 2>&1; rm -rf "$2""#,
        &[&conf, &dir_s, &log_s],
    )?;
    let server = DirectoryServer {
        kind: DirectoryKind::ActiveDirectory,
        ldap_url: format!("ldap://{ip}:389"),
        ldaps_url: format!("ldaps://{ip}:636"),
        ca_file: ca,
        base_dn: SAMBA_BASE.into(),
        bind_dn: format!("CN=Administrator,CN=Users,{SAMBA_BASE}"),
        bind_password: SAMBA_PASSWORD.into(),
        custom_attribute: "carLicense",
        log_file: log_file.clone(),
        _stdin: Mutex::new(stdin),
    };
    wait_for_port(
        SocketAddr::from((ip, 636)),
        Duration::from_secs(60),
        &log_file,
    )?;
    wait_for_bind(&server, Duration::from_secs(60))?;
    Ok(server)
}

const SLAPD_BASE: &str = "dc=usersync,dc=test";
const SLAPD_PASSWORD: &str = "Adm1n.Passw0rd-Test";

/// The small schema the OpenLDAP tests add to the standard ones: the
/// `nsAccountLock` attribute 389-DS and FreeIPA use for disabled accounts
/// (the LDAP mapping's default "disabled" attribute), on an auxiliary class.
const TEST_SCHEMA: &str = "\
attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock'
  DESC 'Operational attribute for Account Inactivation'
  EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'userSyncTestAccount' AUXILIARY
  MAY ( nsAccountLock ) )
";

fn start_slapd() -> Result<DirectoryServer, String> {
    let dir = temp_dir("slapd")?;
    let ip = Ipv4Addr::LOCALHOST;
    let (ca, cert, key) = certificates(&dir, ip)?;
    let db = dir.join("db");
    std::fs::create_dir_all(&db).map_err(|e| e.to_string())?;
    let schema = dir.join("usersync-test.schema");
    std::fs::write(&schema, TEST_SCHEMA).map_err(|e| e.to_string())?;
    let conf = dir.join("slapd.conf");
    let d = dir.display();
    let config = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         include {schema}\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         moduleload refint\n\
         pidfile {d}/slapd.pid\n\
         argsfile {d}/slapd.args\n\
         TLSCACertificateFile {ca}\n\
         TLSCertificateFile {cert}\n\
         TLSCertificateKeyFile {key}\n\
         sizelimit 1000\n\
         database mdb\n\
         maxsize 2147483648\n\
         suffix \"{SLAPD_BASE}\"\n\
         rootdn \"cn=admin,{SLAPD_BASE}\"\n\
         rootpw {SLAPD_PASSWORD}\n\
         directory {db}\n\
         index objectClass eq\n\
         index member eq\n\
         index entryUUID eq\n\
         index modifyTimestamp eq\n\
         overlay refint\n\
         refint_attributes member manager\n",
        schema = schema.display(),
        ca = ca.display(),
        cert = cert.display(),
        key = key.display(),
        db = db.display(),
    );
    std::fs::write(&conf, config).map_err(|e| e.to_string())?;
    let base = dir.join("base.ldif");
    std::fs::write(
        &base,
        format!(
            "dn: {SLAPD_BASE}\nobjectClass: dcObject\nobjectClass: organization\no: User Sync tests\ndc: usersync\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    run(
        Command::new("slapadd")
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&base),
        "slapadd (is slapd installed? scripts/setup installs it)",
    )?;
    let port = free_port()?;
    let tls_port = free_port()?;
    let urls = format!("ldap://{ip}:{port}/ ldaps://{ip}:{tls_port}/");
    let log_file = dir.join("slapd.log");
    let conf_s = conf.to_string_lossy().into_owned();
    let dir_s = dir.to_string_lossy().into_owned();
    let log_s = log_file.to_string_lossy().into_owned();
    let stdin = spawn_reaped(
        r#"slapd -d 0 -f "$1" -h "$2" </dev/null >>"$4" 2>&1 & p=$!; cat >/dev/null; kill $p; wait $p; rm -rf "$3""#,
        &[&conf_s, &urls, &dir_s, &log_s],
    )?;
    let server = DirectoryServer {
        kind: DirectoryKind::OpenLdap,
        ldap_url: format!("ldap://{ip}:{port}"),
        ldaps_url: format!("ldaps://{ip}:{tls_port}"),
        ca_file: ca,
        base_dn: SLAPD_BASE.into(),
        bind_dn: format!("cn=admin,{SLAPD_BASE}"),
        bind_password: SLAPD_PASSWORD.into(),
        custom_attribute: "carLicense",
        log_file: log_file.clone(),
        _stdin: Mutex::new(stdin),
    };
    wait_for_port(
        SocketAddr::from((ip, tls_port)),
        Duration::from_secs(30),
        &log_file,
    )?;
    wait_for_bind(&server, Duration::from_secs(30))?;
    Ok(server)
}

/// A rustls client configuration that trusts only the PEM CA file.
pub fn tls_config(ca_file: &Path) -> Result<Arc<rustls::ClientConfig>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(ca_file).map_err(|e| format!("{}: {e}", ca_file.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| format!("{}: {e}", ca_file.display()))?;
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A stable id as the connector renders it, and where the entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub dn: String,
    /// `objectGUID` in its canonical text form, or `entryUUID`.
    pub external_id: String,
}

/// A user to add; `name` must be unique in the server (it becomes the login
/// name, `cn` and the mail's local part).
#[derive(Debug, Clone, Default)]
pub struct UserSpec {
    pub name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub phone: Option<String>,
    pub employee_number: Option<String>,
    pub department: Option<String>,
    /// The manager's DN.
    pub manager: Option<String>,
    /// The value of [`DirectoryServer::custom_attribute`].
    pub custom: Option<String>,
    /// Created disabled.
    pub disabled: bool,
}

impl UserSpec {
    /// A user with every mapped attribute filled from `name`.
    pub fn full(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            given_name: Some(format!("Given {name}")),
            family_name: Some(format!("Family {name}")),
            display_name: Some(format!("Display {name}")),
            mail: Some(format!("{name}@example.test")),
            phone: Some("+1 555 0100".into()),
            employee_number: Some(format!("E-{name}")),
            department: Some("Engineering".into()),
            manager: None,
            custom: Some(format!("custom-{name}")),
            disabled: false,
        }
    }

    /// A user with only the login name and the mail.
    pub fn minimal(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            mail: Some(format!("{name}@example.test")),
            family_name: Some(name.to_owned()),
            ..Self::default()
        }
    }
}

/// The canonical text form of an Active Directory `objectGUID` (the first
/// three fields are little-endian), as the connector renders it.
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

fn attrs(pairs: Vec<(&str, Vec<String>)>) -> Vec<(String, HashSet<String>)> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.into_iter().collect()))
        .collect()
}

fn opt(v: &Option<String>) -> Vec<String> {
    v.iter().cloned().collect()
}

/// The first RDN value of a DN (`CN=x,OU=…` → `x`).
pub fn rdn_value(dn: &str) -> &str {
    let first = dn.split(',').next().unwrap_or(dn);
    first.split_once('=').map_or(first, |(_, v)| v)
}

impl DirectoryServer {
    /// A bound LDAPS connection for the administrator.
    pub async fn connect(&self) -> Ldap {
        self.try_connect()
            .await
            .unwrap_or_else(|e| panic!("administrator bind to {}: {e}", self.ldaps_url))
    }

    async fn try_connect(&self) -> Result<Ldap, String> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(10))
            .set_config(tls_config(&self.ca_file)?);
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.ldaps_url)
            .await
            .map_err(|e| e.to_string())?;
        ldap3::drive!(conn);
        ldap.simple_bind(&self.bind_dn, &self.bind_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| e.to_string())?;
        Ok(ldap)
    }

    /// The DNS domain Active Directory's `userPrincipalName`s end with.
    pub fn upn_suffix(&self) -> &'static str {
        "usersync.test"
    }

    /// A fresh organizational unit under the base, `OU=<prefix>-<random>`.
    pub async fn new_ou(&self, prefix: &str) -> TestOu<'_> {
        self.new_ou_under(&self.base_dn, prefix).await
    }

    /// A fresh organizational unit under `parent`.
    pub async fn new_ou_under(&self, parent: &str, prefix: &str) -> TestOu<'_> {
        let name = format!("{prefix}-{}", random_hex(4));
        let dn = format!("ou={name},{parent}");
        let mut ldap = self.connect().await;
        ldap.add(
            &dn,
            vec![
                ("objectClass", HashSet::from(["organizationalUnit"])),
                ("ou", HashSet::from([name.as_str()])),
            ],
        )
        .await
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("add {dn}: {e}"));
        let _ignored = ldap.unbind().await;
        TestOu {
            server: self,
            dn,
            name,
        }
    }

    /// The stable id of the entry at `dn`, as the connector renders it.
    pub async fn external_id(&self, ldap: &mut Ldap, dn: &str) -> String {
        let attr = match self.kind {
            DirectoryKind::ActiveDirectory => "objectGUID",
            DirectoryKind::OpenLdap => "entryUUID",
        };
        let (entries, _) = ldap
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("read {dn}: {e}"));
        let entry = SearchEntry::construct(
            entries
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{dn} not found")),
        );
        match self.kind {
            DirectoryKind::ActiveDirectory => entry
                .bin_attrs
                .get(attr)
                .and_then(|v| v.first())
                .and_then(|b| guid_text(b))
                .unwrap_or_else(|| panic!("{dn} has no objectGUID")),
            DirectoryKind::OpenLdap => entry
                .attrs
                .get(attr)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_else(|| panic!("{dn} has no entryUUID")),
        }
    }

    /// The attributes of a user entry.
    fn user_attributes(&self, spec: &UserSpec) -> Vec<(String, HashSet<String>)> {
        let custom = (self.custom_attribute, opt(&spec.custom));
        match self.kind {
            DirectoryKind::ActiveDirectory => attrs(vec![
                ("objectClass", vec!["user".into()]),
                ("cn", vec![spec.name.clone()]),
                ("sAMAccountName", vec![sam_account_name(&spec.name)]),
                (
                    "userPrincipalName",
                    vec![format!("{}@{}", spec.name, self.upn_suffix())],
                ),
                (
                    "userAccountControl",
                    vec![if spec.disabled { "546" } else { "544" }.into()],
                ),
                ("givenName", opt(&spec.given_name)),
                ("sn", opt(&spec.family_name)),
                ("displayName", opt(&spec.display_name)),
                ("mail", opt(&spec.mail)),
                ("telephoneNumber", opt(&spec.phone)),
                ("employeeNumber", opt(&spec.employee_number)),
                ("department", opt(&spec.department)),
                ("manager", opt(&spec.manager)),
                custom,
            ]),
            DirectoryKind::OpenLdap => attrs(vec![
                (
                    "objectClass",
                    vec!["inetOrgPerson".into(), "userSyncTestAccount".into()],
                ),
                ("cn", vec![spec.name.clone()]),
                ("uid", vec![spec.name.clone()]),
                (
                    "sn",
                    vec![
                        spec.family_name
                            .clone()
                            .unwrap_or_else(|| spec.name.clone()),
                    ],
                ),
                ("givenName", opt(&spec.given_name)),
                ("displayName", opt(&spec.display_name)),
                ("mail", opt(&spec.mail)),
                ("telephoneNumber", opt(&spec.phone)),
                ("employeeNumber", opt(&spec.employee_number)),
                ("departmentNumber", opt(&spec.department)),
                ("manager", opt(&spec.manager)),
                (
                    "nsAccountLock",
                    if spec.disabled {
                        vec!["TRUE".into()]
                    } else {
                        vec![]
                    },
                ),
                custom,
            ]),
        }
    }
}

/// `sAMAccountName` is at most 20 characters: long names keep their start
/// and a hash of the rest.
fn sam_account_name(name: &str) -> String {
    if name.len() <= 20 {
        return name.to_owned();
    }
    let mut h: u32 = 2166136261;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(16777619);
    }
    let start: String = name.chars().take(11).collect();
    format!("{start}-{h:08x}")
}

/// An organizational unit that one test owns.
#[derive(Debug)]
pub struct TestOu<'a> {
    pub server: &'a DirectoryServer,
    pub dn: String,
    /// The OU's own name (unique; a good prefix for entry names).
    pub name: String,
}

impl TestOu<'_> {
    /// A child OU (a place to move entries to).
    pub async fn child_ou(&self, prefix: &str) -> TestOu<'_> {
        self.server.new_ou_under(&self.dn, prefix).await
    }

    /// Adds a user in this OU.
    pub async fn add_user(&self, spec: &UserSpec) -> Entry {
        let mut ldap = self.server.connect().await;
        let entry = self.add_user_with(&mut ldap, spec).await;
        let _ignored = ldap.unbind().await;
        entry
    }

    async fn add_user_with(&self, ldap: &mut Ldap, spec: &UserSpec) -> Entry {
        let dn = format!("cn={},{}", spec.name, self.dn);
        ldap.add(&dn, self.server.user_attributes(spec))
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("add user {dn}: {e}"));
        let external_id = self.server.external_id(ldap, &dn).await;
        Entry { dn, external_id }
    }

    /// Adds a group in this OU with these member DNs (users or groups).
    pub async fn add_group(&self, name: &str, members: &[String]) -> Entry {
        let mut ldap = self.server.connect().await;
        let entry = self.add_group_with(&mut ldap, name, members).await;
        let _ignored = ldap.unbind().await;
        entry
    }

    async fn add_group_with(&self, ldap: &mut Ldap, name: &str, members: &[String]) -> Entry {
        let dn = format!("cn={name},{}", self.dn);
        let mut member: Vec<String> = members.to_vec();
        let attributes = match self.server.kind {
            DirectoryKind::ActiveDirectory => attrs(vec![
                ("objectClass", vec!["group".into()]),
                ("cn", vec![name.into()]),
                ("sAMAccountName", vec![sam_account_name(name)]),
                ("member", member),
            ]),
            DirectoryKind::OpenLdap => {
                // groupOfNames needs a member: an empty group names its OU,
                // which is neither a user nor a group.
                if member.is_empty() {
                    member.push(self.dn.clone());
                }
                attrs(vec![
                    ("objectClass", vec!["groupOfNames".into()]),
                    ("cn", vec![name.into()]),
                    ("member", member),
                ])
            }
        };
        ldap.add(&dn, attributes)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("add group {dn}: {e}"));
        let external_id = self.server.external_id(ldap, &dn).await;
        Entry { dn, external_id }
    }

    async fn modify(&self, dn: &str, mods: Vec<Mod<String>>) {
        let mut ldap = self.server.connect().await;
        ldap.modify(dn, mods)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("modify {dn}: {e}"));
        let _ignored = ldap.unbind().await;
    }

    /// Adds members (DNs) to a group.
    pub async fn add_members(&self, group_dn: &str, members: &[String]) {
        let values: HashSet<String> = members.iter().cloned().collect();
        self.modify(group_dn, vec![Mod::Add("member".into(), values)])
            .await;
    }

    /// Removes members (DNs) from a group. On OpenLDAP a group left empty
    /// names its OU instead (groupOfNames needs a member).
    pub async fn remove_members(&self, group_dn: &str, members: &[String]) {
        let values: HashSet<String> = members.iter().cloned().collect();
        if self.server.kind == DirectoryKind::ActiveDirectory {
            self.modify(group_dn, vec![Mod::Delete("member".into(), values)])
                .await;
            return;
        }
        let mut ldap = self.server.connect().await;
        let (entries, _) = ldap
            .search(group_dn, Scope::Base, "(objectClass=*)", vec!["member"])
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("read {group_dn}: {e}"));
        let _ignored = ldap.unbind().await;
        let current = entries
            .into_iter()
            .next()
            .map(|e| {
                SearchEntry::construct(e)
                    .attrs
                    .remove("member")
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let gone: HashSet<String> = values.iter().map(|v| v.to_lowercase()).collect();
        let mut left: HashSet<String> = current
            .into_iter()
            .filter(|m| !gone.contains(&m.to_lowercase()))
            .collect();
        if left.is_empty() {
            left.insert(self.dn.clone());
        }
        self.modify(group_dn, vec![Mod::Replace("member".into(), left)])
            .await;
    }

    /// Replaces an attribute's values (none: removes it).
    pub async fn set_attribute(&self, dn: &str, attribute: &str, values: &[&str]) {
        let values: HashSet<String> = values.iter().map(|v| (*v).to_owned()).collect();
        self.modify(dn, vec![Mod::Replace(attribute.to_owned(), values)])
            .await;
    }

    /// Renames an entry (a new `cn`, same parent); its new DN.
    pub async fn rename(&self, dn: &str, new_cn: &str) -> String {
        let parent = dn.split_once(',').map_or("", |(_, p)| p);
        let mut ldap = self.server.connect().await;
        ldap.modifydn(dn, &format!("cn={new_cn}"), true, None)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("rename {dn}: {e}"));
        self.wait_for_references(&mut ldap, dn).await;
        let _ignored = ldap.unbind().await;
        format!("cn={new_cn},{parent}")
    }

    /// Moves an entry under another parent (same RDN); its new DN.
    pub async fn move_to(&self, dn: &str, new_parent: &str) -> String {
        let rdn = dn.split_once(',').map_or(dn, |(r, _)| r);
        let mut ldap = self.server.connect().await;
        ldap.modifydn(dn, rdn, true, Some(new_parent))
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("move {dn}: {e}"));
        self.wait_for_references(&mut ldap, dn).await;
        let _ignored = ldap.unbind().await;
        format!("{rdn},{new_parent}")
    }

    /// Waits until no group lists `old_dn` as a member any more: OpenLDAP's
    /// referential integrity overlay updates member values after a rename
    /// or a move has been answered (Active Directory does it at once).
    async fn wait_for_references(&self, ldap: &mut Ldap, old_dn: &str) {
        let filter = format!("(member={})", ldap3::ldap_escape(old_dn));
        let start = Instant::now();
        loop {
            let (entries, _) = ldap
                .search(&self.server.base_dn, Scope::Subtree, &filter, vec!["1.1"])
                .await
                .and_then(|r| r.success())
                .unwrap_or_else(|e| panic!("search {filter}: {e}"));
            if entries.is_empty() {
                return;
            }
            if start.elapsed() > Duration::from_secs(10) {
                panic!("groups still name {old_dn} 10 s after it was renamed or moved");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Disables an account: Active Directory sets `userAccountControl`'s
    /// ACCOUNTDISABLE bit (546); OpenLDAP sets `nsAccountLock: TRUE`.
    pub async fn disable(&self, dn: &str) {
        match self.server.kind {
            DirectoryKind::ActiveDirectory => {
                self.set_attribute(dn, "userAccountControl", &["546"]).await
            }
            DirectoryKind::OpenLdap => self.set_attribute(dn, "nsAccountLock", &["TRUE"]).await,
        }
    }

    /// Enables an account again.
    pub async fn enable(&self, dn: &str) {
        match self.server.kind {
            DirectoryKind::ActiveDirectory => {
                self.set_attribute(dn, "userAccountControl", &["544"]).await
            }
            DirectoryKind::OpenLdap => self.set_attribute(dn, "nsAccountLock", &[]).await,
        }
    }

    /// Deletes an entry.
    pub async fn delete(&self, dn: &str) {
        let mut ldap = self.server.connect().await;
        ldap.delete(dn)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("delete {dn}: {e}"));
        let _ignored = ldap.unbind().await;
    }

    /// Loads `users` users (`<ou name>-u00000`, … with every mapped
    /// attribute) and `groups` groups (`<ou name>-g000`, …; user i is a
    /// member of group i mod `groups`) into this OU, over several
    /// connections at once. Users first, in the order of their names.
    pub async fn populate(&self, users: usize, groups: usize) -> Populated {
        const CONNECTIONS: usize = 6;
        let names: Vec<String> = (0..users)
            .map(|i| format!("{}-u{i:05}", self.name))
            .collect();
        let mut tasks = Vec::new();
        for worker in 0..CONNECTIONS {
            let mine: Vec<(usize, String)> = names
                .iter()
                .enumerate()
                .filter(|(i, _)| i % CONNECTIONS == worker)
                .map(|(i, n)| (i, n.clone()))
                .collect();
            tasks.push(async move {
                let mut ldap = self.server.connect().await;
                let mut out = Vec::with_capacity(mine.len());
                for (i, name) in mine {
                    let entry = self.add_user_with(&mut ldap, &UserSpec::full(&name)).await;
                    out.push((i, entry));
                }
                let _ignored = ldap.unbind().await;
                out
            });
        }
        let mut added: Vec<(usize, Entry)> = futures::future::join_all(tasks).await.concat();
        added.sort_by_key(|(i, _)| *i);
        let users: Vec<Entry> = added.into_iter().map(|(_, e)| e).collect();
        let mut ldap = self.server.connect().await;
        let mut group_entries = Vec::with_capacity(groups);
        for g in 0..groups {
            let members: Vec<String> = users
                .iter()
                .enumerate()
                .filter(|(i, _)| i % groups == g)
                .map(|(_, u)| u.dn.clone())
                .collect();
            let name = format!("{}-g{g:03}", self.name);
            group_entries.push(self.add_group_with(&mut ldap, &name, &members).await);
        }
        let _ignored = ldap.unbind().await;
        Populated {
            users,
            groups: group_entries,
        }
    }
}

/// What [`TestOu::populate`] added.
#[derive(Debug, Clone)]
pub struct Populated {
    pub users: Vec<Entry>,
    pub groups: Vec<Entry>,
}
