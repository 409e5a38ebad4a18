//! An organization's catalogue: what rules may name. Its products, their
//! names and seats come from the product API ([`OfferedProduct`]); what the
//! product API cannot say (admin privileges, user groups, device groups,
//! settings templates) is set by ops (`ops catalog set`) or an admin
//! (`PUT /catalog`). A rule names only products the product API offers and
//! only entries of these lists: an empty list means nothing of that kind
//! can be named.

use serde::{Deserialize, Serialize};

use crate::DomainError;
use crate::ports::{OfferedProduct, Seats};
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

/// The lists ops (or an admin) set up: what the product API cannot say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Catalog {
    /// Refused when sent (products come from the product API); a stored
    /// catalogue written before still reads, this field ignored and never
    /// written again.
    #[serde(default, skip_serializing)]
    #[schemars(skip)]
    pub products: Option<serde_json::Value>,
    #[serde(default)]
    pub privileges: Vec<CatalogEntry>,
    #[serde(default)]
    pub user_groups: Vec<CatalogEntry>,
    #[serde(default)]
    pub device_groups: Vec<CatalogEntry>,
    #[serde(default)]
    pub settings_templates: Vec<CatalogEntry>,
}

/// What `products` is refused with.
pub const PRODUCTS_REFUSED: &str =
    "products, their names and seats come from the product API; remove the field";

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

/// Every one of `names` is an id of `entries`; an empty list names why
/// nothing can be named.
fn unknown<'a>(
    field: &'static str,
    kind: &str,
    names: impl IntoIterator<Item = &'a String>,
    entries: &[CatalogEntry],
) -> Result<(), DomainError> {
    for n in names {
        if entries.is_empty() {
            return Err(DomainError::new(
                field,
                format!("no {kind} are set up for this organization (ops catalog set)"),
            ));
        }
        if !entries.iter().any(|e| &e.id == n) {
            return Err(DomainError::new(
                field,
                format!("{n:?} is not one of the organization's {kind} (GET /api/v1/catalog)"),
            ));
        }
    }
    Ok(())
}

/// Whether the rule's products are among those the product API `offered`,
/// and its device groups (if any) go with a product that takes them.
pub fn check_products(offered: &[OfferedProduct], rule: &Rule) -> Result<(), DomainError> {
    for p in &rule.products {
        if !offered.iter().any(|o| &o.id == p) {
            return Err(DomainError::new(
                "products",
                format!(
                    "{p:?} is not one of the products the product API offers this organization (GET /api/v1/catalog)"
                ),
            ));
        }
    }
    let takes_devices = offered
        .iter()
        .any(|o| o.device_groups && rule.products.contains(&o.id));
    if !rule.device_groups.is_empty() && !takes_devices {
        return Err(DomainError::new(
            "deviceGroups",
            "none of the rule's products takes device groups",
        ));
    }
    Ok(())
}

impl Catalog {
    /// Ids are unique per list; ids and names are one line, bounded; no
    /// `products` (they come from the product API).
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.products.is_some() {
            return Err(DomainError::new("products", PRODUCTS_REFUSED));
        }
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

