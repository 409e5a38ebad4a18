//! A SCIM request's first read, made with its token's item: a token names
//! its organization and id, so the item's key is known before anything is
//! read, and the user a `/Users/{id}` request loads, the group and the
//! members a group `PATCH` adds, or whether a created user may be a
//! returning person, come in the same call ([`TokenReads`]). The token is
//! checked before anything read is used; a request refused keeps nothing
//! of it.

use std::sync::{Mutex, PoisonError};

use serde_json::Value;

use crate::auth::{AuthError, PresentedToken, StoredToken, TokenKind, check_token};
use crate::directory::{DirectoryGroup, ReturningKey, StoredUser};
use crate::ids::{GroupId, UserId};
use crate::ports::{Returnable, TokenReads};
use crate::scim::patch::{member_changes, parse_patch};
use crate::scim::user::parse_user;
use crate::service::scim_groups::named_members;

/// Most members a group `PATCH` may add for its first read to carry its
/// token: what a request whose token turns out not to check costs (one
/// read of at most this many users, the group and the token) stays of the
/// order of the single token read it would cost otherwise. Identity
/// providers add a member or a few per request; a larger `PATCH` reads its
/// token first, then the group and its members.
pub const FIRST_READ_MAX_ADDS: usize = 10;

/// What a request reads first, when it can read it with its token's item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstKeys {
    /// The user a `GET`, `PUT` or `PATCH` of `/Users/{id}` loads.
    User(UserId),
    /// The group a `PATCH` changes, with the members it adds.
    Group { id: GroupId, adds: Vec<UserId> },
    /// The key a created user looks its deleted self up by.
    Create(ReturningKey),
}

impl FirstKeys {
    /// The user `id` names; `None` when it names none (the request is
    /// answered as any, after its token is checked).
    pub fn user(id: &str) -> Option<Self> {
        UserId::parse(id).ok().map(Self::User)
    }

    /// The group `id` names with the members the `PATCH` `body` adds;
    /// `None` when either is not valid (the request is refused as any,
    /// after its token is checked) or it adds more than
    /// [`FIRST_READ_MAX_ADDS`].
    pub fn group_patch(id: &str, body: &Value) -> Option<Self> {
        let id = GroupId::parse(id).ok()?;
        let ops = parse_patch(body).ok()?;
        let adds = named_members(member_changes(&ops).ok()?.add).ok()?;
        (adds.len() <= FIRST_READ_MAX_ADDS).then_some(Self::Group { id, adds })
    }

    /// The key the User resource `body` of a create would be looked up
    /// by as a returning person; `None` when it is no valid User (the
    /// request is refused as any, after its token is checked).
    pub fn user_create(body: &Value) -> Option<Self> {
        let input = parse_user(body).ok()?;
        Some(Self::Create(ReturningKey::new(
            input.external_id.as_deref(),
            &input.user_name,
        )))
    }
}

/// What a request read with its token's item, for the service that would
/// have read it first.
#[derive(Debug, Clone, PartialEq)]
pub enum FirstRead {
    /// The user by id (`None`: not found).
    User(UserId, Option<StoredUser>),
    /// The group (`None`: not found) and the users found among `adds`.
    Group {
        id: GroupId,
        adds: Vec<UserId>,
        group: Option<DirectoryGroup>,
        found: Vec<StoredUser>,
    },
    /// Whether a deleted user may return by the key.
    Create(ReturningKey, Returnable),
}

/// What a service was given of the request's first read: taken, once, by
/// the read it stands for.
#[derive(Debug, Default)]
pub(crate) struct FirstSlot(Mutex<Option<FirstRead>>);

impl FirstSlot {
    pub(crate) fn new(first: Option<FirstRead>) -> Self {
        Self(Mutex::new(first))
    }

    /// What was read first, when `of` says it is what is about to be read
    /// (`Some`); else the slot keeps it and the caller reads the store.
    pub(crate) fn take<T>(&self, of: impl FnOnce(&FirstRead) -> Option<T>) -> Option<T> {
        let mut first = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = first.as_ref().and_then(of);
        if taken.is_some() {
            *first = None;
        }
        taken
    }
}

