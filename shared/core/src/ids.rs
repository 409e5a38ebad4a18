//! Identifier newtypes. Their constructors are the only way in, so every id
//! that reaches a storage key has been checked.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::DomainError;

fn valid_id(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        // shared, not copied: ids are cloned into every provenance, job and
        // key, and a clone is a reference count
        pub struct $name(Arc<str>);

        impl $name {
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                if valid_id(s, $max) {
                    Ok(Self(Arc::from(s)))
                } else {
                    Err(DomainError::new(
                        $field,
                        concat!("must be 1 to ", stringify!($max), " characters of A-Z, a-z, 0-9, '-' or '_'"),
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "pattern": concat!("^[A-Za-z0-9_-]{1,", stringify!($max), "}$"),
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(s: String) -> Result<Self, DomainError> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                String::from(&*v.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An organization (tenant). Every stored key starts with it.
    OrgId, "orgId", 40
);
id_type!(
    /// A directory user's id, assigned by us at SCIM creation.
    UserId, "userId", 64
);
id_type!(
    /// A directory group's id, assigned by us at SCIM creation.
    GroupId, "groupId", 64
);
id_type!(
    /// A rule's id.
    RuleId, "ruleId", 64
);
id_type!(
    /// A welcome-email template's id (`default`: the shipped default).
    TemplateId, "templateId", 64
);

impl TemplateId {
    /// The shipped default template's id, `default`.
    pub fn shipped_default() -> Self {
        Self(Arc::from("default"))
    }

    pub fn is_shipped_default(&self) -> bool {
        &*self.0 == "default"
    }
}

/// A fresh random id (128 bits, lowercase hex with dashes, UUID v4 layout).
pub fn new_id(random: [u8; 16]) -> String {
    let mut b = random;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_reject_separators_and_empty() {
        assert!(OrgId::parse("acme-1").is_ok());
        assert!(OrgId::parse("").is_err());
        assert!(OrgId::parse("a#b").is_err());
        assert!(UserId::parse("x/y").is_err());
        assert!(OrgId::parse(&"a".repeat(41)).is_err());
    }

    #[test]
    fn new_id_is_uuid_shaped() {
        let id = new_id([0xab; 16]);
        assert_eq!(id.len(), 36);
        assert!(UserId::parse(&id).is_ok());
        assert_eq!(&id[14..15], "4");
    }
}
