//! An organization's catalogue: the products, admin privileges, user groups,
//! device groups and settings templates its product account offers. Rules
//! may name only what is in it (once one is configured).

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::rules::{AdminRole, Rule};

/// Most entries of each list.
pub const MAX_ENTRIES: usize = 500;
/// Longest id or name.
pub const MAX_TEXT: usize = 200;

/// Something rules can name: its id (what rules and the product API use)
/// and a name to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
}

/// A product, with the seats the organization bought (`None`: unlimited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogProduct {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub seats: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    #[serde(default)]
    pub products: Vec<CatalogProduct>,
    #[serde(default)]
    pub privileges: Vec<CatalogEntry>,
    #[serde(default)]
    pub user_groups: Vec<CatalogEntry>,
    #[serde(default)]
    pub device_groups: Vec<CatalogEntry>,
    #[serde(default)]
    pub settings_templates: Vec<CatalogEntry>,
}

fn check_list<'a>(
    field: &'static str,
    entries: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<(), DomainError> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, (id, name)) in entries.enumerate() {
        if i >= MAX_ENTRIES {
            return Err(DomainError::new(
                field,
                format!("at most {MAX_ENTRIES} entries"),
            ));
        }
        for (what, text) in [("id", id), ("name", name)] {
            if text.trim().is_empty()
                || text.chars().count() > MAX_TEXT
                || text.chars().any(char::is_control)
            {
                return Err(DomainError::new(
                    field,
                    format!("entry {i}: {what} must be 1 to {MAX_TEXT} characters on one line"),
                ));
            }
        }
        if !seen.insert(id) {
            return Err(DomainError::new(
                field,
                format!("entry {i}: id {id:?} appears twice"),
            ));
        }
    }
    Ok(())
}

fn unknown<'a>(
    field: &'static str,
    kind: &str,
    names: impl IntoIterator<Item = &'a String>,
    entries: &[CatalogEntry],
) -> Result<(), DomainError> {
    for n in names {
        if !entries.iter().any(|e| &e.id == n) {
            return Err(DomainError::new(
                field,
                format!("{n:?} is not one of the organization's {kind} (GET /api/v1/catalog)"),
            ));
        }
    }
    Ok(())
}

