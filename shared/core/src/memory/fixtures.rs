//! Example directory users, their facts and rules, as tests and benchmarks
//! write them.

use std::collections::BTreeSet;

use crate::directory::{DirectoryStatus, DirectoryUser, UserFacts};
use crate::ids::{GroupId, RuleId, UserId};
use crate::rules::{Priority, Rule, effective_assignment};
use crate::state::{DesiredState, Outcome, SyncStatus};

/// An active directory user named after its id (`{id}@example.com`), as
/// benchmarks fill a directory with.
pub fn member(id: &UserId) -> DirectoryUser {
    DirectoryUser {
        id: id.clone(),
        user_name: format!("{id}@example.com"),
        external_id: None,
        active: true,
        deleted: false,
        given_name: Some("Member".into()),
        family_name: None,
        email: Some(format!("{id}@example.com")),
        locale: None,
        created: "2026-11-22T00:00:00Z".into(),
        last_modified: "2026-11-22T00:00:00Z".into(),
        version: 1,
        link: Default::default(),
    }
}

/// A rule of `group` that grants `products` and nothing else, as tests and
/// benchmarks write.
pub fn product_rule(id: RuleId, group: GroupId, priority: Priority, products: &[&str]) -> Rule {
    Rule {
        id,
        group_id: group,
        description: String::new(),
        priority,
        products: products.iter().map(|p| (*p).to_owned()).collect(),
        admin_role: None,
        user_group: None,
        device_groups: BTreeSet::new(),
        settings_template: None,
        email_template: None,
        language: None,
    }
}

/// Ada's desired state at generation 1: her facts with `status` and her
/// address at `email`, a member of group `sales`, to which rule `r` gives
/// `G2M` (an active account unless `status` says otherwise).
pub fn ada_desired(status: DirectoryStatus, email: &str) -> DesiredState {
    let group = GroupId::parse("sales").unwrap_or_else(|e| unreachable!("{e}"));
    let rule = product_rule(
        RuleId::parse("r").unwrap_or_else(|e| unreachable!("{e}")),
        group.clone(),
        Priority::new(1).unwrap_or_else(|e| unreachable!("{e}")),
        &["G2M"],
    );
    let mut facts = ada_facts();
    facts.status = status;
    email.clone_into(&mut facts.email);
    DesiredState {
        generation: 1,
        assignment: effective_assignment(status, &BTreeSet::from([group]), &[rule]),
        facts,
        language: None,
        updated_at: "2026-12-06T09:00:00.000Z".into(),
        cause: None,
    }
}

/// The facts of Ada, an active user (`ada@example.com`, given name Ada,
/// nothing else).
pub fn ada_facts() -> UserFacts {
    UserFacts {
        status: DirectoryStatus::Active,
        email: "ada@example.com".into(),
        given_name: Some("Ada".into()),
        family_name: None,
        locale: None,
        account_key: None,
        relinked_from: None,
        handed_over: false,
    }
}

/// A sync status whose last attempt (the first at `generation`) ended in
/// `outcome`, nothing dead-lettered.
pub fn applied_status(generation: u64, outcome: Outcome) -> SyncStatus {
    SyncStatus {
        applied_generation: generation,
        last_outcome: outcome,
        failure: None,
        attempts: 1,
        at: "t".into(),
        dead_lettered: false,
        retried_at: None,
        failure_entry: None,
    }
}
