//! Rules: list, create, replace (and patch), delete, move, reorder and
//! preview. Every write checks the rule against the directory, the
//! organization's templates, the products the product API offers and the
//! catalogue's lists, keeps at most [`MAX_RULES`],
//! keeps a Full Admin rule while sync is on (DESIGN §4) and, while sync is
//! on, asks for confirmation past the mass-suspension guardrail. A write
//! lands only on the configuration it checked: when another write came
//! first it is planned again on what that one stored ([`WRITE_ATTEMPTS`]
//! times), and a version the caller names (its `If-Match`) that is no
//! longer stored is [`RuleError::PreconditionFailed`].

use super::guardrail::Guardrail;
use super::preview::{self, PreviewView};
use crate::activity::Action;
use crate::clock::{Clock, IdSource, NoRandomness};
use crate::ids::{GroupId, OrgId, RuleId, TemplateId};
use crate::ports::{
    ActivityLog, Configuration, DesiredStates, Directory, Organizations, ProductApi, RuleSet,
    RuleWrite, StoredRule, Templates,
};
pub use crate::rules::input::RuleInput;
use crate::rules::preview::{RuleChange, apply_change};
use crate::rules::{Priority, Rule};
use crate::{DomainError, StoreError};

mod write;

use write::Plan;
pub use write::Written;

/// Most rules per organization.
pub const MAX_RULES: usize = 500;
/// Attempts when another write changed the configuration meanwhile.
pub const WRITE_ATTEMPTS: usize = 3;

/// What a stale version named: one rule, or the rules' order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versioned {
    Rule,
    Order,
}

impl std::fmt::Display for Versioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Versioned::Rule => "the rule",
            Versioned::Order => "the rules' order",
        })
    }
}

/// Why a rule operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rule (or the order, or the change) is not valid; `message` names
    /// `field`.
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no such rule")]
    NotFound,
    /// While sync is on, at least one rule must grant Full Admin.
    #[error("while sync is on, at least one rule must grant Full Admin")]
    FullAdminRequired,
    /// The change would suspend more users than the guardrail allows
    /// without confirmation.
    #[error("the change would suspend more users than the guardrail allows")]
    MassSuspension(Guardrail),
    #[error("at most {MAX_RULES} rules per organization")]
    TooMany,
    /// Other writes kept landing first for [`WRITE_ATTEMPTS`] attempts.
    #[error("the rules kept changing while the change was applied")]
    Conflict,
    /// The version the caller read is no longer stored.
    #[error("{0} was changed by someone else")]
    PreconditionFailed(Versioned),
    /// The rule names products and the product API did not say which it
    /// offers (a rule is never written unchecked).
    #[error("the product API did not answer: the rule's products cannot be checked")]
    ProductsUnavailable,
    #[error(transparent)]
    NoRandomness(#[from] NoRandomness),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid(field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        field,
        message: message.into(),
    }
}

/// A domain error, as `field: reason`.
fn refused(e: DomainError) -> RuleError {
    invalid(e.field, format!("{}: {}", e.field, e.reason))
}

/// The rule `id` as read, if `expected` (when given) is still its version.
fn read_rule<'s>(
    set: &'s RuleSet,
    id: &RuleId,
    expected: Option<u64>,
) -> Result<&'s StoredRule, RuleError> {
    let stored = set.get(id).ok_or(RuleError::NotFound)?;
    if expected.is_some_and(|v| v != stored.version) {
        return Err(RuleError::PreconditionFailed(Versioned::Rule));
    }
    Ok(stored)
}

/// Where `POST /rules/{id}/move` takes a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
    /// To this priority (1 is the highest).
    To(u32),
}

/// A change to preview; `B` is the rule as the caller has it, turned into a
/// [`RuleInput`] only when the preview gets to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProposedChange<B> {
    Create(B),
    Update { id: String, rule: B },
    Delete(String),
    Reorder(Vec<String>),
    SyncOn,
}