impl Catalog {
    /// Ids are unique per list; ids and names are one line, bounded.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_list(
            "products",
            self.products
                .iter()
                .map(|p| (p.id.as_str(), p.name.as_str())),
        )?;
        for (field, list) in [
            ("privileges", &self.privileges),
            ("userGroups", &self.user_groups),
            ("deviceGroups", &self.device_groups),
            ("settingsTemplates", &self.settings_templates),
        ] {
            check_list(field, list.iter().map(|e| (e.id.as_str(), e.name.as_str())))?;
        }
        Ok(())
    }

    /// Whether the rule names only what the catalogue offers; the error
    /// names the rule's field and the unknown value.
    pub fn check_rule(&self, rule: &Rule) -> Result<(), DomainError> {
        for p in &rule.products {
            if !self.products.iter().any(|c| &c.id == p) {
                return Err(DomainError::new(
                    "products",
                    format!(
                        "{p:?} is not one of the organization's products (GET /api/v1/catalog)"
                    ),
                ));
            }
        }
        if let Some(AdminRole::Manager {
            privileges,
            managed_groups,
        }) = &rule.admin_role
        {
            unknown(
                "adminRole.privileges",
                "admin privileges",
                privileges,
                &self.privileges,
            )?;
            unknown(
                "adminRole.managedGroups",
                "user groups",
                managed_groups,
                &self.user_groups,
            )?;
        }
        unknown(
            "userGroup",
            "user groups",
            &rule.user_group,
            &self.user_groups,
        )?;
        unknown(
            "deviceGroups",
            "device groups",
            &rule.device_groups,
            &self.device_groups,
        )?;
        unknown(
            "settingsTemplate",
            "settings templates",
            &rule.settings_template,
            &self.settings_templates,
        )
    }

    /// The catalogue of the local stack's demo organization: GoTo products
    /// with the seats the simulator is given for it.
    pub fn demo() -> Self {
        let entry = |id: &str, name: &str| CatalogEntry {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        let product = |id: &str, name: &str, seats: u32| CatalogProduct {
            id: id.to_owned(),
            name: name.to_owned(),
            seats: Some(seats),
        };
        Self {
            products: vec![
                product("G2M", "GoTo Meeting", 100),
                product("G2W", "GoTo Webinar", 25),
                product("G2T", "GoTo Training", 25),
                product("G2C", "GoTo Connect", 50),
                product("G2R", "GoTo Resolve", 10),
                product("RESCUE", "Rescue", 5),
            ],
            privileges: vec![
                entry("manage_users", "Manage users"),
                entry("manage_groups", "Manage groups"),
                entry("manage_licenses", "Manage licenses"),
                entry("view_reports", "View reports"),
                entry("manage_settings", "Manage settings"),
            ],
            user_groups: vec![
                entry("sales", "Sales"),
                entry("support", "Support"),
                entry("engineering", "Engineering"),
                entry("emea", "EMEA"),
            ],
            device_groups: vec![
                entry("laptops", "Laptops"),
                entry("kiosks", "Kiosks"),
                entry("servers", "Servers"),
            ],
            settings_templates: vec![
                entry("standard", "Standard"),
                entry("restricted", "Restricted"),
                entry("webinar-hosts", "Webinar hosts"),
            ],
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use crate::memory::product_rule;

    use super::*;
    use crate::ids::{GroupId, RuleId};
    use crate::rules::Priority;

    fn rule() -> Rule {
        let (id, group) = (RuleId::parse("r").unwrap(), GroupId::parse("g").unwrap());
        product_rule(id, group, Priority::new(1).unwrap(), &["G2M"])
    }

    #[test]
    fn the_demo_catalogue_is_valid_and_accepts_what_it_offers() {
        let c = Catalog::demo();
        c.validate().unwrap();
        let mut r = rule();
        r.admin_role = Some(AdminRole::Manager {
            privileges: ["manage_users".to_owned()].into_iter().collect(),
            managed_groups: ["sales".to_owned()].into_iter().collect(),
        });
        r.user_group = Some("support".into());
        r.device_groups = ["kiosks".to_owned()].into_iter().collect();
        r.settings_template = Some("standard".into());
        c.check_rule(&r).unwrap();
    }

    #[test]
    fn unknown_values_are_refused_naming_the_field() {
        let c = Catalog::demo();
        let mut r = rule();
        r.products.insert("G2X".into());
        assert_eq!(c.check_rule(&r).unwrap_err().field, "products");
        let mut r = rule();
        r.admin_role = Some(AdminRole::Manager {
            privileges: ["root".to_owned()].into_iter().collect(),
            managed_groups: BTreeSet::new(),
        });
        let e = c.check_rule(&r).unwrap_err();
        assert_eq!(e.field, "adminRole.privileges");
        assert!(e.reason.contains("\"root\""));
        let mut r = rule();
        r.settings_template = Some("nope".into());
        assert_eq!(c.check_rule(&r).unwrap_err().field, "settingsTemplate");
        let mut r = rule();
        r.device_groups.insert("phones".into());
        assert_eq!(c.check_rule(&r).unwrap_err().field, "deviceGroups");
    }

    #[test]
    fn duplicate_or_blank_entries_are_refused() {
        let mut c = Catalog::demo();
        c.user_groups.push(c.user_groups[0].clone());
        assert_eq!(c.validate().unwrap_err().field, "userGroups");
        let mut c = Catalog::demo();
        c.products[0].name = " ".into();
        assert_eq!(c.validate().unwrap_err().field, "products");
        let parsed: Result<Catalog, _> = serde_json::from_str(r#"{"product": []}"#);
        assert!(parsed.is_err());
    }
}
