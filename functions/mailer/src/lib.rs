//! The mailer: renders the welcome email (the rule's template, or the shipped
//! default) in the user's language and sends it through SES, at most once per
//! user, template and event.

use std::collections::{BTreeSet, HashMap};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_runtime::LambdaEvent;
use serde_json::json;
use tracing::{Instrument, info, info_span, warn};
use user_sync_aws::batch::{Delivery, RecordResult, process_sqs};
use user_sync_aws::config::{Tables, activity_retention_days};
use user_sync_aws::correlation::{self, Origin};
use user_sync_aws::dynamo::{BothTables, DirectoryTable, StateTable};
use user_sync_aws::env::{ConfigError, number, required};
use user_sync_aws::metrics::{Line, Unit, name};
use user_sync_aws::ses::SesMailer;
use user_sync_aws::sqs::SqsMailQueue;
use user_sync_core::StoreError;
use user_sync_core::activity::{Action, ActivityEntry};
use user_sync_core::clock::{Clock, SystemClock};
use user_sync_core::ids::{OrgId, TemplateId, UserId};
use user_sync_core::job::MailJob;
use user_sync_core::mail::{EmailTemplate, WelcomeValues, default_template, render};
use user_sync_core::ports::{
    EmailClaim, EmailKey, MailError, MailQueue, MailSender, SyncState, Templates, WelcomeInputs,
    WelcomeReads,
};
use user_sync_core::state::{AccountStatus, DesiredState, FailureClass, Outcome};

#[derive(Debug, Clone)]
pub struct Config {
    pub tables: Tables,
    pub mail_from: String,
    pub login_url: String,
    pub activity_retention_days: u32,
    pub mail_queue_url: String,
    pub mail_dlq_url: String,
    pub max_receive_count: u32,
}

impl Config {
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            tables: Tables::from_lookup(get)?,
            mail_from: required(get, "MAIL_FROM")?,
            login_url: required(get, "LOGIN_URL")?,
            activity_retention_days: activity_retention_days(get)?,
            mail_queue_url: required(get, "MAIL_QUEUE_URL")?,
            mail_dlq_url: required(get, "MAIL_DLQ_URL")?,
            max_receive_count: number(get, "MAX_RECEIVE_COUNT", 5u32)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Deps {
    pub directory: DirectoryTable,
    pub state: StateTable,
    /// The organization and the user's desired state, read together.
    pub reads: BothTables,
    pub ses: SesMailer,
    pub dead_letters: SqsMailQueue,
    pub login_url: String,
    pub max_receive_count: u32,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig, config: Config) -> Self {
        let ddb = aws_sdk_dynamodb::Client::new(sdk);
        let (directory, state) = config.tables.open(&ddb, config.activity_retention_days);
        Self {
            reads: BothTables::new(&directory, &state),
            directory,
            state,
            ses: SesMailer::new(aws_sdk_sesv2::Client::new(sdk), config.mail_from),
            dead_letters: SqsMailQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                config.mail_queue_url,
                Some(config.mail_dlq_url),
            ),
            login_url: config.login_url,
            max_receive_count: config.max_receive_count,
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
    // the retention a job carries spares the activity entry's read of it
    let now = SystemClock.now();
    for record in &event.payload.records {
        if let Some(job) = mail_job(record)
            && let Some(org) = job.carried(Delivery::of(record).receive_count, now)
        {
            deps.state
                .remember_retention(&job.org_id, org.activity_retention_days);
        }
    }
    let mailer = Mailer {
        orgs: &deps.directory,
        state: &deps.state,
        reads: &deps.reads,
        sender: &deps.ses,
        dead_letters: &deps.dead_letters,
        login_url: &deps.login_url,
        max_receive_count: deps.max_receive_count,
        clock: &SystemClock,
    };
    Ok(Box::pin(mailer.handle_batch(event.payload.records)).await)
}

/// What one mail job needs.
pub struct Mailer<'a, O, S, R, M, Q> {
    pub orgs: &'a O,
    pub state: &'a S,
    /// The organization and the user's desired state, in one read.
    pub reads: &'a R,
    pub sender: &'a M,
    pub dead_letters: &'a Q,
    pub login_url: &'a str,
    /// The mail queue's `maxReceiveCount`: the last delivery of a job whose
    /// sends keep failing dead-letters it itself, tagged `email_failed`.
    pub max_receive_count: u32,
    /// The time activity entries are stamped with.
    pub clock: &'a dyn Clock,
}

