//! Messages between the functions. A job names a user and a generation, never
//! the state itself: the worker always reconciles to the user's *current*
//! desired state, so a job that waited in a dead-letter queue cannot apply
//! stale data.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::ids::{OrgId, UserId};

/// "Reconcile this user": the evaluator → worker message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementJob {
    pub org_id: OrgId,
    pub user_id: UserId,
    pub generation: u64,
}

/// "Send this user the welcome email": the worker → mailer message. It carries
/// what the template needs so that the mailer does not read the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailJob {
    pub org_id: OrgId,
    pub user_id: UserId,
    /// The event this email belongs to; the mailer sends at most one email
    /// per (user, template, event).
    pub event: String,
    pub template: Option<String>,
    pub language: Option<String>,
    pub email: String,
    pub given_name: Option<String>,
    pub products: BTreeSet<String>,
}

/// The SQS message attribute that carries a dead-lettered job's failure class.
pub const FAILURE_CLASS_ATTRIBUTE: &str = "failureClass";
