//! `ops domains …`: an organization's domains, the ops override that
//! claims a domain for an organization, the grandfathering of existing
//! organizations' email domains, and the re-check the schedule runs.

use clap::{Args, Subcommand};
use serde_json::json;
use user_sync_aws::dns::{DnsResolver, Nameserver};
use user_sync_aws::dynamo::{DirectoryTable, StateTable};
use user_sync_core::domains::{
    DomainName, DomainOpError, Domains, OrgDomain, Recheck, VerifyRefusal,
};
use user_sync_core::ids::OrgId;
use user_sync_core::service::domains::DomainService;

use super::{Ctx, Failure, Report, columns, given_or_all, org_id, require_org, store_error};

/// Who the history and the domains name for what ops do.
const OPS: &str = "ops";

#[derive(Debug, Subcommand)]
pub enum DomainsCommand {
    /// The organization's domains, their state and the record to publish.
    List {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
    },
    /// Adds a domain (pending until verified); prints the TXT record to publish.
    Add {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        domain: String,
        /// Allow addresses in its subdomains too.
        #[arg(long)]
        include_subdomains: bool,
    },
    /// Looks the domain's TXT record up and verifies it (first come).
    Verify {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        domain: String,
    },
    /// Removes a domain (and the organization's claim of it).
    Remove {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        domain: String,
    },
    /// The override: claims the domain for the organization, whoever held
    /// it, and marks it verified without a lookup. The former holder's
    /// domain lapses.
    Claim {
        #[arg(value_parser = org_id)]
        org_id: OrgId,
        domain: String,
        #[arg(long)]
        include_subdomains: bool,
    },
    /// Lists domains as "unverified (grandfathered)": allowed, until ops
    /// decide. With no domain, the email domains of the organization's
    /// directory users (the migration of an organization that existed
    /// before domains were checked).
    Grandfather(GrandfatherArgs),
    /// The scheduled re-check: looks up the record of every verified domain;
    /// flags those whose record disappeared, warns before the grace period
    /// ends, lets them lapse after it.
    Recheck(RecheckArgs),
}

