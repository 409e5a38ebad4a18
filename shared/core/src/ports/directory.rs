//! The replicated directory: users, their lookups, groups, memberships.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use crate::StoreError;
use crate::directory::{DirectoryGroup, DirectoryUser};
use crate::ids::{GroupId, OrgId, UserId};

pub use crate::directory::{StoredUser, UserStatus};

/// The replicated directory's users: created, read, replaced and deleted
/// with optimistic versions.
pub trait Users: Sync {
    /// MUST return `Conflict` when the organization already has a user whose
    /// userName is equal ignoring case.
    fn create_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_user(
        &self,
        org: &OrgId,
        id: &UserId,
    ) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;

    /// Replaces a user. MUST return `Conflict` when the stored version is not
    /// `expected_version` or the new userName is taken by another user.
    fn replace_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        user: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Creates a returning person (see [`crate::directory::returning_from`])
    /// as [`Users::create_user`] does, and stores `handed_over` (the
    /// deleted user whose account it takes over, a new version of
    /// `previous`) in the same write. MUST return `Conflict` when the
    /// userName is taken or the deleted user is no longer at
    /// `previous.version`.
    fn create_returning_user(
        &self,
        org: &OrgId,
        user: &StoredUser,
        previous: &DirectoryUser,
        handed_over: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a user as SCIM does (RFC 7644 §3.6): stores `deleted` (a new
    /// version of `previous`, marked deleted) and frees its userName for
    /// another user, while [`UserLookup::deleted_users_named`] still finds it
    /// by that name. MUST return `Conflict` when the stored version is not
    /// `previous.version`.
    fn delete_user(
        &self,
        org: &OrgId,
        previous: &DirectoryUser,
        deleted: &StoredUser,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The users that exist among `ids` (batched reads, strongly consistent);
    /// missing ids are left out.
    fn get_users(
        &self,
        org: &OrgId,
        ids: &[UserId],
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;

    /// A page of users in id order, after `start_after`.
    fn list_users(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<StoredUser>, Option<UserId>), StoreError>> + Send;
}

/// Finding the directory's users by what identifies them, and counting them.
pub trait UserLookup: Sync {
    /// Case-insensitive lookup of the user holding a userName (a user
    /// deleted by an earlier version may still hold one).
    fn find_user_by_user_name(
        &self,
        org: &OrgId,
        user_name: &str,
    ) -> impl Future<Output = Result<Option<StoredUser>, StoreError>> + Send;

    /// Deleted users that were named `user_name` (ignoring case) when they
    /// were deleted (at most `limit`, strongly consistent).
    fn deleted_users_named(
        &self,
        org: &OrgId,
        user_name: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;

    /// Users whose externalId is exactly `external_id` (at most `limit`).
    fn find_users_by_external_id(
        &self,
        org: &OrgId,
        external_id: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;

    /// Users whose email equals `email` ignoring case (at most `limit`).
    fn find_users_by_email(
        &self,
        org: &OrgId,
        email: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredUser>, StoreError>> + Send;

    /// A page of users' ids and directory status in id order, after
    /// `start_after` (a light listing: nothing else is read).
    fn user_statuses(
        &self,
        org: &OrgId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<UserStatus>, Option<UserId>), StoreError>> + Send;

    /// How many users the organization's directory holds (deleted ones too).
    fn count_users(&self, org: &OrgId) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The replicated directory's groups (their members: [`Memberships`]).
pub trait Groups: Sync {
    /// MUST return `Conflict` when the id exists.
    fn create_group(
        &self,
        org: &OrgId,
        group: &DirectoryGroup,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> impl Future<Output = Result<Option<DirectoryGroup>, StoreError>> + Send;

    /// A group and the users that exist among `users`, read together (one
    /// batched read, strongly consistent, where the store allows): what
    /// adding members reads before it writes. Missing ids are left out.
    fn group_with_users(
        &self,
        org: &OrgId,
        id: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<(Option<DirectoryGroup>, Vec<StoredUser>), StoreError>> + Send;

    /// A page of groups in id order, after `start_after`.
    fn list_groups(
        &self,
        org: &OrgId,
        start_after: Option<&GroupId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<DirectoryGroup>, Option<GroupId>), StoreError>> + Send;

    /// Writes a group's new version with its membership changes (`remove`
    /// first, then `add`: a user in both stays a member). MUST return
    /// `Conflict`, and change no membership, when the stored version is not
    /// `group.version - 1`. The adapter writes a few changes in one write
    /// with the group, all or nothing; more after it, as `remove_members`
    /// and `add_members` write them.
    fn update_group(
        &self,
        org: &OrgId,
        group: &DirectoryGroup,
        add: &[UserId],
        remove: &[UserId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a group item (its memberships are removed first, by the
    /// caller, with `remove_members`). Deleting a missing group is harmless.
    fn delete_group(
        &self,
        org: &OrgId,
        id: &GroupId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Groups whose displayName equals `name` ignoring case (at most `limit`).
    fn find_groups_by_name(
        &self,
        org: &OrgId,
        name: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<DirectoryGroup>, StoreError>> + Send;
}

/// Who is a member of which group.
pub trait Memberships: Sync {
    /// Adds memberships; adding an existing one is harmless.
    fn add_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Removes memberships; removing a missing one is harmless.
    fn remove_members(
        &self,
        org: &OrgId,
        group: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A page of a group's members in id order, after `start_after`.
    fn members(
        &self,
        org: &OrgId,
        group: &GroupId,
        start_after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<UserId>, Option<UserId>), StoreError>> + Send;

    /// Every group the user is a member of (strongly consistent).
    fn groups_of(
        &self,
        org: &OrgId,
        user: &UserId,
    ) -> impl Future<Output = Result<BTreeSet<GroupId>, StoreError>> + Send;

    /// For each of `users`, which of `groups` it is a member of (strongly
    /// consistent); users in none are left out. The adapter picks the cheaper
    /// reads: user × group keys in batches when `groups` are few (as the
    /// groups named by rules are), each user's groups otherwise.
    fn memberships_among(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<HashMap<UserId, BTreeSet<GroupId>>, StoreError>> + Send;

    /// How many members a group has.
    fn count_members(
        &self,
        org: &OrgId,
        group: &GroupId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The whole replicated directory: users, their lookups, groups and
/// memberships. Prefer the capability a piece of code needs.
pub trait Directory: Users + UserLookup + Groups + Memberships {}

impl<T: Users + UserLookup + Groups + Memberships> Directory for T {}
