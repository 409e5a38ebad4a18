//! The rule invariants: the checks, the cap, Full Admin while sync is on,
//! the guardrail, versions, retries, the order, the preview.

use super::*;
use crate::StoreError;
use crate::memory::product_rule;
use crate::ports::Groups;
use crate::ports::{Configuration, RuleSet, RuleWrite, StoredRule, SyncSettings};
use crate::rules::{AdminRole, Priority, Rule};
use crate::service::rules::{MAX_RULES, Move, ProposedChange, RuleError, RuleInput, Versioned};
use serde_json::json;

fn input(group: &str) -> RuleInput {
    RuleInput {
        group_id: group.to_owned(),
        products: ["G2M".to_owned()].into(),
        ..RuleInput::default()
    }
}

fn full_admin(group: &str) -> RuleInput {
    RuleInput {
        admin_role: Some(AdminRole::FullAdmin),
        ..input(group)
    }
}

/// Stores sync as on, over the rules as they are.
async fn sync_on(w: &World) {
    let set = w.store.rule_set(&w.org).await.unwrap();
    let on = SyncSettings {
        enabled: true,
        changed_at: None,
        changed_by: None,
    };
    w.store.put_sync(&w.org, &on, set.version).await.unwrap();
}

fn ids(set: &[StoredRule]) -> Vec<String> {
    set.iter().map(|r| r.rule.id.to_string()).collect()
}

#[tokio::test]
async fn a_rule_is_created_last_at_version_1_with_an_activity_entry() {
    let w = World::new().await;
    w.group("sales", 2).await;
    let rules = w.rules();
    let a = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    let b = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    assert_eq!((a.version, a.rule.priority.get()), (1, 1));
    assert_eq!(b.rule.priority.get(), 2);
    let set = rules.list(&w.org).await.unwrap();
    assert_eq!(set.version, 2);
    assert_eq!(
        ids(&set.rules),
        [a.rule.id.to_string(), b.rule.id.to_string()]
    );
    let entries = w.entries().await;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].actor, "Alice");
    assert_eq!(entries[0].at, "2026-12-01T09:00:00.000Z");
    assert_eq!(entries[0].details["priority"], 1);
}

