//! What the `local-stack` binary tells people and scripts: `.local/stack.json`
//! and the block it prints.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::StackError;
use crate::resolve::REGION;
use crate::stack::Stack;

/// The contents of `.local/stack.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalInfo {
    pub org_id: String,
    pub org_name: String,
    pub scim_url: String,
    pub api_url: String,
    /// `None` when the organization existed already and its tokens are not
    /// known (an external emulator without a previous stack.json).
    pub scim_token: Option<String>,
    pub admin_token: Option<String>,
    pub product_api_url: String,
    pub simulator_control_url: String,
    pub product_api_key: String,
    pub aws_endpoint_url: String,
    pub aws_region: String,
    pub directory_table: String,
    pub state_table: String,
    /// Queue logical id → URL.
    pub queues: BTreeMap<String, String>,
    pub mail_from: String,
}

impl LocalInfo {
    /// What to tell about `stack` and its demo organization.
    pub fn new(
        stack: &Stack,
        org_id: &str,
        org_name: &str,
        tokens: Option<(String, String)>,
    ) -> Self {
        let (scim_token, admin_token) = match tokens {
            Some((scim, admin)) => (Some(scim), Some(admin)),
            None => (None, None),
        };
        Self {
            org_id: org_id.to_owned(),
            org_name: org_name.to_owned(),
            scim_url: stack.scim_url.clone(),
            api_url: stack.api_url.clone(),
            scim_token,
            admin_token,
            product_api_url: stack.product_api_url.clone(),
            simulator_control_url: stack.simulator_control_url.clone(),
            product_api_key: crate::stack::PRODUCT_API_KEY.to_owned(),
            aws_endpoint_url: stack.aws_endpoint_url.clone(),
            aws_region: REGION.to_owned(),
            directory_table: stack.directory_table.clone(),
            state_table: stack.state_table.clone(),
            queues: stack.queues.clone(),
            mail_from: stack.mail_from.clone(),
        }
    }

    /// Reads a previous stack.json, if there is a readable one.
    pub fn read(path: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes it as pretty JSON (readable by the owner only: it holds tokens).
    pub fn write(&self, path: &Path) -> Result<(), StackError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| StackError::io(format!("creating {}", dir.display()), e))?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| StackError::io("encoding stack.json", e.into()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| StackError::io(format!("writing {}", path.display()), e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| StackError::io(format!("restricting {}", path.display()), e))?;
        }
        Ok(())
    }

    /// The block printed for a person.
    pub fn render(&self, info_path: &Path) -> String {
        let unknown =
            "(unknown: the organization existed already; create another with the ops CLI)";
        let scim_token = self.scim_token.as_deref().unwrap_or(unknown);
        let admin_token = self.admin_token.as_deref().unwrap_or(unknown);
        [
            String::new(),
            format!(
                "User Sync is running locally (organization {}, \"{}\").",
                self.org_id, self.org_name
            ),
            String::new(),
            format!(
                "  Identity provider (SCIM 2.0)  base URL      {}",
                self.scim_url
            ),
            format!("                                bearer token  {scim_token}"),
            format!(
                "  Admin API                     base URL      {}",
                self.api_url
            ),
            format!("                                bearer token  {admin_token}"),
            format!(
                "  Product API (simulated)       {}  (control: {})",
                self.product_api_url, self.simulator_control_url
            ),
            format!(
                "  AWS emulator (moto)           {}  (region {}, any credentials)",
                self.aws_endpoint_url, self.aws_region
            ),
            String::new(),
            "Try it:".to_owned(),
            format!(
                "  curl -s -H 'Authorization: Bearer {scim_token}' '{}/Users'",
                self.scim_url
            ),
            format!(
                "  curl -s -H 'Authorization: Bearer {admin_token}' '{}/rules'",
                self.api_url
            ),
            String::new(),
            format!(
                "All of this, with the queue URLs, is in {}. Ctrl-C stops everything.",
                info_path.display()
            ),
        ]
        .join("\n")
    }
}
