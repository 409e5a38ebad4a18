//! The OpenLDAP `slapd`: configured in a folder of its own with the
//! tests' schema, started on loopback.

use super::*;

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

pub(super) fn start_slapd() -> Result<DirectoryServer, String> {
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
         index entryCSN eq\n\
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
