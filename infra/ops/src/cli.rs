//! The `ops` command line, callable in-process: [`run`] parses the
//! arguments, does the work and writes to the given outputs. `main` only
//! calls it.
//!
//! Exit codes: 0 done, 1 the work failed (an organization that does not
//! exist, AWS refused, the task did not finish in time), 2 a usage error
//! (an unknown subcommand or option, an invalid value, a missing setting).

mod domains;

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_aws::redrive::{QueuePair, SqsDeadLetters};
use user_sync_core::StoreError;
use user_sync_core::auth::TokenKind;
use user_sync_core::fanout::FanOutTask;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::{
    Configuration, FanOuts, Organization, Organizations, RedriveReport, RedriveSelection, Tokens,
};
use user_sync_core::scrub::{ScrubCount, scrub_organization};
use user_sync_core::state::FailureClass;

use user_sync_aws::backlog::{QueueStatus, queue_status};

/// Where the output goes: stdout and stderr, or buffers in tests.
pub type Out<'a> = &'a mut (dyn Write + Send);

const AFTER_HELP: &str = "\
Settings come from the environment or from the flags, which win:
  DIRECTORY_TABLE              --directory-table       org, token, catalog, custom-attributes, guardrail,
                                                       activity-retention, reconcile, scrub-secrets
  JOBS_QUEUE_URL               --jobs-queue-url        dlq
  JOBS_DLQ_URL                 --jobs-dlq-url          dlq
  MAIL_QUEUE_URL               --mail-queue-url        dlq
  MAIL_DLQ_URL                 --mail-dlq-url          dlq
  EVALUATOR_FAILURE_QUEUE_URL  --evaluator-failure-queue-url   dlq status (optional)
AWS credentials, region and endpoint come from the default chain, as for any
AWS tool (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL for the local stack).

Exit codes: 0 done, 1 failed, 2 usage error. See docs/ops.md.";

/// The on-call engineer's command line for User Sync.
#[derive(Debug, Parser)]
#[command(name = "ops", version, after_help = AFTER_HELP, arg_required_else_help = true)]
pub struct Cli {
    /// text: lines for people; json: one JSON document on stdout, for scripts.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Command,
}

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// Tables and queues: flags, or the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct Settings {
    /// The DNS server (`ip:port`) domain verification asks; default: the
    /// system's resolver.
    #[arg(long, global = true, env = "DNS_SERVER")]
    pub dns_server: Option<String>,
    /// The StateTable (the stack's output StateTableName): `domains` records
    /// its changes in the organization's activity history there.
    #[arg(long, global = true, env = "STATE_TABLE", hide_env_values = true)]
    pub state_table: Option<String>,
    /// The DirectoryTable (the stack's output DirectoryTableName).
    #[arg(long, global = true, env = "DIRECTORY_TABLE", hide_env_values = true)]
    pub directory_table: Option<String>,
    /// The JobsQueue URL.
    #[arg(long, global = true, env = "JOBS_QUEUE_URL", hide_env_values = true)]
    pub jobs_queue_url: Option<String>,
    /// The JobsDeadLetterQueue URL.
    #[arg(long, global = true, env = "JOBS_DLQ_URL", hide_env_values = true)]
    pub jobs_dlq_url: Option<String>,
    /// The MailQueue URL.
    #[arg(long, global = true, env = "MAIL_QUEUE_URL", hide_env_values = true)]
    pub mail_queue_url: Option<String>,
    /// The MailDeadLetterQueue URL.
    #[arg(long, global = true, env = "MAIL_DLQ_URL", hide_env_values = true)]
    pub mail_dlq_url: Option<String>,
    /// The EvaluatorFailureQueue URL (optional: `dlq status` shows it when given).
    #[arg(
        long,
        global = true,
        env = "EVALUATOR_FAILURE_QUEUE_URL",
        hide_env_values = true
    )]
    pub evaluator_failure_queue_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Organizations: create one, list them.
    #[command(subcommand, arg_required_else_help = true)]
    Org(OrgCommand),
    /// An organization's SCIM and admin tokens.
    #[command(subcommand, arg_required_else_help = true)]
    Token(TokenCommand),
    /// The queues' backlog, and moving dead-lettered messages back.
    #[command(subcommand, arg_required_else_help = true)]
    Dlq(DlqCommand),
    /// Forces a full resync of one organization: every directory user's
    /// desired state is recomputed and a job sent for each, even when nothing
    /// changed (the product side may have drifted).
    ///
    /// The evaluator does the work, 500 users per invocation, as it does for
    /// sync-on; the task shows in the admin API's GET /sync (fanOuts, reason
    /// "reconcile"). Sync must be on. Without --no-wait the command follows
    /// the task until it is done, printing the users and jobs so far.
    Reconcile(ReconcileArgs),
    /// What an organization's rules may name.
    #[command(subcommand, arg_required_else_help = true)]
    Catalog(CatalogCommand),
    /// The attributes of the custom SCIM extension an organization captures.
    #[command(subcommand, arg_required_else_help = true)]
    CustomAttributes(CustomAttributesCommand),
    /// The mass-suspension guardrail of an organization.
    #[command(subcommand, arg_required_else_help = true)]
    Guardrail(GuardrailCommand),
    /// How long an organization's activity history is kept.
    #[command(subcommand, arg_required_else_help = true)]
    ActivityRetention(ActivityRetentionCommand),
    /// Removes the secrets earlier versions stored with directory users (a
    /// SCIM user's password), from one organization or from all.
    ///
    /// Earlier versions kept the password an identity provider sent in the
    /// user's stored attributes; the SCIM endpoint now discards it on arrival
    /// and never returns it. This reads every user of the organization, 200
    /// at a time, and writes each one that still holds such an attribute
    /// again without it (its version moves on by one; the write is
    /// conditioned on the version read, and a user changed meanwhile is read
    /// again). Progress goes to stderr after each page. Running it again
    /// scrubs nothing more.
    #[command(arg_required_else_help = true)]
    ScrubSecrets(ScrubSecretsArgs),
    /// An organization's domains: list, add, verify, remove, the ops
    /// override (claim), grandfathering, and the scheduled re-check.
    #[command(subcommand, arg_required_else_help = true)]
    Domains(domains::DomainsCommand),
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Creates an organization with one SCIM token and one admin token.
    ///
    /// The tokens are printed once; only their hashes are stored.
    Create {
        /// The new organization's id: letters, digits, '-' and '_'.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// The company name (welcome emails use it).
        name: String,
    },
    /// Lists every organization: id, created, name and its settings.
    ///
    /// Organizations have no index of their own: this scans the
    /// DirectoryTable page by page (its cost grows with the table).
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issues a token; it is printed once, only its hash is stored.
    ///
    /// An admin token's name is the actor of its changes in the activity history.
    Create {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        #[arg(value_enum)]
        kind: KindArg,
        /// 1 to 100 characters on one line ("Sync user" is taken).
        name: String,
    },
    /// Lists an organization's tokens: id, kind, created, name (never secrets).
    List {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
    },
    /// Revokes a token at once.
    Revoke {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// As `token list` shows it.
        token_id: String,
    },
}

