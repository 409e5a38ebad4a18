//! What the evaluator does for one user, given the stored state.

use super::DesiredState;
use crate::directory::UserFacts;
use crate::language::{AccountLanguage, is_account_language};
use crate::rules::{Assigned, EffectiveAssignment};

/// How long a stored generation may stay unapplied before a change that
/// touches the user enqueues its job again. Shorter would send duplicates of
/// jobs that are merely in flight.
pub const RESEND_AFTER_SECONDS: i64 = 120;

/// What the evaluator should do for one user, given the stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changed and nothing is outstanding.
    Nothing,
    /// Only the explanation changed (which rule supplies a field): store it,
    /// keep the generation, enqueue nothing.
    StoreOnly(DesiredState),
    /// The account must change: store the new generation and enqueue a job.
    Apply(DesiredState),
    /// Nothing changed, but the stored generation is not applied yet and
    /// either this very cause stored it (a retried record: its job may not
    /// have been sent) or it was stored [`RESEND_AFTER_SECONDS`] ago (its
    /// job may have been lost): enqueue it again.
    Resend(u64),
}

/// What the evaluator computed for one user, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Computed {
    pub facts: UserFacts,
    pub assignment: EffectiveAssignment,
    /// The account's language, from [`account_language`].
    pub language: Option<AccountLanguage>,
    pub now: String,
    /// The stream record or fan-out chunk being processed.
    pub cause: String,
}

/// Decides what a freshly computed desired state means, given what is stored.
/// `applied_generation` is the last generation the worker applied (0: none).
pub fn decide(stored: Option<&DesiredState>, applied_generation: u64, c: Computed) -> Decision {
    let Computed {
        facts,
        assignment,
        language,
        now,
        cause,
    } = c;
    if facts.handed_over {
        // a returning person took the account over: nothing is applied for
        // this user again, whatever else changes
        let generation = stored.map_or(0, |s| s.generation);
        return match stored {
            Some(s) if s.facts == facts && s.assignment == assignment => Decision::Nothing,
            _ => Decision::StoreOnly(DesiredState {
                generation,
                facts,
                assignment,
                language,
                updated_at: now,
                cause: stored.and_then(|s| s.cause.clone()),
            }),
        };
    }
    let Some(stored) = stored else {
        // A user no rule entitles (yet) needs no account: creating a
        // suspended one would give the product an account nobody asked for,
        // and its creation would not be news when a rule later entitles the
        // user (no welcome email). Generation 0: nothing to apply.
        let generation = u64::from(assignment.is_active());
        let first = DesiredState {
            generation,
            facts,
            assignment,
            language,
            updated_at: now,
            cause: Some(cause),
        };
        return if generation == 0 {
            Decision::StoreOnly(first)
        } else {
            Decision::Apply(first)
        };
    };
    let next = DesiredState {
        generation: stored.generation,
        facts,
        assignment,
        language,
        updated_at: now,
        cause: Some(cause),
    };
    if next.account() != stored.account() {
        return Decision::Apply(DesiredState {
            generation: stored.generation + 1,
            ..next
        });
    }
    let outstanding = applied_generation < stored.generation;
    if outstanding && stored.cause == next.cause {
        return Decision::Resend(stored.generation);
    }
    let age = match (
        crate::time::parse(&stored.updated_at),
        crate::time::parse(&next.updated_at),
    ) {
        (Some(then), Some(now)) => (now - then).whole_seconds(),
        // an unreadable time: treat the generation as old, a duplicate job is harmless
        _ => RESEND_AFTER_SECONDS,
    };
    if outstanding && age >= RESEND_AFTER_SECONDS {
        return Decision::Resend(stored.generation);
    }
    if next.facts != stored.facts
        || next.assignment != stored.assignment
        || next.language != stored.language
    {
        // the generation (and the cause that stored it) stays
        return Decision::StoreOnly(DesiredState {
            cause: stored.cause.clone(),
            ..next
        });
    }
    Decision::Nothing
}

/// Whether [`decide`] answers [`Decision::Nothing`] for a user whose facts
/// are `facts` and whose assignment is `assigned`, because the stored state
/// already holds these facts, this assignment and its language, and its
/// generation is applied. Compared in place, without the stored shape: the
/// evaluator makes that only for a user for whom this is false (and then
/// decides with [`decide`]). `false` says nothing: ask [`decide`].
pub fn unchanged(
    stored: Option<&DesiredState>,
    applied_generation: u64,
    facts: &UserFacts,
    assigned: &Assigned<'_>,
    org_default: Option<&str>,
) -> bool {
    let Some(s) = stored else {
        return false;
    };
    applied_generation >= s.generation
        && s.facts == *facts
        && assigned.is(&s.assignment)
        && is_account_language(
            s.language.as_ref(),
            assigned.rule_language(),
            facts,
            org_default,
        )
}

