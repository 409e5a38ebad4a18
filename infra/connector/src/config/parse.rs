//! Reading the file: the tables as written, checked and turned into a
//! [`Config`], with errors that name the key and its line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::source::config::{DirectoryConfig, MappingConfig, ScopeConfig};

use super::{
    Config, ConfigError, DEFAULT_CONCURRENCY, DEFAULT_FULL_EVERY, DEFAULT_INTERVAL, DEFAULT_JITTER,
    DEFAULT_MAX_DEACTIVATION_SHARE, DEFAULT_MAX_DEACTIVATIONS, DEFAULT_REQUEST_TIMEOUT, Guard,
    MAX_FILE_LEN, ScimConfig, SyncConfig, TokenSource,
};

/// The whole file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    scim: ScimFile,
    #[serde(default)]
    sync: SyncFile,
    directory: DirectoryConfig,
    scope: ScopeConfig,
    #[serde(default)]
    mapping: MappingConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScimFile {
    url: Spanned<String>,
    token_env: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncFile {
    interval: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    full_every: Option<Spanned<String>>,
    max_deactivations: Option<Spanned<i64>>,
    max_deactivation_share: Option<Spanned<f64>>,
    state_dir: Option<Spanned<String>>,
}

impl Config {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        if meta.len() > MAX_FILE_LEN {
            return Err(ConfigError::TooLarge(path.to_owned()));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and checks a configuration's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax(syntax(&e, text)))?;
        let at = |key: &str, span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
            key: key.to_owned(),
            line: line_of(text, span.start),
            message,
        };

        let url = file.scim.url.get_ref().trim_end_matches('/').to_owned();
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
            return Err(at(
                "scim.url",
                file.scim.url.span(),
                "must be an http(s) URL of at most 2,048 characters (the organization's SCIM base, ending in /scim/v2)".into(),
            ));
        }
        let token = match (&file.scim.token_env, &file.scim.token_file) {
            (Some(env), None) => {
                let name = env.get_ref();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(at(
                        "scim.token_env",
                        env.span(),
                        "must be an environment variable's name (letters, digits, _)".into(),
                    ));
                }
                TokenSource::Env(name.clone())
            }
            (None, Some(file)) => {
                if file.get_ref().is_empty() {
                    return Err(at("scim.token_file", file.span(), "must be a path".into()));
                }
                TokenSource::File(PathBuf::from(file.get_ref()))
            }
            (Some(env), Some(_)) => {
                return Err(at(
                    "scim.token_env",
                    env.span(),
                    "give either token_env or token_file, not both".into(),
                ));
            }
            (None, None) => {
                return Err(ConfigError::Missing {
                    key: "scim.token_env".into(),
                    message: "the SCIM token is read from token_env (an environment variable) or token_file; set one".into(),
                });
            }
        };
        let timeout = duration_or(
            &file.scim.timeout,
            DEFAULT_REQUEST_TIMEOUT,
            "scim.timeout",
            text,
        )?;
        if timeout.is_zero() || timeout > Duration::from_secs(300) {
            return Err(out_of_range(
                &file.scim.timeout,
                "scim.timeout",
                text,
                "between 1s and 5m",
            ));
        }
        let concurrency = match &file.scim.concurrency {
            None => DEFAULT_CONCURRENCY,
            Some(c) => match usize::try_from(*c.get_ref()) {
                Ok(n) if (1..=32).contains(&n) => n,
                _ => {
                    return Err(at(
                        "scim.concurrency",
                        c.span(),
                        "must be between 1 and 32".into(),
                    ));
                }
            },
        };

        let s = &file.sync;
        let interval = duration_or(&s.interval, DEFAULT_INTERVAL, "sync.interval", text)?;
        if interval < Duration::from_secs(10) || interval > Duration::from_secs(7 * 86400) {
            return Err(out_of_range(
                &s.interval,
                "sync.interval",
                text,
                "between 10s and 7d",
            ));
        }
        let jitter = duration_or(&s.jitter, DEFAULT_JITTER, "sync.jitter", text)?;
        if jitter > interval {
            return Err(out_of_range(
                &s.jitter,
                "sync.jitter",
                text,
                "at most the interval",
            ));
        }
        let full_every = duration_or(&s.full_every, DEFAULT_FULL_EVERY, "sync.full_every", text)?;
        if full_every < interval || full_every > Duration::from_secs(30 * 86400) {
            return Err(out_of_range(
                &s.full_every,
                "sync.full_every",
                text,
                "at least the interval and at most 30d",
            ));
        }
        let max_deactivations = match &s.max_deactivations {
            None => DEFAULT_MAX_DEACTIVATIONS,
            Some(n) => u64::try_from(*n.get_ref()).map_err(|_| {
                at(
                    "sync.max_deactivations",
                    n.span(),
                    "must be 0 or more".into(),
                )
            })?,
        };
        let max_share = match &s.max_deactivation_share {
            None => DEFAULT_MAX_DEACTIVATION_SHARE,
            Some(f) => {
                let v = *f.get_ref();
                if !(0.0..=1.0).contains(&v) {
                    return Err(at(
                        "sync.max_deactivation_share",
                        f.span(),
                        "must be a share between 0.0 and 1.0 (0.1 is 10 %)".into(),
                    ));
                }
                v
            }
        };
        let state_dir = match &s.state_dir {
            None => PathBuf::from("/var/lib/user-sync-connector"),
            Some(d) if d.get_ref().is_empty() => {
                return Err(at(
                    "sync.state_dir",
                    d.span(),
                    "must be a folder's path".into(),
                ));
            }
            Some(d) => PathBuf::from(d.get_ref()),
        };

        // the source's tables, checked by the source; their errors name the
        // key, the line is found here
        let source = |e: crate::source::config::ConfigError| ConfigError::Invalid {
            line: line_of_key(text, &e.key),
            key: e.key,
            message: e.message,
        };
        file.directory.validate().map_err(source)?;
        file.scope.validate(file.directory.kind).map_err(source)?;
        file.mapping.resolve(file.directory.kind).map_err(source)?;

        Ok(Self {
            scim: ScimConfig {
                url,
                token,
                timeout,
                concurrency,
            },
            sync: SyncConfig {
                interval,
                jitter,
                full_every,
                guard: Guard {
                    max_deactivations,
                    max_share,
                },
                state_dir,
            },
            directory: file.directory,
            scope: file.scope,
            mapping: file.mapping,
        })
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// toml's message, with the line and the key it is about (toml names the
/// line and column; the key is read from the line).
fn syntax(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().trim().to_owned();
    let Some(span) = e.span() else {
        return message;
    };
    let line = line_of(text, span.start);
    let key = key_at(text, line);
    match key {
        Some(key) if !message.contains(&key) => format!("line {line}: `{key}`: {message}"),
        _ => format!("line {line}: {message}"),
    }
}