/// A token's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Calls the admin API.
    Admin,
    /// Calls the SCIM endpoint (the identity provider's).
    Scim,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Per queue: messages waiting, in flight and delayed, and for the
    /// dead-letter queues the oldest message of a sample.
    ///
    /// SQS has no call for the age of a queue's oldest message (CloudWatch's
    /// ApproximateAgeOfOldestMessage is the metric on AWS). For the
    /// dead-letter queues and the evaluator's failure queue this command
    /// peeks: it receives up to 30 messages with a visibility timeout of 0
    /// (nothing is consumed or hidden; their receive count grows by one) and
    /// reports the oldest SentTimestamp among them. It is a sample: with
    /// more messages than that, an older one may exist. The jobs and mail
    /// queues are never peeked (a receive there counts towards their
    /// redrive policy). The counts are SQS's approximations.
    Status,
    /// Moves dead-lettered jobs and welcome emails back to their queues, of
    /// every organization or the ones selected, showing progress.
    ///
    /// A message moves only once it is sent to its queue; running it again
    /// is harmless. A run moves only messages that were in the dead-letter
    /// queue when it started (their SentTimestamp, less a clock-skew margin
    /// of 5 seconds): a job that fails again during the run is left for
    /// the next run, never moved in a loop.
    Redrive {
        /// Only this organization's messages.
        #[arg(long, value_parser = org_id)]
        org: Option<OrgId>,
        /// Only this failure class (email_failed: welcome emails; any other: jobs).
        #[arg(long, value_enum)]
        class: Option<ClassArg>,
        /// Only this user's messages.
        #[arg(long, value_parser = user_id)]
        user: Option<UserId>,
        /// Most messages moved per second.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
        rate: u32,
    },
}

/// A failure class, as the admin API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum ClassArg {
    OutOfLicenses,
    ExistingAccount,
    InvalidUserData,
    ProductApiUnavailable,
    EmailFailed,
    UnverifiedDomain,
}

