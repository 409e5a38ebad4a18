//! Against the real directory servers: the connector's configuration file,
//! its LDAP source and its sync, end to end.

use super::*;
use user_sync_connector::config::Config;
use user_sync_connector::directory::LdapDirectory;
use user_sync_tests::directory_servers::{
    DirectoryKind, DirectoryServer, Entry, TestOu, UserSpec, openldap, samba_dc,
};

/// A connector configured for one test: its files (token, password,
/// state) in a folder of its own.
struct Configured {
    k: Connector,
    config: Config,
    directory: LdapDirectory,
}

/// The configuration file a company would write, for `server` with the
/// selected `group` and users under `ou`.
fn config_text(k: &Connector, server: &DirectoryServer, ou: &TestOu<'_>, group: &str) -> String {
    std::fs::create_dir_all(&k.state_dir).unwrap();
    let token = k.state_dir.join("scim-token");
    std::fs::write(&token, format!("{}\n", k.org.scim_token)).unwrap();
    let password = k.state_dir.join("ldap-password");
    std::fs::write(&password, format!("{}\n", server.bind_password)).unwrap();
    let (kind, mapping) = match server.kind {
        // Active Directory: the defaults, plus a custom attribute
        DirectoryKind::ActiveDirectory => (
            "active_directory",
            format!(
                "[mapping.custom]\nbadgeNumber = \"{}\"\n",
                server.custom_attribute
            ),
        ),
        // generic LDAP: the mapping written out
        DirectoryKind::OpenLdap => (
            "ldap",
            format!(
                "[mapping]\nexternal_id = \"entryUUID\"\nuser_name = \"mail\"\nemails = [\"mail\"]\n\
                 department = \"departmentNumber\"\nmanager = \"manager\"\n\
                 active = {{ attribute = \"nsAccountLock\", disabled_value = \"TRUE\" }}\n\
                 [mapping.custom]\nbadgeNumber = \"{}\"\n",
                server.custom_attribute
            ),
        ),
    };
    format!(
        "[scim]\nurl = \"{scim}\"\ntoken_file = \"{token}\"\n\n\
         [sync]\nstate_dir = \"{state}\"\nmax_deactivation_share = 0.5\n\n\
         [directory]\nkind = \"{kind}\"\nurl = \"{url}\"\nca_file = \"{ca}\"\n\
         bind_dn = \"{bind}\"\npassword_file = \"{password}\"\nbase_dn = \"{base}\"\n\n\
         [scope]\ngroups = [\"{group}\"]\nbase_dns = [\"{ou}\"]\n\n{mapping}",
        scim = stack().scim_url,
        token = token.display(),
        state = k.state_dir.display(),
        url = server.ldaps_url,
        ca = server.ca_file.display(),
        bind = server.bind_dn,
        password = password.display(),
        base = server.base_dn,
        ou = ou.dn,
    )
}

async fn configured(
    prefix: &str,
    server: &DirectoryServer,
    ou: &TestOu<'_>,
    group: &str,
) -> Configured {
    let k = Connector::new(prefix).await;
    set_custom_attributes(&k.org, &["badgeNumber"]).await;
    let config = Config::parse(&config_text(&k, server, ou, group)).unwrap();
    assert_eq!(config.sync.guard.max_share, 0.5);
    let directory = LdapDirectory::new(
        config.directory.clone(),
        config.scope.clone(),
        config.mapping.clone(),
    );
    Configured {
        k,
        config,
        directory,
    }
}

impl Configured {
    async fn run_with(&mut self, options: &Options) -> Result<Report, Stop> {
        let token = self.config.scim.read_token().unwrap();
        let client =
            ScimClient::new(&self.config.scim.url, token, self.config.scim.timeout).unwrap();
        sync::run(
            &mut self.directory,
            &client,
            &self.config.sync.state_dir.join("state.json"),
            options,
        )
        .await
    }

    fn options(&self) -> Options {
        Options {
            dry_run: false,
            allow_deactivations: false,
            force_full: false,
            guard: self.config.sync.guard,
            full_every: self.config.sync.full_every,
            concurrency: self.config.scim.concurrency,
        }
    }

