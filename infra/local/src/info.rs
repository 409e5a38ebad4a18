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

    /// The ops CLI's settings for this stack, as `export` lines for a shell
    /// (`.local/ops.env`; no tokens): `source .local/ops.env`, then `ops …`.
    pub fn ops_env(&self) -> String {
        let queue = |id: &str| self.queues.get(id).cloned().unwrap_or_default();
        let vars = [
            ("AWS_ENDPOINT_URL", self.aws_endpoint_url.clone()),
            ("AWS_REGION", self.aws_region.clone()),
            ("DIRECTORY_TABLE", self.directory_table.clone()),
            ("JOBS_QUEUE_URL", queue("JobsQueue")),
            ("JOBS_DLQ_URL", queue("JobsDeadLetterQueue")),
            ("MAIL_QUEUE_URL", queue("MailQueue")),
            ("MAIL_DLQ_URL", queue("MailDeadLetterQueue")),
            (
                "EVALUATOR_FAILURE_QUEUE_URL",
                queue("EvaluatorFailureQueue"),
            ),
        ];
        let mut text = String::from(
            "# The ops CLI's settings for the local stack (written by local-stack).\n",
        );
        for (name, value) in vars {
            text.push_str(&format!("export {name}='{}'\n", value.replace('\'', "")));
        }
        text
    }

    /// Writes [`LocalInfo::ops_env`] to `path`, with `METRICS_FILE`: the
    /// functions' metric lines `scripts/dev` keeps beside it
    /// ([`crate::emf`], for `ops metrics`).
    pub fn write_ops_env(&self, path: &Path) -> Result<(), StackError> {
        let metrics = path.with_file_name(crate::emf::METRICS_FILE);
        let text = format!(
            "{}export METRICS_FILE='{}'\n",
            self.ops_env(),
            metrics.display().to_string().replace('\'', "")
        );
        std::fs::write(path, text)
            .map_err(|e| StackError::io(format!("writing {}", path.display()), e))
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
                "All of this, with the queue URLs, is in {}; the ops CLI's settings are in",
                info_path.display()
            ),
            format!(
                "{} (source it, then: cargo run -q -p ops -- --help). Ctrl-C stops everything.",
                info_path.with_file_name("ops.env").display()
            ),
        ]
        .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_env_names_the_stack_without_tokens() {
        let info = LocalInfo {
            org_id: "demo".into(),
            org_name: "Demo".into(),
            scim_url: "http://127.0.0.1:1/scim/v2".into(),
            api_url: "http://127.0.0.1:1/api/v1".into(),
            scim_token: Some("us_scim_secret".into()),
            admin_token: Some("us_admin_secret".into()),
            product_api_url: "http://127.0.0.1:2".into(),
            simulator_control_url: "http://127.0.0.1:2/control".into(),
            product_api_key: "key".into(),
            aws_endpoint_url: "http://127.0.0.1:5000".into(),
            aws_region: "us-east-1".into(),
            directory_table: "DirectoryTable-x".into(),
            state_table: "StateTable-x".into(),
            queues: BTreeMap::from([
                ("JobsQueue".into(), "http://q/jobs".into()),
                ("JobsDeadLetterQueue".into(), "http://q/jobs-dlq".into()),
            ]),
            mail_from: "noreply@example.com".into(),
        };
        let env = info.ops_env();
        assert!(env.contains("export AWS_ENDPOINT_URL='http://127.0.0.1:5000'\n"));
        assert!(env.contains("export DIRECTORY_TABLE='DirectoryTable-x'\n"));
        assert!(env.contains("export JOBS_DLQ_URL='http://q/jobs-dlq'\n"));
        assert!(!env.contains("secret") && !env.contains("key"));
    }
}