impl From<ClassArg> for FailureClass {
    fn from(c: ClassArg) -> Self {
        match c {
            ClassArg::OutOfLicenses => FailureClass::OutOfLicenses,
            ClassArg::ExistingAccount => FailureClass::ExistingAccount,
            ClassArg::InvalidUserData => FailureClass::InvalidUserData,
            ClassArg::ProductApiUnavailable => FailureClass::ProductApiUnavailable,
            ClassArg::EmailFailed => FailureClass::EmailFailed,
            ClassArg::UnverifiedDomain => FailureClass::UnverifiedDomain,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// The organization's id.
    #[arg(value_parser = org_id)]
    pub org_id: OrgId,
    /// Start the task and return; follow it with GET /sync.
    #[arg(long)]
    pub no_wait: bool,
    /// Longest wait for the task to finish, in seconds (it goes on after).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["org_id", "all"])))]
pub struct ScrubSecretsArgs {
    /// The organization's id.
    #[arg(value_parser = org_id)]
    pub org_id: Option<OrgId>,
    /// Every organization (the organizations are listed by scanning the
    /// DirectoryTable, as `org list` does).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Replaces the catalogue: products (with seats), privileges, user
    /// groups, device groups and settings templates, as JSON (the body of
    /// the admin API's PUT /catalog).
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// A JSON file, or - for stdin.
        file: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CustomAttributesCommand {
    /// Sets the attributes of the custom SCIM extension it captures.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// Comma-separated names ("" for none).
        names: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum GuardrailCommand {
    /// Sets the share of users (1 to 100 %) a rule change or sync-on may
    /// suspend without "confirm": true.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// 1 to 100 (a trailing % is accepted).
        #[arg(value_parser = percent)]
        percent: u8,
    },
}

#[derive(Debug, Subcommand)]
pub enum ActivityRetentionCommand {
    /// Sets how many days its activity entries are kept, 1 to 3650, or
    /// "default" for the stack's ActivityRetentionDays. Admins can set 90
    /// days or more; fewer only here. Entries written before keep the
    /// expiry they were written with.
    Set {
        /// The organization's id.
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        /// Days (1 to 3650), or "default".
        #[arg(value_parser = retention_days)]
        days: RetentionArg,
    },
}

/// A retention on the command line: days, or the stack's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionArg(pub Option<u32>);

fn retention_days(s: &str) -> Result<RetentionArg, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("default") {
        return Ok(RetentionArg(None));
    }
    let days = s
        .parse::<u32>()
        .map_err(|_| "a number of days from 1 to 3650, or \"default\"".to_owned())?;
    user_sync_core::activity::check_retention(
        Some(days),
        user_sync_core::activity::RetentionSetter::Ops,
    )
    .map_err(|e| e.to_string())?;
    Ok(RetentionArg(Some(days)))
}

fn org_id(s: &str) -> Result<OrgId, String> {
    OrgId::parse(s).map_err(|e| e.to_string())
}

fn user_id(s: &str) -> Result<UserId, String> {
    UserId::parse(s).map_err(|e| e.to_string())
}

fn percent(s: &str) -> Result<u8, String> {
    s.trim()
        .trim_end_matches('%')
        .trim()
        .parse::<u8>()
        .ok()
        .filter(|p| (1..=100).contains(p))
        .ok_or_else(|| "a percentage from 1 to 100".to_owned())
}

/// Why a command did not succeed, and its exit code.
#[derive(Debug)]
pub enum Failure {
    /// Exit code 2: the command line or a setting is wrong.
    Usage(String),
    /// Exit code 1.
    Failed(String),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Failed(_) => 1,
        }
    }

    fn message(&self) -> &str {
        match self {
            Failure::Usage(m) | Failure::Failed(m) => m,
        }
    }
}

/// A store error, in words, for what was being done.
fn store_error(doing: &str, e: StoreError) -> Failure {
    match e {
        StoreError::Invalid(reason) => Failure::Usage(reason),
        other => Failure::Failed(format!("could not {doing}: {other}")),
    }
}

fn missing_org(org: &OrgId) -> Failure {
    Failure::Failed(format!("organization {org} does not exist"))
}

/// Fails unless the organization exists.
async fn require_org(store: &DirectoryTable, org: &OrgId) -> Result<(), Failure> {
    match store.get_org(org).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(missing_org(org)),
        Err(e) => Err(store_error("read the organization", e)),
    }
}

fn line(w: Out<'_>, text: impl Display) {
    if writeln!(w, "{text}").is_err() {
        // the reader went away: nothing more to tell it
    }
}

/// Parses the command line (exit code 2 on a usage error, 0 for --help and
/// --version, written to `out`).
pub fn parse<I, T>(args: I, out: Out<'_>, err: Out<'_>) -> Result<Cli, u8>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match Cli::try_parse_from(args) {
        Ok(cli) => Ok(cli),
        Err(e) => {
            use clap::error::ErrorKind;
            let text = e.render().to_string();
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    line(out, text.trim_end());
                    Err(0)
                }
                _ => {
                    line(err, text.trim_end());
                    Err(2)
                }
            }
        }
    }
}

/// Runs the command line `args` (the program name first) with the default
/// AWS configuration (credential chain, region, `AWS_ENDPOINT_URL`).
/// Returns the exit code.
pub async fn run<I, T>(args: I, out: Out<'_>, err: Out<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match parse(args, out, err) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    execute(cli, &sdk, out, err).await
}

/// Like [`run`], with a given AWS configuration.
pub async fn run_with<I, T>(args: I, sdk: &SdkConfig, out: Out<'_>, err: Out<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    match parse(args, out, err) {
        Ok(cli) => execute(cli, sdk, out, err).await,
        Err(code) => code,
    }
}

/// Runs a parsed command line; returns the exit code.
pub async fn execute(cli: Cli, sdk: &SdkConfig, out: Out<'_>, err: Out<'_>) -> u8 {
    let ctx = Ctx {
        sdk,
        settings: &cli.settings,
        output: cli.output,
    };
    let result = match cli.command {
        Command::Org(OrgCommand::Create { org_id, name }) => org_create(&ctx, &org_id, &name).await,
        Command::Org(OrgCommand::List) => org_list(&ctx).await,
        Command::Token(TokenCommand::Create { org_id, kind, name }) => {
            token_create(&ctx, &org_id, kind, &name).await
        }
        Command::Token(TokenCommand::List { org_id }) => token_list(&ctx, &org_id).await,
        Command::Token(TokenCommand::Revoke { org_id, token_id }) => {
            token_revoke(&ctx, &org_id, &token_id).await
        }
        Command::Dlq(DlqCommand::Status) => dlq_status(&ctx).await,
        Command::Dlq(DlqCommand::Redrive {
            org,
            class,
            user,
            rate,
        }) => {
            let selection = RedriveSelection {
                org,
                class: class.map(FailureClass::from),
                user,
            };
            dlq_redrive(&ctx, &selection, rate, err).await
        }
        Command::Reconcile(args) => reconcile(&ctx, &args, err).await,
        Command::Catalog(CatalogCommand::Set { org_id, file }) => {
            catalog_set(&ctx, &org_id, &file).await
        }
        Command::CustomAttributes(CustomAttributesCommand::Set { org_id, names }) => {
            custom_attributes_set(&ctx, &org_id, &names).await
        }
        Command::Guardrail(GuardrailCommand::Set { org_id, percent }) => {
            guardrail_set(&ctx, &org_id, percent).await
        }
        Command::ActivityRetention(ActivityRetentionCommand::Set { org_id, days }) => {
            activity_retention_set(&ctx, &org_id, days.0).await
        }
        Command::ScrubSecrets(args) => scrub_secrets(&ctx, &args, err).await,
        Command::Domains(command) => domains::run(&ctx, command).await,
    };
    match result {
        Ok(report) => {
            match ctx.output {
                Output::Text => {
                    for l in report.text {
                        line(out, l);
                    }
                }
                Output::Json => line(
                    out,
                    serde_json::to_string_pretty(&report.json).unwrap_or_default(),
                ),
            }
            for note in report.notes {
                line(err, note);
            }
            0
        }
        Err(f) => {
            line(err, format!("ops: {}", f.message()));
            f.code()
        }
    }
}

