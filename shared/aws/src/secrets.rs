//! Secrets Manager: secrets read once, when a function starts, so that no
//! secret is ever in a function's environment (which anyone allowed
//! `lambda:GetFunctionConfiguration` can read). The local stack keeps its
//! secrets in the emulator and is reached through `AWS_ENDPOINT_URL`, like
//! every other AWS call.

use aws_sdk_secretsmanager::Client;

/// The key of the product API key in its secret's JSON `SecretString`.
pub const API_KEY_FIELD: &str = "apiKey";

/// Why a secret could not be had. Never holds the secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secret {secret} could not be read")]
    Read {
        secret: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "the secret {secret} is not a JSON object with a non-empty string \"{field}\" in its SecretString"
    )]
    Malformed { secret: String, field: &'static str },
}

/// The non-empty string under `field` of a JSON object's text, such as
/// `{"apiKey": "…"}`.
pub fn field_of(secret_string: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(secret_string).ok()?;
    value
        .get(field)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Reads the product API key: the string [`API_KEY_FIELD`] of the JSON
/// object in the `SecretString` of `secret_id` (its ARN or name).
pub async fn product_api_key(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<String, SecretError> {
    let out = Client::new(sdk)
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| SecretError::Read {
            secret: secret_id.to_owned(),
            source: Box::new(e.into_service_error()),
        })?;
    out.secret_string()
        .and_then(|s| field_of(s, API_KEY_FIELD))
        .ok_or_else(|| SecretError::Malformed {
            secret: secret_id.to_owned(),
            field: API_KEY_FIELD,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_json_field_and_nothing_else() {
        assert_eq!(
            field_of(r#"{"apiKey": "k-123"}"#, API_KEY_FIELD).as_deref(),
            Some("k-123")
        );
        for bad in [
            "k-123",
            r#"{"apiKey": ""}"#,
            r#"{"apiKey": "  "}"#,
            r#"{"apiKey": 5}"#,
            r#"{"key": "k-123"}"#,
            r#"["apiKey"]"#,
        ] {
            assert_eq!(field_of(bad, API_KEY_FIELD), None, "{bad}");
        }
        let e = SecretError::Malformed {
            secret: "arn:s".into(),
            field: API_KEY_FIELD,
        };
        assert!(e.to_string().contains("\"apiKey\""));
    }
}
