//! Reads that span both tables, or several kinds of item, at once: what a
//! SCIM request reads first with its token's item; what reconciling users
//! reads (the
//! users, their memberships among the rules' groups, their stored states)
//! what a job reads before it applies a state (the user's state, the
//! organization's domains that could cover its address) and what a welcome
//! email reads (the organization, the user's desired state).

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use crate::StoreError;
use crate::auth::StoredToken;
use crate::directory::{DirectoryGroup, ReturningKey, StoredUser};
use crate::domains::{DomainName, OrgDomain};
use crate::ids::{GroupId, OrgId, UserId};
use crate::ports::{ConfigStamp, Organization, UserStates};
use crate::state::{DesiredState, SyncStatus};

/// A request's first read with its token's item. A token names its
/// organization and id, so its item's key is known before anything is
/// read: it comes with what the request reads first, in one call. Nothing
/// else read may be used before the token is checked
/// ([`crate::auth::check_token`]).
pub trait TokenReads: Sync {
    /// The token's item (`None`: no such token) and the user
    /// ([`crate::ports::Users::get_user`]), read together, strongly
    /// consistent.
    fn token_with_user(
        &self,
        org: &OrgId,
        token_id: &str,
        user: &UserId,
    ) -> impl Future<Output = Result<(Option<StoredToken>, Option<StoredUser>), StoreError>> + Send;

    /// The token's item and [`crate::ports::Groups::group_with_users`]'s
    /// read of a group and the users among `users` that exist, together.
    fn token_with_group(
        &self,
        org: &OrgId,
        token_id: &str,
        group: &GroupId,
        users: &[UserId],
    ) -> impl Future<Output = Result<TokenWithGroup, StoreError>> + Send;

    /// The token's item and whether a deleted user may return by `key`
    /// (what a user create looks up first, [`crate::directory::returning_from`]),
    /// read together from the organization's index of its deleted users
    /// ([`ReturningIndex`]).
    fn token_with_returning(
        &self,
        org: &OrgId,
        token_id: &str,
        key: &ReturningKey,
    ) -> impl Future<Output = Result<(Option<StoredToken>, Returnable), StoreError>> + Send;
}

/// Whether a deleted user may return by a key, as the index says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returnable {
    /// None can: the organization's deleted users are indexed, and none
    /// that a returning person could take over has the key.
    None,
    /// One may: one has the key, or the organization's deleted users are
    /// not indexed yet. The create looks.
    Maybe,
}

