//! The Samba Active Directory domain controller: provisioned in a folder
//! of its own, started on loopback.

use super::*;

const SAMBA_REALM: &str = "USERSYNC.TEST";
const SAMBA_BASE: &str = "DC=usersync,DC=test";
const SAMBA_PASSWORD: &str = "Adm1n.Passw0rd-Test";

pub(super) fn start_samba() -> Result<DirectoryServer, String> {
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
