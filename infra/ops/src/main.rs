//! `ops`: the on-call engineer's command line.
//!
//! ```text
//! ops create-org <org-id> <name>     create an organization; prints its SCIM and admin tokens
//! ops set-custom-attributes <org-id> <name,name,...>
//!                                    the attributes of the custom SCIM extension it captures ("" for none)
//! ops set-guardrail <org-id> <percent>
//!                                    the share of users a rule change or sync-on may suspend unconfirmed
//! ops set-catalog <org-id> <file.json | ->
//!                                    what its rules may name: products (with seats), privileges, groups, templates
//! ops token create <org-id> <admin|scim> <name>
//!                                    a new token (shown once); an admin token's name is its activity actor
//! ops token list <org-id>            the organization's tokens: id, kind, name, created (never secrets)
//! ops token revoke <org-id> <token-id>
//!                                    revokes it at once
//! ops dlq redrive [--org <org-id>] [--class <failure-class>] [--user <user-id>] [--rate <per-second>]
//!                                    move dead-lettered jobs and welcome emails back to their queues
//! ```
//! AWS settings come from the environment (`AWS_ENDPOINT_URL` for the local
//! stack); the table from `DIRECTORY_TABLE`, the queues from `JOBS_QUEUE_URL`,
//! `JOBS_DLQ_URL`, `MAIL_QUEUE_URL` and `MAIL_DLQ_URL`.

use std::process::ExitCode;
use std::time::Duration;

use user_sync_aws::dynamo::DirectoryTable;
use user_sync_aws::redrive::{QueuePair, SqsDeadLetters};
use user_sync_core::auth::TokenKind;
use user_sync_core::ids::{OrgId, UserId};
use user_sync_core::ports::Organizations;
use user_sync_core::ports::{RedriveReport, RedriveSelection};

const USAGE: &str = "usage: ops create-org <org-id> <name>\n       ops set-custom-attributes <org-id> <name,name,...>\n       ops set-guardrail <org-id> <percent>\n       ops set-catalog <org-id> <file.json | ->\n       ops token create <org-id> <admin|scim> <name>\n       ops token list <org-id>\n       ops token revoke <org-id> <token-id>\n       ops dlq redrive [--org <org-id>] [--class <failure-class>] [--user <user-id>] [--rate <per-second>]\n\nenvironment: DIRECTORY_TABLE (organizations), JOBS_QUEUE_URL, JOBS_DLQ_URL, MAIL_QUEUE_URL, MAIL_DLQ_URL (dlq),\nAWS_ENDPOINT_URL / AWS_REGION / credentials as for any AWS tool";

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["create-org", org, name] => create_org(org, name).await,
        ["set-custom-attributes", org, names] => set_custom_attributes(org, names).await,
        ["set-guardrail", org, percent] => set_guardrail(org, percent).await,
        ["set-catalog", org, file] => set_catalog(org, file).await,
        ["token", "create", org, kind, name] => token_create(org, kind, name).await,
        ["token", "list", org] => token_list(org).await,
        ["token", "revoke", org, token_id] => token_revoke(org, token_id).await,
        ["dlq", "redrive", options @ ..] => redrive(options).await,
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// The directory table of the environment, or why not.
async fn directory() -> Result<DirectoryTable, ExitCode> {
    let Ok(table) = std::env::var("DIRECTORY_TABLE") else {
        eprintln!("DIRECTORY_TABLE is not set (the local stack writes it to .local/stack.json)");
        return Err(ExitCode::from(2));
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ok(DirectoryTable::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
    ))
}

fn org_id(org: &str) -> Result<OrgId, ExitCode> {
    OrgId::parse(org).map_err(|e| {
        eprintln!("invalid organization id: {e}");
        ExitCode::from(2)
    })
}

