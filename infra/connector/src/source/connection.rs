//! One LDAP connection to the directory, reopened when it drops: TLS
//! (LDAPS or StartTLS) with the configured CA, a simple bind, a time limit on
//! every operation, and paged searches.
//!
//! Every operation here is one *unit of resumption*: when the connection
//! drops or an operation times out, the connection is reopened and that
//! operation alone runs again (up to `directory.reconnect_attempts` times);
//! what was read before it is kept by the caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ldap3::controls::{Control, ControlType, PagedResults, RawControl};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry};

use super::SourceError;
use super::config::{DirectoryConfig, Password, TlsMode};

/// What a read cost, for tests, progress and the bench. Operations that
/// failed and ran again count each time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Search operations sent (one per page).
    pub pages: u64,
    /// Entries received (read twice when an operation ran again).
    pub entries: u64,
    /// Connections reopened after a drop or a timeout.
    pub reconnects: u64,
    /// Range retrieval steps (`member;range=…`) after the first.
    pub ranges: u64,
}

pub(crate) struct Connection {
    config: DirectoryConfig,
    password: Password,
    tls: Option<Arc<rustls::ClientConfig>>,
    ldap: Option<Ldap>,
    timeout: Duration,
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    pages: AtomicU64,
    entries: AtomicU64,
    reconnects: AtomicU64,
    ranges: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// LDAP result codes the connector names.
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;

impl Connection {
    pub(crate) async fn open(
        config: &DirectoryConfig,
        password: Password,
    ) -> Result<Self, SourceError> {
        config.validate()?;
        let tls = match &config.ca_file {
            Some(path) => Some(tls_config(path)?),
            None => None,
        };
        let mut conn = Self {
            config: config.clone(),
            password,
            tls,
            ldap: None,
            timeout: Duration::from_secs(config.timeout_seconds),
            counters: Arc::default(),
        };
        conn.ldap().await?;
        Ok(conn)
    }

    /// The bound connection, opened when there is none.
    async fn ldap(&mut self) -> Result<Ldap, SourceError> {
        if let Some(ldap) = &mut self.ldap {
            if !ldap.is_closed() {
                return Ok(ldap.clone());
            }
            // closed by the server or the network while idle
            tracing::info!("directory connection closed; reconnecting");
            Counters::add(&self.counters.reconnects, 1);
            self.ldap = None;
        }
        let ldap = self.connect_and_bind().await?;
        self.ldap = Some(ldap.clone());
        Ok(ldap)
    }

