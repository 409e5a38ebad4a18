//! Every AWS call each function makes, as IAM permissions: the table
//! `template.yaml`'s roles must grant exactly (a test here fails when a role
//! grants more or less), and the check the end-to-end tests run on the calls
//! the functions made on the local stack (every one must be in the table).
//! docs/permissions.md shows the same table.
//!
//! Resources are named as the template names them: `arn:X` for
//! `!GetAtt X.Arn`, `stream:X` for `!GetAtt X.StreamArn`, `arn:X/index/*`
//! for the table's indexes, `ses-identity` for the sender's SES identity,
//! `${Parameter}` for a parameter's value (the product API key's secret),
//! `*` where a service has no resource-level permissions (X-Ray only).

mod calls;
mod table;
mod template;

pub use calls::needed;
pub use table::{PERMISSIONS, PRODUCT_API_KEY_SECRET};
pub use template::template_pairs;

use std::collections::BTreeSet;

/// Actions on resources.
#[derive(Debug, Clone, Copy)]
pub struct Grant {
    pub actions: &'static [&'static str],
    pub resources: &'static [&'static str],
}

/// What one function may call.
#[derive(Debug, Clone, Copy)]
pub struct FunctionGrants {
    /// The template's logical id of the function.
    pub function: &'static str,
    /// Its role's logical id.
    pub role: &'static str,
    /// Its binary (the access key id it calls the local stack's emulator with).
    pub binary: &'static str,
    pub grants: &'static [Grant],
}

impl FunctionGrants {
    /// A function (logical id), its role (logical id), its binary, its grants.
    pub const fn new(
        function: &'static str,
        role: &'static str,
        binary: &'static str,
        grants: &'static [Grant],
    ) -> Self {
        Self {
            function,
            role,
            binary,
            grants,
        }
    }
}

/// (action, resource) pairs.
pub type Pairs = BTreeSet<(String, String)>;

pub(super) fn pairs(grants: &[Grant]) -> Pairs {
    grants
        .iter()
        .flat_map(|g| {
            g.actions.iter().flat_map(move |a| {
                g.resources
                    .iter()
                    .map(move |r| ((*a).to_owned(), (*r).to_owned()))
            })
        })
        .collect()
}

/// What the table grants a role.
pub fn table_pairs(role: &str) -> Pairs {
    PERMISSIONS
        .iter()
        .filter(|f| f.role == role)
        .flat_map(|f| pairs(f.grants))
        .collect()
}
