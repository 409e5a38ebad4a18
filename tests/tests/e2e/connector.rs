//! The directory connector's sync against the local stack: what a directory
//! read yields is pushed through the organization's public SCIM endpoint
//! with its SCIM token only, and the pipeline does the rest (product
//! accounts, welcome emails, suspensions).
//!
//! These tests drive the sync with directory reads they construct; the
//! same sync runs behind the real directory servers in the source's tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use user_sync_connector::config::Guard;
use user_sync_connector::model::{
    ChangeMarker, Changes, Enterprise, Snapshot, SourceGroup, SourceUser,
};
use user_sync_connector::scim::ScimClient;
use user_sync_connector::sync::{self, Directory, DirectoryError, Kind, Options, Report, Stop};
use user_sync_tests::{TestOrg, emails_to, enc, eventually, new_org, set_custom_attributes, stack};

const PIPELINE: Duration = Duration::from_secs(90);

/// A directory whose reads are what the test says.
struct Fixed {
    snapshot: Snapshot,
    /// What `read_changes` answers (`None`: the marker is unusable).
    changes: Option<Changes>,
    full_reads: usize,
    change_reads: usize,
}

impl Fixed {
    fn new(snapshot: Snapshot) -> Self {
        Self {
            snapshot,
            changes: None,
            full_reads: 0,
            change_reads: 0,
        }
    }
}

impl Directory for Fixed {
    async fn read_full(&mut self) -> Result<Snapshot, DirectoryError> {
        self.full_reads += 1;
        Ok(self.snapshot.clone())
    }

    async fn read_changes(
        &mut self,
        _since: &ChangeMarker,
    ) -> Result<Option<Changes>, DirectoryError> {
        self.change_reads += 1;
        Ok(self.changes.clone())
    }
}

struct Connector {
    org: TestOrg,
    client: ScimClient,
    state_dir: PathBuf,
    domain: String,
}

impl Connector {
    async fn new(prefix: &str) -> Self {
        let org = new_org(prefix).await;
        let client = ScimClient::new(
            &stack().scim_url,
            org.scim_token.clone(),
            Duration::from_secs(30),
        )
        .unwrap();
        let state_dir = std::env::temp_dir().join(format!("connector-e2e-{}", org.org_id));
        // the organization's own domain, allowed as the domains of every
        // test organization are (tests/src/lib.rs `TEST_DOMAINS`)
        let domain = format!("{}.example.com", org.org_id);
        let org_id = user_sync_core::ids::OrgId::parse(&org.org_id).unwrap();
        ops::grandfather_domains(&user_sync_tests::directory().await, &org_id, &[&domain])
            .await
            .unwrap();
        Self {
            org,
            client,
            state_dir,
            domain,
        }
    }

    fn options(&self) -> Options {
        Options {
            dry_run: false,
            allow_deactivations: false,
            force_full: false,
            guard: Guard::default(),
            full_every: Duration::from_secs(3600),
            concurrency: 4,
        }
    }

    async fn run_with(&self, d: &mut Fixed, options: &Options) -> Result<Report, Stop> {
        sync::run(d, &self.client, &self.state_dir.join("state.json"), options).await
    }

    async fn run(&self, d: &mut Fixed) -> Report {
        let r = self.run_with(d, &self.options()).await.unwrap();
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        r
    }

    fn user(&self, x: &str) -> SourceUser {
        let email = format!("{x}@{}", self.domain);
        SourceUser {
            external_id: format!("guid-{x}"),
            dn: format!("CN={x},OU=People,DC=example,DC=com"),
            user_name: email.clone(),
            active: true,
            given_name: Some(format!("Given {x}")),
            family_name: Some("Family".into()),
            display_name: Some(format!("Given {x} Family")),
            emails: vec![email],
            phone_numbers: vec![],
            enterprise: Enterprise::default(),
            custom: BTreeMap::new(),
        }
    }

