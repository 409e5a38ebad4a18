//! TXT lookups for domain verification, through a real DNS resolver
//! (hickory): the system's resolver (on AWS, the VPC / Lambda resolver from
//! `/etc/resolv.conf`), or one nameserver named by `DNS_SERVER` (the local
//! stack and the tests point it at their own DNS server on loopback).
//!
//! Nothing is cached: a verification or a re-check right after a record was
//! published or removed sees the nameserver's current answer.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RData;
use user_sync_core::domains::{TxtLookup, TxtResolver};

use crate::env::ConfigError;

/// The variable naming the nameserver (`ip:port`); unset or empty: the
/// system's resolver.
pub const DNS_SERVER_VAR: &str = "DNS_SERVER";
/// How long one query waits for an answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// Queries per lookup before it is reported as not checked.
pub const ATTEMPTS: usize = 2;

/// Where lookups go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nameserver {
    /// The system's resolver configuration.
    System,
    /// One nameserver, over UDP then TCP.
    At(SocketAddr),
}

impl Nameserver {
    /// Reads [`DNS_SERVER_VAR`] once at start-up.
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        match get(DNS_SERVER_VAR) {
            None => Ok(Self::System),
            Some(v) if v.trim().is_empty() => Ok(Self::System),
            Some(v) => v.trim().parse().map(Self::At).map_err(|_| {
                ConfigError(format!(
                    "{DNS_SERVER_VAR} must be an address and port such as 10.0.0.2:53, got {v:?}"
                ))
            }),
        }
    }
}

/// The [`TxtResolver`] adapter.
#[derive(Clone)]
pub struct DnsResolver {
    resolver: TokioResolver,
}

impl std::fmt::Debug for DnsResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsResolver").finish_non_exhaustive()
    }
}

impl DnsResolver {
    pub fn new(nameserver: Nameserver) -> Result<Self, ConfigError> {
        let builder = match nameserver {
            Nameserver::System => TokioResolver::builder_tokio()
                .map_err(|e| ConfigError(format!("the system's DNS configuration: {e}")))?,
            Nameserver::At(addr) => {
                let connection = |mut c: ConnectionConfig| {
                    c.port = addr.port();
                    c
                };
                let server = NameServerConfig::new(
                    addr.ip(),
                    true,
                    vec![
                        connection(ConnectionConfig::udp()),
                        connection(ConnectionConfig::tcp()),
                    ],
                );
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                )
            }
        };
        let mut options = ResolverOpts::default();
        options.timeout = QUERY_TIMEOUT;
        options.attempts = ATTEMPTS;
        options.cache_size = 0;
        options.positive_max_ttl = Some(Duration::ZERO);
        options.negative_max_ttl = Some(Duration::ZERO);
        let resolver = builder
            .with_options(options)
            .build()
            .map_err(|e| ConfigError(format!("the DNS resolver: {e}")))?;
        Ok(Self { resolver })
    }
}

impl TxtResolver for DnsResolver {
    async fn txt(&self, name: &str) -> TxtLookup {
        // fully qualified: no search domains
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let texts: Vec<String> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|part| String::from_utf8_lossy(part))
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect();
                if texts.is_empty() {
                    TxtLookup::NotFound
                } else {
                    TxtLookup::Found(texts)
                }
            }
            Err(e) => classify(&e),
        }
    }
}

/// NXDOMAIN and an empty answer are "not found"; everything else (timeout,
/// SERVFAIL, REFUSED, a network error) is "could not check".
fn classify(e: &NetError) -> TxtLookup {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no))
            if matches!(
                no.response_code,
                ResponseCode::NXDomain | ResponseCode::NoError
            ) =>
        {
            TxtLookup::NotFound
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            TxtLookup::CouldNotCheck(format!("the DNS server answered {code}"))
        }
        NetError::Dns(DnsError::NoRecordsFound(no)) => {
            TxtLookup::CouldNotCheck(format!("the DNS server answered {}", no.response_code))
        }
        NetError::Timeout => {
            TxtLookup::CouldNotCheck("the DNS server did not answer in time".into())
        }
        _ => TxtLookup::CouldNotCheck("the DNS server could not be reached".into()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_nameserver_is_the_system_unless_named() {
        assert_eq!(Nameserver::from_lookup(&|_| None), Ok(Nameserver::System));
        assert_eq!(
            Nameserver::from_lookup(&|_| Some(" ".into())),
            Ok(Nameserver::System)
        );
        assert_eq!(
            Nameserver::from_lookup(&|_| Some("127.0.0.1:5353".into())),
            Ok(Nameserver::At("127.0.0.1:5353".parse().unwrap()))
        );
        let e = Nameserver::from_lookup(&|_| Some("dns.example".into())).unwrap_err();
        assert!(e.0.contains("DNS_SERVER"), "{e}");
    }
}