/// The line where a key (`scope.groups[1]`, `mapping.custom.badgeNumber`)
/// is written: its table's header, then the line of its first key under it;
/// the header's line when the key is not written (a missing one).
fn line_of_key(text: &str, key: &str) -> usize {
    let plain: Vec<&str> = key
        .split('.')
        .map(|k| k.split('[').next().unwrap_or(k))
        .collect();
    let Some((table, rest)) = plain.split_first() else {
        return 1;
    };
    let mut header_line = None;
    let mut current: Option<String> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim().to_owned();
            if name == *table && header_line.is_none() {
                header_line = Some(i + 1);
            }
            current = Some(name);
            continue;
        }
        let Some(written) = t.split_once('=').map(|(k, _)| k.trim().trim_matches('"')) else {
            continue;
        };
        let full = match &current {
            Some(c) => format!("{c}.{written}"),
            None => written.to_owned(),
        };
        let want = plain.join(".");
        if full == want || (!rest.is_empty() && want.starts_with(&format!("{full}."))) {
            return i + 1;
        }
    }
    header_line.unwrap_or(1)
}

/// The dotted key written on `line` (1-based), under its table's header.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let key = here
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"'))?;
    let table = lines
        .get(..line - 1)?
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_owned(),
    })
}

fn duration_or(
    value: &Option<Spanned<String>>,
    default: Duration,
    key: &str,
    text: &str,
) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v.get_ref()).ok_or_else(|| ConfigError::Invalid {
            key: key.to_owned(),
            line: line_of(text, v.span().start),
            message: format!(
                "`{}` is not a duration: write a number and a unit, s, m, h or d (\"90s\", \"2m\")",
                v.get_ref().chars().take(40).collect::<String>()
            ),
        }),
    }
}

fn out_of_range(
    value: &Option<Spanned<String>>,
    key: &str,
    text: &str,
    range: &str,
) -> ConfigError {
    match value {
        Some(v) => ConfigError::Invalid {
            key: key.to_owned(),
            line: line_of(text, v.span().start),
            message: format!("must be {range}"),
        },
        None => ConfigError::Missing {
            key: key.to_owned(),
            message: format!("the default does not fit the other settings: set it ({range})"),
        },
    }
}

