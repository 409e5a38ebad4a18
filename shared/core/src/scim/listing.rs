//! What a listing's filter may name: the decisions of `GET /Users`,
//! `GET /Groups` and `.search` that are not about paging.

use super::ScimError;
use super::filter::Filter;

/// Attributes a Users filter cannot compare: `password` is never kept (a
/// filter on it would only be a guessing oracle), and `groups` is not part
/// of the users' representation.
pub const UNFILTERABLE_USER_ATTRIBUTES: [&str; 2] = ["password", "groups"];

/// Refuses a Users filter that names an attribute users cannot be
/// filtered on (`invalidFilter`).
pub fn check_user_filter(f: Option<&Filter>) -> Result<(), ScimError> {
    for attr in UNFILTERABLE_USER_ATTRIBUTES {
        if f.is_some_and(|f| f.names(attr)) {
            return Err(ScimError::invalid_filter(format!(
                "{attr} cannot be filtered on"
            )));
        }
    }
    Ok(())
}

/// A Groups filter may name `members` only as the membership check
/// (`id eq "…" and members[value eq "…"]`): groups are compared without
/// their members, which would give a wrong answer.
pub fn check_group_filter(f: Option<&Filter>) -> Result<(), ScimError> {
    match f {
        Some(f) if f.names("members") && membership_check(f).is_none() => {
            Err(ScimError::invalid_filter(
                "members can be filtered only as id eq \"…\" and members[value eq \"…\"]",
            ))
        }
        _ => Ok(()),
    }
}

/// Entra's membership check, `id eq "group" and members[value eq "user"]`:
/// the group's and the user's id.
pub fn membership_check(f: &Filter) -> Option<(&str, &str)> {
    let Filter::And(a, b) = f else {
        return None;
    };
    let (id, members) = match (a.equality_on("id"), b.equality_on("id")) {
        (Some(id), None) => (id, b.as_ref()),
        (None, Some(id)) => (id, a.as_ref()),
        _ => return None,
    };
    match members {
        Filter::ValuePath { path, filter }
            if path.schema.is_none()
                && path.sub.is_none()
                && path.attr.eq_ignore_ascii_case("members") =>
        {
            filter.equality_on("value").map(|user| (id, user))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::scim::filter::parse_filter;

    fn f(s: &str) -> Filter {
        parse_filter(s).unwrap()
    }

    #[test]
    fn users_cannot_be_filtered_on_password_or_groups() {
        for bad in [
            "password eq \"x\"",
            "userName eq \"a\" or groups[value eq \"g\"]",
            "not (password pr)",
        ] {
            let e = check_user_filter(Some(&f(bad))).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
        assert!(check_user_filter(Some(&f("userName eq \"a\""))).is_ok());
        assert!(check_user_filter(None).is_ok());
    }

    #[test]
    fn members_only_in_the_membership_check() {
        let check = f("id eq \"g1\" and members[value eq \"u1\"]");
        assert_eq!(membership_check(&check), Some(("g1", "u1")));
        let swapped = f("members[value eq \"u1\"] and id eq \"g1\"");
        assert_eq!(membership_check(&swapped), Some(("g1", "u1")));
        assert!(check_group_filter(Some(&check)).is_ok());
        for bad in [
            "members[value eq \"u1\"]",
            "displayName eq \"x\" and members[value eq \"u1\"]",
            "members pr",
        ] {
            let e = check_group_filter(Some(&f(bad))).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
        assert_eq!(membership_check(&f("id eq \"g1\"")), None);
    }
}
