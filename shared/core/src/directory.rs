//! The replicated directory: users and groups as the identity provider sent
//! them, and memberships, one per (group, member).

use serde::{Deserialize, Serialize};

use crate::ids::{GroupId, UserId};

/// A directory user, as stored. `resource` keeps the SCIM representation the
/// identity provider sent (with our `id` and `meta`), so attributes we do not
/// model are not lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectoryUser {
    pub id: UserId,
    pub user_name: String,
    pub external_id: Option<String>,
    pub active: bool,
    /// The identity provider deleted the user; we keep it, suspended.
    pub deleted: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary (or work) email address.
    pub email: Option<String>,
    pub locale: Option<String>,
    pub created: String,
    pub last_modified: String,
    /// Incremented on every write; the SCIM ETag is derived from it.
    pub version: u64,
    /// How the user's product account passed between SCIM users.
    #[serde(default)]
    pub link: AccountLink,
}

/// A returning person: a user deleted through SCIM (RFC 7644 §3.6: gone for
/// SCIM, its product account suspended and kept) and later created again, as
/// a new SCIM user, takes that account over instead of getting a second one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountLink {
    /// A returning person's: the id its product account is keyed by at the
    /// product API (the first user that had the account). `None`: its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<UserId>,
    /// A returning person's: the deleted user whose account it took over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relinked_from: Option<UserId>,
    /// A deleted user's: the returning person that took its account over.
    /// From then on this user never touches the account again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relinked_to: Option<UserId>,
}

/// The deleted user a newly created one takes the product account of, among
/// `deleted` (users found by the new user's externalId or userName): one
/// with the same `externalId`, or, when the new user has none, the same
/// `userName` ignoring case; deleted and not taken over yet; the most
/// recently deleted when there are several.
pub fn returning_from<'a>(
    new: &DirectoryUser,
    deleted: impl IntoIterator<Item = &'a DirectoryUser>,
) -> Option<&'a DirectoryUser> {
    deleted
        .into_iter()
        .filter(|d| may_return(d) && d.id != new.id)
        .filter(
            |d| match new.external_id.as_deref().filter(|x| !x.is_empty()) {
                Some(x) => d.external_id.as_deref() == Some(x),
                None => d.user_name.to_lowercase() == new.user_name.to_lowercase(),
            },
        )
        .max_by(|a, b| {
            a.last_modified
                .cmp(&b.last_modified)
                .then_with(|| a.id.cmp(&b.id))
        })
}

/// What a returning person is found by ([`returning_from`]): a new user's
/// `externalId`, or, when it has none, its `userName` ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReturningKey {
    ExternalId(String),
    /// Lowercased.
    UserName(String),
}

impl ReturningKey {
    /// The key a new user with this `externalId` and `userName` looks its
    /// deleted self up by.
    pub fn new(external_id: Option<&str>, user_name: &str) -> Self {
        match external_id.filter(|x| !x.is_empty()) {
            Some(x) => Self::ExternalId(x.to_owned()),
            None => Self::UserName(user_name.to_lowercase()),
        }
    }

    /// The key `user`, created now, looks its deleted self up by.
    pub fn of(user: &DirectoryUser) -> Self {
        Self::new(user.external_id.as_deref(), &user.user_name)
    }

    /// Every key a deleted user can be found by: its `externalId`'s (a
    /// new user with the same one), and its `userName`'s (a new user
    /// without an `externalId`, whatever the deleted one had).
    pub fn all_of(deleted: &DirectoryUser) -> Vec<Self> {
        let mut keys = Vec::with_capacity(2);
        if let Some(x) = deleted.external_id.as_deref().filter(|x| !x.is_empty()) {
            keys.push(Self::ExternalId(x.to_owned()));
        }
        keys.push(Self::UserName(deleted.user_name.to_lowercase()));
        keys
    }
}

/// Whether `user` is one a returning person could take over: deleted, and
/// not taken over yet.
pub fn may_return(user: &DirectoryUser) -> bool {
    user.deleted && user.link.relinked_to.is_none()
}