async fn set_custom_attributes(org: &str, names: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let names: Vec<String> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    match ops::set_custom_attributes(&store, &org_id, &names).await {
        Ok(()) => {
            eprintln!(
                "organization {org_id} now captures {} custom attribute(s)",
                names.len()
            );
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::NotFound) => {
            eprintln!("organization {org_id} does not exist");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("could not set the custom attributes: {e}");
            ExitCode::from(1)
        }
    }
}

async fn set_guardrail(org: &str, percent: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let Ok(percent) = percent.trim().trim_end_matches('%').parse::<u8>() else {
        eprintln!("the guardrail is a percentage from 1 to 100");
        return ExitCode::from(2);
    };
    match ops::set_guardrail(&store, &org_id, percent).await {
        Ok(()) => {
            eprintln!(
                "organization {org_id}: changes that would suspend more than {percent} % of its users now need confirmation"
            );
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::NotFound) => {
            eprintln!("organization {org_id} does not exist");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("could not set the guardrail: {e}");
            ExitCode::from(1)
        }
    }
}

async fn create_org(org: &str, name: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match ops::create_organization(&store, &org_id, name).await {
        Ok(new) => {
            #[allow(clippy::print_stdout)]
            {
                println!("organization: {}", new.org_id);
                println!("SCIM token:   {}", new.scim_token);
                println!("admin token:  {}", new.admin_token);
                println!("(the tokens are shown once; only their hashes are stored)");
            }
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::Conflict(_)) => {
            eprintln!("organization {org_id} exists already");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("could not create the organization: {e}");
            ExitCode::from(1)
        }
    }
}

async fn set_catalog(org: &str, file: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let text = if file == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(file)
    };
    let catalog = match text
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cannot read the catalogue from {file}: {e}");
            return ExitCode::from(2);
        }
    };
    match ops::set_catalog(&store, &org_id, catalog).await {
        Ok(()) => {
            eprintln!("organization {org_id}: catalogue replaced");
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::NotFound) => {
            eprintln!("organization {org_id} does not exist");
            ExitCode::from(1)
        }
        Err(user_sync_core::StoreError::Invalid(reason)) => {
            eprintln!("the catalogue is not valid: {reason}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("could not set the catalogue: {e}");
            ExitCode::from(1)
        }
    }
}