#[tokio::test]
async fn an_invalid_rule_is_refused_naming_its_field() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let rules = w.rules();
    let cases = [
        (input("nobody"), "groupId"),
        (
            RuleInput {
                email_template: Some("welcome".into()),
                ..input("sales")
            },
            "emailTemplate",
        ),
        (
            RuleInput {
                language: Some("../etc".into()),
                ..input("sales")
            },
            "language",
        ),
        (
            RuleInput {
                priority: Some(3),
                ..input("sales")
            },
            "priority",
        ),
    ];
    for (body, field) in cases {
        match rules.create(&w.org, "Alice", body, false).await {
            Err(RuleError::Invalid { field: f, message }) => {
                assert_eq!(f, field, "{message}");
                assert!(message.starts_with(field), "{message}");
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(w.entries().await.is_empty());
}

#[tokio::test]
async fn the_cap_of_rules_is_kept() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let group = GroupId::parse("sales").unwrap();
    let rules: Vec<StoredRule> = (1..=MAX_RULES)
        .map(|n| StoredRule {
            rule: product_rule(
                crate::ids::RuleId::parse(&format!("r{n}")).unwrap(),
                group.clone(),
                Priority::new(u32::try_from(n).unwrap()).unwrap(),
                &[],
            ),
            version: 1,
        })
        .collect();
    w.store.put_rule_set(
        &w.org,
        RuleSet {
            rules,
            sync: SyncSettings {
                enabled: false,
                changed_at: None,
                changed_by: None,
            },
            version: 7,
        },
    );
    assert!(matches!(
        w.rules()
            .create(&w.org, "Alice", input("sales"), false)
            .await,
        Err(RuleError::TooMany)
    ));
}

#[tokio::test]
async fn while_sync_is_on_the_last_full_admin_rule_stays() {
    let w = World::new().await;
    w.group("admins", 1).await;
    let rules = w.rules();
    let admin = rules
        .create(&w.org, "Alice", full_admin("admins"), false)
        .await
        .unwrap();
    sync_on(&w).await;
    let id = &admin.rule.id;
    assert!(matches!(
        rules.delete(&w.org, "Alice", id, None, true).await,
        Err(RuleError::FullAdminRequired)
    ));
    let demote = |_: &Rule| Ok::<_, RuleError>((input("admins"), true));
    assert!(matches!(
        rules.replace(&w.org, "Alice", id, Some(1), demote).await,
        Err(RuleError::FullAdminRequired)
    ));
    // another Full Admin rule first: then it may go
    rules
        .create(&w.org, "Alice", full_admin("admins"), false)
        .await
        .unwrap();
    rules
        .delete(&w.org, "Alice", id, Some(1), true)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_guardrail_asks_for_confirmation_while_sync_is_on() {
    let w = World::new().await;
    w.group("admins", 1).await;
    w.group("sales", 9).await;
    w.guardrail(10).await;
    let rules = w.rules();
    rules
        .create(&w.org, "Alice", full_admin("admins"), false)
        .await
        .unwrap();
    let sales = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    // while sync is off a change applies nothing: never asked
    let off = rules
        .preview(
            &w.org,
            ProposedChange::<()>::Delete(sales.rule.id.to_string()),
            |_| Ok::<_, RuleError>(RuleInput::default()),
        )
        .await
        .unwrap();
    assert!(!off.guardrail.confirmation_required);
    sync_on(&w).await;
    match rules
        .delete(&w.org, "Alice", &sales.rule.id, None, false)
        .await
    {
        Err(RuleError::MassSuspension(g)) => {
            assert_eq!((g.suspended, g.directory_users), (9, 10));
            assert!(g.confirmation_required);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rules.list(&w.org).await.unwrap().rules.len(), 2);
    rules
        .delete(&w.org, "Alice", &sales.rule.id, None, true)
        .await
        .unwrap();
    assert_eq!(rules.list(&w.org).await.unwrap().rules.len(), 1);
}

#[tokio::test]
async fn a_stale_version_is_precondition_failed_and_a_write_moves_it_on() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let rules = w.rules();
    let rule = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    let id = &rule.rule.id;
    let edit = |_: &Rule| {
        Ok::<_, RuleError>((
            RuleInput {
                description: "Sales".into(),
                ..input("sales")
            },
            false,
        ))
    };
    let updated = rules
        .replace(&w.org, "Alice", id, Some(1), edit)
        .await
        .unwrap();
    assert_eq!(
        (updated.version, updated.rule.description.as_str()),
        (2, "Sales")
    );
    assert!(matches!(
        rules.replace(&w.org, "Alice", id, Some(1), edit).await,
        Err(RuleError::PreconditionFailed(Versioned::Rule))
    ));
    assert!(matches!(
        rules.delete(&w.org, "Alice", id, Some(1), false).await,
        Err(RuleError::PreconditionFailed(Versioned::Rule))
    ));
    let set = rules.list(&w.org).await.unwrap();
    assert!(matches!(
        rules
            .reorder(&w.org, "Alice", &ids(&set.rules), Some(set.version - 1))
            .await,
        Err(RuleError::PreconditionFailed(Versioned::Order))
    ));
    assert!(matches!(
        rules
            .get(&w.org, &crate::ids::RuleId::parse("gone").unwrap())
            .await,
        Err(RuleError::NotFound)
    ));
}

#[tokio::test]
async fn rules_move_and_are_reordered() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let rules = w.rules();
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(
            rules
                .create(&w.org, "Alice", input("sales"), false)
                .await
                .unwrap()
                .rule
                .id,
        );
    }
    let [a, b, c] = [&made[0], &made[1], &made[2]].map(|id| id.to_string());
    let moved = rules
        .move_rule(&w.org, "Alice", &made[2], None, Move::Up)
        .await
        .unwrap();
    assert_eq!(ids(&moved.rules), [a.clone(), c.clone(), b.clone()]);
    let moved = rules
        .move_rule(&w.org, "Alice", &made[1], Some(moved.version), Move::To(1))
        .await
        .unwrap();
    assert_eq!(ids(&moved.rules), [b.clone(), a.clone(), c.clone()]);
    assert!(matches!(
        rules
            .move_rule(&w.org, "Alice", &made[1], None, Move::To(4))
            .await,
        Err(RuleError::Invalid {
            field: "priority",
            ..
        })
    ));
    let order = vec![c.clone(), b.clone(), a.clone()];
    let reordered = rules
        .reorder(&w.org, "Alice", &order, Some(moved.version))
        .await
        .unwrap();
    assert_eq!(ids(&reordered.rules), order);
    assert_eq!(rules.list(&w.org).await.unwrap().version, reordered.version);
    assert!(matches!(
        rules.reorder(&w.org, "Alice", &order[..2], None).await,
        Err(RuleError::Invalid { field: "order", .. })
    ));
}