/// Links `new` to `previous`'s product account: `new` takes the account
/// over, and the returned copy of `previous` (to store, a new version of it)
/// says who did.
pub fn relink(previous: &DirectoryUser, new: &mut DirectoryUser, at: &str) -> DirectoryUser {
    new.link.account_key = Some(previous.account_key().clone());
    new.link.relinked_from = Some(previous.id.clone());
    let mut handed_over = previous.clone();
    handed_over.link.relinked_to = Some(new.id.clone());
    handed_over.version += 1;
    handed_over.last_modified = at.to_owned();
    handed_over
}

impl DirectoryUser {
    /// The key of the user's product account at the product API.
    pub fn account_key(&self) -> &UserId {
        self.link.account_key.as_ref().unwrap_or(&self.id)
    }

    /// What the rules and the product account depend on. Two users with the
    /// same facts get the same desired state: a change elsewhere (a new
    /// `lastModified`, an attribute nobody reads) is not a change at all.
    pub fn facts(&self) -> UserFacts {
        UserFacts {
            status: self.status(),
            email: self.email.clone().unwrap_or_else(|| self.user_name.clone()),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            locale: self.locale.clone(),
            account_key: self.link.account_key.clone(),
            relinked_from: self.link.relinked_from.clone(),
            handed_over: self.link.relinked_to.is_some(),
        }
    }

    /// Given and family name, as admins see them; `None` without either.
    pub fn full_name(&self) -> Option<String> {
        let name = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    }

    /// Active, inactive, or deleted in the directory.
    pub fn status(&self) -> DirectoryStatus {
        if self.deleted {
            DirectoryStatus::Deleted
        } else if self.active {
            DirectoryStatus::Active
        } else {
            DirectoryStatus::Inactive
        }
    }
}

/// A user's standing in the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryStatus {
    Active,
    Inactive,
    Deleted,
}

/// The part of a directory user that decides its product account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UserFacts {
    pub status: DirectoryStatus,
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    /// A returning person's product account key (see [`AccountLink`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<UserId>,
    /// A returning person's: the deleted user it was relinked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relinked_from: Option<UserId>,
    /// A deleted user whose account a returning person took over: nothing
    /// is ever applied for it again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub handed_over: bool,
}

/// A directory ("organization") group. Read-only to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DirectoryGroup {
    pub id: GroupId,
    pub display_name: String,
    pub external_id: Option<String>,
    pub created: String,
    pub last_modified: String,
    pub version: u64,
}

/// A stored user with the SCIM attributes it was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    pub user: DirectoryUser,
    pub attributes: serde_json::Value,
}

/// A user's id and directory status.
pub type UserStatus = (UserId, DirectoryStatus);

