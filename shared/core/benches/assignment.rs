//! Effective assignment: one user's assignment from its groups and the
//! organization's rules, for 10, 100 and 1,000 rules and users in 1, 5 and
//! 20 groups. Run with `cargo bench -p user-sync-core --bench assignment`
//! (see docs/performance.md).
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
use user_sync_core::directory::DirectoryStatus;
use user_sync_core::ids::{GroupId, RuleId};
use user_sync_core::rules::{AdminRole, Priority, Rule, effective_assignment};

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

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("effective_assignment");
    group.throughput(Throughput::Elements(1));
    for n_rules in [10, 100, 1_000] {
        let rules = rules(n_rules);
        for (n_groups, matching) in [(1, 1), (5, 3), (20, 5)] {
            let groups = groups(n_groups, matching, n_rules / 2);
            let a = effective_assignment(DirectoryStatus::Active, &groups, &rules);
            assert!(a.is_active());
            assert_eq!(a.provenance.matched.len(), 2 * matching);
            group.bench_with_input(
                BenchmarkId::from_parameter(format!("{n_rules}_rules_{n_groups}_groups")),
                &(groups, &rules),
                |b, (groups, rules)| {
                    b.iter(|| {
                        effective_assignment(
                            black_box(DirectoryStatus::Active),
                            black_box(groups),
                            black_box(rules),
                        )
                    });
                },
            );
        }
    }
    // the goal's case: 20 rules, 5 groups
    let rules = rules(20);
    let groups = groups(5, 3, 10);
    group.bench_function("20_rules_5_groups", |b| {
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

criterion_group!(benches, bench);
criterion_main!(benches);
