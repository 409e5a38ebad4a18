//! The SCIM token, read from its environment variable or file.

use super::{ConfigError, MAX_TOKEN_LEN, ScimConfig, TokenSource};

impl ScimConfig {
    /// Reads the token from where the configuration says; the error names
    /// the place, never the value.
    pub fn read_token(&self) -> Result<String, ConfigError> {
        let (key, raw) = match &self.token {
            TokenSource::Env(name) => (
                "scim.token_env",
                std::env::var(name).map_err(|_| ConfigError::Missing {
                    key: "scim.token_env".into(),
                    message: format!("the environment variable {name} is not set"),
                })?,
            ),
            TokenSource::File(path) => {
                let unreadable = |e: std::io::Error| ConfigError::Missing {
                    key: "scim.token_file".into(),
                    message: format!("cannot read {}: {e}", path.display()),
                };
                let meta = std::fs::metadata(path).map_err(unreadable)?;
                if meta.len() > MAX_TOKEN_LEN as u64 {
                    return Err(ConfigError::Missing {
                        key: "scim.token_file".into(),
                        message: format!("{} is larger than a token can be", path.display()),
                    });
                }
                let text = std::fs::read_to_string(path).map_err(unreadable)?;
                ("scim.token_file", text)
            }
        };
        let token = raw.trim().to_owned();
        if token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || !token.chars().all(|c| c.is_ascii_graphic())
        {
            return Err(ConfigError::Missing {
                key: key.into(),
                message: "the token is empty, too long, or not printable ASCII".into(),
            });
        }
        Ok(token)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::config::DEFAULT_REQUEST_TIMEOUT;

    #[test]
    fn a_token_file_is_read_trimmed_and_its_value_never_shown() {
        let dir = std::env::temp_dir().join(format!("connector-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "abc123\n").unwrap();
        let scim = ScimConfig {
            url: "https://x".into(),
            token: TokenSource::File(path.clone()),
            timeout: DEFAULT_REQUEST_TIMEOUT,
            concurrency: 1,
        };
        assert_eq!(scim.read_token().unwrap(), "abc123");
        std::fs::write(&path, "with space inside\n").unwrap();
        let e = scim.read_token().unwrap_err().to_string();
        assert!(!e.contains("space inside"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