#[tokio::test]
async fn rule_entries_name_the_rules_groups_even_after_the_group_is_gone() {
    let w = World::new().await;
    w.group("sales", 0).await;
    w.group("support", 0).await;
    let rules = w.rules();
    // one second between events: the history lists them in their order
    let tick = || w.clock.advance(time::Duration::seconds(1));
    let a = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap()
        .rule
        .id;
    tick();
    let b = rules
        .create(&w.org, "Alice", input("support"), false)
        .await
        .unwrap()
        .rule
        .id;
    tick();
    rules
        .move_rule(&w.org, "Alice", &b, None, Move::To(1))
        .await
        .unwrap();
    tick();
    let order = vec![a.to_string(), b.to_string()];
    rules.reorder(&w.org, "Alice", &order, None).await.unwrap();
    tick();
    rules
        .delete(&w.org, "Alice", &a, None, false)
        .await
        .unwrap();
    tick();
    w.store
        .delete_group(&w.org, &GroupId::parse("support").unwrap())
        .await
        .unwrap();
    tick();
    rules
        .delete(&w.org, "Alice", &b, None, false)
        .await
        .unwrap();

    let entries = w.entries().await;
    let details: Vec<_> = entries.iter().map(|e| e.details.clone()).collect();
    assert_eq!(details[0]["group"], "sales");
    assert_eq!(details[1]["group"], "support");
    // a move names the rule moved, with where it was and where it went
    assert_eq!(details[2]["moved"].as_array().unwrap().len(), 1);
    assert_eq!(details[2]["moved"][0]["group"], "support");
    assert_eq!(
        (
            &details[2]["moved"][0]["from"],
            &details[2]["moved"][0]["to"]
        ),
        (&json!(2), &json!(1))
    );
    // a new order names every rule whose priority changed
    let moved: Vec<_> = details[3]["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["group"].as_str().unwrap())
        .collect();
    assert_eq!(moved, ["sales", "support"]);
    assert_eq!(details[3]["movedCount"], 2);
    assert_eq!(details[4]["group"], "sales");
    assert_eq!(details[4]["priority"], 1);
    // the group was deleted before its rule: the entry keeps the id
    assert_eq!(details[5]["group"], serde_json::Value::Null);
    assert_eq!(details[5]["groupId"], "support");
}

/// Configuration that lets another writer land first `n` times.
struct Contended<'a> {
    store: &'a MemoryStore,
    collisions: Mutex<usize>,
}

impl Configuration for Contended<'_> {
    async fn rule_set(&self, org: &OrgId) -> Result<RuleSet, StoreError> {
        self.store.rule_set(org).await
    }

    async fn write_rules(
        &self,
        org: &OrgId,
        write: &RuleWrite,
        order: &[crate::ids::RuleId],
        read: &RuleSet,
    ) -> Result<(), StoreError> {
        let collide = {
            let mut n = self.collisions.lock().unwrap();
            let c = *n > 0;
            *n = n.saturating_sub(1);
            c
        };
        if collide {
            // another admin reorders meanwhile
            self.store
                .write_rules(org, &RuleWrite::Reorder, &read.order(), read)
                .await?;
        }
        self.store.write_rules(org, write, order, read).await
    }

    async fn put_sync(&self, org: &OrgId, sync: &SyncSettings, v: u64) -> Result<(), StoreError> {
        self.store.put_sync(org, sync, v).await
    }
}

