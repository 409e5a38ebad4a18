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
use user_sync_tests::{TestOrg, emails_to, eventually, new_org, set_custom_attributes, stack};

mod safety;

mod real;

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