/// `"90s"`, `"2m"`, `"1h"`, `"1d"`; a bare number is refused (which unit
/// was meant?).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let unit_at = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(unit_at);
    if n.is_empty() || n.len() > 9 {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
[directory]
kind = "active_directory"
url = "ldaps://dc1.example.com"
bind_dn = "CN=svc-sync,CN=Users,DC=example,DC=com"
password_env = "LDAP_PASSWORD"

[scope]
groups = ["CN=Sales,OU=Groups,DC=example,DC=com"]
"#;

    const MINIMAL: &str = r#"
[scim]
url = "https://sync.example.com/scim/v2/"
token_env = "USER_SYNC_SCIM_TOKEN"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(&format!("{text}{SOURCE}"))
    }

    fn err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_what_is_not_written() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.scim.url, "https://sync.example.com/scim/v2");
        assert_eq!(
            c.scim.token,
            TokenSource::Env("USER_SYNC_SCIM_TOKEN".into())
        );
        assert_eq!(c.sync.interval, Duration::from_secs(120));
        assert_eq!(c.sync.guard, Guard::default());
        assert_eq!(c.scim.concurrency, DEFAULT_CONCURRENCY);
        assert_eq!(c.directory.url, "ldaps://dc1.example.com");
        assert_eq!(c.scope.groups.len(), 1);
    }

    #[test]
    fn every_setting_is_read() {
        let c = parse(
            r#"
[scim]
url = "http://127.0.0.1:3000/scim/v2"
token_file = "/etc/user-sync/token"
timeout = "10s"
concurrency = 8

[sync]
interval = "5m"
jitter = "30s"
full_every = "1d"
max_deactivations = 500
max_deactivation_share = 0.2
state_dir = "/tmp/state"

"#,
        )
        .unwrap();
        assert_eq!(
            c.scim.token,
            TokenSource::File("/etc/user-sync/token".into())
        );
        assert_eq!(c.scim.timeout, Duration::from_secs(10));
        assert_eq!(c.scim.concurrency, 8);
        assert_eq!(c.sync.interval, Duration::from_secs(300));
        assert_eq!(c.sync.jitter, Duration::from_secs(30));
        assert_eq!(c.sync.full_every, Duration::from_secs(86400));
        assert_eq!(c.sync.guard.max_deactivations, 500);
        assert!((c.sync.guard.max_share - 0.2).abs() < f64::EPSILON);
        assert_eq!(c.sync.state_dir, PathBuf::from("/tmp/state"));
        assert_eq!(c.scope.groups, ["CN=Sales,OU=Groups,DC=example,DC=com"]);
    }

    #[test]
    fn an_unknown_key_is_refused_with_its_name_and_line() {
        let e = err(&format!("{MINIMAL}\n[sync]\nintervall = \"2m\"\n"));
        assert!(e.contains("line 7"), "{e}");
        assert!(e.contains("sync.intervall"), "{e}");
        assert!(e.contains("intervall"), "{e}");
        let e = err(&format!("{MINIMAL}\n[extra]\n"));
        assert!(e.contains("extra"), "{e}");
    }

    #[test]
    fn a_bad_value_names_the_key_and_the_line() {
        let e = err(&format!("{MINIMAL}[sync]\ninterval = \"2 minutes\"\n"));
        assert!(e.contains("line 6") && e.contains("sync.interval"), "{e}");
        let e = err(&format!("{MINIMAL}[sync]\nmax_deactivation_share = 20.0\n"));
        assert!(
            e.contains("line 6") && e.contains("max_deactivation_share"),
            "{e}"
        );
        let e = err(&format!("{MINIMAL}[sync]\nmax_deactivations = -1\n"));
        assert!(e.contains("sync.max_deactivations"), "{e}");
        let e = err(&format!("{MINIMAL}[sync]\ninterval = \"1s\"\n"));
        assert!(e.contains("between 10s and 7d"), "{e}");
        let e = err(&format!("{MINIMAL}[sync]\nmax_deactivations = \"ten\"\n"));
        assert!(
            e.contains("line 6") && e.contains("max_deactivations"),
            "{e}"
        );
        let e = err("[scim]\nurl = \"ftp://x\"\ntoken_env = \"T\"\n");
        assert!(e.contains("line 2") && e.contains("scim.url"), "{e}");
    }

    #[test]
    fn the_source_tables_are_checked_with_the_line() {
        let e = Config::parse(&format!(
            "{MINIMAL}\n[directory]\nkind = \"ldap\"\nurl = \"http://x\"\nbind_dn = \"cn=a,dc=b\"\npassword_env = \"P\"\n[scope]\ngroups = [\"cn=g,dc=b\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 8") && e.contains("directory.url"), "{e}");
        let e = Config::parse(&format!(
            "{MINIMAL}\n[directory]\nkind = \"ldap\"\nurl = \"ldaps://x\"\nbind_dn = \"cn=a,dc=b\"\npassword_env = \"P\"\nbogus = 1\n[scope]\ngroups = [\"cn=g,dc=b\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 11") && e.contains("bogus"), "{e}");
        let e = Config::parse(&format!(
            "{MINIMAL}\n[directory]\nkind = \"ldap\"\nurl = \"ldaps://x\"\nbind_dn = \"cn=a,dc=b\"\npassword_env = \"P\"\n[scope]\nnested = true\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 11") && e.contains("scope.groups"), "{e}");
        // a missing table is named
        let e = Config::parse(MINIMAL).unwrap_err().to_string();
        assert!(e.contains("directory"), "{e}");
    }

    #[test]
    fn the_token_comes_from_one_place_only() {
        let e = err("[scim]\nurl = \"https://x/scim/v2\"\n");
        assert!(e.contains("scim.token_env"), "{e}");
        let e =
            err("[scim]\nurl = \"https://x/scim/v2\"\ntoken_env = \"A\"\ntoken_file = \"/f\"\n");
        assert!(e.contains("not both"), "{e}");
        // a token written into the file is an unknown key
        let e = err("[scim]\nurl = \"https://x/scim/v2\"\ntoken = \"secret\"\n");
        assert!(e.contains("token"), "{e}");
        assert!(!e.contains("secret"), "{e}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("120"), None);
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("2 m"), None);
        assert_eq!(parse_duration("99999999999s"), None);
    }
}
