//! A rule as an admin describes it, and the checks it passes before the
//! rules service looks it up against the organization (its group, its
//! template, its catalogue).

use std::collections::BTreeSet;

use super::AdminRole;
use crate::DomainError;
use crate::mail::template::canonical_language;

/// A rule as an admin describes it: everything but its id (`priority`
/// left out: the default of the operation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    pub group_id: String,
    pub description: String,
    pub priority: Option<u32>,
    pub products: BTreeSet<String>,
    pub admin_role: Option<AdminRole>,
    pub user_group: Option<String>,
    pub device_groups: BTreeSet<String>,
    pub settings_template: Option<String>,
    pub email_template: Option<String>,
    pub language: Option<String>,
}

fn bounded(set: &BTreeSet<String>, field: &'static str) -> Result<(), DomainError> {
    if set.len() > 100 || set.iter().any(|s| s.is_empty() || s.len() > 200) {
        return Err(DomainError::new(
            field,
            "at most 100 names of 1 to 200 characters",
        ));
    }
    Ok(())
}

fn bounded_text(v: Option<&String>, field: &'static str) -> Result<(), DomainError> {
    if v.is_some_and(|s| s.is_empty() || s.len() > 200) {
        return Err(DomainError::new(field, "1 to 200 characters"));
    }
    Ok(())
}

/// A rule's `language` is a language tag (`de`, `pt-BR`), as templates'
/// variants are: anything else (`../../etc`, a line break) is refused.
pub fn check_language(v: Option<&String>) -> Result<(), DomainError> {
    match v {
        Some(tag) if canonical_language(tag).is_none() => Err(DomainError::new(
            "language",
            "a language tag such as en, de or pt-BR",
        )),
        _ => Ok(()),
    }
}

impl RuleInput {
    /// The sizes of the lists and names (checked before the template is
    /// looked up).
    pub fn check_sizes(&self) -> Result<(), DomainError> {
        bounded(&self.products, "products")?;
        bounded(&self.device_groups, "deviceGroups")?;
        bounded_text(self.user_group.as_ref(), "userGroup")?;
        bounded_text(self.settings_template.as_ref(), "settingsTemplate")?;
        bounded_text(self.email_template.as_ref(), "emailTemplate")
    }

    /// The language, the manager role's lists and the description.
    pub fn check_rest(&self) -> Result<(), DomainError> {
        check_language(self.language.as_ref())?;
        if let Some(AdminRole::Manager {
            privileges,
            managed_groups,
        }) = &self.admin_role
        {
            bounded(privileges, "adminRole.privileges")?;
            bounded(managed_groups, "adminRole.managedGroups")?;
        }
        if self.description.len() > 500 {
            return Err(DomainError::new("description", "at most 500 characters"));
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_language_is_a_language_tag() {
        for ok in ["en", "de", "pt-BR", "pt-br", "zh-Hant"] {
            assert!(check_language(Some(&ok.to_owned())).is_ok(), "{ok}");
        }
        assert!(check_language(None).is_ok());
        for bad in [
            "",
            "../../etc",
            "en\r\nX: y",
            "e",
            "english-language-tag-x",
            "__proto__",
        ] {
            let e = check_language(Some(&bad.to_owned())).unwrap_err();
            assert_eq!(e.field, "language", "{bad:?}");
        }
    }

    #[test]
    fn sizes_are_named_by_their_field() {
        let input = RuleInput {
            products: BTreeSet::from([String::new()]),
            ..RuleInput::default()
        };
        assert_eq!(
            input.check_sizes().unwrap_err().to_string(),
            "products: at most 100 names of 1 to 200 characters"
        );
        let input = RuleInput {
            description: "x".repeat(501),
            ..RuleInput::default()
        };
        assert_eq!(
            input.check_rest().unwrap_err().to_string(),
            "description: at most 500 characters"
        );
    }
}
