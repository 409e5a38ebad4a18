//! The mailer: renders the welcome email (the rule's template, or the shipped
//! default) in the user's language and sends it through SES, at most once per
//! user, template and event.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use user_sync_aws::batch::{RecordResult, process_sqs};
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, number, required};
use user_sync_aws::ses::SesMailer;
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry, SYNC_USER, Subject, SubjectKind};
use user_sync_core::ids::{OrgId, TemplateId};
use user_sync_core::job::MailJob;
use user_sync_core::mail::{EmailTemplate, WelcomeValues, default_template, render};
use user_sync_core::ports::{MailError, MailSender, Organizations, SyncState, Templates};
use user_sync_core::state::{FailureClass, Outcome};

#[derive(Debug, Clone)]
pub struct Config {
    pub directory_table: String,
    pub state_table: String,
    pub mail_from: String,
    pub login_url: String,
    pub activity_retention_days: u32,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            directory_table: required(get, "DIRECTORY_TABLE")?,
            state_table: required(get, "STATE_TABLE")?,
            mail_from: required(get, "MAIL_FROM")?,
            login_url: required(get, "LOGIN_URL")?,
            activity_retention_days: number(get, "ACTIVITY_RETENTION_DAYS", 365u32)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    pub ses: SesMailer,
    pub login_url: String,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        Self {
            directory: DirectoryTable::new(ddb.clone(), config.directory_table),
            state: StateTable::new(ddb, config.state_table, config.activity_retention_days),
            ses: SesMailer::new(aws_sdk_sesv2::Client::new(sdk), config.mail_from),
            login_url: config.login_url,
        }
    }
}

/// Emails sent at once within a batch (SES has a send rate).
const CONCURRENCY: usize = 2;

/// The Lambda handler.
pub async fn handle(
    deps: &Deps,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    Ok(
        Box::pin(process_sqs(event.payload.records, CONCURRENCY, |r| {
            handle_record(&deps.directory, &deps.state, &deps.ses, &deps.login_url, r)
        }))
        .await,
    )
}

/// Handles one mail job.
pub async fn handle_record<O, S, M>(
    orgs: &O,
    state: &S,
    sender: &M,
    login_url: &str,
    record: SqsMessage,
) -> RecordResult
where
    O: Organizations + Templates,
    S: SyncState,
    M: MailSender,
{
    let Some(job) = record
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<MailJob>(b).ok())
    else {
        warn!(message_id = ?record.message_id, "mail body is not a mail job");
        return RecordResult::Retry;
    };
    let span = info_span!("mail", org = %job.org_id, user_id = %job.user_id, event = %job.event);
    match send(orgs, state, sender, login_url, &job)
        .instrument(span)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            warn!(error = %e, "mail job failed; it will be retried");
            RecordResult::Retry
        }
    }
}

async fn send<O, S, M>(
    orgs: &O,
    state: &S,
    sender: &M,
    login_url: &str,
    job: &MailJob,
) -> Result<RecordResult, StoreError>
where
    O: Organizations + Templates,
    S: SyncState,
    M: MailSender,
{
    let template = job.template.as_deref().unwrap_or("default");
    let key = format!("welcome#{template}#{}", job.event);
    let org = orgs.get_org(&job.org_id).await?;
    let chosen = template_of(orgs, &job.org_id, job.template.as_deref()).await?;
    match state.claim_email(&job.org_id, &job.user_id, &key).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            info!("welcome email already sent");
            return Ok(RecordResult::Done);
        }
        Err(e) => return Err(e),
    }
    let language = job
        .language
        .clone()
        .or_else(|| org.as_ref().map(|o| o.default_language.clone()));
    let company = org.as_ref().map_or("your company", |o| o.name.as_str());
    // the job's language (the rule's, or the user's locale), else the
    // organization's default language, else English
    let preferred: Vec<&str> = [
        job.language.as_deref(),
        org.as_ref().map(|o| o.default_language.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let email = render(
        &chosen,
        &preferred,
        &WelcomeValues {
            first_name: job.given_name.as_deref(),
            products: &job.products,
            login_url,
            company_name: company,
        },
    );
    let at = user_sync_core::time::format(time::OffsetDateTime::now_utc());
    let suffix = format!("{}#{key}", job.user_id);
    let subject = Subject {
        kind: SubjectKind::User,
        id: job.user_id.to_string(),
    };
    match sender.send(&job.email, &email).await {
        Ok(()) => {
            let mut entry = ActivityEntry::new(
                at,
                &suffix,
                SYNC_USER,
                Action::WelcomeEmailSent,
                subject,
                Outcome::Success,
            );
            entry.details = json!({"template": template, "language": language});
            state.append_activity(&job.org_id, &entry).await?;
            info!("welcome email sent");
            Ok(RecordResult::Done)
        }
        Err(e) => {
            // give the claim back so that a retry may send
            state.release_email(&job.org_id, &job.user_id, &key).await?;
            if let MailError::Rejected(reason) = &e {
                let mut entry = ActivityEntry::new(
                    at,
                    &suffix,
                    SYNC_USER,
                    Action::WelcomeEmailFailed,
                    subject,
                    Outcome::Failure,
                );
                entry.failure_class = Some(FailureClass::EmailFailed);
                entry.details = json!({"reason": reason});
                state.append_activity(&job.org_id, &entry).await?;
            }
            warn!(error = %e, "welcome email not sent");
            Ok(RecordResult::Retry)
        }
    }
}

/// The template a job names, if it exists; else the shipped default (also
/// when the template was deleted after the rule named it).
async fn template_of<O: Templates>(
    orgs: &O,
    org: &OrgId,
    named: Option<&str>,
) -> Result<EmailTemplate, StoreError> {
    let Some(id) = named.and_then(|n| TemplateId::parse(n).ok()) else {
        return Ok(default_template());
    };
    if id.is_shipped_default() {
        return Ok(default_template());
    }
    match orgs.get_template(org, &id).await? {
        Some(t) => Ok(t.template),
        None => {
            info!(template = %id, "the rule's template does not exist; the default is sent");
            Ok(default_template())
        }
    }
}
