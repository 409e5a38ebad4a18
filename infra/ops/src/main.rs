//! `ops`: the on-call engineer's command line.
//!
//! ```text
//! ops create-org <org-id> <name>     create an organization; prints its SCIM and admin tokens
//! ops set-custom-attributes <org-id> <name,name,...>
//!                                    the attributes of the custom SCIM extension it captures ("" for none)
//! ops set-guardrail <org-id> <percent>
//!                                    the share of users a rule change or sync-on may suspend unconfirmed
//! ```
//! AWS settings come from the environment (`AWS_ENDPOINT_URL` for the local
//! stack); the table from `DIRECTORY_TABLE`.

use std::process::ExitCode;

use user_sync_aws::dynamo::DirectoryTable;
use user_sync_core::ids::OrgId;

const USAGE: &str = "usage: ops create-org <org-id> <name>\n       ops set-custom-attributes <org-id> <name,name,...>\n       ops set-guardrail <org-id> <percent>\n\nenvironment: DIRECTORY_TABLE (required), AWS_ENDPOINT_URL / AWS_REGION / credentials as for any AWS tool";

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
