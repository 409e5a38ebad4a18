//! Distinguished names as the connector compares them, and the text forms of
//! directory values (GUIDs, ranged attribute names).

/// The RDNs of a DN, split at unescaped commas.
pub fn split_rdns(dn: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            ',' if !escaped => {
                parts.push(dn[start..i].trim());
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    let last = dn[start..].trim();
    if !last.is_empty() || !parts.is_empty() {
        parts.push(last);
    }
    parts
}

/// A DN in one form for comparisons: RDNs trimmed, spaces around `=`
/// removed, lower case (attribute names and the values Active Directory and
/// OpenLDAP compare without regard to case).
pub fn normalize(dn: &str) -> String {
    split_rdns(dn)
        .iter()
        .map(|rdn| match rdn.split_once('=') {
            Some((k, v)) => format!("{}={}", k.trim(), v.trim()).to_lowercase(),
            None => rdn.to_lowercase(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// True when `dn` is `base` or below it (both normalized).
pub fn is_under(dn: &str, base: &str) -> bool {
    dn == base || dn.ends_with(&format!(",{base}"))
}

/// The canonical text form of a 16-byte GUID as Active Directory stores
/// `objectGUID`: the first three fields are little-endian.
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// Where a ranged attribute's values end: `member;range=0-1499` →
/// `Some(RangeEnd::At(1499))`, `member;range=1500-*` → `Some(RangeEnd::Last)`;
/// `None` for another attribute or a malformed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeEnd {
    At(u64),
    Last,
}

/// Parses `name;range=low-high` for the attribute `attribute` (case
/// insensitive): the low bound and the end.
pub fn parse_range(description: &str, attribute: &str) -> Option<(u64, RangeEnd)> {
    let (name, options) = description.split_once(';')?;
    if !name.eq_ignore_ascii_case(attribute) {
        return None;
    }
    let range = options.split(';').find_map(|o| {
        o.strip_prefix("range=")
            .or_else(|| o.strip_prefix("Range="))
    })?;
    let (low, high) = range.split_once('-')?;
    let low: u64 = low.parse().ok()?;
    let end = if high == "*" {
        RangeEnd::Last
    } else {
        let high: u64 = high.parse().ok()?;
        if high < low {
            return None;
        }
        RangeEnd::At(high)
    };
    Some((low, end))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn guids_render_in_the_canonical_form() {
        // objectGUID bytes of {c3a8f4b2-1d2e-4f5a-9b8c-7d6e5f4a3b2c}
        let bytes = [
            0xb2, 0xf4, 0xa8, 0xc3, 0x2e, 0x1d, 0x5a, 0x4f, 0x9b, 0x8c, 0x7d, 0x6e, 0x5f, 0x4a,
            0x3b, 0x2c,
        ];
        assert_eq!(
            guid_text(&bytes).unwrap(),
            "c3a8f4b2-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
        );
        assert_eq!(guid_text(&bytes[..15]), None);
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(
            parse_range("member;range=0-1499", "member"),
            Some((0, RangeEnd::At(1499)))
        );
        assert_eq!(
            parse_range("Member;range=1500-*", "member"),
            Some((1500, RangeEnd::Last))
        );
        assert_eq!(parse_range("member", "member"), None);
        assert_eq!(parse_range("memberOf;range=0-1", "member"), None);
        assert_eq!(parse_range("member;range=9-3", "member"), None);
        assert_eq!(parse_range("member;range=a-*", "member"), None);
    }

    #[test]
    fn dns_compare_in_one_form() {
        assert_eq!(
            normalize("CN=Ann Lee, OU=Staff ,DC=Example,DC=com"),
            "cn=ann lee,ou=staff,dc=example,dc=com"
        );
        assert_eq!(
            split_rdns(r"cn=Lee\, Ann,dc=x"),
            vec![r"cn=Lee\, Ann", "dc=x"]
        );
        assert!(is_under("cn=a,ou=s,dc=x", "ou=s,dc=x"));
        assert!(!is_under("cn=a,ou=ss,dc=x", "s,dc=x"));
        assert!(is_under("ou=s,dc=x", "ou=s,dc=x"));
    }
}
