//! The `ops` command line, callable in-process: [`run`] parses the
//! arguments, does the work and writes to the given outputs. `main` only
//! calls it.
//!
//! Exit codes: 0 done, 1 the work failed (an organization that does not
//! exist, AWS refused, the task did not finish in time), 2 a usage error
//! (an unknown subcommand or option, an invalid value, a missing setting).

use std::ffi::OsString;
use std::fmt::Display;
use std::io::Write;

use aws_config::SdkConfig;
use clap::Parser;
use serde_json::Value;
use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::StoreError;
use user_sync_core::auth::TokenKind;
use user_sync_core::clock::SystemClock;
use user_sync_core::ids::OrgId;
use user_sync_core::ports::{Organizations, RedriveSelection};

mod args;
mod domains;
mod drift;
mod maintenance;
mod metrics;
mod org_settings;
mod orgs;
mod queues;
mod sso;

pub use args::*;
use maintenance::*;
use org_settings::*;
use orgs::*;
use queues::*;

/// Where the output goes: stdout and stderr, or buffers in tests.
pub type Out<'a> = &'a mut (dyn Write + Send);

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
        clock: SystemClock,
    };
    let result = match cli.command {
        Command::Org(OrgCommand::Create { org_id, name }) => org_create(&ctx, &org_id, &name).await,
        Command::Org(OrgCommand::List) => org_list(&ctx).await,
        Command::Token(TokenCommand::Create {
            org_id,
            kind,
            name,
            role,
            expires_in,
        }) => token_create(&ctx, &org_id, kind, &name, role, expires_in).await,
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
            let selection = RedriveSelection { org, class, user };
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
        Command::ScrubSecrets(args) => {
            whole_organization_pass(&ctx, &args, Pass::ScrubSecrets, err).await
        }
        Command::IndexDeletedUsers(args) => {
            whole_organization_pass(&ctx, &args, Pass::IndexDeletedUsers, err).await
        }
        Command::Domains(command) => domains::run(&ctx, command).await,
        Command::Metrics(args) => metrics::metrics(&ctx, &args).await,
        Command::Drift(command) => drift::run(&ctx, command, err).await,
        Command::Sso(command) => sso::run(&ctx, command).await,
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
    /// The time ops' writes are stamped with.
    clock: SystemClock,
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

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Admin => "admin",
        TokenKind::Scim => "scim",
    }
}
