//! Domain names in their one ASCII form, and the public suffixes refused.

use super::{MAX_DOMAIN_LEN, MAX_LABEL_LEN};
use crate::error::DomainError;

/// Public suffixes of more than one label under which many unrelated
/// owners register names. Not the whole public suffix list: a cheap check
/// that catches the common mistakes (`co.uk` instead of `acme.co.uk`);
/// single-label names (`com`) are refused anyway.
const MULTI_LABEL_PUBLIC_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "ac.uk",
    "gov.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "co.za",
    "org.za",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "com.mx",
    "com.ar",
    "com.tr",
    "co.in",
    "net.in",
    "org.in",
    "co.kr",
    "or.kr",
    "com.sg",
    "com.hk",
    "com.tw",
    "co.il",
    "com.pl",
    "co.id",
    "com.my",
    "com.ph",
    "com.vn",
    "co.th",
    "com.ua",
    "github.io",
    "herokuapp.com",
    "azurewebsites.net",
    "cloudfront.net",
    "blogspot.com",
    "appspot.com",
    "pages.dev",
    "netlify.app",
    "vercel.app",
    "amazonaws.com",
];

/// A domain name in its one stored form: lower case, ASCII (an IDN in its
/// `xn--` form), no trailing dot, at least two labels, no wildcard, not a
/// public suffix alone.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName(String);

