//! Effective assignment: one user's assignment from its groups and the
//! organization's rules, for 10, 100 and 1,000 rules and users in 1, 5 and
//! 20 groups. Run with `cargo bench -p user-sync-core --bench assignment`
//! (see docs/performance.md).
//!
//! Measured as the evaluator computes it: the rules are indexed by group
//! once (`RuleIndex::new`, once per batch or fan-out page in the evaluator),
//! outside the measured loop; each iteration is one user's call.
//!
//! - `effective_assignment/…`: `index.assign(status, &groups)`, the
//!   assignment as references into the rules (status, matching rules, the
//!   rule that supplies each single-valued field);
//! - `unchanged_assignment/…`: that, then `unchanged(…)`, the evaluator's
//!   test of a user whose stored desired state already holds it (facts,
//!   assignment and language compared in place): what the evaluator does
//!   for every user whose assignment did not change;
//! - `stored_assignment/…`: `index.assign(…)` and `to_assignment()`, the
//!   stored and explained shape the evaluator makes for a user whose
//!   assignment changed (values and ids copied out, products and device
//!   groups unioned with their provenance);
//! - `unindexed_assignment/…`: `effective_assignment(status, &groups,
//!   &rules)`, which tests every rule, as explain and the preview call it.
//!
//! The rules look like an organization's: each names one group (two rules
//! per group: one that grants products, one that grants products and sets a
//! role, a user group or a template), grants two or three of eight products,
//! and some set an admin role, a user group, device groups, a settings or
//! welcome-email template or a language. A user's groups match a handful of
//! rules (2, 6 and 10 for 1, 5 and 20 groups); the rest of its groups are
//! named by no rule.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use user_sync_core::directory::{DirectoryStatus, UserFacts};
use user_sync_core::ids::{GroupId, RuleId};
use user_sync_core::language::account_language;
use user_sync_core::rules::{AdminRole, Priority, Rule, RuleIndex, effective_assignment};
use user_sync_core::state::{DesiredState, unchanged};

const PRODUCTS: [&str; 8] = [
    "chat",
    "docs",
    "crm",
    "analytics",
    "storage",
    "video",
    "sign",
    "support",
];

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn rule_group(g: usize) -> GroupId {
    GroupId::parse(&format!("grp-{g:04}")).unwrap()
}

/// `n` rules in priority order; rule `i` names group `i / 2`.
fn rules(n: usize) -> Vec<Rule> {
    (0..n)
        .map(|i| {
            let products = (0..2 + i % 2)
                .map(|k| PRODUCTS[(i * 3 + k) % PRODUCTS.len()].to_owned())
                .collect();
            let admin_role = match i % 10 {
                1 => Some(AdminRole::Manager {
                    privileges: set(&["users.read", "users.write"]),
                    managed_groups: set(&["sales", "support"]),
                }),
                5 => Some(AdminRole::None),
                9 => Some(AdminRole::FullAdmin),
                _ => None,
            };
            let odd = i % 2 == 1;
            Rule {
                id: RuleId::parse(&format!("rule-{i:04}")).unwrap(),
                group_id: rule_group(i / 2),
                description: format!("Rule {i}"),
                priority: Priority::new(u32::try_from(i + 1).unwrap()).unwrap(),
                products,
                admin_role,
                user_group: (odd && i % 3 == 0).then(|| format!("team-{}", i / 3)),
                device_groups: if i % 4 == 0 {
                    set(&["laptops", "phones"])
                } else {
                    BTreeSet::new()
                },
                settings_template: (odd && i % 5 == 3).then(|| "standard".to_owned()),
                email_template: (odd && i % 7 == 1).then(|| "welcome-staff".to_owned()),
                language: (i % 11 == 0).then(|| "en".to_owned()),
            }
        })
        .collect()
}

/// A user in `n` groups, of which `matching` are named by rules (spread over
/// the whole rule list, so that low and high priorities both match).
fn groups(n: usize, matching: usize, rule_groups: usize) -> BTreeSet<GroupId> {
    let matching = matching.min(rule_groups).min(n);
    let mut out: BTreeSet<GroupId> = (0..matching)
        .map(|k| rule_group(k * rule_groups / matching))
        .collect();
    out.extend((out.len()..n).map(|k| GroupId::parse(&format!("other-{k:04}")).unwrap()));
    out
}

/// The measured cases: rules, groups, and the groups' matching rules.
const CASES: [(usize, usize, usize); 10] = [
    (10, 1, 1),
    (10, 5, 3),
    (10, 20, 5),
    (100, 1, 1),
    (100, 5, 3),
    (100, 20, 5),
    (1_000, 1, 1),
    (1_000, 5, 3),
    (1_000, 20, 5),
    // the goal's case
    (20, 5, 3),
];

fn bench(c: &mut Criterion) {
    for (n_rules, n_groups, matching) in CASES {
        let rules = rules(n_rules);
        let groups = groups(n_groups, matching, n_rules / 2);
        let index = RuleIndex::new(&rules);
        let a = index
            .assign(DirectoryStatus::Active, &groups)
            .to_assignment();
        assert!(a.is_active());
        assert_eq!(a.provenance.matched.len(), 2 * matching);
        assert_eq!(
            a,
            effective_assignment(DirectoryStatus::Active, &groups, &rules)
        );
        let id = format!("{n_rules}_rules_{n_groups}_groups");

        let mut group = c.benchmark_group("effective_assignment");
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(&id), |b| {
            b.iter(|| index.assign(black_box(DirectoryStatus::Active), black_box(&groups)));
        });
        group.finish();

        let facts = UserFacts {
            status: DirectoryStatus::Active,
            email: "ada@example.com".into(),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            locale: None,
            account_key: None,
            relinked_from: None,
            handed_over: false,
        };
        let stored = DesiredState {
            generation: 1,
            language: account_language(&a, &facts, Some("en")),
            facts: facts.clone(),
            assignment: a.clone(),
            updated_at: "2026-12-06T09:00:00.000Z".into(),
            cause: None,
        };
        let mut group = c.benchmark_group("unchanged_assignment");
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(&id), |b| {
            b.iter(|| {
                let assigned = index.assign(black_box(DirectoryStatus::Active), black_box(&groups));
                let same = unchanged(Some(black_box(&stored)), 1, &facts, &assigned, Some("en"));
                assert!(same);
                same
            });
        });
        group.finish();

        let mut group = c.benchmark_group("stored_assignment");
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(&id), |b| {
            b.iter(|| {
                index
                    .assign(black_box(DirectoryStatus::Active), black_box(&groups))
                    .to_assignment()
            });
        });
        group.finish();

        let mut group = c.benchmark_group("unindexed_assignment");
        group.throughput(Throughput::Elements(1));
        group.bench_function(BenchmarkId::from_parameter(&id), |b| {
            b.iter(|| {
                effective_assignment(
                    black_box(DirectoryStatus::Active),
                    black_box(&groups),
                    black_box(&rules),
                )
            });
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
