//! SCIM groups (RFC 7644 §3.3–3.6): created, replaced and patched with
//! their members (each one a user of the organization), versioned with
//! their members (RFC 7644 §3.14: a membership change is a new version),
//! written conditioned on the version read, retried when another writer got
//! there first and the client asked for no particular version; deleted with
//! their memberships.

use std::collections::BTreeSet;

use crate::StoreError;
use crate::clock::{Clock, IdSource};
use crate::directory::DirectoryGroup;
use crate::ids::{GroupId, OrgId, UserId};
use crate::ports::{Groups, Memberships, StoredUser, Users};
use crate::scim::ScimError;
use crate::scim::group::{GroupInput, MAX_MEMBERS_PER_REQUEST};
use crate::scim::patch::{PatchOp, member_changes};
use crate::service::scim_error::{ScimWriteError, check_if_match};
use crate::service::scim_first_read::{FirstRead, FirstSlot};

/// Attempts at a group write when another write moved its version on.
const GROUP_WRITE_ATTEMPTS: usize = 3;
/// Members read per storage query (each query returns at most 1 MB anyway).
const MEMBERS_PAGE: usize = 5_000;

/// Why a SCIM group operation was refused.
pub type ScimGroupError = ScimWriteError;

/// A group as a write left it, with what changed in its members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupWrite {
    pub group: DirectoryGroup,
    /// The members after the write, when the operation knows them without
    /// reading (create and replace).
    pub members: Option<Vec<UserId>>,
    pub added: usize,
    pub removed: usize,
}

/// SCIM's groups of the directory, over the ports they need.
pub struct ScimGroups<'a, S, C, I> {
    store: &'a S,
    clock: &'a C,
    ids: &'a I,
    /// The request's first read, made with its token ([`FirstRead`]).
    first: FirstSlot,
}

/// Every member of a group, in id order.
pub async fn all_members<S: Memberships>(
    store: &S,
    org: &OrgId,
    group: &GroupId,
) -> Result<Vec<UserId>, StoreError> {
    let mut out = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let (ids, next) = store
            .members(org, group, after.as_ref(), MEMBERS_PAGE)
            .await?;
        out.extend(ids);
        match next {
            Some(n) => after = Some(n),
            None => return Ok(out),
        }
    }
}

/// A new version of a group whose members changed from the user's side (a
/// deleted user left it); retried when another write got there first.
pub(crate) async fn touch_group<S: Groups, C: Clock>(
    store: &S,
    clock: &C,
    org: &OrgId,
    group: &GroupId,
) -> Result<(), StoreError> {
    for _ in 0..GROUP_WRITE_ATTEMPTS {
        let Some(mut g) = store.get_group(org, group).await? else {
            return Ok(());
        };
        g.version += 1;
        g.last_modified = clock.timestamp();
        match store.update_group(org, &g, &[], &[]).await {
            Err(StoreError::Conflict(_)) => {}
            other => return other,
        }
    }
    Err(StoreError::Conflict(
        "the group kept changing meanwhile".to_owned(),
    ))
}

/// The member values named, as ids, deduplicated in order, within the
/// request's bound.
pub(crate) fn named_members(values: Vec<String>) -> Result<Vec<UserId>, ScimGroupError> {
    if values.len() > MAX_MEMBERS_PER_REQUEST {
        return Err(ScimError::invalid_value(format!(
            "at most {MAX_MEMBERS_PER_REQUEST} members per request"
        ))
        .into());
    }
    let mut ids = member_ids(values)?;
    let mut seen = BTreeSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    Ok(ids)
}

fn member_ids(values: Vec<String>) -> Result<Vec<UserId>, ScimError> {
    values
        .iter()
        .map(|v| {
            UserId::parse(v).map_err(|_| {
                let shown: String = v.chars().take(64).collect();
                ScimError::invalid_value(format!("member value {shown:?} is not a user id"))
            })
        })
        .collect()
}