/// Reads `keys` with `presented`'s item and checks the token for `kind`:
/// the token and what was read with it, or why the request is refused.
pub async fn authenticate_with<S: TokenReads>(
    store: &S,
    presented: &PresentedToken,
    kind: TokenKind,
    keys: FirstKeys,
) -> Result<(StoredToken, FirstRead), AuthError> {
    let (org, token_id) = (&presented.org_id, presented.token_id.as_str());
    match keys {
        FirstKeys::User(id) => {
            let (token, user) = store
                .token_with_user(org, token_id, &id)
                .await
                .map_err(AuthError::Unavailable)?;
            let token = check_token(presented, token, kind)?;
            Ok((token, FirstRead::User(id, user)))
        }
        FirstKeys::Group { id, adds } => {
            let (token, group, found) = store
                .token_with_group(org, token_id, &id, &adds)
                .await
                .map_err(AuthError::Unavailable)?;
            let token = check_token(presented, token, kind)?;
            Ok((
                token,
                FirstRead::Group {
                    id,
                    adds,
                    group,
                    found,
                },
            ))
        }
        FirstKeys::Create(key) => {
            let (token, returnable) = store
                .token_with_returning(org, token_id, &key)
                .await
                .map_err(AuthError::Unavailable)?;
            let token = check_token(presented, token, kind)?;
            Ok((token, FirstRead::Create(key, returnable)))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::auth::issue;
    use crate::clock::{FixedClock, RandomIds};
    use crate::directory::DirectoryUser;
    use crate::ids::OrgId;
    use crate::memory::{MemoryStore, member};
    use crate::ports::{Groups, Tokens, Users};
    use crate::service::scim_users::{ScimUserError, ScimUsers};

    fn org() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    fn uid(id: &str) -> UserId {
        UserId::parse(id).unwrap()
    }

    fn stored(id: &str) -> StoredUser {
        StoredUser {
            user: member(&uid(id)),
            attributes: json!({}),
        }
    }

    fn add<V: AsRef<str>>(values: &[V]) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members",
                "value": values.iter().map(|v| json!({"value": v.as_ref()})).collect::<Vec<_>>()}]
        })
    }

    #[test]
    fn a_group_patch_is_read_first_with_the_members_it_adds_once_each() {
        assert_eq!(
            FirstKeys::group_patch("g1", &add(&["u2", "u1", "u2"])),
            Some(FirstKeys::Group {
                id: GroupId::parse("g1").unwrap(),
                adds: vec![uid("u2"), uid("u1")],
            })
        );
        // what the handler refuses after the token is checked: read as any
        assert_eq!(
            FirstKeys::group_patch("g1", &json!({"displayName": "x"})),
            None
        );
        assert_eq!(FirstKeys::group_patch("g1", &add(&["not an id!"])), None);
        // a forged token's request costs a read of a few items at most
        let few: Vec<String> = (0..FIRST_READ_MAX_ADDS).map(|n| format!("u{n}")).collect();
        let many: Vec<String> = (0..=FIRST_READ_MAX_ADDS).map(|n| format!("u{n}")).collect();
        assert!(FirstKeys::group_patch("g1", &add(&few)).is_some());
        assert_eq!(FirstKeys::group_patch("g1", &add(&many)), None);
        assert_eq!(FirstKeys::group_patch("", &add(&["u1"])), None);
        assert_eq!(FirstKeys::user("u1"), Some(FirstKeys::User(uid("u1"))));
        assert_eq!(FirstKeys::user("not an id!"), None);
    }

    #[test]
    fn a_create_is_read_first_with_the_key_its_user_returns_by() {
        let okta = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Ada@Example.com", "externalId": "00u1", "password": "never kept"});
        assert_eq!(
            FirstKeys::user_create(&okta),
            Some(FirstKeys::Create(ReturningKey::ExternalId("00u1".into())))
        );
        let entra = json!({"userName": "Ada@Example.com", "externalId": ""});
        assert_eq!(
            FirstKeys::user_create(&entra),
            Some(FirstKeys::Create(ReturningKey::UserName(
                "ada@example.com".into()
            )))
        );
        // what the handler refuses after the token is checked: read as any
        assert_eq!(FirstKeys::user_create(&json!({"externalId": "00u1"})), None);
        assert_eq!(FirstKeys::user_create(&json!([])), None);
    }

    /// Deletes `user` as SCIM does.
    async fn delete(store: &MemoryStore, user: &DirectoryUser) {
        let deleted = StoredUser {
            user: DirectoryUser {
                deleted: true,
                version: user.version + 1,
                ..user.clone()
            },
            attributes: json!({}),
        };
        store.delete_user(&org(), user, &deleted).await.unwrap();
    }

    #[tokio::test]
    async fn a_create_looks_for_its_deleted_self_unless_the_first_read_found_none_filed() {
        let store = MemoryStore::default();
        let mut gone = stored("u-old");
        gone.user.user_name = "ada@example.com".into();
        gone.user.external_id = Some("00u1".into());
        store.create_user(&org(), &gone).await.unwrap();
        delete(&store, &gone.user).await;
        let clock = FixedClock::at(time::macros::datetime!(2026-12-06 09:00 UTC));
        let body = json!({"userName": "ada@example.com", "externalId": "00u1"});
        let create = |first| {
            let users = ScimUsers::new(&store, &clock, &RandomIds).read_first(first);
            let input = parse_user(&body).unwrap();
            async move { users.create(&org(), input).await.unwrap() }
        };
        let key = ReturningKey::ExternalId("00u1".into());
        // the first read says someone may return: the create looks, and
        // takes the deleted user's account over
        let back = create(Some(FirstRead::Create(key.clone(), Returnable::Maybe))).await;
        assert_eq!(back.user.link.relinked_from, Some(uid("u-old")));
        let handed = store
            .get_user(&org(), &uid("u-old"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(handed.user.link.relinked_to, Some(back.user.id.clone()));

        // deleted again; a first read of another key is not this create's:
        // it looks
        delete(&store, &back.user).await;
        let other = ReturningKey::ExternalId("00u2".into());
        let again = create(Some(FirstRead::Create(other, Returnable::None))).await;
        assert_eq!(again.user.link.relinked_from, Some(back.user.id.clone()));

        // the first read found nobody filed under the key: no look (here
        // where one would have found the deleted user, to show it)
        delete(&store, &again.user).await;
        let fresh = create(Some(FirstRead::Create(key, Returnable::None))).await;
        assert_eq!(fresh.user.link, Default::default());
    }

    #[tokio::test]
    async fn nothing_read_with_a_token_that_does_not_check_is_given() {
        let store = MemoryStore::default();
        let scim = issue(&org(), TokenKind::Scim, "IdP", [7; 40], "t".into());
        let admin = issue(&org(), TokenKind::Admin, "Ops", [8; 40], "t".into());
        store.put_token(&scim.stored).await.unwrap();
        store.put_token(&admin.stored).await.unwrap();
        store.create_user(&org(), &stored("u1")).await.unwrap();
        let presented = |plain: &str| PresentedToken::parse(plain).unwrap();
        let keys = || FirstKeys::User(uid("u1"));

        let (token, first) =
            authenticate_with(&store, &presented(&scim.plain), TokenKind::Scim, keys())
                .await
                .unwrap();
        assert_eq!(token, scim.stored);
        let FirstRead::User(id, Some(read)) = first else {
            panic!("the user read with the token");
        };
        assert_eq!((id, read.user.id), (uid("u1"), uid("u1")));

        // another secret for the same token id
        let (head, _) = scim.plain.rsplit_once('.').unwrap();
        let forged = format!("{head}.{}", "ab".repeat(32));
        assert!(matches!(
            authenticate_with(&store, &presented(&forged), TokenKind::Scim, keys()).await,
            Err(AuthError::Refused)
        ));
        // a valid token of the other kind
        assert!(matches!(
            authenticate_with(&store, &presented(&admin.plain), TokenKind::Scim, keys()).await,
            Err(AuthError::WrongKind)
        ));
        // revoked
        store
            .delete_token(&org(), &scim.stored.token_id)
            .await
            .unwrap();
        let group = FirstKeys::Group {
            id: GroupId::parse("g1").unwrap(),
            adds: vec![uid("u1")],
        };
        assert!(matches!(
            authenticate_with(&store, &presented(&scim.plain), TokenKind::Scim, group).await,
            Err(AuthError::Refused)
        ));
        let create = FirstKeys::Create(ReturningKey::ExternalId("00u1".into()));
        assert!(matches!(
            authenticate_with(&store, &presented(&scim.plain), TokenKind::Scim, create).await,
            Err(AuthError::Refused)
        ));
        assert!(
            store
                .get_group(&org(), &GroupId::parse("g1").unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_service_uses_the_first_read_for_what_it_read_only() {
        let store = MemoryStore::default();
        store.create_user(&org(), &stored("u1")).await.unwrap();
        let clock = FixedClock::at(time::macros::datetime!(2026-12-06 09:00 UTC));
        let users = |first| ScimUsers::new(&store, &clock, &RandomIds).read_first(first);
        // as read with the token: a user not found then is not found now
        assert!(matches!(
            users(Some(FirstRead::User(uid("u1"), None)))
                .get(&org(), "u1")
                .await,
            Err(ScimUserError::NotFound)
        ));
        // a read of another user: the store's
        let got = users(Some(FirstRead::User(uid("u2"), None)))
            .get(&org(), "u1")
            .await
            .unwrap();
        assert_eq!(got.user.id, uid("u1"));
        // taken once: a second load reads the store
        let service = users(Some(FirstRead::User(uid("u1"), None)));
        assert!(service.get(&org(), "u1").await.is_err());
        assert_eq!(service.get(&org(), "u1").await.unwrap().user.id, uid("u1"));
    }
}