impl DomainName {
    /// Parses what an admin typed (`Example.COM`, `bücher.example.`) into
    /// its stored form, or refuses it naming the field `domain`.
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let err = |reason: &str| DomainError::new("domain", reason);
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(err("is empty"));
        }
        // bounded before any work: a Unicode name is never longer in
        // characters than its ASCII form
        if trimmed.chars().count() > MAX_DOMAIN_LEN + 1 {
            return Err(err(&format!("is longer than {MAX_DOMAIN_LEN} characters")));
        }
        if trimmed.contains('*') {
            return Err(err(
                "wildcards are not allowed: add each domain (and choose whether its subdomains are included)",
            ));
        }
        if trimmed.contains('@') {
            return Err(err("is an email address: give only the part after the @"));
        }
        if trimmed.contains(['/', ':']) {
            return Err(err("is a URL: give only the domain name"));
        }
        let without_dot = trimmed.strip_suffix('.').unwrap_or(trimmed);
        let ascii = idna::domain_to_ascii_strict(without_dot).map_err(|_| {
            err("is not a valid domain name (letters, digits and hyphens in dot-separated labels, or an internationalized name)")
        })?;
        Self::check_ascii(&ascii).map_err(|reason| err(&reason))?;
        Ok(Self(ascii))
    }

    fn check_ascii(ascii: &str) -> Result<(), String> {
        if ascii.len() > MAX_DOMAIN_LEN {
            return Err(format!("is longer than {MAX_DOMAIN_LEN} characters"));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err("needs at least two labels, as example.com".to_owned());
        }
        for label in &labels {
            if label.is_empty() {
                return Err("has an empty label".to_owned());
            }
            if label.len() > MAX_LABEL_LEN {
                return Err(format!(
                    "has a label longer than {MAX_LABEL_LEN} characters"
                ));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err("labels may hold only letters, digits and hyphens".to_owned());
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err("a label may not start or end with a hyphen".to_owned());
            }
        }
        if labels
            .last()
            .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err("is an IP address, not a domain name".to_owned());
        }
        if MULTI_LABEL_PUBLIC_SUFFIXES.contains(&ascii) {
            return Err(
                "is a public suffix that many owners share: add your own domain under it"
                    .to_owned(),
            );
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other` is this domain or a subdomain of it.
    pub fn covers(&self, other: &DomainName, include_subdomains: bool) -> bool {
        other.0 == self.0
            || (include_subdomains
                && other
                    .0
                    .strip_suffix(self.0.as_str())
                    .is_some_and(|head| head.ends_with('.')))
    }

    /// Every domain that could cover this one ([`DomainName::covers`]):
    /// itself, then each parent of two labels or more, nearest first. The
    /// domains of an organization an address in this domain needs are
    /// among these, whatever else it holds.
    pub fn with_parents(&self) -> impl Iterator<Item = &str> {
        let name = self.0.as_str();
        std::iter::once(name).chain(
            name.match_indices('.')
                .map(move |(i, _)| &name[i + 1..])
                .filter(|parent| parent.contains('.')),
        )
    }

    /// The domain of an email address (the part after its last `@`), in
    /// the stored form; `None` when the address has no valid domain.
    pub fn of_email(email: &str) -> Option<DomainName> {
        let (_, domain) = email.trim().rsplit_once('@')?;
        DomainName::parse(domain).ok()
    }
}

impl TryFrom<String> for DomainName {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        DomainName::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> Self {
        d.0
    }
}

impl std::fmt::Display for DomainName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    fn name(s: &str) -> DomainName {
        DomainName::parse(s).unwrap()
    }

    fn refused(s: &str) -> String {
        let e = DomainName::parse(s).unwrap_err();
        assert_eq!(e.field, "domain");
        e.reason
    }

    #[test]
    fn a_domain_with_its_parents_is_every_domain_that_could_cover_it() {
        let d = name("mail.eu.acme.co.uk");
        let all: Vec<&str> = d.with_parents().collect();
        assert_eq!(
            all,
            ["mail.eu.acme.co.uk", "eu.acme.co.uk", "acme.co.uk", "co.uk"]
        );
        assert_eq!(
            name("example.com").with_parents().collect::<Vec<_>>(),
            ["example.com"]
        );
        // whatever covers an address's domain is among them, and nothing else is
        let held = [
            "mail.eu.acme.co.uk",
            "eu.acme.co.uk",
            "acme.co.uk",
            "ail.eu.acme.co.uk",
            "cme.co.uk",
            "example.com",
            "eu.acme.co.uk.example.com",
        ];
        for h in held {
            let covers = name(h).covers(&d, true);
            assert_eq!(covers, all.contains(&h), "{h}");
        }
    }

    #[test]
    fn names_are_lower_case_ascii_without_the_root_dot() {
        assert_eq!(name(" Example.COM. ").as_str(), "example.com");
        assert_eq!(name("bücher.example").as_str(), "xn--bcher-kva.example");
        assert_eq!(name("BÜCHER.example").as_str(), "xn--bcher-kva.example");
        assert_eq!(name("mail.eu.acme.co.uk").as_str(), "mail.eu.acme.co.uk");
        // the stored form parses to itself
        let d = name("xn--bcher-kva.example");
        assert_eq!(DomainName::parse(d.as_str()).unwrap(), d);
    }

    #[test]
    fn bad_names_are_refused_with_a_reason() {
        assert!(refused("").contains("empty"));
        assert!(refused("*.example.com").contains("wildcard"));
        assert!(refused("ada@example.com").contains("email"));
        assert!(refused("https://example.com").contains("URL"));
        assert!(refused("com").contains("two labels"));
        assert!(refused("co.uk").contains("public suffix"));
        assert!(refused("10.0.0.1").contains("IP address"));
        assert!(refused("-acme.com").contains("not a valid"));
        assert!(refused("ac me.com").contains("not a valid"));
        assert!(refused("a..com").contains("not a valid"));
        assert!(refused(&format!("{}.com", "a".repeat(64))).contains("not a valid"));
        let long = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        assert!(refused(&long).contains("longer"), "{}", refused(&long));
        assert!(refused(&"é".repeat(10_000)).contains("longer"));
    }

    #[test]
    fn subdomains_are_covered_only_when_included() {
        let parent = name("example.com");
        assert!(parent.covers(&name("example.com"), false));
        assert!(!parent.covers(&name("eu.example.com"), false));
        assert!(parent.covers(&name("eu.example.com"), true));
        assert!(parent.covers(&name("a.eu.example.com"), true));
        // a name that only ends with the same letters is not a subdomain
        assert!(!parent.covers(&name("badexample.com"), true));
    }
}
