//! SCIM users (RFC 7644 §3.3–3.6): created with a unique userName (a
//! returning person takes over the product account its deleted self had),
//! replaced and patched with optimistic versions and `If-Match`, deleted
//! softly (gone for SCIM, kept suspended; its memberships removed and its
//! groups' versions moved on).
//!
//! The SCIM handler parses the request's JSON, calls one method and renders
//! the answer; every decision between is here.

use serde_json::{Value, json};

use crate::StoreError;
use crate::clock::{Clock, IdSource};
use crate::directory::{DirectoryUser, ReturningKey, relink, returning_from};
use crate::ids::{OrgId, UserId};
use crate::ports::{Groups, Memberships, Organizations, Returnable, StoredUser, UserLookup, Users};
use crate::scim::patch::{apply_ops, mentions_schema, parse_patch};
use crate::scim::user::{UserInput, parse_user, strip_never_returned};
use crate::scim::{CUSTOM_USER_SCHEMA, ScimError, custom};
use crate::service::scim_error::{ScimWriteError, check_if_match};
use crate::service::scim_first_read::{FirstRead, FirstSlot};
use crate::service::scim_groups::touch_group;

/// Attempts at creating a user when a concurrent write got in the way.
const CREATE_ATTEMPTS: usize = 3;
/// Deleted users examined for a returning person.
const RETURNING_CANDIDATES: usize = 20;

/// Why a SCIM user operation was refused.
pub type ScimUserError = ScimWriteError;

/// A user after a replace or a patch: as stored, and whether this request
/// wrote it (a request that changes nothing writes nothing and keeps the
/// version).
#[derive(Debug, Clone, PartialEq)]
pub struct UserWrite {
    pub user: StoredUser,
    pub changed: bool,
}

/// SCIM's users of the directory, over the ports they need.
pub struct ScimUsers<'a, S, C, I> {
    store: &'a S,
    clock: &'a C,
    ids: &'a I,
    /// The request's first read, made with its token ([`FirstRead`]).
    first: FirstSlot,
}

/// The attributes of the custom extension an organization captures (none
/// for an organization not stored).
pub async fn captured_attributes<S: Organizations>(
    store: &S,
    org: &OrgId,
) -> Result<Vec<String>, StoreError> {
    Ok(store
        .get_org(org)
        .await?
        .map(|o| o.custom_attributes)
        .unwrap_or_default())
}

/// `user` marked deleted, as a new version at `at`.
fn tombstone(user: &StoredUser, at: &str) -> StoredUser {
    let mut next = user.clone();
    next.user.deleted = true;
    next.user.active = false;
    next.user.version += 1;
    next.user.last_modified = at.to_owned();
    if let Some(obj) = next.attributes.as_object_mut() {
        obj.insert("active".into(), json!(false));
    }
    // what an earlier version kept is dropped with this write
    strip_never_returned(&mut next.attributes);
    next
}