/// An organization's deleted users, indexed by the keys a returning
/// person finds them by ([`ReturningKey::all_of`]), so that a create knows
/// without a look that it returns as no one. Deleting a user files it
/// ([`crate::ports::Users::delete_user`]); a returning person taking it
/// over takes it out ([`crate::ports::Users::create_returning_user`]), each
/// in the same write. An organization created with the index has it
/// whole from its start; one created before is indexed by
/// [`crate::returning::index_organization`], once.
pub trait ReturningIndex: Sync {
    /// Files `deleted` (deleted users a returning person could take over)
    /// under their keys. Filing one again changes nothing.
    fn file_returnable(
        &self,
        org: &OrgId,
        deleted: &[crate::directory::DirectoryUser],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Marks the organization's deleted users all filed: from then on,
    /// [`TokenReads::token_with_returning`] answers [`Returnable::None`]
    /// for a key nobody is filed under.
    fn mark_returnable_indexed(
        &self,
        org: &OrgId,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// [`TokenReads::token_with_group`]'s read: the token's item, the group,
/// the users found.
pub type TokenWithGroup = (Option<StoredToken>, Option<DirectoryGroup>, Vec<StoredUser>);

/// The inputs of reconciling some users, read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReconcileInputs {
    /// The users that exist among those asked for (none when they were
    /// given: [`ReconcileReads::states_to_reconcile`]).
    pub users: Vec<StoredUser>,
    /// For each user, which of the groups asked for it is a member of;
    /// users in none are left out.
    pub memberships: HashMap<UserId, BTreeSet<GroupId>>,
    /// Desired states and sync statuses; users with neither are left out.
    pub states: UserStates,
}

/// One read for what [`crate::ports::Users::get_users`],
/// [`crate::ports::Memberships::memberships_among`] and
/// [`crate::ports::DesiredStates::user_states`] read separately: a user's
/// item, its memberships and its state in the same batched reads (strongly
/// consistent), whichever table holds them.
pub trait ReconcileReads: Sync {
    /// The users among `users` that exist, which of `groups` each is a
    /// member of, and their desired states and sync statuses.
    fn users_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<ReconcileInputs, StoreError>> + Send;

    /// [`ReconcileReads::users_to_reconcile`] with the organization's
    /// [`ConfigStamp`] (as [`crate::ports::Configuration::rule_set`] would
    /// give it), in the same read: rules kept from an earlier read are
    /// current while the stamp's version is theirs.
    fn users_with_config(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<(ReconcileInputs, ConfigStamp), StoreError>> + Send;

    /// As [`ReconcileReads::users_to_reconcile`] for users already read
    /// (listed): their memberships and states only.
    fn states_to_reconcile(
        &self,
        org: &OrgId,
        users: &[UserId],
        groups: &BTreeSet<GroupId>,
    ) -> impl Future<Output = Result<ReconcileInputs, StoreError>> + Send;
}

/// What a job reads before it applies the user's desired state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobInputs {
    pub desired: Option<DesiredState>,
    pub status: Option<SyncStatus>,
    /// The organization's domains among the one asked for and its parents
    /// ([`DomainName::with_parents`]), in the order of their names; `None`
    /// when no domain was asked for.
    pub domains: Option<Vec<OrgDomain>>,
    /// The organization, read when a domain was asked for (a job for an
    /// active account, whose creation sends a welcome email that carries
    /// it); `None` otherwise, or when it is not found.
    pub organization: Option<Organization>,
}

/// One read for what [`crate::ports::DesiredStates::user_state`] and
/// [`crate::domains::Domains::list_domains`] read separately, the domains
/// narrowed to those an address in one domain needs: a job's read before it
/// writes an active account.
pub trait JobReads: Sync {
    /// The user's desired state and sync status, strongly consistent, and
    /// when `domain` is given, the organization's domains that could cover
    /// an address in it (the others cannot change whether it is allowed)
    /// and the organization.
    fn job_inputs(
        &self,
        org: &OrgId,
        user: &UserId,
        domain: Option<&DomainName>,
    ) -> impl Future<Output = Result<JobInputs, StoreError>> + Send;
}

/// What the welcome emails of a batch need beyond their jobs, read together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WelcomeInputs {
    /// The organizations found.
    pub orgs: HashMap<OrgId, Organization>,
    /// The users' current desired states, where one is stored.
    pub desired: HashMap<(OrgId, UserId), DesiredState>,
}

impl WelcomeInputs {
    /// The organization (`None`: not found) and the user's current desired
    /// state (`None`: none stored), as read.
    pub fn of(&self, org: &OrgId, user: &UserId) -> (Option<Organization>, Option<DesiredState>) {
        (
            self.orgs.get(org).cloned(),
            self.desired.get(&(org.clone(), user.clone())).cloned(),
        )
    }
}

/// One read for what the welcome emails of a batch need beyond their jobs:
/// [`crate::ports::Organizations::get_org`] of each organization and each
/// user's desired state ([`crate::ports::DesiredStates::user_state`]
/// without the status).
pub trait WelcomeReads: Sync {
    /// The organizations of `users` and the users' current desired states,
    /// strongly consistent; what is not found is left out.
    fn welcome_inputs(
        &self,
        users: &[(OrgId, UserId)],
    ) -> impl Future<Output = Result<WelcomeInputs, StoreError>> + Send;
}
