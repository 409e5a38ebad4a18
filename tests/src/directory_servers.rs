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

mod data;
mod samba;
mod slapd;

pub use data::{Entry, Populated, TestOu, UserSpec, guid_text, rdn_value};
use samba::start_samba;
use slapd::start_slapd;

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