impl<'a, S, C, I> ScimUsers<'a, S, C, I>
where
    S: Users + UserLookup + Groups + Memberships + Organizations,
    C: Clock,
    I: IdSource,
{
    pub fn new(store: &'a S, clock: &'a C, ids: &'a I) -> Self {
        Self {
            store,
            clock,
            ids,
            first: FirstSlot::default(),
        }
    }

    /// The same service, with what the request read first with its token.
    #[must_use]
    pub fn read_first(self, first: Option<FirstRead>) -> Self {
        Self {
            first: FirstSlot::new(first),
            ..self
        }
    }

    /// The user `id` as read first, when that read was of it.
    fn take_first(&self, id: &UserId) -> Option<Option<StoredUser>> {
        self.first.take(|first| match first {
            FirstRead::User(read, user) if read == id => Some(user.clone()),
            _ => None,
        })
    }

    /// A live user by id, its attributes as SCIM shows them (custom values
    /// of attributes the organization no longer captures left out).
    pub async fn get(&self, org: &OrgId, id: &str) -> Result<StoredUser, ScimUserError> {
        let mut user = self.load(org, id).await?;
        if custom::has_custom_values(&user.attributes) {
            let captured = captured_attributes(self.store, org).await?;
            user.attributes = custom::visible(&captured, &user.attributes).into_owned();
        }
        Ok(user)
    }

    /// Creates a user (version 1). A returning person (a deleted user with
    /// the same externalId, or without one the same userName) takes over
    /// its deleted self's product account; a userName a deleted user of an
    /// earlier version still holds is freed first.
    pub async fn create(
        &self,
        org: &OrgId,
        mut input: UserInput,
    ) -> Result<StoredUser, ScimUserError> {
        self.keep_captured(org, &mut input.attributes).await?;
        let at = self.clock.timestamp();
        let id = UserId::parse(&self.ids.new_id()?)
            .map_err(|_| ScimUserError::Invalid(ScimError::internal()))?;
        let mut stored = StoredUser {
            user: DirectoryUser {
                id,
                user_name: input.user_name,
                external_id: input.external_id,
                active: input.active,
                deleted: false,
                given_name: input.given_name,
                family_name: input.family_name,
                email: input.email,
                locale: input.locale,
                created: at.clone(),
                last_modified: at.clone(),
                version: 1,
                link: Default::default(),
            },
            attributes: input.attributes,
        };
        for _ in 0..CREATE_ATTEMPTS {
            let written = match self.returning(org, &stored.user).await? {
                Some(previous) => {
                    stored.user.link = Default::default();
                    let mut attributes = previous.attributes.clone();
                    strip_never_returned(&mut attributes);
                    let handed_over = StoredUser {
                        user: relink(&previous.user, &mut stored.user, &at),
                        attributes,
                    };
                    self.store
                        .create_returning_user(org, &stored, &previous.user, &handed_over)
                        .await
                }
                None => self.store.create_user(org, &stored).await,
            };
            match written {
                Ok(()) => return Ok(stored),
                Err(StoreError::Conflict(_)) => {
                    // the userName is taken: by a live user (409), or by a
                    // user an earlier version deleted without freeing its
                    // name, which is deleted now as a deletion does today,
                    // and tried again
                    let holder = self
                        .store
                        .find_user_by_user_name(org, &stored.user.user_name)
                        .await
                        .map_err(ScimUserError::Store)?;
                    match holder {
                        Some(h) if h.user.deleted => {
                            let again = tombstone(&h, &at);
                            match self.store.delete_user(org, &h.user, &again).await {
                                Ok(()) | Err(StoreError::Conflict(_)) => {}
                                Err(e) => return Err(ScimUserError::Store(e)),
                            }
                        }
                        Some(_) => return Err(ScimUserError::Uniqueness),
                        // the deleted user relinked to moved on meanwhile: again
                        None => {}
                    }
                }
                Err(e) => return Err(ScimUserError::Store(e)),
            }
        }
        Err(ScimUserError::Uniqueness)
    }

    /// The deleted user whose account a new user takes over, if any: none
    /// without a look when the request's first read found that no deleted
    /// user is filed under the new user's key.
    async fn returning(
        &self,
        org: &OrgId,
        new: &DirectoryUser,
    ) -> Result<Option<StoredUser>, ScimUserError> {
        let key = ReturningKey::of(new);
        let filed = self.first.take(|first| match first {
            FirstRead::Create(read, returnable) if *read == key => Some(*returnable),
            _ => None,
        });
        if filed == Some(Returnable::None) {
            return Ok(None);
        }
        let found = match new.external_id.as_deref().filter(|x| !x.is_empty()) {
            Some(x) => {
                self.store
                    .find_users_by_external_id(org, x, RETURNING_CANDIDATES)
                    .await
            }
            None => {
                self.store
                    .deleted_users_named(org, &new.user_name, RETURNING_CANDIDATES)
                    .await
            }
        }
        .map_err(ScimUserError::Store)?;
        let previous = returning_from(new, found.iter().map(|u| &u.user)).map(|p| p.id.clone());
        Ok(previous.and_then(|id| found.into_iter().find(|u| u.user.id == id)))
    }

    /// Replaces a user with the User resource `body` (`PUT`). A body that
    /// does not assert `active` leaves it as it is (RFC 7644 §3.5.1:
    /// leaving it out never reactivates anyone).
    pub async fn replace(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Result<UserWrite, ScimUserError> {
        let current = self.load_matching(org, id, if_match).await?;
        let mut input = parse_user(body)?;
        self.keep_captured(org, &mut input.attributes).await?;
        if input.attributes.get("active").is_none() {
            input.active = current.user.active;
            if let (Some(obj), Some(active)) = (
                input.attributes.as_object_mut(),
                current.attributes.get("active"),
            ) {
                obj.insert("active".into(), active.clone());
            }
        }
        self.save(org, current, input).await
    }

    /// Applies a PatchOp request `body` to a user (`PATCH`).
    pub async fn patch(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
        body: &Value,
    ) -> Result<UserWrite, ScimUserError> {
        let current = self.load_matching(org, id, if_match).await?;
        let ops = parse_patch(body)?;
        let mut resource = current.attributes.as_object().cloned().unwrap_or_default();
        resource.insert("userName".into(), json!(current.user.user_name));
        if let Some(x) = &current.user.external_id {
            resource.insert("externalId".into(), json!(x));
        }
        let captured = if mentions_schema(&ops, CUSTOM_USER_SCHEMA)
            || custom::has_custom_values(&current.attributes)
        {
            captured_attributes(self.store, org).await?
        } else {
            Vec::new()
        };
        apply_ops(&mut resource, &ops, &captured)?;
        let input = parse_user(&Value::Object(resource))?;
        self.save(org, current, input).await
    }

    /// Writes `input` over `current` as its next version, unless nothing
    /// changed (no write, no stream record, same version).
    async fn save(
        &self,
        org: &OrgId,
        current: StoredUser,
        input: UserInput,
    ) -> Result<UserWrite, ScimUserError> {
        let mut user = current.user.clone();
        user.user_name = input.user_name;
        user.external_id = input.external_id;
        user.active = input.active;
        user.given_name = input.given_name;
        user.family_name = input.family_name;
        user.email = input.email;
        user.locale = input.locale;
        let mut next = StoredUser {
            user,
            attributes: input.attributes,
        };
        if next.user == current.user && next.attributes == current.attributes {
            return Ok(UserWrite {
                user: current,
                changed: false,
            });
        }
        // reactivation by the directory clears the deleted mark
        if next.user.active && !current.user.active {
            next.user.deleted = false;
        }
        next.user.version = current.user.version + 1;
        next.user.last_modified = self.clock.timestamp();
        match self.store.replace_user(org, &current.user, &next).await {
            Ok(()) => Ok(UserWrite {
                user: next,
                changed: true,
            }),
            Err(StoreError::Conflict(why)) => {
                // either the version moved on or the new userName is taken
                let renamed =
                    next.user.user_name.to_lowercase() != current.user.user_name.to_lowercase();
                Err(if renamed {
                    ScimUserError::Uniqueness
                } else {
                    ScimUserError::Conflict(why)
                })
            }
            Err(e) => Err(ScimUserError::Store(e)),
        }
    }

    /// Deletes a user as SCIM does (RFC 7644 §3.6): its memberships go
    /// first (groups no longer list it, their versions move on, and the
    /// evaluator sees each one go), then the user is kept, marked deleted,
    /// its userName freed. Answers how many groups it left.
    pub async fn delete(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<usize, ScimUserError> {
        let current = self.load_matching(org, id, if_match).await?;
        let groups = self.store.groups_of(org, &current.user.id).await?;
        for group in &groups {
            self.store
                .remove_members(org, group, std::slice::from_ref(&current.user.id))
                .await?;
            touch_group(self.store, self.clock, org, group).await?;
        }
        let next = tombstone(&current, &self.clock.timestamp());
        self.store.delete_user(org, &current.user, &next).await?;
        Ok(groups.len())
    }

    /// A live user: a deleted one is gone for SCIM (404 for every
    /// operation), as is an id that cannot be one.
    /// The user to replace, patch or delete: stored, not deleted, at the
    /// version `If-Match` names (when it names one).
    async fn load_matching(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<StoredUser, ScimUserError> {
        let current = self.load(org, id).await?;
        check_if_match(if_match, current.user.version)?;
        Ok(current)
    }

    async fn load(&self, org: &OrgId, id: &str) -> Result<StoredUser, ScimUserError> {
        let Ok(id) = UserId::parse(id) else {
            return Err(ScimUserError::NotFound);
        };
        let read = match self.take_first(&id) {
            Some(read) => read,
            None => self
                .store
                .get_user(org, &id)
                .await
                .map_err(ScimUserError::Store)?,
        };
        read.filter(|u| !u.user.deleted)
            .ok_or(ScimUserError::NotFound)
    }

    /// The custom extension of a POST or PUT body as it is kept
    /// ([`custom::keep_captured`]; the organization is read only when there
    /// is one).
    async fn keep_captured(
        &self,
        org: &OrgId,
        attributes: &mut Value,
    ) -> Result<(), ScimUserError> {
        if !custom::has_custom_values(attributes) {
            return Ok(());
        }
        let captured = captured_attributes(self.store, org)
            .await
            .map_err(ScimUserError::Store)?;
        Ok(custom::keep_captured(
            &captured,
            attributes,
            custom::Source::Request,
        )?)
    }
}
