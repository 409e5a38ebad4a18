//! The command line: subcommands, options and their value parsers.

mod maintenance;
mod orgs;
mod queues;
mod settings;

pub use maintenance::{MetricsArgs, OrgOrAllArgs, ReconcileArgs};
pub use orgs::{KindArg, OrgCommand, RoleArg, TokenCommand};
pub use queues::DlqCommand;
pub use settings::{
    ActivityRetentionCommand, CatalogCommand, CustomAttributesCommand, GuardrailCommand,
    RetentionArg,
};

use clap::{Args, Parser, Subcommand, ValueEnum};
use user_sync_core::ids::{OrgId, UserId};

use super::{domains, drift, sso};

const AFTER_HELP: &str = "\
Settings come from the environment or from the flags, which win:
  DIRECTORY_TABLE              --directory-table       org, token, catalog, custom-attributes, guardrail,
                                                       activity-retention, reconcile, scrub-secrets, drift, sso
  JOBS_QUEUE_URL               --jobs-queue-url        dlq
  JOBS_DLQ_URL                 --jobs-dlq-url          dlq
  MAIL_QUEUE_URL               --mail-queue-url        dlq
  MAIL_DLQ_URL                 --mail-dlq-url          dlq
  EVALUATOR_FAILURE_QUEUE_URL  --evaluator-failure-queue-url   dlq status (optional)
  METRICS_FILE                 --file                  metrics (the local stack's .local/metrics.jsonl)
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
    ScrubSecrets(OrgOrAllArgs),
    /// Indexes the deleted users of one organization, or of all, by the
    /// keys a returning person finds them by (externalId, userName).
    ///
    /// Creating a user reads, with its token, whether a deleted user it
    /// could be is filed under its externalId (or, without one, its
    /// userName); when none is, it does not look further. Organizations
    /// created before the index have their deleted users unfiled, and every
    /// create in them looks, as before, until this has run once: it reads
    /// every user of the organization, 200 at a time, files the deleted
    /// ones no returning person has taken over, then marks the organization
    /// indexed. Safe while the organization is in use. Progress goes to
    /// stderr after each page. Running it again files nothing new.
    #[command(arg_required_else_help = true)]
    IndexDeletedUsers(OrgOrAllArgs),
    /// An organization's domains: list, add, verify, remove, the ops
    /// override (claim), grandfathering, and the scheduled re-check.
    #[command(subcommand, arg_required_else_help = true)]
    Domains(domains::DomainsCommand),
    /// What the functions measured on the local stack: their embedded-metric
    /// lines summed per metric, function and failure class, and the change
    /// latency's p50, p95 and p99 (on AWS: the CloudWatch dashboard).
    Metrics(MetricsArgs),
    /// An organization's drift check: run it now, how often it runs, and
    /// the scheduled pass.
    #[command(subcommand, arg_required_else_help = true)]
    Drift(drift::DriftCommand),
    /// An organization's single sign-on for admins (OpenID Connect): set
    /// (validated against the issuer at once), show, remove, and whether
    /// admin keys may still sign in to the console.
    #[command(subcommand, arg_required_else_help = true)]
    Sso(sso::SsoCommand),
}

pub(super) fn org_id(s: &str) -> Result<OrgId, String> {
    OrgId::parse(s).map_err(|e| e.to_string())
}

fn user_id(s: &str) -> Result<UserId, String> {
    UserId::parse(s).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::cli::parse;
    use user_sync_core::state::FailureClass;

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
            parsed(&["token", "create", "acme", "admin", "Help desk", "--role", "viewer", "--expires-in", "90d"]).command,
            Command::Token(TokenCommand::Create {
                role: Some(RoleArg::Viewer),
                expires_in: Some(d),
                ..
            }) if d == time::Duration::days(90)
        ));
        for bad in ["0d", "90", "3651d", "-1d", "d", "1w"] {
            assert!(
                Cli::try_parse_from([
                    "ops",
                    "token",
                    "create",
                    "acme",
                    "admin",
                    "x",
                    "--expires-in",
                    bad
                ])
                .is_err(),
                "{bad}"
            );
        }
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
            parsed(&["index-deleted-users", "--all"]).command,
            Command::IndexDeletedUsers(OrgOrAllArgs {
                org_id: None,
                all: true
            })
        ));
        assert!(matches!(
            parsed(&["scrub-secrets", "acme"]).command,
            Command::ScrubSecrets(OrgOrAllArgs { org_id: Some(ref o), all: false }) if o.as_str() == "acme"
        ));
        assert!(matches!(
            parsed(&["scrub-secrets", "--all", "--output", "json"]).command,
            Command::ScrubSecrets(OrgOrAllArgs {
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
        assert_eq!(class, Some(FailureClass::OutOfLicenses));
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
}
