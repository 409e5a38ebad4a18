//! The desired state of a user's product account, as the evaluator stores it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::directory::UserFacts;
use crate::language::{AccountLanguage, account_language};
use crate::rules::{AdminRole, EffectiveAssignment};

/// What the evaluator decided a user should have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DesiredState {
    pub generation: u64,
    pub facts: UserFacts,
    pub assignment: EffectiveAssignment,
    /// The account's language and where it came from (see
    /// [`account_language`]). States stored before it was kept have none:
    /// [`DesiredState::language`] falls back to the rule's, then the
    /// directory's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<AccountLanguage>,
    pub updated_at: String,
    /// What stored this generation: the stream record, or the fan-out chunk.
    /// When that same cause is processed again (Lambda retries a record
    /// whose job may not have been sent), the job is sent again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
}

/// The account state the product API is asked to hold (DESIGN §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductAccount {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub locale: Option<String>,
    pub status: AccountStatus,
    pub products: BTreeSet<String>,
    pub role: String,
    pub privileges: BTreeSet<String>,
    pub managed_groups: BTreeSet<String>,
    pub user_group: Option<String>,
    pub device_groups: BTreeSet<String>,
    pub settings_template: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Suspended,
}

/// Builds the product account for a user's facts, assignment and the
/// account's language.
pub fn product_account(
    facts: &UserFacts,
    a: &EffectiveAssignment,
    language: Option<&AccountLanguage>,
) -> ProductAccount {
    let (privileges, managed_groups) = match &a.admin_role {
        AdminRole::Manager {
            privileges,
            managed_groups,
        } => (privileges.clone(), managed_groups.clone()),
        AdminRole::None | AdminRole::FullAdmin => (BTreeSet::new(), BTreeSet::new()),
    };
    ProductAccount {
        email: facts.email.clone(),
        given_name: facts.given_name.clone(),
        family_name: facts.family_name.clone(),
        locale: language.map(|l| l.language.clone()),
        status: if a.is_active() {
            AccountStatus::Active
        } else {
            AccountStatus::Suspended
        },
        products: a.products.clone(),
        role: a.admin_role.name().to_owned(),
        privileges,
        managed_groups,
        user_group: a.user_group.clone(),
        device_groups: a.device_groups.clone(),
        settings_template: a.settings_template.clone(),
    }
}

impl DesiredState {
    pub fn account(&self) -> ProductAccount {
        product_account(&self.facts, &self.assignment, self.language().as_ref())
    }

    /// The account's language (the product account's `locale`, the welcome
    /// email's language). A state stored before the language was kept
    /// falls back to the rule's language, then the directory's.
    pub fn language(&self) -> Option<AccountLanguage> {
        self.language
            .clone()
            .or_else(|| account_language(&self.assignment, &self.facts, None))
    }
}
