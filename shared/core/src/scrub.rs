//! Scrubbing the secrets earlier versions stored: a SCIM user's `password`
//! (a [`NEVER_RETURNED`] attribute) was kept in the user's stored
//! attributes. The SCIM endpoint now discards it on arrival and never
//! renders it; this removes what is still stored, user by user, through the
//! [`Directory`] port (`ops scrub-secrets`).

use serde::Serialize;

use crate::StoreError;
use crate::directory::DirectoryUser;
use crate::ids::OrgId;
use crate::ports::{Directory, StoredUser};
#[cfg(doc)]
use crate::scim::user::NEVER_RETURNED;
use crate::scim::user::strip_never_returned;

/// Users read per page.
pub const SCRUB_PAGE: usize = 200;
/// Writes of one user tried before giving up, when another writer keeps
/// moving its version.
pub const SCRUB_ATTEMPTS: usize = 5;

/// How far a scrub got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScrubCount {
    /// Users read.
    pub examined: u64,
    /// Users that held a never-returned attribute and were written without it.
    pub scrubbed: u64,
}

/// The stored user without its [`NEVER_RETURNED`] attributes and with its
/// version moved on by one, to be written conditioned on the version read;
/// `None` when it holds none (nothing to write).
pub fn scrubbed(stored: &StoredUser) -> Option<StoredUser> {
    let mut attributes = stored.attributes.clone();
    if !strip_never_returned(&mut attributes) {
        return None;
    }
    Some(StoredUser {
        user: DirectoryUser {
            version: stored.user.version.saturating_add(1),
            ..stored.user.clone()
        },
        attributes,
    })
}

/// Scrubs one user as read (`read`): `true` when it was written without its
/// never-returned attributes. When another writer moved the user meanwhile
/// (`Conflict`), reads it again and retries, [`SCRUB_ATTEMPTS`] writes in
/// all; a user deleted meanwhile, or rewritten without the attributes, needs
/// nothing.
pub async fn scrub_user<D: Directory>(
    directory: &D,
    org: &OrgId,
    read: StoredUser,
) -> Result<bool, StoreError> {
    let mut current = read;
    for _ in 0..SCRUB_ATTEMPTS {
        let Some(clean) = scrubbed(&current) else {
            return Ok(false);
        };
        match directory.replace_user(org, &current.user, &clean).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        match directory.get_user(org, &current.user.id).await? {
            Some(fresh) => current = fresh,
            None => return Ok(false),
        }
    }
    Err(StoreError::Conflict(format!(
        "user {} kept changing while it was scrubbed",
        current.user.id
    )))
}

/// Scrubs every user of an organization, [`SCRUB_PAGE`] at a time;
/// `progress` is told the running count after each page. Running it again
/// scrubs nothing more.
pub async fn scrub_organization<D: Directory>(
    directory: &D,
    org: &OrgId,
    mut progress: impl FnMut(&ScrubCount),
) -> Result<ScrubCount, StoreError> {
    let mut count = ScrubCount::default();
    let mut after = None;
    loop {
        let (users, next) = directory
            .list_users(org, after.as_ref(), SCRUB_PAGE)
            .await?;
        for user in users {
            count.examined += 1;
            if scrub_user(directory, org, user).await? {
                count.scrubbed += 1;
            }
        }
        progress(&count);
        match next {
            Some(n) => after = Some(n),
            None => return Ok(count),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::ids::UserId;
    use crate::memory::{MemoryStore, member};
    use crate::ports::Users;

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn org() -> OrgId {
        OrgId::parse("acme").unwrap()
    }

    fn user(id: &str, attributes: Value) -> StoredUser {
        StoredUser {
            user: member(&UserId::parse(id).unwrap()),
            attributes,
        }
    }

    fn holds_a_password(u: &StoredUser) -> bool {
        u.attributes
            .as_object()
            .unwrap()
            .keys()
            .any(|k| k.eq_ignore_ascii_case("password"))
    }

    #[test]
    fn a_user_holding_a_password_is_scrubbed_with_its_version_moved_on() {
        let old = user(
            "u1",
            json!({"userName": "u1@example.com", "Password": "hunter2", "title": "Eng"}),
        );
        let clean = scrubbed(&old).expect("there is a password to remove");
        assert_eq!(
            clean.attributes,
            json!({"userName": "u1@example.com", "title": "Eng"})
        );
        assert_eq!(clean.user.version, old.user.version + 1);
        assert_eq!(clean.user.facts(), old.user.facts());
        assert_eq!(scrubbed(&clean), None);
        assert_eq!(scrubbed(&user("u2", json!({"title": "Eng"}))), None);
    }

    #[test]
    fn an_organization_is_scrubbed_page_by_page_and_a_second_run_scrubs_nothing() {
        let store = MemoryStore::default();
        let n = SCRUB_PAGE + 3;
        for i in 0..n {
            let attributes = if i % 100 == 0 {
                json!({"password": format!("secret-{i}")})
            } else {
                json!({})
            };
            run(store.create_user(&org(), &user(&format!("u{i:04}"), attributes))).unwrap();
        }
        let mut pages = Vec::new();
        let first = run(scrub_organization(&store, &org(), |c| pages.push(*c))).unwrap();
        assert_eq!(
            first,
            ScrubCount {
                examined: n as u64,
                scrubbed: 3
            }
        );
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0].examined, SCRUB_PAGE as u64);
        let (all, _) = run(store.list_users(&org(), None, n + 1)).unwrap();
        assert!(!all.iter().any(holds_a_password));
        let scrubbed_user = run(store.get_user(&org(), &UserId::parse("u0100").unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(scrubbed_user.user.version, 2);

        let second = run(scrub_organization(&store, &org(), |_| {})).unwrap();
        assert_eq!(
            second,
            ScrubCount {
                examined: n as u64,
                scrubbed: 0
            }
        );
    }

    #[test]
    fn a_user_changed_meanwhile_is_read_again() {
        let store = MemoryStore::default();
        let read = user("u1", json!({"password": "a"}));
        run(store.create_user(&org(), &read)).unwrap();
        // another writer moves it on, the password still there
        let mut moved = read.clone();
        moved.user.version = 2;
        moved.user.given_name = Some("Ada".into());
        run(store.replace_user(&org(), &read.user, &moved)).unwrap();
        assert!(run(scrub_user(&store, &org(), read.clone())).unwrap());
        let now = run(store.get_user(&org(), &read.user.id)).unwrap().unwrap();
        assert_eq!(now.user.version, 3);
        assert_eq!(now.user.given_name.as_deref(), Some("Ada"));
        assert!(!holds_a_password(&now));

        // rewritten without it meanwhile (a SCIM write): nothing to do
        let fresh = user("u2", json!({"password": "b"}));
        run(store.create_user(&org(), &fresh)).unwrap();
        let mut rewritten = user("u2", json!({"title": "Eng"}));
        rewritten.user.version = 2;
        run(store.replace_user(&org(), &fresh.user, &rewritten)).unwrap();
        assert!(!run(scrub_user(&store, &org(), fresh)).unwrap());
    }
}