    async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.org.scim().send(method, path, body).await
    }

    /// The SCIM user with the `externalId` of source user `x`.
    async fn scim_user(&self, x: &str) -> Value {
        self.scim_resource("Users", &format!("guid-{x}")).await
    }

    /// The SCIM group with this `externalId`.
    async fn scim_group(&self, external_id: &str) -> Value {
        self.scim_resource("Groups", external_id).await
    }

    /// The one SCIM user or group (`resource`) with this `externalId`.
    async fn scim_resource(&self, resource: &str, external_id: &str) -> Value {
        let (status, list) = self
            .org
            .scim()
            .search(resource, &format!("externalId eq \"{external_id}\""))
            .await;
        assert_eq!(status, 200, "{list}");
        assert_eq!(list["totalResults"], 1, "one of {external_id}: {list}");
        list["Resources"][0].clone()
    }

    /// A Full Admin rule for the group, and sync on.
    async fn entitle(&self, group_external_id: &str) {
        let group = self.scim_group(group_external_id).await;
        self.org.admin().rule_and_sync(json!({"groupId": group["id"], "products": ["G2M"], "adminRole": {"type": "full_admin"}})).await;
    }

    async fn account_with_status(&self, key: &str, status: &str) -> Value {
        self.org
            .until(key, &format!("the account {status}"), |a| {
                a["status"] == status
            })
            .await
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        let _ignored = std::fs::remove_dir_all(&self.state_dir);
    }
}

fn group(x: &str, name: &str, members: &[&SourceUser]) -> SourceGroup {
    let mut members: Vec<String> = members.iter().map(|u| u.external_id.clone()).collect();
    members.sort();
    SourceGroup {
        external_id: format!("gguid-{x}"),
        dn: format!("CN={name},OU=Groups,DC=example,DC=com"),
        name: name.into(),
        members,
    }
}