async fn token_create(org: &str, kind: &str, name: &str) -> ExitCode {
    let kind = match kind {
        "admin" => TokenKind::Admin,
        "scim" => TokenKind::Scim,
        _ => {
            eprintln!("the token kind is admin or scim");
            return ExitCode::from(2);
        }
    };
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match ops::create_token(&store, &org_id, kind, name).await {
        Ok((token_id, plain)) => {
            #[allow(clippy::print_stdout)]
            {
                println!("token id: {token_id}");
                println!("token:    {plain}");
                println!("(shown once; only its hash is stored)");
            }
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::NotFound) => {
            eprintln!("organization {org_id} does not exist");
            ExitCode::from(1)
        }
        Err(user_sync_core::StoreError::Invalid(reason)) => {
            eprintln!("{reason}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("could not create the token: {e}");
            ExitCode::from(1)
        }
    }
}

async fn token_list(org: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match store.list_tokens(&org_id).await {
        Ok(tokens) => {
            #[allow(clippy::print_stdout)]
            for t in tokens {
                let kind = match t.kind {
                    TokenKind::Admin => "admin",
                    TokenKind::Scim => "scim",
                };
                println!("{}\t{kind}\t{}\t{}", t.token_id, t.created, t.name);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not list the tokens: {e}");
            ExitCode::from(1)
        }
    }
}

async fn token_revoke(org: &str, token_id: &str) -> ExitCode {
    let (org_id, store) = match (org_id(org), directory().await) {
        (Ok(o), Ok(s)) => (o, s),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    match ops::revoke_token(&store, &org_id, token_id).await {
        Ok(()) => {
            eprintln!("token {token_id} of organization {org_id} is revoked");
            ExitCode::SUCCESS
        }
        Err(user_sync_core::StoreError::NotFound) => {
            eprintln!("organization {org_id} has no token {token_id}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("could not revoke the token: {e}");
            ExitCode::from(1)
        }
    }
}

/// Longest a redrive runs (it stops early when the queues are empty).
const REDRIVE_BUDGET: Duration = Duration::from_secs(24 * 3600);

fn queue_url(name: &str) -> Result<String, ExitCode> {
    std::env::var(name).map_err(|_| {
        eprintln!("{name} is not set (the local stack writes the queue URLs to .local/stack.json)");
        ExitCode::from(2)
    })
}

/// Parses `--name value` options.
fn redrive_options(options: &[&str]) -> Result<(RedriveSelection, u32), String> {
    let mut selection = RedriveSelection::default();
    let mut rate = 50u32;
    let mut rest = options.iter();
    while let Some(flag) = rest.next() {
        let Some(value) = rest.next() else {
            return Err(format!("{flag} needs a value"));
        };
        match *flag {
            "--org" => selection.org = Some(OrgId::parse(value).map_err(|e| e.to_string())?),
            "--user" => selection.user = Some(UserId::parse(value).map_err(|e| e.to_string())?),
            "--class" => {
                selection.class = Some(
                    serde_json::from_value(serde_json::Value::String((*value).to_owned()))
                        .map_err(|_| format!("unknown failure class {value}"))?,
                );
            }
            "--rate" => {
                rate = value
                    .parse()
                    .ok()
                    .filter(|r| *r > 0)
                    .ok_or("--rate is a number of messages per second")?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok((selection, rate))
}

async fn redrive(options: &[&str]) -> ExitCode {
    let (selection, rate) = match redrive_options(options) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let urls = (
        queue_url("JOBS_QUEUE_URL"),
        queue_url("JOBS_DLQ_URL"),
        queue_url("MAIL_QUEUE_URL"),
        queue_url("MAIL_DLQ_URL"),
    );
    let (Ok(jobs), Ok(jobs_dlq), Ok(mail), Ok(mail_dlq)) = urls else {
        return ExitCode::from(2);
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dead_letters = SqsDeadLetters::new(
        aws_sdk_sqs::Client::new(&sdk),
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
            eprintln!(
                "... {} jobs and {} emails moved ({} dead-lettered messages examined)",
                r.jobs, r.emails, r.examined
            );
        }
    };
    match dead_letters
        .redrive_with_progress(&selection, REDRIVE_BUDGET, &mut progress)
        .await
    {
        Ok(r) => {
            eprintln!(
                "moved {} jobs and {} welcome emails back to their queues ({} dead-lettered messages examined{})",
                r.jobs,
                r.emails,
                r.examined,
                if r.complete {
                    ""
                } else {
                    "; stopped early, run again for the rest"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("the redrive stopped: {e} (run it again: what moved stays moved)");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn redrive_options_select_an_organization_class_and_user() {
        let (s, rate) = redrive_options(&[
            "--org",
            "acme",
            "--class",
            "out_of_licenses",
            "--user",
            "u-1",
            "--rate",
            "20",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.org.map(|o| o.to_string()), Some("acme".into()));
        assert_eq!(
            s.class,
            Some(user_sync_core::state::FailureClass::OutOfLicenses)
        );
        assert_eq!(s.user.map(|u| u.to_string()), Some("u-1".into()));
        assert_eq!(rate, 20);
        let (s, rate) = redrive_options(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s, rate), (RedriveSelection::default(), 50));
    }

    #[test]
    fn redrive_options_refuse_what_they_do_not_know() {
        for bad in [
            &["--class", "nope"][..],
            &["--org"][..],
            &["--rate", "0"][..],
            &["--org", "a#b"][..],
            &["--queue", "jobs"][..],
        ] {
            assert!(redrive_options(bad).is_err(), "{bad:?}");
        }
    }
}
