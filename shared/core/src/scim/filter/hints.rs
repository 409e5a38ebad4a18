//! The equalities a lookup index answers.

use super::*;

impl Filter {
    /// An equality that a lookup index can answer, in this filter or in a
    /// top-level chain of `and`s. The caller still evaluates the whole filter
    /// on what the index returns.
    pub fn index_hint(&self) -> Option<IndexHint<'_>> {
        match self {
            Filter::And(a, b) => a.index_hint().or_else(|| b.index_hint()),
            Filter::ValuePath { path, filter }
                if path.schema.is_none()
                    && path.sub.is_none()
                    && path.attr.eq_ignore_ascii_case("emails") =>
            {
                filter.equality_in_chain("value").map(IndexHint::Email)
            }
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::String(v),
            } if path.schema.is_none()
                && path.attr.eq_ignore_ascii_case("emails")
                && path
                    .sub
                    .as_deref()
                    .is_some_and(|s| s.eq_ignore_ascii_case("value")) =>
            {
                Some(IndexHint::Email(v))
            }
            f => f
                .equality_on("userName")
                .map(IndexHint::UserName)
                .or_else(|| f.equality_on("id").map(IndexHint::Id))
                .or_else(|| f.equality_on("externalId").map(IndexHint::ExternalId))
                .or_else(|| f.equality_on("displayName").map(IndexHint::DisplayName)),
        }
    }

    fn equality_in_chain(&self, attr: &str) -> Option<&str> {
        match self {
            Filter::And(a, b) => a
                .equality_in_chain(attr)
                .or_else(|| b.equality_in_chain(attr)),
            f => f.equality_on(attr),
        }
    }

    /// `attr eq "value"` on a top-level, unqualified attribute: the value.
    pub fn equality_on(&self, attr: &str) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::String(v),
            } if path.is(attr) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn index_hints_for_the_lookups_identity_providers_send() {
        let hint = |f: &str| {
            parse_filter(f)
                .unwrap()
                .index_hint()
                .map(|h| format!("{h:?}"))
        };
        assert_eq!(
            hint(r#"externalId eq "x""#).as_deref(),
            Some(r#"ExternalId("x")"#)
        );
        assert_eq!(
            hint(r#"emails[type eq "work"].value eq "a@b""#).as_deref(),
            Some(r#"Email("a@b")"#)
        );
        assert_eq!(
            hint(r#"emails.value eq "a@b""#).as_deref(),
            Some(r#"Email("a@b")"#)
        );
        assert_eq!(
            hint(r#"displayName eq "Sales""#).as_deref(),
            Some(r#"DisplayName("Sales")"#)
        );
        assert_eq!(
            hint(r#"active eq true and userName eq "u""#).as_deref(),
            Some(r#"UserName("u")"#)
        );
        assert_eq!(hint(r#"userName eq "u" or active eq true"#), None);
        assert_eq!(hint(r#"not (userName eq "u")"#), None);
    }

    #[test]
    fn index_hint() {
        assert_eq!(
            parse_filter(r#"userName eq "a""#)
                .unwrap()
                .equality_on("username"),
            Some("a")
        );
        assert_eq!(
            parse_filter(r#"userName sw "a""#)
                .unwrap()
                .equality_on("userName"),
            None
        );
    }
}
