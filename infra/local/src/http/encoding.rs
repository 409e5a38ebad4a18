//! Percent-decoding and base64, as API Gateway and SQS apply them.

use std::borrow::Cow;

use aws_lambda_events::encodings::Base64Data;
use serde_json::Value;

/// Percent-decodes (and `+` → space when `plus_as_space`); invalid escapes
/// are kept as they are, invalid UTF-8 is replaced.
pub fn percent_decode(s: &str, plus_as_space: bool) -> String {
    let s: Cow<'_, str> = if plus_as_space {
        Cow::Owned(s.replace('+', " "))
    } else {
        Cow::Borrowed(s)
    };
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Base64 (standard alphabet, padded), as a JSON string.
pub fn base64_encode(bytes: &[u8]) -> Value {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    serde_json::to_value(&data).unwrap_or(Value::Null)
}

/// Decodes standard base64; `None` when invalid.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    serde_json::from_value::<Base64Data>(Value::String(text.to_owned()))
        .ok()
        .map(|d| d.to_vec())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_a_space_only_in_query_strings() {
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("a+b", true), "a b");
        // an encoded plus stays a plus either way
        assert_eq!(percent_decode("a%2Bb", true), "a+b");
    }

    #[test]
    fn escapes_decode_in_either_case() {
        assert_eq!(percent_decode("a%2Fb", false), "a/b");
        assert_eq!(percent_decode("a%2fb%3D%3d", true), "a/b==");
    }

    #[test]
    fn malformed_escapes_are_kept_as_they_are() {
        assert_eq!(percent_decode("a%2Fb+c%zz%4", false), "a/b+c%zz%4");
        assert_eq!(percent_decode("%", true), "%");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%g1%41", false), "%g1A");
    }

    #[test]
    fn utf8_is_decoded_and_invalid_utf8_replaced() {
        assert_eq!(percent_decode("caf%C3%A9", false), "café");
        assert_eq!(percent_decode("café", false), "café");
        assert_eq!(percent_decode("a%FFb", false), "a\u{FFFD}b");
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(
            base64_decode(base64_encode(&[0, 159, 255]).as_str().unwrap()).unwrap(),
            [0, 159, 255]
        );
        assert_eq!(base64_encode(b"hi"), Value::String("aGk=".into()));
        assert!(base64_decode("***").is_none());
    }
}
