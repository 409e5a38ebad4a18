//! Cursor pagination of listings (RFC 9865).
//!
//! A cursor is the position a listing resumes after: the id of the last
//! resource the previous page examined, in the listing's id order (the
//! order DynamoDB returns the organization's users or groups in, so the
//! position is the query's start key). It also names the listing (Users or
//! Groups) and a digest of the filter it was issued for, so that a cursor
//! used with another listing or another filter is refused (`invalidCursor`)
//! instead of silently skipping resources.
//!
//! Cursors carry no organization: the organization always comes from the
//! token, and a position is only a start key inside that organization's
//! own keys. A cursor taken to another organization can therefore show
//! only that organization's resources.
//!
//! Cursors hold no server state and do not expire (no `cursorTimeout` is
//! advertised, and `expiredCursor` is never returned).

use sha2::{Digest, Sha256};

use super::ScimError;

/// Longest cursor accepted (an issued one is at most 164 characters).
pub const MAX_CURSOR_LEN: usize = 200;

/// Longest id a position holds (the limit of `UserId` and `GroupId`).
const MAX_ID_LEN: usize = 64;

/// Format version of the encoding.
const VERSION: u8 = b'1';

/// Hex digits of the filter digest a cursor carries.
const BINDING_LEN: usize = 16;

/// The listing a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Users,
    Groups,
}

impl Listing {
    fn tag(self) -> u8 {
        match self {
            Self::Users => b'u',
            Self::Groups => b'g',
        }
    }
}

/// The digest binding a cursor to its filter; the filter text is compared
/// trimmed, as it is parsed.
fn binding(filter: Option<&str>) -> String {
    let filter = filter.map(str::trim).unwrap_or_default();
    let digest = Sha256::digest(filter.as_bytes());
    let mut out = hex::encode(digest);
    out.truncate(BINDING_LEN);
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `nextCursor` resuming `listing` (filtered by `filter`) after the
/// resource `last_id`. Only characters of RFC 3986's unreserved set.
pub fn next_cursor(listing: Listing, filter: Option<&str>, last_id: &str) -> String {
    let mut payload = Vec::with_capacity(2 + BINDING_LEN + last_id.len());
    payload.push(listing.tag());
    payload.push(VERSION);
    payload.extend_from_slice(binding(filter).as_bytes());
    payload.extend_from_slice(last_id.as_bytes());
    hex::encode(payload)
}

fn invalid_cursor(detail: &str) -> ScimError {
    ScimError::new(400, Some("invalidCursor"), format!("cursor: {detail}"))
}

/// Where a request's `cursor` resumes: `None` for the first page (an empty
/// cursor), else the id of the last resource already examined.
///
/// MUST refuse (`invalidCursor`) anything but an empty value or a cursor
/// this endpoint issued for the same listing and the same filter.
pub fn parse_cursor(
    listing: Listing,
    filter: Option<&str>,
    cursor: &str,
) -> Result<Option<String>, ScimError> {
    if cursor.is_empty() {
        return Ok(None);
    }
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid_cursor(&format!(
            "longer than {MAX_CURSOR_LEN} characters; use the nextCursor of a previous response, or an empty cursor for the first page"
        )));
    }
    let not_issued = || {
        invalid_cursor(
            "not one this endpoint issued; use the nextCursor of a previous response, or an empty cursor for the first page",
        )
    };
    let payload = hex::decode(cursor).map_err(|_| not_issued())?;
    let (Some(&tag), Some(&version)) = (payload.first(), payload.get(1)) else {
        return Err(not_issued());
    };
    if version != VERSION || payload.len() < 2 + BINDING_LEN {
        return Err(not_issued());
    }
    let rest = payload
        .get(2..)
        .and_then(|r| std::str::from_utf8(r).ok())
        .ok_or_else(not_issued)?;
    let (Some(bound), Some(id)) = (rest.get(..BINDING_LEN), rest.get(BINDING_LEN..)) else {
        return Err(not_issued());
    };
    if !valid_id(id) {
        return Err(not_issued());
    }
    if tag != listing.tag() {
        return Err(invalid_cursor("issued for another listing"));
    }
    if bound != binding(filter) {
        return Err(invalid_cursor(
            "issued for another filter; send the same filter as the first page",
        ));
    }
    Ok(Some(id.to_owned()))
}

/// The page size of a cursor-paginated request: `count` when given, else
/// `default`. MUST refuse (`invalidCount`) a count outside `1..=max`.
pub fn cursor_count(count: Option<i64>, default: usize, max: usize) -> Result<usize, ScimError> {
    let Some(n) = count else {
        return Ok(default.min(max));
    };
    match usize::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ScimError::new(
            400,
            Some("invalidCount"),
            format!("count must be between 1 and {max} with cursor pagination"),
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_cursor_resumes_after_its_id() {
        let c = next_cursor(Listing::Users, None, "u-42_x");
        assert_eq!(
            parse_cursor(Listing::Users, None, &c).unwrap(),
            Some("u-42_x".to_owned())
        );
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        assert_eq!(parse_cursor(Listing::Groups, None, "").unwrap(), None);
    }

    #[test]
    fn the_longest_issued_cursor_is_accepted() {
        let id = "a".repeat(MAX_ID_LEN);
        let c = next_cursor(Listing::Groups, Some("displayName co \"x\""), &id);
        assert!(c.len() <= MAX_CURSOR_LEN);
        assert_eq!(
            parse_cursor(Listing::Groups, Some("displayName co \"x\""), &c).unwrap(),
            Some(id)
        );
    }

    #[test]
    fn a_cursor_is_bound_to_its_listing_and_filter() {
        let c = next_cursor(Listing::Users, Some("active eq true"), "abc");
        let e = parse_cursor(Listing::Groups, Some("active eq true"), &c).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidCursor"));
        let e = parse_cursor(Listing::Users, Some("active eq false"), &c).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidCursor"));
        assert!(e.detail.contains("filter"));
        let e = parse_cursor(Listing::Users, None, &c).unwrap_err();
        assert_eq!(e.scim_type, Some("invalidCursor"));
        // the filter is compared as parsed: surrounding spaces do not count
        assert!(parse_cursor(Listing::Users, Some(" active eq true "), &c).is_ok());
    }

    #[test]
    fn malformed_cursors_are_refused() {
        let good = next_cursor(Listing::Users, None, "abc");
        let too_long = "0".repeat(MAX_CURSOR_LEN + 1);
        let bad_id = hex::encode(format!("u1{}a/b", binding(None)));
        let bad_version = hex::encode(format!("u2{}abc", binding(None)));
        let no_id = hex::encode(format!("u1{}", binding(None)));
        for c in [
            "not-hex",
            "abc",
            "7531",
            &good[..good.len() - 1],
            &too_long,
            &bad_id,
            &bad_version,
            &no_id,
            "%00",
        ] {
            let e = parse_cursor(Listing::Users, None, c).unwrap_err();
            assert_eq!(e.status, 400, "{c}");
            assert_eq!(e.scim_type, Some("invalidCursor"), "{c}");
            assert!(e.detail.starts_with("cursor"), "{c}");
        }
    }

    #[test]
    fn count_is_bounded() {
        assert_eq!(cursor_count(None, 100, 200).unwrap(), 100);
        assert_eq!(cursor_count(Some(1), 100, 200).unwrap(), 1);
        assert_eq!(cursor_count(Some(200), 100, 200).unwrap(), 200);
        for bad in [0, -1, 201, i64::MAX] {
            let e = cursor_count(Some(bad), 100, 200).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidCount"));
            assert!(e.detail.contains("count"));
        }
    }
}