/// The rules' decisions, over the ports they read and write.
pub struct RuleService<'a, C, O, T, D, S, K, I, P> {
    /// The rules and the sync switch.
    pub config: &'a C,
    /// The organization's catalogue and guardrail threshold.
    pub orgs: &'a O,
    /// The products a rule may name (and the seats a preview needs).
    pub product_api: &'a P,
    /// The templates a rule may name.
    pub templates: &'a T,
    /// Groups a rule names; the users the guardrail and a preview count.
    pub directory: &'a D,
    /// Users' desired states (guardrail, preview) and the activity history.
    pub state: &'a S,
    pub clock: &'a K,
    pub ids: &'a I,
}

impl<C, O, T, D, S, K, I, P> RuleService<'_, C, O, T, D, S, K, I, P>
where
    C: Configuration,
    O: Organizations,
    T: Templates,
    D: Directory,
    S: DesiredStates + ActivityLog,
    K: Clock,
    I: IdSource,
    P: ProductApi,
{
    /// Every rule, highest priority first, with the order's version.
    pub async fn list(&self, org: &OrgId) -> Result<RuleSet, RuleError> {
        Ok(self.config.rule_set(org).await?)
    }

    /// One rule with its version.
    pub async fn get(&self, org: &OrgId, id: &RuleId) -> Result<StoredRule, RuleError> {
        let set = self.config.rule_set(org).await?;
        set.get(id).cloned().ok_or(RuleError::NotFound)
    }

    /// A new rule (last when `input.priority` is `None`), by `actor`.
    pub async fn create(
        &self,
        org: &OrgId,
        actor: &str,
        input: RuleInput,
        confirm: bool,
    ) -> Result<StoredRule, RuleError> {
        let id = RuleId::parse(&self.ids.new_id()?).map_err(refused)?;
        let requested = input.priority;
        // the priority is checked against the rules the write reads
        let rule = self
            .rule_from(org, id.clone(), input, Priority::MAX)
            .await?;
        let written = self
            .write(org, actor, |set| {
                let last = u32::try_from(set.rules.len() + 1).unwrap_or(Priority::MAX);
                let priority = match requested {
                    Some(p) if p > last => {
                        return Err(invalid(
                            "priority",
                            format!("priority: 1 to {last} (one past the lowest rule)"),
                        ));
                    }
                    Some(p) => p,
                    None => last,
                };
                let rule = Rule {
                    priority: Priority::new(priority)
                        .map_err(|e| invalid("priority", format!("priority: {}", e.reason)))?,
                    ..rule.clone()
                };
                Ok(Plan {
                    write: RuleWrite::Create(rule.clone()),
                    change: RuleChange::Create(rule),
                    confirm,
                    action: Action::RuleCreated,
                    subject: id.to_string(),
                })
            })
            .await?;
        written.rule(&id)
    }

    /// Replaces rule `id` with what `build` makes of the rule as stored
    /// (the input and whether the caller confirmed): a whole rule
    /// (`PUT`), or the stored one with some fields changed (`PATCH`).
    /// `expected` is the version the caller read (`None`: any). `build`
    /// runs after the rule is found and before the version is compared,
    /// so that an invalid request is refused as such whatever it names.
    pub async fn replace<E>(
        &self,
        org: &OrgId,
        actor: &str,
        id: &RuleId,
        expected: Option<u64>,
        build: impl FnOnce(&Rule) -> Result<(RuleInput, bool), E>,
    ) -> Result<StoredRule, E>
    where
        E: From<RuleError>,
    {
        let set = self.config.rule_set(org).await.map_err(RuleError::from)?;
        let current = read_rule(&set, id, None)?;
        let (input, confirm) = build(&current.rule)?;
        let rule = self
            .rule_from(org, id.clone(), input, current.rule.priority.get())
            .await?;
        let last = u32::try_from(set.rules.len()).unwrap_or(Priority::MAX);
        if rule.priority.get() > last {
            return Err(invalid("priority", format!("priority: 1 to {last}")).into());
        }
        read_rule(&set, id, expected)?;
        let written = self
            .write(org, actor, |set| {
                let stored = read_rule(set, id, expected)?;
                Ok(Plan {
                    write: RuleWrite::Update {
                        rule: rule.clone(),
                        expected_version: stored.version,
                    },
                    change: RuleChange::Update(rule.clone()),
                    confirm,
                    action: Action::RuleUpdated,
                    subject: id.to_string(),
                })
            })
            .await?;
        Ok(written.rule(id)?)
    }

    /// Deletes rule `id` if it is still at `expected` (`None`: any).
    pub async fn delete(
        &self,
        org: &OrgId,
        actor: &str,
        id: &RuleId,
        expected: Option<u64>,
        confirm: bool,
    ) -> Result<(), RuleError> {
        self.write(org, actor, |set| {
            let stored = read_rule(set, id, expected)?;
            Ok(Plan {
                write: RuleWrite::Delete {
                    id: id.clone(),
                    expected_version: stored.version,
                },
                change: RuleChange::Delete(id.clone()),
                confirm,
                action: Action::RuleDeleted,
                subject: id.to_string(),
            })
        })
        .await
        .map(drop)
    }

    /// Moves rule `id` up, down or to a priority, if the order is still at
    /// `expected` (`None`: any).
    pub async fn move_rule(
        &self,
        org: &OrgId,
        actor: &str,
        id: &RuleId,
        expected: Option<u64>,
        target: Move,
    ) -> Result<Written, RuleError> {
        self.write(org, actor, |set| {
            if expected.is_some_and(|v| v != set.version) {
                return Err(RuleError::PreconditionFailed(Versioned::Order));
            }
            let mut order = set.order();
            let from = order
                .iter()
                .position(|r| r == id)
                .ok_or(RuleError::NotFound)?;
            let to = match target {
                Move::Up => from.saturating_sub(1),
                Move::Down => (from + 1).min(order.len() - 1),
                Move::To(p) => {
                    let p = usize::try_from(p).unwrap_or(usize::MAX);
                    if p == 0 || p > order.len() {
                        return Err(invalid(
                            "priority",
                            format!("priority: 1 to {}", order.len()),
                        ));
                    }
                    p - 1
                }
            };
            let moving = order.remove(from);
            order.insert(to, moving);
            Ok(Plan {
                write: RuleWrite::Reorder,
                change: RuleChange::Reorder(order),
                confirm: true,
                action: Action::RulesReordered,
                subject: id.to_string(),
            })
        })
        .await
    }

    /// Puts the rules in `order` (every rule id, highest priority first), if
    /// the order is still at `expected` (`None`: any).
    pub async fn reorder(
        &self,
        org: &OrgId,
        actor: &str,
        order: &[String],
        expected: Option<u64>,
    ) -> Result<Written, RuleError> {
        if order.len() > MAX_RULES {
            return Err(invalid("order", format!("order: at most {MAX_RULES} ids")));
        }
        let order = parse_order(order)?;
        self.write(org, actor, |set| {
            if expected.is_some_and(|v| v != set.version) {
                return Err(RuleError::PreconditionFailed(Versioned::Order));
            }
            Ok(Plan {
                write: RuleWrite::Reorder,
                change: RuleChange::Reorder(order.clone()),
                confirm: true,
                action: Action::RulesReordered,
                subject: "order".into(),
            })
        })
        .await
    }

    /// What a change would do, without doing it: the users whose accounts
    /// change, the seats needed (asked of the product API), the guardrail's
    /// verdict. `input` turns the change's rule into a [`RuleInput`].
    pub async fn preview<B, E>(
        &self,
        org: &OrgId,
        change: ProposedChange<B>,
        input: impl FnOnce(B) -> Result<RuleInput, E>,
    ) -> Result<PreviewView, E>
    where
        E: From<RuleError>,
    {
        let set = self.config.rule_set(org).await.map_err(RuleError::from)?;
        let current = set.rules();
        let parse_id = |s: &str| RuleId::parse(s).map_err(|_| RuleError::NotFound);
        let change = match change {
            ProposedChange::Create(rule) => {
                let last = u32::try_from(current.len() + 1).unwrap_or(Priority::MAX);
                let id = RuleId::parse("proposed").map_err(refused)?;
                RuleChange::Create(self.rule_from(org, id, input(rule)?, last).await?)
            }
            ProposedChange::Update { id, rule } => {
                let id = parse_id(&id)?;
                let old = set.get(&id).ok_or(RuleError::NotFound)?;
                let priority = old.rule.priority.get();
                RuleChange::Update(self.rule_from(org, id, input(rule)?, priority).await?)
            }
            ProposedChange::Delete(id) => RuleChange::Delete(parse_id(&id)?),
            ProposedChange::Reorder(order) => RuleChange::Reorder(parse_order(&order)?),
            ProposedChange::SyncOn => RuleChange::SyncOn,
        };
        let proposed = apply_change(&current, &change).map_err(refused)?;
        let computed = preview::compute(
            self.directory,
            self.state,
            org,
            &current,
            &proposed,
            &change,
        )
        .await
        .map_err(RuleError::from)?;
        let seats = preview::seats(self.product_api, org, &computed.totals).await;
        let mut verdict = self.guardrail(org, &current, &proposed, &change).await?;
        // as the write: while sync is off a rule change applies nothing, so
        // it is never asked (turning sync on is)
        if !set.sync.enabled && !matches!(change, RuleChange::SyncOn) {
            verdict.confirmation_required = false;
        }
        Ok(preview::view(
            &computed,
            seats,
            verdict,
            set.sync.enabled,
            proposed.iter().any(Rule::grants_full_admin),
        ))
    }

    /// Checks an input and builds the rule it describes.
    async fn rule_from(
        &self,
        org: &OrgId,
        id: RuleId,
        input: RuleInput,
        default_priority: u32,
    ) -> Result<Rule, RuleError> {
        let group_id = GroupId::parse(&input.group_id)
            .map_err(|e| invalid("groupId", format!("groupId: {e}")))?;
        if self.directory.get_group(org, &group_id).await?.is_none() {
            return Err(invalid(
                "groupId",
                "groupId does not name a directory group of this organization",
            ));
        }
        input.check_sizes().map_err(refused)?;
        if let Some(name) = &input.email_template {
            self.check_template(org, name).await?;
        }
        input.check_rest().map_err(refused)?;
        let priority = Priority::new(input.priority.unwrap_or(default_priority))
            .map_err(|e| invalid("priority", format!("priority: {}", e.reason)))?;
        let rule = Rule {
            id,
            group_id,
            description: input.description,
            priority,
            products: input.products,
            admin_role: input.admin_role,
            user_group: input.user_group,
            device_groups: input.device_groups,
            settings_template: input.settings_template,
            email_template: input.email_template,
            language: input.language,
        };
        // products the product API offers; privileges, groups and
        // templates of the catalogue's lists (none when it has none)
        let offered = if rule.products.is_empty() {
            Vec::new()
        } else {
            self.product_api
                .products(org)
                .await
                .map_err(|_| RuleError::ProductsUnavailable)?
        };
        let catalog = self
            .orgs
            .get_org(org)
            .await?
            .and_then(|o| o.catalog)
            .unwrap_or_default();
        catalog.check_rule(&offered, &rule).map_err(refused)?;
        Ok(rule)
    }

    /// `emailTemplate` names `default` or one of the organization's templates.
    async fn check_template(&self, org: &OrgId, name: &str) -> Result<(), RuleError> {
        let unknown = || {
            invalid(
                "emailTemplate",
                format!(
                    "emailTemplate: \"{name}\" is not a template of this organization; use an id from GET /api/v1/templates, or \"default\""
                ),
            )
        };
        let id = TemplateId::parse(name).map_err(|_| unknown())?;
        if id.is_shipped_default() {
            return Ok(());
        }
        match self.templates.get_template(org, &id).await? {
            Some(_) => Ok(()),
            None => Err(unknown()),
        }
    }
}

/// Rule ids, highest priority first.
fn parse_order(order: &[String]) -> Result<Vec<RuleId>, RuleError> {
    order
        .iter()
        .map(|s| RuleId::parse(s).map_err(|e| invalid("order", format!("order: {e}"))))
        .collect()
}