/// What a command tells: lines for people (stdout), the same as one JSON
/// document, and notes for people (stderr, in both modes).
struct Report {
    text: Vec<String>,
    json: Value,
    notes: Vec<String>,
}

impl Report {
    fn new(text: Vec<String>, json: Value) -> Self {
        Self {
            text,
            json,
            notes: Vec::new(),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }
}

struct Ctx<'a> {
    sdk: &'a SdkConfig,
    settings: &'a Settings,
    output: Output,
}

impl Ctx<'_> {
    fn directory(&self) -> Result<DirectoryTable, Failure> {
        let table = self.settings.directory_table.clone().ok_or_else(|| {
            Failure::Usage(
                "the DirectoryTable is not known: set DIRECTORY_TABLE or --directory-table \
                 (the local stack writes it to .local/stack.json)"
                    .into(),
            )
        })?;
        Ok(DirectoryTable::new(
            aws_sdk_dynamodb::Client::new(self.sdk),
            table,
        ))
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(self.sdk)
    }

    /// The four queues of the jobs and the welcome emails.
    fn queues(&self) -> Result<[(&'static str, String); 4], Failure> {
        let s = self.settings;
        let need = |v: &Option<String>, env: &str, flag: &str| {
            v.clone().ok_or_else(|| {
                Failure::Usage(format!(
                    "{env} is not set (or {flag}; the local stack writes the queue URLs to .local/stack.json)"
                ))
            })
        };
        Ok([
            (
                "JobsQueue",
                need(&s.jobs_queue_url, "JOBS_QUEUE_URL", "--jobs-queue-url")?,
            ),
            (
                "JobsDeadLetterQueue",
                need(&s.jobs_dlq_url, "JOBS_DLQ_URL", "--jobs-dlq-url")?,
            ),
            (
                "MailQueue",
                need(&s.mail_queue_url, "MAIL_QUEUE_URL", "--mail-queue-url")?,
            ),
            (
                "MailDeadLetterQueue",
                need(&s.mail_dlq_url, "MAIL_DLQ_URL", "--mail-dlq-url")?,
            ),
        ])
    }
}

fn now() -> String {
    user_sync_core::time::format(time::OffsetDateTime::now_utc())
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Admin => "admin",
        TokenKind::Scim => "scim",
    }
}

async fn org_create(ctx: &Ctx<'_>, org: &OrgId, name: &str) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let new = crate::create_organization(&store, org, name)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                Failure::Failed(format!("organization {org} exists already"))
            }
            other => store_error("create the organization", other),
        })?;
    Ok(Report::new(
        vec![
            format!("organization: {}", new.org_id),
            format!("SCIM token:   {}", new.scim_token),
            format!("admin token:  {}", new.admin_token),
        ],
        json!({
            "orgId": new.org_id,
            "name": name,
            "scimToken": new.scim_token,
            "adminToken": new.admin_token,
        }),
    )
    .note("The tokens are shown once; only their hashes are stored."))
}

/// One organization as `org list` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct OrgRow {
    id: OrgId,
    name: String,
    created: String,
    default_language: String,
    custom_attributes: Vec<String>,
    suspension_guardrail_percent: u8,
    /// `None`: the stack's default.
    activity_retention_days: Option<u32>,
    /// Products in the catalogue; `None`: no catalogue.
    catalog_products: Option<usize>,
}

impl From<Organization> for OrgRow {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id,
            name: o.name,
            created: o.created,
            default_language: o.default_language,
            custom_attributes: o.custom_attributes,
            suspension_guardrail_percent: o.suspension_guardrail_percent,
            activity_retention_days: o.activity_retention_days,
            catalog_products: o.catalog.map(|c| c.products.len()),
        }
    }
}

/// Organizations per listing page.
const ORG_PAGE: usize = 100;

/// Every organization, by id.
async fn all_orgs(store: &DirectoryTable) -> Result<Vec<Organization>, Failure> {
    let mut orgs: Vec<Organization> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = store
            .list_orgs(cursor.as_deref(), ORG_PAGE)
            .await
            .map_err(|e| store_error("list the organizations", e))?;
        orgs.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    orgs.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(orgs)
}

async fn org_list(ctx: &Ctx<'_>) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let rows: Vec<OrgRow> = all_orgs(&store)
        .await?
        .into_iter()
        .map(OrgRow::from)
        .collect();
    let table = columns(
        &["ID", "CREATED", "GUARDRAIL", "CUSTOM", "CATALOGUE", "NAME"],
        rows.iter()
            .map(|r| {
                vec![
                    r.id.to_string(),
                    r.created.clone(),
                    format!("{} %", r.suspension_guardrail_percent),
                    r.custom_attributes.len().to_string(),
                    r.catalog_products
                        .map_or_else(|| "-".to_owned(), |n| format!("{n} products")),
                    r.name.clone(),
                ]
            })
            .collect(),
    );
    let count = rows.len();
    Ok(Report::new(table, json!({ "organizations": rows }))
        .note(format!("{count} organization(s)")))
}