/// Like [`decide`], for a forced reconcile (`ops reconcile`): a user whose
/// account would not change still gets a new generation, so that its job
/// makes the worker send the full desired state again (the product side may
/// have drifted). A generation this very cause stored is not forced again:
/// a retried chunk resends it while it is unapplied, and leaves it once
/// applied.
pub fn decide_forced(
    stored: Option<&DesiredState>,
    applied_generation: u64,
    c: Computed,
) -> Decision {
    // nothing was ever asked of the product for a user no rule entitles,
    // and nothing is asked for one whose account a returning person took
    let never_entitled = (stored.is_some_and(|s| s.generation == 0) && !c.assignment.is_active())
        || c.facts.handed_over;
    let forced = stored.filter(|_| !never_entitled).map(|s| DesiredState {
        generation: s.generation + 1,
        facts: c.facts.clone(),
        assignment: c.assignment.clone(),
        language: c.language.clone(),
        updated_at: c.now.clone(),
        cause: Some(c.cause.clone()),
    });
    let already = stored.is_some_and(|s| s.cause.as_deref() == Some(c.cause.as_str()));
    match (decide(stored, applied_generation, c), forced) {
        (Decision::Nothing | Decision::StoreOnly(_), Some(next)) if !already => {
            Decision::Apply(next)
        }
        (decision, _) => decision,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use std::collections::BTreeSet;

    use crate::memory::{ada_facts, product_rule};

    use super::*;
    use crate::directory::DirectoryStatus;
    use crate::ids::{GroupId, RuleId};
    use crate::language::account_language;
    use crate::rules::{Priority, Rule, effective_assignment};
    use crate::state::{AccountStatus, DesiredState};

    fn rule(id: &str, products: &[&str]) -> Rule {
        let group = GroupId::parse("g").unwrap();
        product_rule(
            RuleId::parse(id).unwrap(),
            group,
            Priority::new(1).unwrap(),
            products,
        )
    }

    fn assign(rules: &[Rule]) -> EffectiveAssignment {
        let groups = [GroupId::parse("g").unwrap()].into_iter().collect();
        effective_assignment(DirectoryStatus::Active, &groups, rules)
    }

    /// Generation 3 of `assignment`, applied or not, stored by cause `c1`.
    fn stored(assignment: &EffectiveAssignment) -> DesiredState {
        DesiredState {
            generation: 3,
            facts: ada_facts(),
            assignment: assignment.clone(),
            language: None,
            updated_at: "2026-01-01T00:00:00Z".into(),
            cause: Some("c1".into()),
        }
    }

    fn computed(assignment: EffectiveAssignment, cause: &str) -> Computed {
        Computed {
            facts: ada_facts(),
            assignment,
            language: None,
            now: "2026-01-01T00:00:30Z".into(),
            cause: cause.into(),
        }
    }

    /// Four rules on two groups, with products, a role and languages.
    fn four_rules() -> Vec<Rule> {
        let mut rules: Vec<Rule> = [
            ("r1", "g1", 1),
            ("r2", "g2", 2),
            ("r3", "g1", 3),
            ("r4", "g2", 4),
        ]
        .into_iter()
        .map(|(id, g, p)| {
            product_rule(
                RuleId::parse(id).unwrap(),
                GroupId::parse(g).unwrap(),
                Priority::new(p).unwrap(),
                &["P"],
            )
        })
        .collect();
        rules[1].products.insert("Q".into());
        rules[1].language = Some("de".into());
        rules[2].language = Some(" ".into());
        rules[3].admin_role = Some(crate::rules::AdminRole::FullAdmin);
        rules
    }

    proptest::proptest! {
        #[test]
        fn unchanged_is_what_decide_says_of_an_applied_state(
            before in 0usize..4, now in 0usize..4,
            locale_before in 0usize..3, locale_now in 0usize..3,
            default_before in 0usize..2, default_now in 0usize..2,
            inactive in proptest::bool::ANY, handed_over in proptest::bool::ANY,
            applied in 2u64..5,
        ) {
            let rules = four_rules();
            let index = crate::rules::RuleIndex::new(&rules);
            let groups = |n: usize| -> BTreeSet<GroupId> {
                [("g1", 1), ("g2", 2)]
                    .into_iter()
                    .filter(|(_, bit)| n & bit != 0)
                    .map(|(g, _)| GroupId::parse(g).unwrap())
                    .collect()
            };
            let locales = [None, Some("fr"), Some(" ")];
            let defaults = [None, Some("en")];
            let facts = |locale: usize, status| {
                let mut f = ada_facts();
                f.locale = locales[locale].map(str::to_owned);
                f.status = status;
                f.handed_over = handed_over;
                f
            };
            let was = facts(locale_before, DirectoryStatus::Active);
            let was_assigned = index.assign(was.status, &groups(before)).to_assignment();
            let stored = DesiredState {
                generation: 3,
                language: account_language(&was_assigned, &was, defaults[default_before]),
                facts: was,
                assignment: was_assigned,
                updated_at: "2026-01-01T00:00:00Z".into(),
                cause: Some("c1".into()),
            };
            let status = if inactive { DirectoryStatus::Inactive } else { DirectoryStatus::Active };
            let is = facts(locale_now, status);
            let assigned = index.assign(is.status, &groups(now));
            let fast = unchanged(Some(&stored), applied, &is, &assigned, defaults[default_now]);
            let assignment = assigned.to_assignment();
            let language = account_language(&assignment, &is, defaults[default_now]);
            let same = stored.facts == is && stored.assignment == assignment && stored.language == language;
            let decided = decide(Some(&stored), applied, Computed {
                facts: is,
                assignment,
                language,
                now: "2026-01-01T00:00:30Z".into(),
                cause: "c2".into(),
            });
            proptest::prop_assert_eq!(fast, same && applied >= 3);
            if fast {
                proptest::prop_assert_eq!(decided, Decision::Nothing);
            }
        }
    }

    #[test]
    fn a_forced_reconcile_applies_an_unchanged_user_again_once() {
        let a = assign(&[rule("r", &["P"])]);
        let stored = stored(&a);
        // unchanged and applied: a new generation all the same
        let Decision::Apply(next) = decide_forced(Some(&stored), 3, computed(a.clone(), "f1"))
        else {
            panic!("an unchanged user is applied again");
        };
        assert_eq!(next.generation, 4);
        assert_eq!(next.account(), stored.account());
        assert_eq!(next.cause.as_deref(), Some("f1"));
        // the same chunk again: resent while unapplied, left once applied
        assert_eq!(
            decide_forced(Some(&next), 3, computed(a.clone(), "f1")),
            Decision::Resend(4)
        );
        assert_eq!(
            decide_forced(Some(&next), 4, computed(a.clone(), "f1")),
            Decision::Nothing
        );
        // a change is applied as usual; a first state is generation one
        let changed = assign(&[rule("r", &["P", "Q"])]);
        assert!(matches!(
            decide_forced(Some(&stored), 3, computed(changed, "f2")),
            Decision::Apply(s) if s.generation == 4
        ));
        assert!(matches!(
            decide_forced(None, 0, computed(a, "f3")),
            Decision::Apply(s) if s.generation == 1
        ));
    }

    #[test]
    fn a_user_whose_account_was_taken_over_is_never_applied_again() {
        let stored = stored(&assign(&[rule("r", &["P"])]));
        let suspended = effective_assignment(
            DirectoryStatus::Deleted,
            &BTreeSet::new(),
            &[rule("r", &["P"])],
        );
        let mut c = computed(suspended, "c2");
        c.facts.status = DirectoryStatus::Deleted;
        c.facts.handed_over = true;
        // the account would change (suspended), but it is not this user's now
        for forced in [false, true] {
            let d = if forced {
                decide_forced(Some(&stored), 2, c.clone())
            } else {
                decide(Some(&stored), 2, c.clone())
            };
            let Decision::StoreOnly(next) = d else {
                panic!("stored only, never applied: {d:?}");
            };
            assert_eq!(next.generation, 3);
            assert!(next.facts.handed_over);
            assert_eq!(decide(Some(&next), 2, c.clone()), Decision::Nothing);
        }
    }

    #[test]
    fn first_state_is_generation_one() {
        let d = decide(None, 0, computed(assign(&[rule("r", &["P"])]), "c1"));
        assert!(matches!(d, Decision::Apply(s) if s.generation == 1));
    }

    #[test]
    fn a_user_no_rule_entitles_gets_no_account_until_one_does() {
        // created by the identity provider before it joins a rule's group
        let Decision::StoreOnly(first) = decide(None, 0, computed(assign(&[]), "c1")) else {
            panic!("no account for a user no rule entitles");
        };
        assert_eq!(first.generation, 0);
        assert_eq!(
            decide(Some(&first), 0, computed(assign(&[]), "c2")),
            Decision::Nothing
        );
        // a forced reconcile asks nothing of the product for it either
        assert!(matches!(
            decide_forced(Some(&first), 0, computed(assign(&[]), "f1")),
            Decision::Nothing | Decision::StoreOnly(_)
        ));
        // joining the group: generation 1 creates the (active) account
        let d = decide(
            Some(&first),
            0,
            computed(assign(&[rule("r", &["P"])]), "c3"),
        );
        assert!(
            matches!(&d, Decision::Apply(s) if s.generation == 1 && s.account().status == AccountStatus::Active),
            "{d:?}"
        );
    }

    #[test]
    fn unchanged_and_applied_is_nothing() {
        let a = assign(&[rule("r", &["P"])]);
        let stored = stored(&a);
        assert_eq!(
            decide(Some(&stored), 3, computed(a, "c2")),
            Decision::Nothing
        );
    }

    #[test]
    fn unchanged_but_unapplied_is_resent_by_the_same_cause() {
        // a retried record finds what it stored itself: its job may be lost
        let a = assign(&[rule("r", &["P"])]);
        let stored = stored(&a);
        assert_eq!(
            decide(Some(&stored), 2, computed(a.clone(), "c1")),
            Decision::Resend(3)
        );
        // once applied, the same cause has nothing to do
        assert_eq!(
            decide(Some(&stored), 3, computed(a, "c1")),
            Decision::Nothing
        );
    }

    #[test]
    fn unchanged_and_in_flight_is_not_resent_by_another_cause() {
        let a = assign(&[rule("r", &["P"])]);
        let stored = stored(&a);
        // 30 s later the job is presumably in flight
        assert_eq!(
            decide(Some(&stored), 2, computed(a.clone(), "c2")),
            Decision::Nothing
        );
        // long after, it is presumed lost
        let old = DesiredState {
            updated_at: "2025-12-31T23:00:00Z".into(),
            ..stored
        };
        assert_eq!(
            decide(Some(&old), 2, computed(a, "c2")),
            Decision::Resend(3)
        );
    }

    #[test]
    fn account_change_bumps_generation() {
        let stored = DesiredState {
            generation: 3,
            facts: ada_facts(),
            assignment: assign(&[rule("r", &["P"])]),
            language: None,
            updated_at: "2026-01-01T00:00:00Z".into(),
            cause: Some("c1".into()),
        };
        let d = decide(
            Some(&stored),
            3,
            computed(assign(&[rule("r", &["P", "Q"])]), "c2"),
        );
        assert!(matches!(d, Decision::Apply(s) if s.generation == 4));
    }

    #[test]
    fn provenance_only_change_is_stored_without_a_job() {
        let stored = DesiredState {
            generation: 3,
            facts: ada_facts(),
            assignment: assign(&[rule("r1", &["P"])]),
            language: None,
            updated_at: "2026-01-01T00:00:00Z".into(),
            cause: Some("c1".into()),
        };
        let d = decide(
            Some(&stored),
            3,
            computed(assign(&[rule("r2", &["P"])]), "c2"),
        );
        assert!(matches!(d, Decision::StoreOnly(s) if s.generation == 3));
    }

    #[test]
    fn the_account_language_is_the_products_locale_and_a_change_of_it_is_applied() {
        use crate::language::LanguageSource;
        let a = assign(&[rule("r", &["P"])]);
        let org_default = |now: &str| Computed {
            language: account_language(&a, &ada_facts(), Some("it")),
            now: now.into(),
            ..computed(a.clone(), "c1")
        };
        let Decision::Apply(first) = decide(None, 0, org_default("2026-01-01T00:00:00Z")) else {
            panic!("a first state is applied");
        };
        assert_eq!(first.account().locale.as_deref(), Some("it"));
        assert_eq!(
            first.language().map(|l| l.source),
            Some(LanguageSource::Organization)
        );
        // the organization's default changes: the account changes
        let other = Computed {
            language: account_language(&a, &ada_facts(), Some("fr")),
            ..computed(a.clone(), "c2")
        };
        assert!(matches!(
            decide(Some(&first), 1, other),
            Decision::Apply(s) if s.generation == 2 && s.account().locale.as_deref() == Some("fr")
        ));
        // the same language from elsewhere is only stored
        let directory = Computed {
            language: Some(AccountLanguage {
                language: "it".into(),
                source: LanguageSource::Directory,
            }),
            ..computed(a.clone(), "c3")
        };
        assert!(matches!(
            decide(Some(&first), 1, directory),
            Decision::StoreOnly(s) if s.generation == 1
        ));
    }

    #[test]
    fn a_state_stored_without_a_language_falls_back_to_the_rule_then_the_directory() {
        let mut r = rule("r", &["P"]);
        r.language = Some("de".into());
        let old: DesiredState = serde_json::from_value(serde_json::json!({
            "generation": 2,
            "facts": {"status": "active", "email": "ada@example.com", "given_name": null,
                      "family_name": null, "locale": "fr"},
            "assignment": assign(&[r]),
            "updatedAt": "2026-01-01T00:00:00Z",
        }))
        .unwrap();
        assert_eq!(old.language, None);
        assert_eq!(old.account().locale.as_deref(), Some("de"));
        let plain = DesiredState {
            assignment: assign(&[rule("r", &["P"])]),
            ..old
        };
        assert_eq!(plain.account().locale.as_deref(), Some("fr"));
    }
}