    async fn run(&mut self) -> Report {
        let options = self.options();
        let r = self
            .run_with(&options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        r
    }

    async fn run_full(&mut self) -> Report {
        let options = Options {
            force_full: true,
            ..self.options()
        };
        let r = self
            .run_with(&options)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        r
    }

    /// The SCIM user of a directory entry.
    async fn user(&self, e: &Entry) -> Value {
        let (status, list) = self
            .k
            .org
            .scim()
            .search("Users", &format!("externalId eq \"{}\"", e.external_id))
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(
            list["totalResults"], 1,
            "one SCIM user for {}: {list}",
            e.dn
        );
        list["Resources"][0].clone()
    }
}

fn mail(name: &str) -> String {
    format!("{name}@example.test")
}

/// A user in a selected group gets an account and a welcome email;
/// nested membership counts; the manager and a custom attribute arrive;
/// a second run writes nothing; renaming and moving keep the account;
/// disabling, deleting suspend it; enabling reactivates it.
async fn lifecycle(server: &DirectoryServer, prefix: &str) {
    let ou = server.new_ou(prefix).await;
    let people = ou.child_ou("people").await;
    let ada_name = format!("{}-ada", ou.name);
    let bob_name = format!("{}-bob", ou.name);
    let ada = people.add_user(&UserSpec::full(&ada_name)).await;
    let bob = people
        .add_user(&UserSpec {
            manager: Some(ada.dn.clone()),
            ..UserSpec::full(&bob_name)
        })
        .await;
    // bob is a member through a nested group only
    let core = ou
        .add_group(&format!("{}-core", ou.name), std::slice::from_ref(&bob.dn))
        .await;
    let eng = ou
        .add_group(
            &format!("{}-eng", ou.name),
            &[ada.dn.clone(), core.dn.clone()],
        )
        .await;
    let mut c = configured(prefix, server, &ou, &eng.dn).await;

    let first = c.run().await;
    assert_eq!(first.kind, Kind::Full);
    assert_eq!(
        (
            first.done.created,
            first.done.groups_created,
            first.done.members_added
        ),
        (2, 1, 2),
        "{first:?}"
    );
    let scim_ada = c.user(&ada).await;
    let scim_bob = c.user(&bob).await;
    assert_eq!(scim_ada["emails"][0]["value"], mail(&ada_name));
    assert_eq!(
        scim_bob["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        scim_ada["id"]
    );
    assert_eq!(
        scim_ada["urn:ietf:params:scim:schemas:extension:usersync:2.0:User"]["badgeNumber"],
        format!("custom-{ada_name}"),
        "the custom attribute mapped shows on the user: {scim_ada}"
    );
    c.k.entitle(&eng.external_id).await;
    let ada_id = scim_ada["id"].as_str().unwrap().to_owned();
    let bob_id = scim_bob["id"].as_str().unwrap().to_owned();
    c.k.account_with_status(&ada_id, "active").await;
    c.k.account_with_status(&bob_id, "active").await;
    eventually("ada's welcome email", PIPELINE, || async {
        (!emails_to(&c.k.org.client, &mail(&ada_name))
            .await
            .is_empty())
        .then_some(())
    })
    .await;

    // no change: no write, incremental or full
    let quiet = c.run().await;
    assert_eq!(quiet.kind, Kind::Incremental);
    assert_eq!(quiet.writes, 0, "{quiet:?}");
    let quiet = c.run_full().await;
    assert_eq!(quiet.kind, Kind::Full);
    assert_eq!(quiet.writes, 0, "{quiet:?}");

    // renamed and moved: the same SCIM users, the same accounts
    let moved_to = ou.child_ou("moved").await;
    let ada_dn = people.rename(&ada.dn, &format!("{ada_name}-renamed")).await;
    let bob_dn = people.move_to(&bob.dn, &moved_to.dn).await;
    let r = c.run().await;
    assert_eq!(r.done.created, 0, "{r:?}");
    assert_eq!(c.user(&ada).await["id"], ada_id.as_str());
    assert_eq!(c.user(&bob).await["id"], bob_id.as_str());

    // disabled: suspended
    people.disable(&bob_dn).await;
    let r = c.run().await;
    assert_eq!(
        r.kind,
        Kind::Incremental,
        "between full runs, the changes only"
    );
    assert_eq!(r.done.deactivated, 1, "{r:?}");
    assert_eq!(c.user(&bob).await["active"], false);
    c.k.account_with_status(&bob_id, "suspended").await;

    // enabled again: reactivated
    people.enable(&bob_dn).await;
    let r = c.run().await;
    assert_eq!(r.done.reactivated, 1, "{r:?}");
    c.k.account_with_status(&bob_id, "active").await;

    // deleted: found by the next full run, deactivated, suspended
    people.delete(&ada_dn).await;
    let r = c.run_full().await;
    assert_eq!(r.done.deactivated, 1, "{r:?}");
    assert_eq!(
        c.user(&ada).await["active"],
        false,
        "deactivated, never deleted"
    );
    c.k.account_with_status(&ada_id, "suspended").await;
    assert_eq!(
        emails_to(&c.k.org.client, &mail(&ada_name)).await.len(),
        1,
        "one welcome email"
    );
}

/// The dry run sends nothing; the guard stops a mass deactivation
/// (a wrong scope) until allowed.
async fn dry_run_and_guard(server: &DirectoryServer, prefix: &str) {
    let ou = server.new_ou(prefix).await;
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(
            ou.add_user(&UserSpec::minimal(&format!("{}-m{i}", ou.name)))
                .await,
        );
    }
    let dns: Vec<String> = users.iter().map(|u| u.dn.clone()).collect();
    let group = ou.add_group(&format!("{}-all", ou.name), &dns).await;
    let mut c = configured(prefix, server, &ou, &group.dn).await;

    let dry = Options {
        dry_run: true,
        ..c.options()
    };
    let r = c.run_with(&dry).await.unwrap();
    assert_eq!((r.planned.created, r.writes), (8, 0), "{r:?}");
    let (_, list) = c.k.scim("GET", "/Users", None).await;
    assert_eq!(list["totalResults"], 0, "the dry run sent nothing");

    c.run().await;
    // 6 of 8 leave the group: more than half
    ou.remove_members(&group.dn, &dns[2..]).await;
    let full = Options {
        force_full: true,
        ..c.options()
    };
    let stopped = c.run_with(&full).await.unwrap_err();
    assert!(matches!(stopped, Stop::Guard { would: 6, .. }), "{stopped}");
    let (_, active) = c.k.org.scim().search("Users", "active eq true").await;
    assert_eq!(active["totalResults"], 8, "nothing changed");
    let allowed = Options {
        allow_deactivations: true,
        ..full
    };
    let r = c.run_with(&allowed).await.unwrap();
    assert_eq!(r.done.deactivated, 6, "{r:?}");
    assert_eq!(r.done.members_removed, 6, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_directory_users_get_accounts_and_keep_them_through_renames_moves_disabling_and_deletion()
 {
    Box::pin(lifecycle(samba_dc(), "conn-ad")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openldap_users_get_accounts_and_keep_them_through_renames_moves_disabling_and_deletion() {
    Box::pin(lifecycle(openldap(), "conn-ol")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_directory_dry_run_sends_nothing_and_the_guard_stops_a_mass_deactivation() {
    dry_run_and_guard(samba_dc(), "conn-adg").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openldap_dry_run_sends_nothing_and_the_guard_stops_a_mass_deactivation() {
    dry_run_and_guard(openldap(), "conn-olg").await;
}

/// Active Directory returns only the first 1,500 values of `member`
/// unless asked range by range: all 2,000 arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_directory_group_of_2000_members_is_read_and_pushed_whole() {
    let server = samba_dc();
    let ou = server.new_ou("conn-big").await;
    let populated = ou.populate(2000, 1).await;
    let group = &populated.groups[0];
    let mut c = configured("conn-big", server, &ou, &group.dn).await;
    let r = c.run().await;
    assert_eq!(
        (r.directory_users, r.done.created, r.done.members_added),
        (2000, 2000, 2000),
        "{r:?}"
    );
    let (status, g) =
        c.k.scim(
            "GET",
            &format!(
                "/Groups/{}",
                c.k.scim_group(&group.external_id).await["id"]
                    .as_str()
                    .unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(g["members"].as_array().unwrap().len(), 2000);
    let again = c.run().await;
    assert_eq!(again.writes, 0, "{again:?}");
}

/// A full read handed on in pages (as a full run reads) brings what one
/// whole read brings: each user once (users reached directly and through a
/// nested group too), pages of at most 100, managers resolved whether the
/// read met them before, after or never (outside the base DNs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paged_full_read_brings_what_a_whole_read_brings() {
    let server = openldap();
    let ou = server.new_ou("conn-pages").await;
    let outside = server.new_ou("conn-pages-out").await;
    let boss = outside
        .add_user(&UserSpec::full(&format!("{}-boss", ou.name)))
        .await;
    let populated = ou.populate(250, 1).await;
    let lead = ou
        .add_user(&UserSpec {
            manager: Some(boss.dn.clone()),
            ..UserSpec::full(&format!("{}-lead", ou.name))
        })
        .await;
    let report = ou
        .add_user(&UserSpec {
            manager: Some(lead.dn.clone()),
            ..UserSpec::full(&format!("{}-report", ou.name))
        })
        .await;
    let mut members: Vec<String> = populated.users.iter().map(|u| u.dn.clone()).collect();
    members.extend([
        report.dn.clone(),
        lead.dn.clone(),
        populated.groups[0].dn.clone(),
    ]);
    let all = ou.add_group(&format!("{}-all", ou.name), &members).await;
    let mut c = configured("conn-pages", server, &ou, &all.dn).await;

    let whole = c.directory.read_full().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<SourceUser>>(2);
    let pages = async move {
        let mut pages = Vec::new();
        while let Some(page) = rx.recv().await {
            pages.push(page);
        }
        pages
    };
    let (read, pages) = tokio::join!(c.directory.read_full_paged(tx), pages);
    let read = read.unwrap();
    assert!(pages.len() >= 3, "{} pages", pages.len());
    assert!(pages.iter().all(|p| !p.is_empty() && p.len() <= 100));
    let mut users: Vec<SourceUser> = pages.concat();
    users.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    assert_eq!(users.len(), 252);
    assert_eq!(users, whole.users);
    assert_eq!(read.groups, whole.groups);
    assert_eq!(read.groups[0].members.len(), 252);
    assert_eq!(read.marker, whole.marker);
    let manager = |e: &Entry| {
        users
            .iter()
            .find(|u| u.external_id == e.external_id)
            .and_then(|u| u.enterprise.manager.clone())
    };
    assert_eq!(manager(&report), Some(lead.external_id.clone()));
    assert_eq!(manager(&lead), Some(boss.external_id.clone()));
}