/// Who the email goes to and what it says about them: the user's *current*
/// desired state where it was read (so that a job retried after the admin
/// corrected an address sends to the corrected one), or what the job
/// carries (on its first delivery, or when there is none).
struct Recipient {
    email: String,
    given_name: Option<String>,
    products: BTreeSet<String>,
    template: Option<String>,
    language: Option<String>,
}

impl<O, S, R, M, Q> Mailer<'_, O, S, R, M, Q>
where
    O: Templates,
    S: SyncState,
    R: WelcomeReads,
    M: MailSender,
    Q: MailQueue,
{
    /// Handles a batch of mail jobs: what they need beyond the jobs (the
    /// organizations, the users' desired states) is read for all of them at
    /// once, then each is sent. A job sent from what it carries needs no
    /// read ([`MailJob::carried`]); should the read fail, each job reads
    /// its own.
    pub async fn handle_batch(&self, records: Vec<SqsMessage>) -> SqsBatchResponse {
        let jobs: Vec<MailJob> = records.iter().filter_map(mail_job).collect();
        let mut users: Vec<(OrgId, UserId)> = records
            .iter()
            .filter_map(|r| {
                let job = mail_job(r)?;
                job.carried(Delivery::of(r).receive_count, self.clock.now())
                    .is_none()
                    .then_some((job.org_id, job.user_id))
            })
            .collect();
        users.sort();
        users.dedup();
        let inputs = if users.is_empty() {
            Some(WelcomeInputs::default())
        } else {
            match self.reads.welcome_inputs(&users).await {
                Ok(inputs) => Some(inputs),
                Err(e) => {
                    warn!(error = %e, "the batch's read failed; each mail job reads its own");
                    None
                }
            }
        };
        let inputs = inputs.as_ref();
        let claimed = match inputs {
            Some(read) => self.claim_batch(&jobs, read).await,
            None => Claimed::new(),
        };
        let claimed = &claimed;
        process_sqs(records, CONCURRENCY, |r| {
            self.handle_with(r, inputs, claimed)
        })
        .await
    }

    /// Claims the batch's emails together: for each job whose user is still
    /// to be welcomed, its template (read once per organization and template)
    /// and its claim. A job left out (its template could not be read, its
    /// claim failed, or its email is named twice in the batch) reads and
    /// claims on its own, as a batch of one does.
    async fn claim_batch(&self, jobs: &[MailJob], read: &WelcomeInputs) -> Claimed {
        let mut named: HashMap<EmailOf, usize> = HashMap::new();
        for job in jobs {
            *named.entry(email_of(job)).or_default() += 1;
        }
        let mut templates: HashMap<(OrgId, Option<String>), Option<EmailTemplate>> = HashMap::new();
        let mut due: Vec<(EmailOf, EmailTemplate)> = Vec::new();
        for job in jobs {
            let email = email_of(job);
            if named.get(&email) != Some(&1) {
                continue;
            }
            let (_, desired) = read.of(&job.org_id, &job.user_id);
            let Some(to) = Self::recipient(job, desired) else {
                continue;
            };
            let which = (job.org_id.clone(), to.template);
            let template = match templates.get(&which) {
                Some(t) => t.clone(),
                None => {
                    let t = template_of(self.orgs, &which.0, which.1.as_deref())
                        .await
                        .ok();
                    templates.insert(which, t.clone());
                    t
                }
            };
            if let Some(template) = template {
                due.push((email, template));
            }
        }
        let keys: Vec<EmailKey<'_>> = due
            .iter()
            .map(|((org, user, key), _)| EmailKey { org, user, key })
            .collect();
        let found = self.state.claim_emails(&keys).await;
        due.into_iter()
            .zip(found)
            .filter_map(|((email, template), claim)| match claim {
                Ok(claim) => Some((email, (template, claim))),
                Err(e) => {
                    warn!(error = %e, "a claim of the batch failed; its job claims on its own");
                    None
                }
            })
            .collect()
    }

    /// Handles one mail job.
    pub async fn handle_record(&self, record: SqsMessage) -> RecordResult {
        self.handle_with(record, None, &Claimed::new()).await
    }

    /// Handles one mail job with what its batch read (`None`: it reads its
    /// own) and claimed.
    async fn handle_with(
        &self,
        record: SqsMessage,
        read: Option<&WelcomeInputs>,
        claimed: &Claimed,
    ) -> RecordResult {
        let Some(job) = mail_job(&record) else {
            warn!(message_id = ?record.message_id, "mail body is not a mail job");
            return RecordResult::Retry;
        };
        // the change that created the account (a job queued before ids were
        // carried: a change of its own)
        let origin = match &job.correlation_id {
            Some(id) => Origin::born(Some(id)),
            None => Origin::born(record.message_id.as_deref()),
        };
        let span = info_span!(
            "mail",
            org = %job.org_id,
            user_id = %job.user_id,
            event = %job.event,
            correlation_id = %origin.correlation_id
        );
        let delivery = Delivery::of(&record);
        let correlation_id = origin.correlation_id.clone();
        // boxed: the send's future is large
        let sent = Box::pin(self.send(&job, &delivery, read, claimed).instrument(span));
        match correlation::within(origin, sent).await {
            Ok(r) => r,
            Err(e) => {
                warn!(correlation_id = %correlation_id, error = %e, "mail job failed; it will be retried");
                RecordResult::Retry
            }
        }
    }

    /// The recipient as the user's current desired state has it; `None`
    /// when the user no longer has an active account to be welcomed to.
    fn recipient(job: &MailJob, desired: Option<DesiredState>) -> Option<Recipient> {
        let Some(desired) = desired else {
            return Some(Recipient {
                email: job.email.clone(),
                given_name: job.given_name.clone(),
                products: job.products.clone(),
                template: job.template.clone(),
                language: job.language.clone(),
            });
        };
        if desired.account().status != AccountStatus::Active {
            return None;
        }
        Some(Recipient {
            email: desired.facts.email.clone(),
            given_name: desired.facts.given_name.clone(),
            products: desired.assignment.products.clone(),
            // the template chosen when the account was created: the claim
            // key names it
            template: job.template.clone(),
            // the account's language (see `user_sync_core::language`)
            language: desired
                .language()
                .map(|l| l.language)
                .or_else(|| job.language.clone()),
        })
    }

    async fn send(
        &self,
        job: &MailJob,
        delivery: &Delivery,
        read: Option<&WelcomeInputs>,
        claimed: &Claimed,
    ) -> Result<RecordResult, StoreError> {
        let (org_id, user_id) = (&job.org_id, &job.user_id);
        let template = job.template.as_deref().unwrap_or("default");
        let email_of = email_of(job);
        let key = email_of.2.clone();
        // the organization (its name, its default language) and the
        // user's current desired state: as the job carries them when it is
        // sent from them, else read with the batch's, or alone
        let (org, desired) = match (job.carried(delivery.receive_count, self.clock.now()), read) {
            (Some(o), _) => (Some((o.name.clone(), o.default_language.clone())), None),
            (None, read) => {
                let (org, desired) = match read {
                    Some(inputs) => inputs.of(org_id, user_id),
                    None => self
                        .reads
                        .welcome_inputs(&[(org_id.clone(), user_id.clone())])
                        .await?
                        .of(org_id, user_id),
                };
                (org.map(|o| (o.name, o.default_language)), desired)
            }
        };
        let Some(to) = Self::recipient(job, desired) else {
            info!("the user's account is suspended now: no welcome email");
            self.state
                .record_email_failure(org_id, user_id, None)
                .await?;
            return Ok(RecordResult::Done);
        };
        // claimed with the batch's, or alone
        let (chosen, claim) = match claimed.get(&email_of) {
            Some((chosen, claim)) => (chosen.clone(), *claim),
            None => (
                template_of(self.orgs, org_id, to.template.as_deref()).await?,
                self.state.claim_email(org_id, user_id, &key).await?,
            ),
        };
        let claim = match claim {
            EmailClaim::Sent => {
                info!("welcome email already sent");
                return Ok(RecordResult::Done);
            }
            // The delivery holding the claim still holds its own message:
            // should it die, that message comes back and takes the claim over.
            EmailClaim::InProgress => {
                info!("another delivery is sending this welcome email");
                return Ok(RecordResult::Done);
            }
            EmailClaim::TakenOver => {
                warn!(
                    "an earlier delivery claimed this welcome email and stopped before recording it; sending it"
                );
                EmailClaim::TakenOver
            }
            EmailClaim::Claimed => EmailClaim::Claimed,
        };
        let company = org
            .as_ref()
            .map_or("your company", |(name, _)| name.as_str());
        // the account's language (the rule's, the directory's or the
        // organization's default), else the organization's default
        // language, else English
        let preferred: Vec<&str> = [
            to.language.as_deref(),
            org.as_ref().map(|(_, language)| language.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect();
        let email = render(
            &chosen,
            &preferred,
            &WelcomeValues {
                first_name: to.given_name.as_deref(),
                products: &to.products,
                login_url: self.login_url,
                company_name: company,
            },
        );
        let language = preferred.first().map(|l| (*l).to_owned());
        let at = self.clock.timestamp();
        let suffix = format!("{user_id}#{key}");
        let error = match self.sender.send(&to.email, &email).await {
            Ok(()) => {
                let mut entry = ActivityEntry::by_sync(
                    at,
                    &suffix,
                    Action::WelcomeEmailSent,
                    user_id.as_str(),
                    Outcome::Success,
                );
                // the template's name as sent (the default's when the rule's was
                // deleted meanwhile): the history reads after it is deleted
                entry.details = json!({"template": template, "templateName": chosen.name, "language": language});
                if claim == EmailClaim::TakenOver {
                    entry.details["resent"] = json!(true);
                }
                tag(&mut entry);
                // clears an earlier failure too
                self.state.email_sent(org_id, user_id, &key, &entry).await?;
                info!("welcome email sent");
                emailed(job, name::EMAILS_SENT);
                return Ok(RecordResult::Done);
            }
            Err(e) => e,
        };
        // give the claim back so that a retry may send
        self.state.release_email(org_id, user_id, &key).await?;
        let reason = match &error {
            MailError::Rejected(reason) => reason.clone(),
            // still failing on the last delivery: give up like a refusal
            MailError::Transient(_) if delivery.receive_count >= self.max_receive_count => {
                "unavailable".to_owned()
            }
            MailError::Transient(_) => {
                warn!(error = %error, "welcome email not sent; it will be retried");
                emailed(job, name::EMAILS_FAILED);
                return Ok(RecordResult::Retry);
            }
        };
        let mut entry = ActivityEntry::by_sync(
            at,
            &suffix,
            Action::WelcomeEmailFailed,
            user_id.as_str(),
            Outcome::Failure,
        );
        entry.failure_class = Some(FailureClass::EmailFailed);
        entry.details = json!({"reason": reason});
        tag(&mut entry);
        self.state.append_activity(org_id, &entry).await?;
        self.state
            .record_email_failure(org_id, user_id, Some(&reason))
            .await?;
        self.dead_letters.dead_letter_mail(job).await?;
        warn!(error = %error, "welcome email refused; the job is dead-lettered for Retry sync");
        emailed(job, name::EMAILS_FAILED);
        Ok(RecordResult::Done)
    }
}

/// Which email a job sends: its user and its claim's key (the template
/// and the event).
type EmailOf = (OrgId, UserId, String);

/// What a batch claimed: each email's template and claim.
type Claimed = HashMap<EmailOf, (EmailTemplate, EmailClaim)>;

/// The email `job` sends.
fn email_of(job: &MailJob) -> EmailOf {
    let template = job.template.as_deref().unwrap_or("default");
    (
        job.org_id.clone(),
        job.user_id.clone(),
        format!("welcome#{template}#{}", job.event),
    )
}

/// The mail job a record carries, if its body is one.
fn mail_job(record: &SqsMessage) -> Option<MailJob> {
    serde_json::from_str(record.body.as_deref()?).ok()
}

/// Puts the change's correlation id on an activity entry
/// (`details.correlationId`), where the admin finds it.
fn tag(entry: &mut ActivityEntry) {
    if let Some(origin) = correlation::current() {
        entry.details["correlationId"] = json!(origin.correlation_id);
    }
}

/// The mailer's metrics line for one email sent or failed (see
/// `user_sync_aws::metrics`); the organization and the change are
/// properties, not dimensions.
fn emailed(job: &MailJob, metric: &str) {
    let mut line = Line::new("mailer")
        .metric(metric, Unit::Count, 1)
        .property("OrgId", job.org_id.as_str());
    if let Some(origin) = correlation::current() {
        line = line.property("CorrelationId", &origin.correlation_id);
    }
    line.emit();
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