fn snapshot(mut users: Vec<SourceUser>, groups: Vec<SourceGroup>) -> Snapshot {
    users.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    Snapshot {
        users,
        groups,
        marker: Some(ChangeMarker::ModifyTimestamp {
            timestamp: "20261204000000Z".into(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_user_in_a_ruled_group_gets_an_account_and_a_welcome_email_and_a_second_run_writes_nothing()
 {
    let k = Connector::new("conn-first").await;
    let ada = {
        let mut u = k.user("ada");
        u.enterprise.department = Some("Engineering".into());
        u.enterprise.manager = Some("guid-boss".to_owned());
        u
    };
    let boss = k.user("boss");
    let sales = group("sales", "Sales", &[&ada, &boss]);
    let mut dir = Fixed::new(snapshot(vec![ada.clone(), boss.clone()], vec![sales]));

    let first = k.run(&mut dir).await;
    assert_eq!(first.kind, Kind::Full);
    assert_eq!(first.done.created, 2);
    assert_eq!(first.done.groups_created, 1);
    assert_eq!(first.done.members_added, 2);

    let scim_ada = k.scim_user("ada").await;
    let scim_boss = k.scim_user("boss").await;
    assert_eq!(scim_ada["userName"], ada.user_name);
    assert_eq!(
        scim_ada["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        scim_boss["id"],
        "the manager is the manager's SCIM id"
    );
    let g = k.scim_group("gguid-sales").await;
    assert_eq!(g["members"].as_array().unwrap().len(), 2, "{g}");

    k.entitle("gguid-sales").await;
    let id = scim_ada["id"].as_str().unwrap();
    k.account_with_status(id, "active").await;
    eventually("the welcome email", PIPELINE, || async {
        (!emails_to(&k.org.client, &ada.user_name).await.is_empty()).then_some(())
    })
    .await;

    // nothing changed in the directory: no write at all
    let second = k.run(&mut dir).await;
    assert_eq!(second.writes, 0, "{second:?}");
    assert!(second.reads > 0);
    assert_eq!(second.done, Default::default());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renamed_moved_disabled_deleted_and_returning_users_keep_one_account() {
    let k = Connector::new("conn-life").await;
    let ada = k.user("ada");
    let others: Vec<SourceUser> = (0..20).map(|i| k.user(&format!("u{i}"))).collect();
    let mut all = vec![ada.clone()];
    all.extend(others.iter().cloned());
    let members: Vec<&SourceUser> = all.iter().collect();
    let staff = group("staff", "Staff", &members);
    let mut dir = Fixed::new(snapshot(all.clone(), vec![staff.clone()]));
    k.run(&mut dir).await;
    k.entitle("gguid-staff").await;
    let id = k.scim_user("ada").await["id"].as_str().unwrap().to_owned();
    k.account_with_status(&id, "active").await;

    // renamed (a new userName and address) and moved to another OU
    let mut renamed = ada.clone();
    renamed.user_name = format!("ada.lovelace@{}", k.domain);
    renamed.emails = vec![renamed.user_name.clone()];
    renamed.family_name = Some("Lovelace".into());
    renamed.dn = "CN=Ada Lovelace,OU=Moved,DC=example,DC=com".into();
    let mut now = all.clone();
    now[0] = renamed.clone();
    dir.snapshot = snapshot(now.clone(), vec![staff.clone()]);
    let r = k.run(&mut dir).await;
    assert_eq!((r.done.updated, r.done.created), (1, 0), "{r:?}");
    assert_eq!(r.writes, 1, "one PATCH with the changed attributes only");
    let same = k.scim_user("ada").await;
    assert_eq!(same["id"], id.as_str());
    assert_eq!(same["userName"], renamed.user_name);
    let account = k
        .org
        .until(&id, "the account renamed", |a| {
            a["email"] == renamed.user_name.as_str()
        })
        .await;
    assert_eq!(account["status"], "active");

    // disabled: suspended
    now[0].active = false;
    dir.snapshot = snapshot(now.clone(), vec![staff.clone()]);
    let r = k.run(&mut dir).await;
    assert_eq!(r.done.deactivated, 1);
    assert_eq!(k.scim_user("ada").await["active"], false);
    k.account_with_status(&id, "suspended").await;

    // re-enabled: reactivated, same account
    now[0].active = true;
    dir.snapshot = snapshot(now.clone(), vec![staff.clone()]);
    let r = k.run(&mut dir).await;
    assert_eq!(r.done.reactivated, 1);
    k.account_with_status(&id, "active").await;

    // deleted from the directory: deactivated (never deleted), suspended
    let without: Vec<SourceUser> = now[1..].to_vec();
    let staff_without = group("staff", "Staff", &without.iter().collect::<Vec<_>>());
    dir.snapshot = snapshot(without, vec![staff_without]);
    let r = k.run(&mut dir).await;
    assert_eq!(r.done.deactivated, 1, "{r:?}");
    assert_eq!(r.done.members_removed, 1, "{r:?}");
    let kept = k.scim_user("ada").await;
    assert_eq!(kept["active"], false, "deactivated, not deleted");
    k.account_with_status(&id, "suspended").await;

    // and back: the same SCIM user and account again
    dir.snapshot = snapshot(now, vec![staff]);
    let r = k.run(&mut dir).await;
    assert_eq!((r.done.reactivated, r.done.created), (1, 0), "{r:?}");
    k.account_with_status(&id, "active").await;
    let emails = emails_to(&k.org.client, &ada.user_name).await.len()
        + emails_to(&k.org.client, &renamed.user_name).await.len();
    assert_eq!(emails, 1, "one welcome email in all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_group_keeps_its_identity_and_members_change_by_difference() {
    let k = Connector::new("conn-group").await;
    let (a, b, c) = (k.user("a"), k.user("b"), k.user("c"));
    let mut dir = Fixed::new(snapshot(
        vec![a.clone(), b.clone(), c.clone()],
        vec![group("g", "Sales", &[&a, &b])],
    ));
    k.run(&mut dir).await;
    let before = k.scim_group("gguid-g").await;

    dir.snapshot = snapshot(
        vec![a.clone(), b.clone(), c.clone()],
        vec![group("g", "Sales EMEA", &[&b, &c])],
    );
    let r = k.run(&mut dir).await;
    assert_eq!(
        (
            r.done.groups_renamed,
            r.done.members_added,
            r.done.members_removed,
            r.done.groups_created
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(r.writes, 1, "rename and members in one PATCH");
    let after = k.scim_group("gguid-g").await;
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["displayName"], "Sales EMEA");
    let mut members: Vec<String> = after["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    let mut want = vec![
        k.scim_user("b").await["id"].as_str().unwrap().to_owned(),
        k.scim_user("c").await["id"].as_str().unwrap().to_owned(),
    ];
    want.sort();
    assert_eq!(members, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_of_2000_members_is_pushed_whole_and_then_left_alone() {
    let k = Connector::new("conn-big").await;
    let users: Vec<SourceUser> = (0..2000).map(|i| k.user(&format!("m{i:04}"))).collect();
    let big = group("big", "Everyone", &users.iter().collect::<Vec<_>>());
    let mut dir = Fixed::new(snapshot(users, vec![big]));
    let options = Options {
        concurrency: 8,
        ..k.options()
    };
    let r = k.run_with(&mut dir, &options).await.unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    assert_eq!((r.done.created, r.done.members_added), (2000, 2000));
    let (status, g) = k
        .scim(
            "GET",
            &format!(
                "/Groups/{}",
                k.scim_group("gguid-big").await["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(g["members"].as_array().unwrap().len(), 2000);

    let again = k.run(&mut dir).await;
    assert_eq!(again.writes, 0, "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_attribute_mapped_shows_on_the_user() {
    let k = Connector::new("conn-custom").await;
    set_custom_attributes(&k.org, &["badgeNumber"]).await;
    let mut ada = k.user("ada");
    ada.custom.insert("badgeNumber".into(), "B-1047".into());
    ada.phone_numbers = vec!["+1 555 0100".into()];
    ada.enterprise.cost_center = Some("CC-7".into());
    let mut dir = Fixed::new(snapshot(vec![ada.clone()], vec![]));
    k.run(&mut dir).await;
    let u = k.scim_user("ada").await;
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:usersync:2.0:User"]["badgeNumber"], "B-1047",
        "{u}"
    );
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["costCenter"],
        "CC-7"
    );

    let again = k.run(&mut dir).await;
    assert_eq!(again.writes, 0, "{again:?}");

    ada.custom.insert("badgeNumber".into(), "B-2000".into());
    dir.snapshot = snapshot(vec![ada], vec![]);
    let r = k.run(&mut dir).await;
    assert_eq!((r.done.updated, r.writes), (1, 1));
    let u = k.scim_user("ada").await;
    assert_eq!(
        u["urn:ietf:params:scim:schemas:extension:usersync:2.0:User"]["badgeNumber"],
        "B-2000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_sends_nothing_and_shows_the_plan() {
    let k = Connector::new("conn-dry").await;
    let a = k.user("a");
    let mut dir = Fixed::new(snapshot(vec![a.clone()], vec![group("g", "Sales", &[&a])]));
    let dry = Options {
        dry_run: true,
        ..k.options()
    };
    let r = k.run_with(&mut dir, &dry).await.unwrap();
    assert_eq!(r.writes, 0);
    assert_eq!((r.planned.created, r.planned.groups_created), (1, 1));
    assert_eq!(r.done, Default::default());
    let plan = r.plan.expect("the plan is shown");
    assert_eq!(plan.creates[0].user.external_id, a.external_id);
    let (_, users) = k.scim("GET", "/Users", None).await;
    assert_eq!(users["totalResults"], 0);
    let (_, groups) = k.scim("GET", "/Groups", None).await;
    assert_eq!(groups["totalResults"], 0);
    assert!(
        !k.state_dir.join("state.json").exists(),
        "a dry run leaves no state"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_stops_a_mass_deactivation_until_allowed_and_an_empty_read_is_an_error() {
    let k = Connector::new("conn-guard").await;
    let users: Vec<SourceUser> = (0..30).map(|i| k.user(&format!("g{i:02}"))).collect();
    let mut dir = Fixed::new(snapshot(users.clone(), vec![]));
    k.run(&mut dir).await;

    // a wrong filter: 5 of 30 left in scope
    dir.snapshot = snapshot(users[..5].to_vec(), vec![]);
    let stopped = k.run_with(&mut dir, &k.options()).await.unwrap_err();
    let Stop::Guard {
        would,
        active,
        report,
        ..
    } = &stopped
    else {
        panic!("the guard should stop the run: {stopped}");
    };
    assert_eq!((*would, *active), (25, 30));
    assert_eq!(report.writes, 0, "nothing changed");
    assert!(
        stopped.to_string().contains("--allow-deactivations"),
        "{stopped}"
    );
    let (_, active_users) = k
        .scim(
            "GET",
            &format!("/Users?filter={}", enc("active eq true")),
            None,
        )
        .await;
    assert_eq!(active_users["totalResults"], 30);

    // no user at all is an error, never "everyone left"
    dir.snapshot = snapshot(vec![], vec![]);
    let empty = k.run_with(&mut dir, &k.options()).await.unwrap_err();
    assert!(matches!(empty, Stop::EmptyDirectory), "{empty}");

    // allowed explicitly: done
    dir.snapshot = snapshot(users[..5].to_vec(), vec![]);
    let allowed = Options {
        allow_deactivations: true,
        ..k.options()
    };
    let r = k.run_with(&mut dir, &allowed).await.unwrap();
    assert_eq!(r.done.deactivated, 25);
    let (_, active_users) = k
        .scim(
            "GET",
            &format!("/Users?filter={}", enc("active eq true")),
            None,
        )
        .await;
    assert_eq!(active_users["totalResults"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_half_way_converges_on_the_next_with_nothing_duplicated() {
    let k = Connector::new("conn-kill").await;
    let users: Vec<SourceUser> = (0..6).map(|i| k.user(&format!("k{i}"))).collect();
    let g = group("g", "Sales", &users.iter().collect::<Vec<_>>());
    // what a run that died after two creates left behind
    let mut partial = Fixed::new(snapshot(users[..2].to_vec(), vec![]));
    k.run(&mut partial).await;

    let mut dir = Fixed::new(snapshot(users.clone(), vec![g]));
    let r = k.run(&mut dir).await;
    assert_eq!(
        (r.done.created, r.done.groups_created, r.done.members_added),
        (4, 1, 6)
    );
    for i in 0..6 {
        k.scim_user(&format!("k{i}")).await; // exactly one each
    }
    let again = k.run(&mut dir).await;
    assert_eq!(again.writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_send_what_changed_and_fall_back_to_a_full_read() {
    let k = Connector::new("conn-incr").await;
    let (a, b) = (k.user("a"), k.user("b"));
    let mut dir = Fixed::new(snapshot(
        vec![a.clone(), b.clone()],
        vec![group("g", "Sales", &[&a])],
    ));
    let first = k.run(&mut dir).await;
    assert_eq!(first.kind, Kind::Full);

    // b changed and joined the group
    let mut b2 = b.clone();
    b2.enterprise.department = Some("Sales".into());
    dir.changes = Some(Changes {
        users: vec![b2],
        groups: vec![group("g", "Sales", &[&a, &b])],
        marker: Some(ChangeMarker::ModifyTimestamp {
            timestamp: "20261204000100Z".into(),
        }),
    });
    let r = k.run(&mut dir).await;
    assert_eq!(r.kind, Kind::Incremental);
    assert_eq!((r.done.updated, r.done.members_added), (1, 1), "{r:?}");
    assert_eq!(dir.full_reads, 1);
    assert_eq!(
        k.scim_user("b").await["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "Sales"
    );

    // users changed, no group: each looked up by externalId, nothing listed
    let mut b3 = b.clone();
    b3.enterprise.department = Some("Support".into());
    dir.changes = Some(Changes {
        users: vec![b3],
        groups: vec![],
        marker: Some(ChangeMarker::ModifyTimestamp {
            timestamp: "20261204000200Z".into(),
        }),
    });
    let r = k.run(&mut dir).await;
    assert_eq!(
        (r.kind, r.reads, r.writes, r.done.updated),
        (Kind::Incremental, 1, 1, 1),
        "{r:?}"
    );
    // nothing changed: not a single request
    dir.changes = Some(Changes {
        marker: Some(ChangeMarker::ModifyTimestamp {
            timestamp: "20261204000200Z".into(),
        }),
        ..Changes::default()
    });
    let r = k.run(&mut dir).await;
    assert_eq!(
        (r.kind, r.reads, r.writes),
        (Kind::Incremental, 0, 0),
        "{r:?}"
    );

    // the marker cannot be used (another server): a full read
    dir.changes = None;
    let r = k.run(&mut dir).await;
    assert_eq!(r.kind, Kind::Full);
    assert_eq!(dir.full_reads, 2);

    // forced full
    dir.changes = Some(Changes::default());
    let forced = Options {
        force_full: true,
        ..k.options()
    };
    let r = k.run_with(&mut dir, &forced).await.unwrap();
    assert_eq!(r.kind, Kind::Full);
}

// ---------------------------------------------------------------------------
// Against the real directory servers: the connector's configuration file,
// its LDAP source and its sync, end to end.

mod real {
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
    fn config_text(
        k: &Connector,
        server: &DirectoryServer,
        ou: &TestOu<'_>,
        group: &str,
    ) -> String {
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
                .scim(
                    "GET",
                    &format!(
                        "/Users?filter={}",
                        enc(&format!("externalId eq \"{}\"", e.external_id))
                    ),
                    None,
                )
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
        let (_, active) =
            c.k.scim(
                "GET",
                &format!("/Users?filter={}", enc("active eq true")),
                None,
            )
            .await;
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
    async fn openldap_users_get_accounts_and_keep_them_through_renames_moves_disabling_and_deletion()
     {
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
}

/// Where the logs of a test go, to be read back.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything the connector logs (debug level, the HTTP client's included)
/// through a run that creates, changes, deactivates and fails: no token,
/// no name, no address.
#[tokio::test(flavor = "current_thread")]
async fn the_connector_logs_no_token_and_no_personal_data() {
    use tracing_subscriber::util::SubscriberInitExt;
    let logs = Captured::default();
    let writer = logs.clone();
    let _guard = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish()
        .set_default();

    let k = Connector::new("conn-logs").await;
    let mut ada = k.user("ada");
    ada.given_name = Some("Augusta".into());
    ada.family_name = Some("Byron-King".into());
    ada.phone_numbers = vec!["+44 20 7946 0018".into()];
    // a userName the endpoint refuses (a control character): a failure
    let mut bad = k.user("bad");
    bad.user_name = format!("bad\u{7}{}", k.domain);
    let mut dir = Fixed::new(snapshot(vec![ada.clone(), bad, k.user("cy")], vec![]));
    let options = Options {
        allow_deactivations: true,
        ..k.options()
    };
    let r = k.run_with(&mut dir, &options).await.unwrap();
    assert_eq!(r.failures.len(), 1, "{r:?}");
    ada.family_name = Some("Lovelace".into());
    dir.snapshot = snapshot(vec![ada.clone()], vec![]);
    k.run_with(&mut dir, &options).await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("directory read"),
        "the logs were captured: {text}"
    );
    for secret in [
        k.org.scim_token.as_str(),
        &ada.user_name,
        "Augusta",
        "Byron-King",
        "Lovelace",
        "7946",
        &k.domain,
    ] {
        assert!(!text.contains(secret), "the logs hold {secret:?}:\n{text}");
    }
}