/// Left-aligned columns, two spaces apart, the last one as it is.
fn columns(header: &[&str], rows: Vec<Vec<String>>) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<String>| {
        let last = cells.len().saturating_sub(1);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                if i == last {
                    c
                } else {
                    let w = widths.get(i).copied().unwrap_or(0);
                    format!("{c:<w$}  ")
                }
            })
            .collect::<String>()
    };
    std::iter::once(render(header.iter().map(|h| (*h).to_owned()).collect()))
        .chain(rows.into_iter().map(render))
        .collect()
}

async fn token_create(
    ctx: &Ctx<'_>,
    org: &OrgId,
    kind: KindArg,
    name: &str,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let kind = match kind {
        KindArg::Admin => TokenKind::Admin,
        KindArg::Scim => TokenKind::Scim,
    };
    let (token_id, plain) =
        crate::create_token(&store, org, kind, name)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => missing_org(org),
                other => store_error("create the token", other),
            })?;
    Ok(Report::new(
        vec![
            format!("token id: {token_id}"),
            format!("token:    {plain}"),
        ],
        json!({
            "orgId": org,
            "tokenId": token_id,
            "kind": kind_name(kind),
            "name": name.trim(),
            "token": plain,
        }),
    )
    .note("The token is shown once; only its hash is stored."))
}

async fn token_list(ctx: &Ctx<'_>, org: &OrgId) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    require_org(&store, org).await?;
    let mut tokens = store
        .list_tokens(org)
        .await
        .map_err(|e| store_error("list the tokens", e))?;
    tokens.sort_by(|a, b| a.created.cmp(&b.created));
    let text = columns(
        &["TOKEN ID", "KIND", "CREATED", "NAME"],
        tokens
            .iter()
            .map(|t| {
                vec![
                    t.token_id.clone(),
                    kind_name(t.kind).to_owned(),
                    t.created.clone(),
                    t.name.clone(),
                ]
            })
            .collect(),
    );
    let json = json!({
        "orgId": org,
        "tokens": tokens.iter().map(|t| json!({
            "tokenId": t.token_id,
            "kind": kind_name(t.kind),
            "created": t.created,
            "name": t.name,
        })).collect::<Vec<_>>(),
    });
    Ok(Report::new(text, json))
}

async fn token_revoke(ctx: &Ctx<'_>, org: &OrgId, token_id: &str) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::revoke_token(&store, org, token_id)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => {
                Failure::Failed(format!("organization {org} has no token {token_id}"))
            }
            other => store_error("revoke the token", other),
        })?;
    Ok(Report::new(
        vec![format!("token {token_id} of organization {org} is revoked")],
        json!({"orgId": org, "tokenId": token_id, "revoked": true}),
    ))
}

async fn dlq_status(ctx: &Ctx<'_>) -> Result<Report, Failure> {
    let [jobs, jobs_dlq, mail, mail_dlq] = ctx.queues()?;
    let mut queues = vec![
        (jobs, false),
        (jobs_dlq, true),
        (mail, false),
        (mail_dlq, true),
    ];
    if let Some(url) = &ctx.settings.evaluator_failure_queue_url {
        queues.push((("EvaluatorFailureQueue", url.clone()), true));
    }
    let sqs = ctx.sqs();
    let mut statuses: Vec<QueueStatus> = Vec::new();
    for ((name, url), peek) in queues {
        statuses.push(
            queue_status(&sqs, name, &url, peek)
                .await
                .map_err(|e| Failure::Failed(format!("could not read {name}: {e}")))?,
        );
    }
    let text = columns(
        &[
            "QUEUE",
            "WAITING",
            "IN FLIGHT",
            "DELAYED",
            "OLDEST (SAMPLE)",
        ],
        statuses
            .iter()
            .map(|q| {
                vec![
                    q.name.clone(),
                    q.waiting.to_string(),
                    q.in_flight.to_string(),
                    q.delayed.to_string(),
                    oldest_text(q),
                ]
            })
            .collect(),
    );
    Ok(Report::new(text, json!({ "queues": statuses })).note(
        "Counts are SQS's approximations. The oldest message is the oldest of a sample of up \
         to 30 peeked from each dead-letter queue (never from the jobs and mail queues); an \
         older one may exist.",
    ))
}

/// The oldest-message column of `dlq status`.
fn oldest_text(q: &QueueStatus) -> String {
    match &q.oldest_sampled {
        Some(o) => format!(
            "{} ({} of {} sampled)",
            age(o.age_seconds),
            o.messages_sampled,
            q.waiting.max(o.messages_sampled as u64)
        ),
        None => "-".into(),
    }
}

/// `90` → `1m30s`.
fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Longest a redrive runs (it stops early when the queues are empty).
const REDRIVE_BUDGET: Duration = Duration::from_secs(24 * 3600);

