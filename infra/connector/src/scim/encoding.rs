//! Percent-encoding of what goes into a SCIM URL.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but RFC 3986's unreserved characters (`A–Z a–z 0–9 - _ . ~`).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value or a path segment.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_encoded() {
        assert_eq!(
            encode("externalId eq \"a b\""),
            "externalId%20eq%20%22a%20b%22"
        );
    }

    #[test]
    fn only_unreserved_characters_stay_as_they_are() {
        assert_eq!(encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(encode("a+b/c%zz"), "a%2Bb%2Fc%25zz");
        assert_eq!(encode("a&b=c?d#e"), "a%26b%3Dc%3Fd%23e");
    }

    #[test]
    fn utf8_is_encoded_byte_by_byte_in_upper_case_hex() {
        assert_eq!(encode("café"), "caf%C3%A9");
        assert_eq!(encode("日"), "%E6%97%A5");
    }
}
