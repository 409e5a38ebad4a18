//! Reading function configuration from environment-like lookups, once at
//! start-up. Functions call these from `Config::from_lookup`, never per request.

/// A required setting is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// A required, non-empty variable.
pub fn required(get: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, ConfigError> {
    match get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError(format!("{name} is not set"))),
    }
}

/// An optional variable parsed as a number, with a default.
pub fn number<T: std::str::FromStr>(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) if v.trim().is_empty() => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError(format!("{name} must be a number, got {v:?}"))),
    }
}