async fn dlq_redrive(
    ctx: &Ctx<'_>,
    selection: &RedriveSelection,
    rate: u32,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let [(_, jobs), (_, jobs_dlq), (_, mail), (_, mail_dlq)] = ctx.queues()?;
    let dead_letters = SqsDeadLetters::new(
        ctx.sqs(),
        QueuePair {
            dead_letter_url: jobs_dlq,
            source_url: jobs,
        },
        QueuePair {
            dead_letter_url: mail_dlq,
            source_url: mail,
        },
        rate,
    );
    let mut last = 0;
    let mut progress = |r: &RedriveReport| {
        if r.examined >= last + 100 {
            last = r.examined;
            line(
                err,
                format!(
                    "... {} jobs and {} emails moved ({} dead-lettered messages examined)",
                    r.jobs, r.emails, r.examined
                ),
            );
        }
    };
    let r = dead_letters
        .redrive_with_progress(selection, REDRIVE_BUDGET, &mut progress)
        .await
        .map_err(|e| {
            Failure::Failed(format!(
                "the redrive stopped: {e} (run it again: what moved stays moved)"
            ))
        })?;
    let newer = if r.newer == 0 {
        String::new()
    } else {
        format!(
            "; {} dead-lettered after the run started (or moments before), left for the next run",
            r.newer
        )
    };
    let text = vec![format!(
        "moved {} jobs and {} welcome emails back to their queues ({} dead-lettered messages examined{newer}{})",
        r.jobs,
        r.emails,
        r.examined,
        if r.complete {
            ""
        } else {
            "; stopped early, run again for the rest"
        }
    )];
    Ok(Report::new(
        text,
        serde_json::to_value(r).unwrap_or(Value::Null),
    ))
}

/// How often `reconcile` reads its task's progress.
const POLL: Duration = Duration::from_secs(1);

fn task_json(org: &OrgId, t: &FanOutTask) -> Value {
    json!({
        "orgId": org,
        "taskId": t.id,
        "reason": t.reason,
        "done": t.done,
        "chunks": t.chunk,
        "users": t.users,
        "jobs": t.jobs,
        "startedAt": t.created_at,
        "updatedAt": t.updated_at,
    })
}

async fn reconcile(ctx: &Ctx<'_>, args: &ReconcileArgs, err: Out<'_>) -> Result<Report, Failure> {
    let org = &args.org_id;
    let store = ctx.directory()?;
    require_org(&store, org).await?;
    let (_, sync) = store
        .rules_and_sync(org)
        .await
        .map_err(|e| store_error("read the sync switch", e))?;
    if !sync.enabled {
        return Err(Failure::Failed(format!(
            "sync is off for organization {org}: nothing is applied while it is off, and turning it on reconciles every user"
        )));
    }
    let mut random = [0u8; 4];
    getrandom::fill(&mut random)
        .map_err(|e| Failure::Failed(format!("no random bytes for the task id: {e}")))?;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let task = FanOutTask::forced_reconcile(format!("reconcile-{stamp}-{suffix}"), now());
    store
        .start_fan_out(org, &task)
        .await
        .map_err(|e| store_error("start the reconcile", e))?;
    line(
        err,
        format!(
            "task {} started: every directory user of organization {org} goes to the product API again",
            task.id
        ),
    );
    if args.no_wait {
        return Ok(Report::new(
            vec![format!(
                "task {}: started (follow it in GET /sync, fanOuts)",
                task.id
            )],
            task_json(org, &task),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut shown = (0, 0);
    loop {
        tokio::time::sleep(POLL).await;
        let current = store
            .get_fan_out(org, &task.id)
            .await
            .map_err(|e| store_error("read the reconcile's progress", e))?
            .ok_or_else(|| Failure::Failed(format!("task {} disappeared", task.id)))?;
        if (current.users, current.jobs) != shown {
            shown = (current.users, current.jobs);
            line(
                err,
                format!(
                    "... {} users reconciled, {} jobs sent ({} chunks)",
                    current.users, current.jobs, current.chunk
                ),
            );
        }
        if current.done {
            return Ok(Report::new(
                vec![format!(
                    "task {}: done, {} users reconciled, {} jobs sent",
                    current.id, current.users, current.jobs
                )],
                task_json(org, &current),
            ));
        }
        if Instant::now() >= deadline {
            return Err(Failure::Failed(format!(
                "task {} is still running after {} s ({} users, {} jobs so far); it goes on: follow it in GET /sync",
                current.id, args.timeout, current.users, current.jobs
            )));
        }
    }
}

async fn scrub_secrets(
    ctx: &Ctx<'_>,
    args: &ScrubSecretsArgs,
    err: Out<'_>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let orgs: Vec<OrgId> = match &args.org_id {
        Some(org) => {
            require_org(&store, org).await?;
            vec![org.clone()]
        }
        None => all_orgs(&store).await?.into_iter().map(|o| o.id).collect(),
    };
    let mut total = ScrubCount::default();
    let mut rows = Vec::new();
    let mut text = Vec::new();
    for org in &orgs {
        let count = scrub_organization(&store, org, |c| {
            line(
                err,
                format!(
                    "... {org}: {} users examined, {} scrubbed",
                    c.examined, c.scrubbed
                ),
            );
        })
        .await
        .map_err(|e| {
            Failure::Failed(format!(
                "the scrub of organization {org} stopped: {e} (run it again: what was scrubbed stays scrubbed)"
            ))
        })?;
        total.examined += count.examined;
        total.scrubbed += count.scrubbed;
        text.push(format!(
            "organization {org}: {} of {} users scrubbed",
            count.scrubbed, count.examined
        ));
        rows.push(json!({
            "orgId": org,
            "examined": count.examined,
            "scrubbed": count.scrubbed,
        }));
    }
    text.push(format!(
        "scrubbed {} of {} users in {} organization(s)",
        total.scrubbed,
        total.examined,
        orgs.len()
    ));
    Ok(Report::new(
        text,
        json!({
            "organizations": rows,
            "examined": total.examined,
            "scrubbed": total.scrubbed,
        }),
    ))
}

async fn catalog_set(ctx: &Ctx<'_>, org: &OrgId, file: &str) -> Result<Report, Failure> {
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    }
    .map_err(|e| Failure::Usage(format!("cannot read {file}: {e}")))?;
    let source = if file == "-" { "stdin" } else { file };
    let catalog: user_sync_core::catalog::Catalog = serde_json::from_str(&text)
        .map_err(|e| Failure::Usage(format!("{source} does not hold a catalogue: {e}")))?;
    let products = catalog.products.len();
    let store = ctx.directory()?;
    crate::set_catalog(&store, org, catalog)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            StoreError::Invalid(reason) => {
                Failure::Usage(format!("the catalogue is not valid: {reason}"))
            }
            other => store_error("set the catalogue", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org}: catalogue replaced ({products} products)"
        )],
        json!({"orgId": org, "catalogProducts": products}),
    ))
}