impl<'a, S, C, I> ScimGroups<'a, S, C, I>
where
    S: Users + Groups + Memberships,
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

    /// The group with the users found among `adds`, as read first, when
    /// that read was of these.
    fn take_first(
        &self,
        group: &GroupId,
        adds: &[UserId],
    ) -> Option<(Option<DirectoryGroup>, Vec<StoredUser>)> {
        self.first.take(|first| match first {
            FirstRead::Group {
                id,
                adds: read,
                group: g,
                found,
            } if id == group && read == adds => Some((g.clone(), found.clone())),
            _ => None,
        })
    }

    /// A group by id.
    pub async fn get(&self, org: &OrgId, id: &str) -> Result<DirectoryGroup, ScimGroupError> {
        let Ok(id) = GroupId::parse(id) else {
            return Err(ScimGroupError::NotFound);
        };
        self.store
            .get_group(org, &id)
            .await
            .map_err(ScimGroupError::Store)?
            .ok_or(ScimGroupError::NotFound)
    }

    /// Every member of a group, in id order.
    pub async fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
    ) -> Result<Vec<UserId>, ScimGroupError> {
        all_members(self.store, org, group)
            .await
            .map_err(ScimGroupError::Store)
    }

    /// Creates a group (version 1) with its members.
    pub async fn create(
        &self,
        org: &OrgId,
        input: GroupInput,
    ) -> Result<GroupWrite, ScimGroupError> {
        let members = self.users_of_org(org, input.members).await?;
        let at = self.clock.timestamp();
        let group = DirectoryGroup {
            id: GroupId::parse(&self.ids.new_id()?)
                .map_err(|_| ScimGroupError::Invalid(ScimError::internal()))?,
            display_name: input.display_name,
            external_id: input.external_id,
            created: at.clone(),
            last_modified: at,
            version: 1,
        };
        self.store.create_group(org, &group).await?;
        self.store.add_members(org, &group.id, &members).await?;
        Ok(GroupWrite {
            group,
            added: members.len(),
            removed: 0,
            members: Some(members),
        })
    }

    /// Applies PATCH operations to a group: its name, externalId and
    /// members. What is added is checked and capped; what is removed is
    /// only deleted (the body's size bounds it).
    pub async fn patch(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
        ops: &[PatchOp],
    ) -> Result<GroupWrite, ScimGroupError> {
        let changes = member_changes(ops)?;
        // the group read with the members to add (one read)
        let (add, group) = self.group_with_users_of_org(org, id, changes.add).await?;
        let mut read = Some(group);
        let mut remove_named = member_ids(changes.remove)?;
        let mut attempt = 0;
        loop {
            let current = match read.take() {
                Some(group) => group,
                None => self.get(org, id).await?,
            };
            check_if_match(if_match, current.version)?;
            if changes
                .id
                .as_deref()
                .is_some_and(|id| id != current.id.as_str())
            {
                return Err(ScimError::new(400, Some("mutability"), "id is read-only").into());
            }
            let mut group = current.clone();
            if let Some(name) = &changes.display_name {
                group.display_name.clone_from(name);
            }
            if let Some(external_id) = &changes.external_id {
                group.external_id.clone_from(external_id);
            }
            let mut remove = std::mem::take(&mut remove_named);
            if changes.remove_all {
                let keep: BTreeSet<&UserId> = add.iter().collect();
                let existing = self.members(org, &group.id).await?;
                remove.extend(existing.into_iter().filter(|m| !keep.contains(m)));
            }
            match self.save(org, &current, group, &add, &remove).await {
                Ok(group) => {
                    return Ok(GroupWrite {
                        group,
                        members: None,
                        added: add.len(),
                        removed: remove.len(),
                    });
                }
                // another write moved the version on: without If-Match the
                // client asked for no particular version, so apply to the new one
                Err(StoreError::Conflict(_))
                    if if_match.is_none() && attempt + 1 < GROUP_WRITE_ATTEMPTS =>
                {
                    attempt += 1;
                    remove_named = remove;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Replaces a group's name, externalId and whole member list (`PUT`).
    pub async fn replace(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
        input: GroupInput,
    ) -> Result<GroupWrite, ScimGroupError> {
        let wanted = self.users_of_org(org, input.members).await?;
        let wanted: BTreeSet<UserId> = wanted.into_iter().collect();
        let mut attempt = 0;
        loop {
            let current = self.get(org, id).await?;
            check_if_match(if_match, current.version)?;
            let mut group = current.clone();
            group.display_name.clone_from(&input.display_name);
            group.external_id.clone_from(&input.external_id);
            let existing: BTreeSet<UserId> =
                self.members(org, &group.id).await?.into_iter().collect();
            let remove: Vec<UserId> = existing.difference(&wanted).cloned().collect();
            let add: Vec<UserId> = wanted.difference(&existing).cloned().collect();
            match self.save(org, &current, group, &add, &remove).await {
                Ok(group) => {
                    return Ok(GroupWrite {
                        group,
                        members: Some(wanted.into_iter().collect()),
                        added: add.len(),
                        removed: remove.len(),
                    });
                }
                Err(StoreError::Conflict(_))
                    if if_match.is_none() && attempt + 1 < GROUP_WRITE_ATTEMPTS =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Deletes a group: its memberships go first (the evaluator sees each
    /// one), then the group. Answers how many members it had.
    pub async fn delete(
        &self,
        org: &OrgId,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<usize, ScimGroupError> {
        let group = self.get(org, id).await?;
        check_if_match(if_match, group.version)?;
        let members = self.members(org, &group.id).await?;
        self.store.remove_members(org, &group.id, &members).await?;
        self.store.delete_group(org, &group.id).await?;
        Ok(members.len())
    }

    /// Writes a group's new name and externalId and its membership changes.
    /// The group's version changes whenever any of them does, written
    /// conditioned on the old one, with the memberships (or before them,
    /// when they are many).
    async fn save(
        &self,
        org: &OrgId,
        current: &DirectoryGroup,
        mut group: DirectoryGroup,
        add: &[UserId],
        remove: &[UserId],
    ) -> Result<DirectoryGroup, StoreError> {
        if group != *current || !add.is_empty() || !remove.is_empty() {
            group.version = current.version + 1;
            group.last_modified = self.clock.timestamp();
            self.store.update_group(org, &group, add, remove).await?;
        }
        Ok(group)
    }

    /// Member values that name users of this organization (deduplicated, in
    /// order): a value that is not the id of one of its users (another
    /// organization's, a group's, a deleted user's, made up) is
    /// `invalidValue`, never stored.
    async fn users_of_org(
        &self,
        org: &OrgId,
        values: Vec<String>,
    ) -> Result<Vec<UserId>, ScimGroupError> {
        let ids = named_members(values)?;
        let found = self
            .store
            .get_users(org, &ids)
            .await
            .map_err(ScimGroupError::Store)?;
        Self::all_found(ids, found)
    }

    /// [`Self::users_of_org`] with the group (`id`) they are added to, read
    /// together; the group is `NotFound` after the members are checked.
    async fn group_with_users_of_org(
        &self,
        org: &OrgId,
        id: &str,
        values: Vec<String>,
    ) -> Result<(Vec<UserId>, DirectoryGroup), ScimGroupError> {
        let Ok(group_id) = GroupId::parse(id) else {
            self.users_of_org(org, values).await?;
            return Err(ScimGroupError::NotFound);
        };
        let ids = named_members(values)?;
        let (group, found) = match self.take_first(&group_id, &ids) {
            Some(read) => read,
            None => self
                .store
                .group_with_users(org, &group_id, &ids)
                .await
                .map_err(ScimGroupError::Store)?,
        };
        let ids = Self::all_found(ids, found)?;
        Ok((ids, group.ok_or(ScimGroupError::NotFound)?))
    }

    /// `ids` when each is a user `found` (deleted ones are not).
    fn all_found(ids: Vec<UserId>, found: Vec<StoredUser>) -> Result<Vec<UserId>, ScimGroupError> {
        let found: BTreeSet<UserId> = found
            .into_iter()
            .filter(|u| !u.user.deleted)
            .map(|u| u.user.id)
            .collect();
        if let Some(missing) = ids.iter().find(|id| !found.contains(*id)) {
            let shown: String = missing.as_str().chars().take(64).collect();
            return Err(ScimError::invalid_value(format!(
                "member value {shown:?} is not a user of this organization"
            ))
            .into());
        }
        Ok(ids)
    }
}
