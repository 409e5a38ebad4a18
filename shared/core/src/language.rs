//! The language of a user's product account: the language of the product's
//! web app pages and apps, and of the welcome email (DESIGN §4).
//!
//! It is, in this order:
//! 1. the language of the highest-priority matching rule that sets one (the
//!    effective assignment's `language`);
//! 2. the directory's `preferredLanguage` / `locale` (the user's facts);
//! 3. the organization's default language.
//!
//! A blank value counts as no value.

use serde::{Deserialize, Serialize};

use crate::directory::UserFacts;
use crate::ids::RuleId;
use crate::rules::EffectiveAssignment;

/// Where an account's language came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum LanguageSource {
    /// The highest-priority matching rule that sets a language.
    Rule { rule: RuleId },
    /// The directory's `preferredLanguage` or `locale`.
    Directory,
    /// The organization's default language.
    Organization,
}

/// An account's language and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountLanguage {
    /// A language tag or locale as the rule, directory or organization has it.
    pub language: String,
    #[serde(flatten)]
    pub source: LanguageSource,
}

fn given(value: Option<&String>) -> Option<&String> {
    value.filter(|v| !v.trim().is_empty())
}

/// The account's language: the rule's, else the directory's, else the
/// organization's default (`None` when it is not known); `None` when none
/// of them has one.
pub fn account_language(
    assignment: &EffectiveAssignment,
    facts: &UserFacts,
    org_default: Option<&str>,
) -> Option<AccountLanguage> {
    let rule = assignment
        .language
        .as_ref()
        .zip(assignment.provenance.language.as_ref());
    chosen(rule, facts, org_default).map(|(language, source)| AccountLanguage {
        language: language.to_owned(),
        source: match source {
            Chosen::Rule(rule) => LanguageSource::Rule { rule: rule.clone() },
            Chosen::Directory => LanguageSource::Directory,
            Chosen::Organization => LanguageSource::Organization,
        },
    })
}

/// Whether `stored` is the account language [`account_language`] gives for
/// the rule language `rule` (the value and the rule that sets it, as the
/// assignment has them), `facts` and `org_default`, compared without
/// copying anything out.
pub fn is_account_language(
    stored: Option<&AccountLanguage>,
    rule: Option<(&String, &RuleId)>,
    facts: &UserFacts,
    org_default: Option<&str>,
) -> bool {
    match (stored, chosen(rule, facts, org_default)) {
        (None, None) => true,
        (Some(s), Some((language, source))) => {
            s.language == language
                && match (&s.source, source) {
                    (LanguageSource::Rule { rule: stored }, Chosen::Rule(rule)) => stored == rule,
                    (LanguageSource::Directory, Chosen::Directory)
                    | (LanguageSource::Organization, Chosen::Organization) => true,
                    _ => false,
                }
        }
        _ => false,
    }
}

/// Where the account's language comes from, borrowed.
enum Chosen<'a> {
    Rule(&'a RuleId),
    Directory,
    Organization,
}

/// The account's language and where it comes from: the one order of
/// [`account_language`] and [`is_account_language`].
fn chosen<'a>(
    rule: Option<(&'a String, &'a RuleId)>,
    facts: &'a UserFacts,
    org_default: Option<&'a str>,
) -> Option<(&'a str, Chosen<'a>)> {
    if let Some((language, rule)) = rule
        && let Some(language) = given(Some(language))
    {
        return Some((language.as_str(), Chosen::Rule(rule)));
    }
    if let Some(locale) = given(facts.locale.as_ref()) {
        return Some((locale.as_str(), Chosen::Directory));
    }
    org_default
        .filter(|d| !d.trim().is_empty())
        .map(|d| (d, Chosen::Organization))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::directory::DirectoryStatus;
    use crate::ids::GroupId;
    use crate::rules::{Priority, Rule, effective_assignment};

    fn rule(id: &str, priority: u32, language: Option<&str>) -> Rule {
        Rule {
            id: RuleId::parse(id).unwrap(),
            group_id: GroupId::parse("g").unwrap(),
            description: String::new(),
            priority: Priority::new(priority).unwrap(),
            products: BTreeSet::from(["P".to_owned()]),
            admin_role: None,
            user_group: None,
            device_groups: BTreeSet::new(),
            settings_template: None,
            email_template: None,
            language: language.map(str::to_owned),
        }
    }

    fn assign(status: DirectoryStatus, rules: &[Rule]) -> EffectiveAssignment {
        let groups = BTreeSet::from([GroupId::parse("g").unwrap()]);
        effective_assignment(status, &groups, rules)
    }

    fn facts(locale: Option<&str>) -> UserFacts {
        UserFacts {
            status: DirectoryStatus::Active,
            email: "ada@example.com".into(),
            given_name: None,
            family_name: None,
            locale: locale.map(str::to_owned),
            account_key: None,
            relinked_from: None,
            handed_over: false,
        }
    }

    fn lang(language: &str, source: LanguageSource) -> Option<AccountLanguage> {
        Some(AccountLanguage {
            language: language.into(),
            source,
        })
    }

    #[test]
    fn the_highest_priority_rule_that_sets_a_language_wins_over_the_directory() {
        let a = assign(
            DirectoryStatus::Active,
            &[rule("r1", 1, None), rule("r2", 2, Some("de"))],
        );
        assert_eq!(
            account_language(&a, &facts(Some("fr-FR")), Some("en")),
            lang(
                "de",
                LanguageSource::Rule {
                    rule: RuleId::parse("r2").unwrap()
                }
            )
        );
    }

    #[test]
    fn without_a_rule_language_the_directory_wins_over_the_organization() {
        let a = assign(DirectoryStatus::Active, &[rule("r1", 1, None)]);
        assert_eq!(
            account_language(&a, &facts(Some("fr")), Some("en")),
            lang("fr", LanguageSource::Directory)
        );
    }

    #[test]
    fn without_either_the_organization_default() {
        let a = assign(DirectoryStatus::Active, &[rule("r1", 1, None)]);
        assert_eq!(
            account_language(&a, &facts(None), Some("it")),
            lang("it", LanguageSource::Organization)
        );
        // blank values are no values
        assert_eq!(
            account_language(&a, &facts(Some(" ")), Some("it")),
            lang("it", LanguageSource::Organization)
        );
        assert_eq!(account_language(&a, &facts(None), None), None);
        assert_eq!(account_language(&a, &facts(None), Some("")), None);
    }

    #[test]
    fn a_suspended_user_keeps_the_directory_or_organization_language() {
        // a suspended assignment has no rule language
        let a = assign(DirectoryStatus::Inactive, &[rule("r1", 1, Some("de"))]);
        assert_eq!(
            account_language(&a, &facts(Some("fr")), Some("en")),
            lang("fr", LanguageSource::Directory)
        );
        assert_eq!(
            account_language(&a, &facts(None), Some("en")),
            lang("en", LanguageSource::Organization)
        );
    }

    #[test]
    fn the_source_is_written_next_to_the_language() {
        let l = AccountLanguage {
            language: "de".into(),
            source: LanguageSource::Rule {
                rule: RuleId::parse("r1").unwrap(),
            },
        };
        assert_eq!(
            serde_json::to_value(&l).unwrap(),
            serde_json::json!({"language": "de", "from": "rule", "rule": "r1"})
        );
        let d: AccountLanguage =
            serde_json::from_value(serde_json::json!({"language": "fr", "from": "directory"}))
                .unwrap();
        assert_eq!(d.source, LanguageSource::Directory);
    }
}