#[tokio::test]
async fn a_write_another_write_overtook_is_planned_again_then_given_up() {
    let w = World::new().await;
    w.group("sales", 0).await;
    let contended = Contended {
        store: &w.store,
        collisions: Mutex::new(2),
    };
    let rules = RuleService {
        config: &contended,
        orgs: &w.store,
        product_api: &w.product_api,
        templates: &w.store,
        directory: &w.store,
        state: &w.store,
        clock: &*w.clock,
        ids: &w.ids,
    };
    let made = rules
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    assert_eq!(made.version, 1);
    // two reorders and the create
    assert_eq!(w.store.rule_set(&w.org).await.unwrap().version, 3);
    *contended.collisions.lock().unwrap() = 3;
    assert!(matches!(
        rules.create(&w.org, "Alice", input("sales"), false).await,
        Err(RuleError::Conflict)
    ));
}

#[tokio::test]
async fn a_preview_counts_the_users_a_change_would_give_an_account() {
    let w = World::new().await;
    w.group("sales", 3).await;
    let rules = w.rules();
    let view = rules
        .preview(
            &w.org,
            ProposedChange::Create(input("sales")),
            Ok::<_, RuleError>,
        )
        .await
        .unwrap();
    assert!(view.complete);
    assert_eq!(view.totals.affected_users, 3);
    assert_eq!(view.users.len(), 3);
    assert!(!view.full_admin_rule_after);
    assert!(
        rules.list(&w.org).await.unwrap().rules.is_empty(),
        "nothing written"
    );
    assert!(matches!(
        rules
            .preview(
                &w.org,
                ProposedChange::Update {
                    id: "gone".into(),
                    rule: input("sales")
                },
                Ok::<_, RuleError>,
            )
            .await,
        Err(RuleError::NotFound)
    ));
}

#[tokio::test]
async fn a_preview_tells_unlimited_seats_from_unknown_ones() {
    let mut w = World::new().await;
    w.group("sales", 2).await;
    w.product_api.set_limit("G2W", Some(1));
    let mut webinar = input("sales");
    webinar.products.insert("G2W".to_owned());
    let view = w
        .rules()
        .preview(&w.org, ProposedChange::Create(webinar), Ok::<_, RuleError>)
        .await
        .unwrap();
    let seat = |v: &super::super::preview::PreviewView, p: &str| {
        v.seats.iter().find(|s| s.product == p).cloned().unwrap()
    };
    // G2M: no limit at the product API: unlimited, enough
    let g2m = seat(&view, "G2M");
    assert_eq!(
        (g2m.limit, g2m.used, g2m.sufficient),
        (None, Some(0), Some(true))
    );
    let g2w = seat(&view, "G2W");
    assert_eq!((g2w.limit, g2w.sufficient), (Some(1), Some(false)));

    // the product API does not answer: a rule naming products cannot be
    // checked; a change naming none previews with unknown seats
    let rule = w
        .rules()
        .create(&w.org, "Alice", input("sales"), false)
        .await
        .unwrap();
    w.product_api.down = true;
    assert!(matches!(
        w.rules()
            .preview(
                &w.org,
                ProposedChange::Create(input("sales")),
                Ok::<_, RuleError>
            )
            .await,
        Err(RuleError::ProductsUnavailable)
    ));
    assert!(matches!(
        w.rules()
            .create(&w.org, "Alice", input("sales"), false)
            .await,
        Err(RuleError::ProductsUnavailable)
    ));
    let view = w
        .rules()
        .preview(
            &w.org,
            ProposedChange::<RuleInput>::SyncOn,
            Ok::<_, RuleError>,
        )
        .await
        .unwrap();
    let g2m = seat(&view, "G2M");
    assert_eq!(
        (g2m.limit, g2m.used, g2m.available, g2m.sufficient),
        (None, None, None, None),
        "unknown, never enough"
    );
    assert_eq!(rule.rule.products.len(), 1);
}