/// One member of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Membership {
    pub group_id: GroupId,
    pub user_id: UserId,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn user(given: Option<&str>, family: Option<&str>) -> DirectoryUser {
        DirectoryUser {
            id: UserId::parse("u1").unwrap(),
            user_name: "ada@example.com".into(),
            external_id: None,
            active: true,
            deleted: false,
            given_name: given.map(str::to_owned),
            family_name: family.map(str::to_owned),
            email: None,
            locale: None,
            created: String::new(),
            last_modified: String::new(),
            version: 1,
            link: AccountLink::default(),
        }
    }

    #[test]
    fn a_full_name_joins_what_there_is() {
        assert_eq!(
            user(Some("Ada"), Some("Lovelace")).full_name().as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            user(None, Some("Lovelace")).full_name().as_deref(),
            Some("Lovelace")
        );
        assert_eq!(user(None, None).full_name(), None);
    }

    fn deleted(id: &str, name: &str, external_id: Option<&str>, at: &str) -> DirectoryUser {
        DirectoryUser {
            id: UserId::parse(id).unwrap(),
            user_name: name.into(),
            external_id: external_id.map(str::to_owned),
            active: false,
            deleted: true,
            last_modified: at.into(),
            ..user(None, None)
        }
    }

    #[test]
    fn a_returning_person_is_found_by_external_id_else_by_user_name() {
        let by_x = deleted(
            "old1",
            "ada@example.com",
            Some("00u1"),
            "2026-01-01T00:00:00Z",
        );
        let other_x = deleted(
            "old2",
            "ada@example.com",
            Some("00u9"),
            "2026-01-02T00:00:00Z",
        );
        let mut new = user(None, None);
        new.id = UserId::parse("new").unwrap();
        new.user_name = "ADA@example.com".into();
        new.external_id = Some("00u1".into());
        let all = [other_x.clone(), by_x.clone()];
        assert_eq!(returning_from(&new, &all).map(|u| &u.id), Some(&by_x.id));
        // without an externalId, the userName decides; the latest deletion wins
        new.external_id = None;
        assert_eq!(returning_from(&new, &all).map(|u| &u.id), Some(&other_x.id));
        // a live user, or one already taken over, is no candidate
        let mut live = other_x.clone();
        live.deleted = false;
        let mut taken = by_x.clone();
        taken.link.relinked_to = Some(UserId::parse("someone").unwrap());
        assert_eq!(returning_from(&new, &[live, taken]), None);
        new.user_name = "bob@example.com".into();
        assert_eq!(returning_from(&new, &all), None);
    }

    /// The index a create reads instead of looking: a deleted user that
    /// `returning_from` would find for a new user is always filed under
    /// the new user's key (so "nothing filed" means "no returning person").
    #[test]
    fn a_returning_person_is_filed_under_the_key_the_new_user_looks_up() {
        let candidates = [
            deleted("d1", "Ada@Example.com", Some("00u1"), "t1"),
            deleted("d2", "ada@example.com", None, "t2"),
            deleted("d3", "bob@example.com", Some("00u2"), "t3"),
            deleted("d4", "carol@example.com", Some(""), "t4"),
        ];
        let mut new = user(None, None);
        new.id = UserId::parse("new").unwrap();
        for name in [
            "ada@example.com",
            "ADA@EXAMPLE.COM",
            "bob@example.com",
            "carol@example.com",
            "dan@example.com",
        ] {
            for x in [None, Some(""), Some("00u1"), Some("00u2"), Some("00u9")] {
                new.user_name = name.into();
                new.external_id = x.map(str::to_owned);
                let key = ReturningKey::of(&new);
                let filed: Vec<&DirectoryUser> = candidates
                    .iter()
                    .filter(|d| ReturningKey::all_of(d).contains(&key))
                    .collect();
                if let Some(found) = returning_from(&new, &candidates) {
                    assert!(
                        filed.iter().any(|d| d.id == found.id),
                        "{name} {x:?}: {} is not filed under {key:?}",
                        found.id
                    );
                }
                // and what is filed under the key is what it would find among
                assert_eq!(
                    returning_from(&new, filed.iter().copied()).map(|u| &u.id),
                    returning_from(&new, &candidates).map(|u| &u.id),
                    "{name} {x:?}"
                );
            }
        }
        assert_eq!(
            ReturningKey::new(Some(""), "Ada@Example.com"),
            ReturningKey::UserName("ada@example.com".into())
        );
        assert!(may_return(&candidates[0]));
        let mut taken = candidates[0].clone();
        taken.link.relinked_to = Some(UserId::parse("new").unwrap());
        assert!(!may_return(&taken));
    }

    #[test]
    fn relinking_keeps_the_first_account_key_and_marks_the_deleted_user() {
        let first = deleted("first", "ada@example.com", None, "t0");
        let mut second = user(None, None);
        second.id = UserId::parse("second").unwrap();
        let handed = relink(&first, &mut second, "t1");
        assert_eq!(second.account_key(), &first.id);
        assert_eq!(second.link.relinked_from.as_ref(), Some(&first.id));
        assert_eq!(handed.link.relinked_to.as_ref(), Some(&second.id));
        assert_eq!(handed.version, first.version + 1);
        assert!(handed.facts().handed_over);
        assert_eq!(second.facts().account_key.as_ref(), Some(&first.id));
        // deleted again and back once more: still the first account
        let mut second_deleted = second.clone();
        second_deleted.deleted = true;
        let mut third = user(None, None);
        third.id = UserId::parse("third").unwrap();
        relink(&second_deleted, &mut third, "t2");
        assert_eq!(third.account_key(), &first.id);
        assert_eq!(third.link.relinked_from.as_ref(), Some(&second.id));
    }
}