#[derive(Debug, Args)]
pub struct GrandfatherArgs {
    /// The organization (or --all).
    #[arg(required_unless_present = "all", conflicts_with = "all", value_parser = org_id)]
    pub org_id: Option<OrgId>,
    /// Every organization, from its directory users' email domains.
    #[arg(long)]
    pub all: bool,
    /// These domains only (default: its directory users' email domains).
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RecheckArgs {
    /// The organization (or --all).
    #[arg(required_unless_present = "all", conflicts_with = "all", value_parser = org_id)]
    pub org_id: Option<OrgId>,
    #[arg(long)]
    pub all: bool,
}

fn parse(domain: &str) -> Result<DomainName, Failure> {
    DomainName::parse(domain).map_err(|e| Failure::Usage(e.to_string()))
}

fn op_error(org: &OrgId, domain: &DomainName, e: DomainOpError) -> Failure {
    match e {
        DomainOpError::NotFound => {
            Failure::Failed(format!("organization {org} has no domain {domain}"))
        }
        DomainOpError::Refused(VerifyRefusal::CouldNotCheck(reason)) => Failure::Failed(format!(
            "{domain} could not be checked: the DNS lookup failed ({reason}); nothing changed"
        )),
        DomainOpError::Store(e) => store_error("change the domain", e),
        other => Failure::Failed(format!("{domain}: {other}")),
    }
}

fn resolver(ctx: &Ctx<'_>) -> Result<DnsResolver, Failure> {
    let ns = Nameserver::from_lookup(&|_| ctx.settings.dns_server.clone())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    DnsResolver::new(ns).map_err(|e| Failure::Failed(e.to_string()))
}

fn view(d: &OrgDomain) -> serde_json::Value {
    json!({"domain": d, "record": d.record()})
}

fn row(d: &OrgDomain) -> Vec<String> {
    let r = d.record();
    vec![
        d.domain.to_string(),
        d.state.name().to_owned(),
        if d.include_subdomains { "yes" } else { "no" }.to_owned(),
        format!("{} TXT \"{}\"", r.name, r.value),
    ]
}

/// The activity history when the StateTable is known (`--state-table`):
/// ops' domain changes are recorded there; without it they are not.
fn history(ctx: &Ctx<'_>) -> Result<Option<StateTable>, Failure> {
    let Some(table) = ctx.settings.state_table.clone() else {
        return Ok(None);
    };
    Ok(Some(
        StateTable::new(
            aws_sdk_dynamodb::Client::new(ctx.sdk),
            table,
            DEFAULT_RETENTION_DAYS,
        )
        .with_org_retention(ctx.directory()?.table_name().to_owned()),
    ))
}

/// The stack's default activity retention (`ActivityRetentionDays`), for an
/// organization without its own.
const DEFAULT_RETENTION_DAYS: u32 = 365;

const HEADER: [&str; 4] = ["DOMAIN", "STATUS", "SUBDOMAINS", "RECORD"];

pub(super) async fn run(ctx: &Ctx<'_>, command: DomainsCommand) -> Result<Report, Failure> {
    let store = ctx.directory()?;
    let history = history(ctx)?;
    let service = DomainService {
        domains: &store,
        history: history.as_ref(),
        clock: &ctx.clock,
    };
    match command {
        DomainsCommand::List { org_id } => {
            require_org(&store, &org_id).await?;
            let list = store
                .list_domains(&org_id)
                .await
                .map_err(|e| store_error("list the domains", e))?;
            let text = columns(&HEADER, list.iter().map(row).collect());
            let n = list.len();
            Ok(Report::new(
                text,
                json!({"orgId": org_id, "domains": list.iter().map(view).collect::<Vec<_>>()}),
            )
            .note(format!("{n} domain(s)")))
        }
        DomainsCommand::Add {
            org_id,
            domain,
            include_subdomains,
        } => {
            let domain = parse(&domain)?;
            require_org(&store, &org_id).await?;
            let d = service
                .add(&org_id, OPS, domain.clone(), include_subdomains)
                .await
                .map_err(|e| op_error(&org_id, &domain, e))?;
            let r = d.record();
            Ok(Report::new(
                vec![
                    format!("organization {org_id}: {domain} added, pending verification"),
                    format!("publish: {} TXT \"{}\"", r.name, r.value),
                ],
                view(&d),
            ))
        }
        DomainsCommand::Verify { org_id, domain } => {
            let domain = parse(&domain)?;
            let dns = resolver(ctx)?;
            let d = service
                .verify(&dns, &org_id, OPS, &domain)
                .await
                .map_err(|e| op_error(&org_id, &domain, e))?;
            Ok(Report::new(
                vec![format!("organization {org_id}: {domain} verified")],
                view(&d),
            ))
        }
        DomainsCommand::Remove { org_id, domain } => {
            let domain = parse(&domain)?;
            service
                .remove(&org_id, OPS, &domain)
                .await
                .map_err(|e| op_error(&org_id, &domain, e))?;
            Ok(Report::new(
                vec![format!("organization {org_id}: {domain} removed")],
                json!({"orgId": org_id, "domain": domain, "removed": true}),
            ))
        }
        DomainsCommand::Claim {
            org_id,
            domain,
            include_subdomains,
        } => {
            let domain = parse(&domain)?;
            require_org(&store, &org_id).await?;
            let d = service
                .claim(&org_id, OPS, &domain, include_subdomains)
                .await
                .map_err(|e| op_error(&org_id, &domain, e))?;
            Ok(Report::new(
                vec![format!(
                    "organization {org_id}: {domain} claimed by ops and verified"
                )],
                view(&d),
            ))
        }
        DomainsCommand::Grandfather(args) => {
            let given = args
                .domains
                .iter()
                .map(|d| parse(d))
                .collect::<Result<Vec<_>, _>>()?;
            let orgs = given_or_all(&store, args.org_id).await?;
            let mut text = Vec::new();
            let mut out = Vec::new();
            for org in orgs {
                let names = if given.is_empty() {
                    directory_domains(&store, &org).await?
                } else {
                    given.clone()
                };
                let mut added = Vec::new();
                for name in names {
                    if service
                        .grandfather(&org, OPS, &name)
                        .await
                        .map_err(|e| op_error(&org, &name, e))?
                    {
                        added.push(name);
                    }
                }
                text.push(format!(
                    "organization {org}: {} domain(s) listed as grandfathered",
                    added.len()
                ));
                out.push(json!({"orgId": org, "grandfathered": added}));
            }
            Ok(Report::new(text, json!({"organizations": out})))
        }
        DomainsCommand::Recheck(args) => {
            let dns = resolver(ctx)?;
            let orgs = given_or_all(&store, args.org_id).await?;
            let mut text = Vec::new();
            let mut out = Vec::new();
            for org in orgs {
                let done = service.recheck(&dns, &org).await.map_err(|e| match e {
                    DomainOpError::Store(e) => store_error("re-check the domains", e),
                    other => Failure::Failed(other.to_string()),
                })?;
                for (d, decision) in done {
                    let what = match &decision {
                        Recheck::Unchanged => "record found".to_owned(),
                        Recheck::Restored => "record found again: verified".to_owned(),
                        Recheck::Flagged { lapses_at } => {
                            format!("record missing: flagged, lapses at {lapses_at}")
                        }
                        Recheck::FinalWarning { lapses_at } => {
                            format!("record still missing: lapses at {lapses_at}")
                        }
                        Recheck::Lapsed => "record missing past the grace period: lapsed".into(),
                        Recheck::CouldNotCheck(r) => format!("could not check ({r}); unchanged"),
                    };
                    text.push(format!("organization {org}: {}: {what}", d.domain));
                    out.push(json!({"orgId": org, "domain": d.domain, "status": d.state.name(), "result": what}));
                }
            }
            Ok(Report::new(text, json!({"rechecked": out})))
        }
    }
}

/// The email domains of the organization's directory users (valid ones).
async fn directory_domains(
    store: &DirectoryTable,
    org: &OrgId,
) -> Result<Vec<DomainName>, Failure> {
    use user_sync_core::ports::Users;
    let mut found = std::collections::BTreeSet::new();
    let mut after = None;
    loop {
        let (users, next) = store
            .list_users(org, after.as_ref(), 200)
            .await
            .map_err(|e| store_error("read the directory", e))?;
        for u in users {
            let email = u.user.email.as_deref().unwrap_or(&u.user.user_name);
            if let Some(d) = DomainName::of_email(email) {
                found.insert(d);
            }
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    Ok(found.into_iter().collect())
}