    /// Whether the rule names only privileges, user groups, device groups
    /// and a settings template of these lists; the error names the rule's
    /// field and the value.
    pub fn check_lists(&self, rule: &Rule) -> Result<(), DomainError> {
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

    /// Whether the rule names only what the organization has: products the
    /// product API `offered` ([`check_products`]) and entries of these
    /// lists ([`Catalog::check_lists`]).
    pub fn check_rule(&self, offered: &[OfferedProduct], rule: &Rule) -> Result<(), DomainError> {
        check_products(offered, rule)?;
        self.check_lists(rule)
    }

    /// The lists of the local stack's demo organization.
    pub fn demo() -> Self {
        let entry = |id: &str, name: &str| CatalogEntry {
            id: id.to_owned(),
            name: name.to_owned(),
        };
        Self {
            products: None,
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

/// A product the simulator offers an organization it was not told about
/// (and the in-memory product API): id, name, whether it takes device
/// groups, and the seats the local stack's demo organization has.
pub struct DemoProduct {
    pub id: &'static str,
    pub name: &'static str,
    pub device_groups: bool,
    pub seats: u32,
}

/// The GoTo products the simulator offers by default.
pub const DEMO_PRODUCTS: [DemoProduct; 6] = [
    demo("G2M", "GoTo Meeting", false, 100),
    demo("G2W", "GoTo Webinar", false, 25),
    demo("G2T", "GoTo Training", false, 25),
    demo("G2C", "GoTo Connect", true, 50),
    demo("G2R", "GoTo Resolve", true, 10),
    demo("RESCUE", "Rescue", true, 5),
];

const fn demo(
    id: &'static str,
    name: &'static str,
    device_groups: bool,
    seats: u32,
) -> DemoProduct {
    DemoProduct {
        id,
        name,
        device_groups,
        seats,
    }
}

impl DemoProduct {
    /// As the product API offers it, with these seats.
    pub fn offered(&self, seats: Seats) -> OfferedProduct {
        OfferedProduct {
            id: self.id.to_owned(),
            name: self.name.to_owned(),
            device_groups: self.device_groups,
            seats,
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

    fn rule(products: &[&str]) -> Rule {
        let (id, group) = (RuleId::parse("r").unwrap(), GroupId::parse("g").unwrap());
        product_rule(id, group, Priority::new(1).unwrap(), products)
    }

    fn offered() -> Vec<OfferedProduct> {
        DEMO_PRODUCTS
            .iter()
            .map(|p| {
                p.offered(Seats {
                    limit: None,
                    used: 0,
                })
            })
            .collect()
    }

    #[test]
    fn the_demo_catalogue_is_valid_and_accepts_what_it_offers() {
        let c = Catalog::demo();
        c.validate().unwrap();
        let mut r = rule(&["G2M", "G2C"]);
        r.admin_role = Some(AdminRole::Manager {
            privileges: ["manage_users".to_owned()].into_iter().collect(),
            managed_groups: ["sales".to_owned()].into_iter().collect(),
        });
        r.user_group = Some("support".into());
        r.device_groups = ["kiosks".to_owned()].into_iter().collect();
        r.settings_template = Some("standard".into());
        c.check_rule(&offered(), &r).unwrap();
    }

    #[test]
    fn unknown_values_are_refused_naming_the_field() {
        let c = Catalog::demo();
        let mut r = rule(&["G2M"]);
        r.products.insert("G2X".into());
        let e = c.check_rule(&offered(), &r).unwrap_err();
        assert_eq!(e.field, "products");
        assert!(e.reason.contains("\"G2X\""), "{}", e.reason);
        let mut r = rule(&["G2M"]);
        r.admin_role = Some(AdminRole::Manager {
            privileges: ["root".to_owned()].into_iter().collect(),
            managed_groups: BTreeSet::new(),
        });
        let e = c.check_rule(&offered(), &r).unwrap_err();
        assert_eq!(e.field, "adminRole.privileges");
        assert!(e.reason.contains("\"root\""));
        let mut r = rule(&["G2M"]);
        r.settings_template = Some("nope".into());
        assert_eq!(
            c.check_rule(&offered(), &r).unwrap_err().field,
            "settingsTemplate"
        );
        let mut r = rule(&["G2C"]);
        r.device_groups.insert("phones".into());
        assert_eq!(
            c.check_rule(&offered(), &r).unwrap_err().field,
            "deviceGroups"
        );
    }

    #[test]
    fn an_empty_list_lets_nothing_of_its_kind_be_named() {
        let c = Catalog::default();
        c.check_rule(&offered(), &rule(&["G2M"])).unwrap();
        let mut r = rule(&["G2M"]);
        r.user_group = Some("sales".into());
        let e = c.check_rule(&offered(), &r).unwrap_err();
        assert_eq!(e.field, "userGroup");
        assert_eq!(
            e.reason,
            "no user groups are set up for this organization (ops catalog set)"
        );
        let mut r = rule(&["G2M"]);
        r.admin_role = Some(AdminRole::Manager {
            privileges: BTreeSet::new(),
            managed_groups: ["sales".to_owned()].into_iter().collect(),
        });
        assert_eq!(
            c.check_rule(&offered(), &r).unwrap_err().field,
            "adminRole.managedGroups"
        );
        let mut r = rule(&["G2M"]);
        r.settings_template = Some("standard".into());
        assert_eq!(
            c.check_rule(&offered(), &r).unwrap_err().field,
            "settingsTemplate"
        );
    }

    #[test]
    fn device_groups_need_a_product_that_takes_them() {
        let c = Catalog::demo();
        let mut r = rule(&["G2M", "G2W"]);
        r.device_groups.insert("kiosks".into());
        let e = c.check_rule(&offered(), &r).unwrap_err();
        assert_eq!(e.field, "deviceGroups");
        assert!(e.reason.contains("takes device groups"), "{}", e.reason);
        let mut r = rule(&[]);
        r.device_groups.insert("kiosks".into());
        assert_eq!(
            c.check_rule(&offered(), &r).unwrap_err().field,
            "deviceGroups"
        );
        let mut r = rule(&["G2M", "G2R"]);
        r.device_groups.insert("kiosks".into());
        c.check_rule(&offered(), &r).unwrap();
    }

    #[test]
    fn products_are_only_those_the_product_api_offers() {
        let c = Catalog::demo();
        let r = rule(&["G2M"]);
        let e = c.check_rule(&[], &r).unwrap_err();
        assert_eq!(e.field, "products");
        c.check_rule(&[], &rule(&[])).unwrap();
    }

    #[test]
    fn duplicate_or_blank_entries_are_refused() {
        let mut c = Catalog::demo();
        c.user_groups.push(c.user_groups[0].clone());
        assert_eq!(c.validate().unwrap_err().field, "userGroups");
        let mut c = Catalog::demo();
        c.privileges[0].name = " ".into();
        assert_eq!(c.validate().unwrap_err().field, "privileges");
        let parsed: Result<Catalog, _> = serde_json::from_str(r#"{"product": []}"#);
        assert!(parsed.is_err());
    }

    #[test]
    fn products_are_refused_when_sent_and_ignored_when_stored_before() {
        let sent: Catalog =
            serde_json::from_str(r#"{"products": [{"id": "G2M", "name": "GoTo Meeting"}]}"#)
                .unwrap();
        let e = sent.validate().unwrap_err();
        assert_eq!(e.field, "products");
        assert_eq!(e.reason, PRODUCTS_REFUSED);
        // a catalogue stored with products still reads, and is written back without
        let written = serde_json::to_value(&sent).unwrap();
        assert!(written.get("products").is_none());
    }
}