async fn custom_attributes_set(ctx: &Ctx<'_>, org: &OrgId, names: &str) -> Result<Report, Failure> {
    let names: Vec<String> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let store = ctx.directory()?;
    crate::set_custom_attributes(&store, org, &names)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the custom attributes", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org} now captures {} custom attribute(s)",
            names.len()
        )],
        json!({"orgId": org, "customAttributes": names}),
    ))
}

async fn guardrail_set(ctx: &Ctx<'_>, org: &OrgId, percent: u8) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::set_guardrail(&store, org, percent)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the guardrail", other),
        })?;
    Ok(Report::new(
        vec![format!(
            "organization {org}: changes that would suspend more than {percent} % of its users now need confirmation"
        )],
        json!({"orgId": org, "suspensionGuardrailPercent": percent}),
    ))
}

async fn activity_retention_set(
    ctx: &Ctx<'_>,
    org: &OrgId,
    days: Option<u32>,
) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    crate::set_activity_retention(&store, org, days)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => missing_org(org),
            other => store_error("set the activity retention", other),
        })?;
    let kept = match days {
        Some(d) => format!("{d} day(s)"),
        None => "the stack's default".to_owned(),
    };
    let mut report = Report::new(
        vec![format!(
            "organization {org}: activity entries written from now on are kept {kept}; \
             entries written before keep their expiry"
        )],
        json!({"orgId": org, "activityRetentionDays": days}),
    );
    if days.is_some_and(|d| d < user_sync_core::activity::MIN_ADMIN_RETENTION_DAYS) {
        report = report.note(format!(
            "below the {} days admins may set: its admins cannot change it without raising it",
            user_sync_core::activity::MIN_ADMIN_RETENTION_DAYS
        ));
    }
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Cli {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let args = std::iter::once("ops").chain(args.iter().copied());
        parse(args, &mut out, &mut err)
            .unwrap_or_else(|code| panic!("{code}: {}", String::from_utf8_lossy(&err)))
    }

    /// The exit code and what was written, for a command line that does
    /// not parse (or asks for help).
    fn refused(args: &[&str]) -> (u8, String, String) {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let args = std::iter::once("ops").chain(args.iter().copied());
        match parse(args, &mut out, &mut err) {
            Ok(cli) => panic!("parsed: {cli:?}"),
            Err(code) => (
                code,
                String::from_utf8_lossy(&out).into_owned(),
                String::from_utf8_lossy(&err).into_owned(),
            ),
        }
    }

    #[test]
    fn every_subcommand_parses() {
        let cli = parsed(&["org", "create", "acme", "Acme Inc"]);
        assert!(
            matches!(cli.command, Command::Org(OrgCommand::Create { ref org_id, ref name })
                if org_id.as_str() == "acme" && name == "Acme Inc")
        );
        assert_eq!(cli.output, Output::Text);
        assert!(matches!(
            parsed(&["org", "list", "--output", "json"]),
            Cli {
                output: Output::Json,
                command: Command::Org(OrgCommand::List),
                ..
            }
        ));
        assert!(matches!(
            parsed(&["token", "create", "acme", "admin", "Alice Admin"]).command,
            Command::Token(TokenCommand::Create { kind: KindArg::Admin, ref name, .. }) if name == "Alice Admin"
        ));
        assert!(matches!(
            parsed(&["token", "create", "acme", "scim", "Okta"]).command,
            Command::Token(TokenCommand::Create {
                kind: KindArg::Scim,
                ..
            })
        ));
        assert!(matches!(
            parsed(&["token", "list", "acme"]).command,
            Command::Token(TokenCommand::List { .. })
        ));
        assert!(matches!(
            parsed(&["token", "revoke", "acme", "t1"]).command,
            Command::Token(TokenCommand::Revoke { ref token_id, .. }) if token_id == "t1"
        ));
        assert!(matches!(
            parsed(&["dlq", "status"]).command,
            Command::Dlq(DlqCommand::Status)
        ));
        assert!(matches!(
            parsed(&["reconcile", "acme", "--no-wait"]).command,
            Command::Reconcile(ReconcileArgs {
                no_wait: true,
                timeout: 3600,
                ..
            })
        ));
        assert!(matches!(
            parsed(&["catalog", "set", "acme", "-"]).command,
            Command::Catalog(CatalogCommand::Set { ref file, .. }) if file == "-"
        ));
        assert!(matches!(
            parsed(&["custom-attributes", "set", "acme", "badgeNumber,costCenter"]).command,
            Command::CustomAttributes(CustomAttributesCommand::Set { ref names, .. }) if names == "badgeNumber,costCenter"
        ));
        assert!(matches!(
            parsed(&["guardrail", "set", "acme", "20%"]).command,
            Command::Guardrail(GuardrailCommand::Set { percent: 20, .. })
        ));
        assert!(matches!(
            parsed(&["scrub-secrets", "acme"]).command,
            Command::ScrubSecrets(ScrubSecretsArgs { org_id: Some(ref o), all: false }) if o.as_str() == "acme"
        ));
        assert!(matches!(
            parsed(&["scrub-secrets", "--all", "--output", "json"]).command,
            Command::ScrubSecrets(ScrubSecretsArgs {
                org_id: None,
                all: true
            })
        ));
        assert!(matches!(
            parsed(&["activity-retention", "set", "acme", "7"]).command,
            Command::ActivityRetention(ActivityRetentionCommand::Set {
                days: RetentionArg(Some(7)),
                ..
            })
        ));
        assert!(matches!(
            parsed(&["activity-retention", "set", "acme", "default"]).command,
            Command::ActivityRetention(ActivityRetentionCommand::Set {
                days: RetentionArg(None),
                ..
            })
        ));
    }

    #[test]
    fn redrive_options_select_an_organization_class_and_user() {
        let cli = parsed(&[
            "dlq",
            "redrive",
            "--org",
            "acme",
            "--class",
            "out_of_licenses",
            "--user",
            "u-1",
            "--rate",
            "20",
        ]);
        let Command::Dlq(DlqCommand::Redrive {
            org,
            class,
            user,
            rate,
        }) = cli.command
        else {
            panic!("{cli:?}");
        };
        assert_eq!(org.map(|o| o.to_string()), Some("acme".into()));
        assert_eq!(
            class.map(FailureClass::from),
            Some(FailureClass::OutOfLicenses)
        );
        assert_eq!(user.map(|u| u.to_string()), Some("u-1".into()));
        assert_eq!(rate, 20);
        let Command::Dlq(DlqCommand::Redrive {
            org,
            class,
            user,
            rate,
        }) = parsed(&["dlq", "redrive"]).command
        else {
            panic!("redrive");
        };
        assert_eq!((org, class, user, rate), (None, None, None, 50));
    }

    #[test]
    fn settings_come_from_flags_anywhere_on_the_line() {
        let cli = parsed(&[
            "--directory-table",
            "T1",
            "dlq",
            "status",
            "--jobs-queue-url",
            "http://q/jobs",
            "--evaluator-failure-queue-url",
            "http://q/failures",
        ]);
        assert_eq!(cli.settings.directory_table.as_deref(), Some("T1"));
        assert_eq!(
            cli.settings.jobs_queue_url.as_deref(),
            Some("http://q/jobs")
        );
        assert_eq!(
            cli.settings.evaluator_failure_queue_url.as_deref(),
            Some("http://q/failures")
        );
    }

    #[test]
    fn usage_errors_exit_with_2_on_stderr() {
        for bad in [
            &[][..],
            &["create-org", "acme", "Acme"][..],
            &["set-catalog", "acme", "c.json"][..],
            &["org"][..],
            &["org", "create", "acme"][..],
            &["org", "create", "a#b", "Acme"][..],
            &["token", "create", "acme", "root", "x"][..],
            &["dlq", "redrive", "--class", "nope"][..],
            &["dlq", "redrive", "--org"][..],
            &["dlq", "redrive", "--rate", "0"][..],
            &["dlq", "redrive", "--queue", "jobs"][..],
            &["guardrail", "set", "acme", "0"][..],
            &["guardrail", "set", "acme", "101"][..],
            &["activity-retention", "set", "acme", "0"][..],
            &["activity-retention", "set", "acme", "3651"][..],
            &["activity-retention", "set", "acme", "forever"][..],
            &["reconcile"][..],
            &["scrub-secrets"][..],
            &["scrub-secrets", "acme", "--all"][..],
            &["org", "list", "--output", "yaml"][..],
        ] {
            let (code, out, err) = refused(bad);
            assert_eq!(code, 2, "{bad:?}");
            assert!(out.is_empty(), "{bad:?}: {out}");
            assert!(!err.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn help_is_on_stdout_with_exit_0_for_every_subcommand() {
        // every command path clap knows, so a new subcommand is covered too
        fn paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
            out.push(prefix.to_vec());
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let mut p = prefix.to_vec();
                p.push(sub.get_name().to_owned());
                paths(sub, &p, out);
            }
        }
        let mut all = Vec::new();
        paths(&<Cli as clap::CommandFactory>::command(), &[], &mut all);
        assert!(all.len() >= 16, "{all:?}");
        for path in &all {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            let mut args = path.clone();
            args.push("--help");
            let (code, out, err) = refused(&args);
            assert_eq!(code, 0, "{path:?}: {err}");
            assert!(out.contains("Usage: ops"), "{path:?}: {out}");
        }
        let (_, out, _) = refused(&["dlq", "status", "--help"]);
        assert!(out.contains("sample"), "{out}");
    }

    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(42), "42s");
        assert_eq!(age(90), "1m30s");
        assert_eq!(age(3 * 3600 + 5 * 60), "3h05m");
        assert_eq!(age(2 * 86_400 + 7 * 3600), "2d07h");
    }

    #[test]
    fn columns_line_up() {
        let lines = columns(
            &["ID", "NAME"],
            vec![vec!["acme".into(), "Acme Inc".into()]],
        );
        assert_eq!(lines, vec!["ID    NAME", "acme  Acme Inc"]);
    }
}