    async fn connect_and_bind(&self) -> Result<Ldap, SourceError> {
        let url = self.config.url.clone();
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.config.tls_mode() == TlsMode::Starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &url)
            .await
            .map_err(|e| connect_error(&url, &e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "directory connection ended");
            }
        });
        let result = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.config.bind_dn, self.password.expose())
            .await
            .map_err(|e| connect_error(&url, &e))?;
        match result.rc {
            0 => Ok(ldap),
            INVALID_CREDENTIALS => Err(SourceError::Bind {
                bind_dn: self.config.bind_dn.clone(),
                message: "invalid credentials".into(),
            }),
            rc => Err(SourceError::Bind {
                bind_dn: self.config.bind_dn.clone(),
                message: format!("result code {rc}: {}", result.text),
            }),
        }
    }

    pub(crate) fn stats(&self) -> ReadStats {
        let c = &self.counters;
        ReadStats {
            pages: c.pages.load(Ordering::Relaxed),
            entries: c.entries.load(Ordering::Relaxed),
            reconnects: c.reconnects.load(Ordering::Relaxed),
            ranges: c.ranges.load(Ordering::Relaxed),
        }
    }

    /// Runs `attempt` until it succeeds, reopening the connection when it
    /// dropped or timed out, at most `reconnect_attempts` times.
    async fn retrying<T, F, Fut>(
        &mut self,
        operation: &str,
        mut attempt: F,
    ) -> Result<T, SourceError>
    where
        F: FnMut(Ldap, Duration, Arc<Counters>) -> Fut,
        Fut: std::future::Future<Output = Result<T, SourceError>>,
    {
        let mut failures = 0;
        loop {
            let ldap = match self.ldap().await {
                Ok(l) => l,
                Err(e) if e.is_retryable() && failures < self.config.reconnect_attempts => {
                    failures += 1;
                    Counters::add(&self.counters.reconnects, 1);
                    tokio::time::sleep(backoff(failures)).await;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match attempt(ldap, self.timeout, self.counters.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_retryable() && failures < self.config.reconnect_attempts => {
                    failures += 1;
                    tracing::info!(
                        operation,
                        attempt = failures,
                        "directory connection lost; reconnecting"
                    );
                    Counters::add(&self.counters.reconnects, 1);
                    if let Some(mut old) = self.ldap.take() {
                        let _closed = old.unbind().await;
                    }
                    tokio::time::sleep(backoff(failures)).await;
                }
                Err(e) => {
                    return Err(match e {
                        SourceError::Connection { message, .. } => SourceError::Connection {
                            operation: operation.to_owned(),
                            message: format!("{message} (after {failures} reconnections)"),
                        },
                        other => other,
                    });
                }
            }
        }
    }

    /// A paged search, all pages (one unit of resumption).
    pub(crate) async fn search(
        &mut self,
        operation: &str,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[String],
    ) -> Result<Vec<SearchEntry>, SourceError> {
        let page_size = i32::try_from(self.config.page_size).unwrap_or(1000);
        let op = operation.to_owned();
        self.retrying(operation, |mut ldap, timeout, counters| {
            let op = op.clone();
            async move {
                let mut cookie = Vec::new();
                let mut out = Vec::new();
                loop {
                    let control = RawControl::from(PagedResults {
                        size: page_size,
                        cookie: std::mem::take(&mut cookie),
                    });
                    let result = ldap
                        .with_controls(vec![control])
                        .with_timeout(timeout)
                        .search(base, scope, filter, attrs)
                        .await
                        .map_err(|e| ldap_error(&op, e))?;
                    Counters::add(&counters.pages, 1);
                    let ldap3::SearchResult(entries, done) = result;
                    check_rc(&op, base, &done)?;
                    for e in entries {
                        if e.is_ref() || e.is_intermediate() {
                            continue;
                        }
                        Counters::add(&counters.entries, 1);
                        out.push(SearchEntry::construct(e));
                    }
                    cookie = done
                        .ctrls
                        .iter()
                        .find_map(|Control(kind, raw)| match kind {
                            Some(ControlType::PagedResults) => {
                                Some(raw.parse::<PagedResults>().cookie)
                            }
                            _ => None,
                        })
                        .unwrap_or_default();
                    if cookie.is_empty() {
                        break;
                    }
                }
                Ok(out)
            }
        })
        .await
    }

    /// One entry's attributes (a base search), `None` when it does not
    /// exist. `ranges` counts as a range step.
    pub(crate) async fn read_entry(
        &mut self,
        operation: &str,
        dn: &str,
        attrs: &[String],
        range_step: bool,
    ) -> Result<Option<SearchEntry>, SourceError> {
        let op = operation.to_owned();
        self.retrying(operation, |mut ldap, timeout, counters| {
            let op = op.clone();
            async move {
                let result = ldap
                    .with_timeout(timeout)
                    .search(dn, Scope::Base, "(objectClass=*)", attrs)
                    .await
                    .map_err(|e| ldap_error(&op, e))?;
                let ldap3::SearchResult(entries, done) = result;
                Counters::add(&counters.pages, 1);
                Counters::add(&counters.entries, entries.len() as u64);
                Counters::add(&counters.ranges, u64::from(range_step));
                if done.rc == NO_SUCH_OBJECT {
                    return Ok(None);
                }
                check_rc(&op, dn, &done)?;
                let entry = entries
                    .into_iter()
                    .find(|e| !e.is_ref() && !e.is_intermediate())
                    .map(SearchEntry::construct);
                Ok(entry)
            }
        })
        .await
    }

    pub(crate) fn page_size(&self) -> u32 {
        self.config.page_size
    }

    pub(crate) fn member_range_size(&self) -> Option<u32> {
        self.config.member_range_size
    }
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(200 * u64::from(failures.min(10)))
}

fn check_rc(operation: &str, base: &str, result: &ldap3::LdapResult) -> Result<(), SourceError> {
    match result.rc {
        0 => Ok(()),
        NO_SUCH_OBJECT => Err(SourceError::NoSuchEntry {
            key: operation.to_owned(),
            dn: base.to_owned(),
        }),
        // timeLimitExceeded: the server's own limit
        3 => Err(SourceError::Timeout {
            operation: operation.to_owned(),
        }),
        rc => Err(SourceError::Directory {
            operation: operation.to_owned(),
            code: rc,
            message: result.text.clone(),
        }),
    }
}

/// An operation's failure: a dropped connection and a timeout are worth a
/// new connection; anything else is not.
fn ldap_error(operation: &str, e: LdapError) -> SourceError {
    match e {
        LdapError::Timeout { .. } => SourceError::Timeout {
            operation: operation.to_owned(),
        },
        LdapError::LdapResult { result } => SourceError::Directory {
            operation: operation.to_owned(),
            code: result.rc,
            message: result.text,
        },
        LdapError::FilterParsing => SourceError::Directory {
            operation: operation.to_owned(),
            code: 87,
            message: "filter error".into(),
        },
        other => SourceError::Connection {
            operation: operation.to_owned(),
            message: other.to_string(),
        },
    }
}

fn connect_error(url: &str, e: &LdapError) -> SourceError {
    let message = e.to_string();
    let lower = message.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
        SourceError::Tls {
            url: url.to_owned(),
            message,
        }
    } else {
        SourceError::Connect {
            url: url.to_owned(),
            message,
        }
    }
}

/// A TLS client configuration that trusts the CA(s) in a PEM file.
fn tls_config(path: &std::path::Path) -> Result<Arc<rustls::ClientConfig>, SourceError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |message: String| {
        SourceError::Config(super::config::ConfigError::new(
            "directory.ca_file",
            message,
        ))
    };
    let pem =
        std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("{}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    }
    if roots.is_empty() {
        return Err(bad(format!("{} holds no PEM certificate", path.display())));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}
