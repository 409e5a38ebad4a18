//! The connector's directory reading against a real Samba Active Directory
//! domain controller and a real OpenLDAP server, through `Source` (no local
//! stack needed). Each scenario runs against both, with each directory's
//! default mapping.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use user_sync_connector::model::{ChangeMarker, Progress, Snapshot, SourceUser};
use user_sync_connector::source::{
    DirectoryConfig, MappingConfig, Password, ScopeConfig, Source, SourceError,
};
use user_sync_tests::directory_servers::{
    DirectoryKind, DirectoryServer, Entry, TestOu, UserSpec, openldap, samba_dc,
};

/// A check run on both directory servers: one test named for each.
macro_rules! on_both_servers {
    ($check:ident => $active_directory:ident, $openldap:ident) => {
        #[tokio::test]
        async fn $active_directory() {
            $check(samba_dc()).await;
        }

        #[tokio::test]
        async fn $openldap() {
            $check(openldap()).await;
        }
    };
}

/// The connector's `[directory]` table for a test server.
fn directory_config(server: &DirectoryServer, extra: serde_json::Value) -> DirectoryConfig {
    let mut v = json!({
        "kind": match server.kind {
            DirectoryKind::ActiveDirectory => "active_directory",
            DirectoryKind::OpenLdap => "ldap",
        },
        "url": server.ldaps_url,
        "ca_file": server.ca_file,
        "bind_dn": server.bind_dn,
        "password_env": "UNUSED_IN_THESE_TESTS",
        "base_dn": server.base_dn,
    });
    if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in extra {
            v.insert(k.clone(), x.clone());
        }
    }
    let config: DirectoryConfig = serde_json::from_value(v).unwrap();
    config.validate().unwrap();
    config
}

async fn connect(server: &DirectoryServer, extra: serde_json::Value) -> Source {
    Source::connect_with_password(
        &directory_config(server, extra),
        Password::new(server.bind_password.clone()),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {}: {e}", server.ldaps_url))
}

fn scope(groups: &[&str], base_dns: &[&str]) -> ScopeConfig {
    serde_json::from_value(json!({"groups": groups, "base_dns": base_dns})).unwrap()
}

/// The default mapping plus the custom attribute the test users carry.
fn mapping(server: &DirectoryServer) -> MappingConfig {
    serde_json::from_value(json!({"custom": {"badge": server.custom_attribute}})).unwrap()
}

async fn read(source: &mut Source, scope: &ScopeConfig, mapping: &MappingConfig) -> Snapshot {
    let mut seen = Vec::new();
    let snapshot = source
        .read_full(scope, mapping, &mut |p| seen.push(p))
        .await
        .unwrap_or_else(|e| panic!("read_full: {e}"));
    assert!(
        seen.iter().any(|p| matches!(p, Progress::GroupsRead(_))),
        "progress reports the groups"
    );
    snapshot
}

fn user<'a>(snapshot: &'a [SourceUser], external_id: &str) -> &'a SourceUser {
    snapshot
        .iter()
        .find(|u| u.external_id == external_id)
        .unwrap_or_else(|| panic!("{external_id} not read"))
}

fn expected_user_name(server: &DirectoryServer, name: &str) -> String {
    match server.kind {
        DirectoryKind::ActiveDirectory => format!("{name}@{}", server.upn_suffix()),
        DirectoryKind::OpenLdap => format!("{name}@example.test"),
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The entries' external ids, sorted (as a group's members are).
fn ids_of(entries: &[&Entry]) -> Vec<String> {
    sorted(entries.iter().map(|e| e.external_id.clone()).collect())
}

async fn mapping_nested_groups_and_a_cycle(server: &DirectoryServer, extra: serde_json::Value) {
    let ou = server.new_ou("map").await;
    let n = |s: &str| format!("{}-{s}", ou.name);
    let boss = ou.add_user(&UserSpec::full(&n("boss"))).await;
    let mut spec = UserSpec::full(&n("ann"));
    spec.manager = Some(boss.dn.clone());
    let ann = ou.add_user(&spec).await;
    let bob = ou.add_user(&UserSpec::minimal(&n("bob"))).await;
    let mut off = UserSpec::minimal(&n("off"));
    off.disabled = true;
    let off = ou.add_user(&off).await;
    let sub = ou
        .add_group(&n("sub"), &[bob.dn.clone(), off.dn.clone()])
        .await;
    let top = ou
        .add_group(&n("top"), &[ann.dn.clone(), sub.dn.clone()])
        .await;
    // a cycle: sub contains top, which contains sub
    ou.add_members(&sub.dn, std::slice::from_ref(&top.dn)).await;

    let mut source = connect(server, extra).await;
    let snap = read(&mut source, &scope(&[&top.dn], &[&ou.dn]), &mapping(server)).await;
    let ids: Vec<String> = snap.users.iter().map(|u| u.external_id.clone()).collect();
    assert_eq!(
        ids,
        ids_of(&[&ann, &bob, &off]),
        "members through the nested group, the cycle read once, the manager not in scope"
    );
    let a = user(&snap.users, &ann.external_id);
    assert_eq!(a.user_name, expected_user_name(server, &n("ann")));
    assert!(a.active);
    assert_eq!(
        a.given_name.as_deref(),
        Some(format!("Given {}", n("ann")).as_str())
    );
    assert_eq!(
        a.family_name.as_deref(),
        Some(format!("Family {}", n("ann")).as_str())
    );
    assert_eq!(
        a.display_name.as_deref(),
        Some(format!("Display {}", n("ann")).as_str())
    );
    assert_eq!(a.emails, vec![format!("{}@example.test", n("ann"))]);
    assert_eq!(a.phone_numbers, vec!["+1 555 0100".to_owned()]);
    assert_eq!(
        a.enterprise.employee_number.as_deref(),
        Some(format!("E-{}", n("ann")).as_str())
    );
    assert_eq!(a.enterprise.department.as_deref(), Some("Engineering"));
    assert_eq!(
        a.enterprise.manager.as_deref(),
        Some(boss.external_id.as_str())
    );
    assert_eq!(a.custom.get("badge"), Some(&format!("custom-{}", n("ann"))));
    assert!(a.dn.to_lowercase().starts_with(&format!("cn={}", n("ann"))));
    assert!(
        !user(&snap.users, &off.external_id).active,
        "disabled users are read, inactive"
    );
    assert!(user(&snap.users, &bob.external_id).active);
    assert_eq!(snap.groups.len(), 1);
    let g = &snap.groups[0];
    assert_eq!(g.external_id, top.external_id);
    assert_eq!(g.name, n("top"));
    assert_eq!(g.members, ids);

    // nested = false: the direct members only
    let mut direct = scope(&[&top.dn], &[&ou.dn]);
    direct.nested = false;
    let snap = read(&mut source, &direct, &mapping(server)).await;
    assert_eq!(snap.groups[0].members, vec![ann.external_id.clone()]);

    // a group selected by filter; the user filter narrows
    let by_filter: ScopeConfig = serde_json::from_value(json!({
        "group_filter": format!("(cn={})", n("sub")),
        "user_filter": "(mail=*)",
        "base_dns": [ou.dn],
    }))
    .unwrap();
    let snap = read(&mut source, &by_filter, &mapping(server)).await;
    assert_eq!(snap.groups.len(), 1);
    assert_eq!(snap.groups[0].external_id, sub.external_id);
    assert_eq!(
        snap.groups[0].members,
        ids_of(&[&ann, &bob, &off]),
        "sub contains top, which contains ann"
    );
}

#[tokio::test]
async fn active_directory_mapping_nested_groups_and_a_cycle_over_starttls() {
    let server = samba_dc();
    let extra = json!({"url": server.ldap_url, "tls": "starttls"});
    mapping_nested_groups_and_a_cycle(server, extra).await;
}

#[tokio::test]
async fn openldap_mapping_nested_groups_and_a_cycle() {
    mapping_nested_groups_and_a_cycle(openldap(), json!({})).await;
}

#[tokio::test]
async fn active_directory_in_chain_option_finds_nested_members() {
    let server = samba_dc();
    let ou = server.new_ou("chain").await;
    let n = |s: &str| format!("{}-{s}", ou.name);
    let ann = ou.add_user(&UserSpec::minimal(&n("ann"))).await;
    let bob = ou.add_user(&UserSpec::minimal(&n("bob"))).await;
    let sub = ou.add_group(&n("sub"), std::slice::from_ref(&bob.dn)).await;
    let top = ou
        .add_group(&n("top"), &[ann.dn.clone(), sub.dn.clone()])
        .await;
    let mut source = connect(server, json!({})).await;
    let mut s = scope(&[&top.dn], &[&ou.dn]);
    s.in_chain = true;
    let snap = read(&mut source, &s, &mapping(server)).await;
    assert_eq!(snap.groups[0].members, ids_of(&[&ann, &bob]));
}

async fn paging(server: &DirectoryServer) {
    let ou = server.new_ou("paging").await;
    let added = ou.populate(23, 1).await;
    let mut source = connect(server, json!({"page_size": 5})).await;
    let before = source.stats();
    let snap = read(
        &mut source,
        &scope(&[&added.groups[0].dn], &[]),
        &mapping(server),
    )
    .await;
    let pages = source.stats().pages - before.pages;
    assert_eq!(snap.users.len(), 23);
    assert_eq!(snap.groups[0].members.len(), 23);
    assert!(
        pages >= 5,
        "23 users at 5 per page take 5 pages or more: {pages}"
    );
}

on_both_servers!(paging => active_directory_paged_results, openldap_paged_results);

async fn a_group_of_2000_members(server: &DirectoryServer) {
    let ou = server.new_ou("big").await;
    let start = Instant::now();
    let added = ou.populate(2000, 1).await;
    eprintln!(
        "{:?}: 2,000 users added in {:?}",
        server.kind,
        start.elapsed()
    );
    let mut source = connect(server, json!({})).await;
    let start = Instant::now();
    let snap = read(
        &mut source,
        &scope(&[&added.groups[0].dn], &[]),
        &mapping(server),
    )
    .await;
    eprintln!(
        "{:?}: 2,000 members read in {:?} ({:?})",
        server.kind,
        start.elapsed(),
        source.stats()
    );
    assert_eq!(snap.users.len(), 2000);
    assert_eq!(snap.groups[0].members.len(), 2000);
    let expected = sorted(added.users.iter().map(|u| u.external_id.clone()).collect());
    assert_eq!(snap.groups[0].members, expected);
    if server.kind == DirectoryKind::ActiveDirectory {
        // Windows answers `member;range=0-1499` by itself; Samba answers
        // whole, so the connector is made to ask for ranges of 500: the same
        // parsing and continuation (`…;range=500-999`, … until `*`).
        let mut ranged = connect(server, json!({"member_range_size": 500})).await;
        let snap = read(
            &mut ranged,
            &scope(&[&added.groups[0].dn], &[]),
            &mapping(server),
        )
        .await;
        assert_eq!(snap.groups[0].members, expected);
        assert!(
            ranged.stats().ranges >= 3,
            "2,000 members in ranges of 500: {:?}",
            ranged.stats()
        );
    }
}

on_both_servers!(a_group_of_2000_members => active_directory_group_of_2000_members_is_read_whole, openldap_group_of_2000_members_is_read_whole);

async fn rename_and_move(server: &DirectoryServer) {
    let ou = server.new_ou("move").await;
    let elsewhere = ou.child_ou("elsewhere").await;
    let n = |s: &str| format!("{}-{s}", ou.name);
    let ann = ou.add_user(&UserSpec::full(&n("ann"))).await;
    let group = ou.add_group(&n("g"), std::slice::from_ref(&ann.dn)).await;
    let s = scope(&[&group.dn], &[&ou.dn]);
    let mut source = connect(server, json!({})).await;
    let first = read(&mut source, &s, &mapping(server)).await;
    let renamed = ou.rename(&ann.dn, &n("ann-renamed")).await;
    let moved = ou.move_to(&renamed, &elsewhere.dn).await;
    let second = read(&mut source, &s, &mapping(server)).await;
    assert_eq!(first.users.len(), 1);
    assert_eq!(
        second.users.len(),
        1,
        "the moved user is still a member, still under the base"
    );
    assert_eq!(second.users[0].external_id, ann.external_id);
    assert_eq!(first.users[0].external_id, ann.external_id);
    assert_eq!(second.users[0].dn.to_lowercase(), moved.to_lowercase());
    assert_eq!(second.groups[0].members, vec![ann.external_id.clone()]);
    // deleted: gone from the read (the sync deactivates who is gone)
    ou.delete(&moved).await;
    let third = read(&mut source, &s, &mapping(server)).await;
    assert!(third.users.is_empty(), "{:?}", third.users);
    assert!(third.groups[0].members.is_empty());
}

on_both_servers!(rename_and_move => active_directory_rename_and_move_keep_the_external_id_and_delete_removes, openldap_rename_and_move_keep_the_external_id_and_delete_removes);

async fn changes(server: &DirectoryServer) {
    changes_found_by(server, None).await;
}

/// Changes read incrementally, found as the server's preset finds them or
/// by `tracking` (`mapping.changes`). The exact markers (Active Directory's
/// USN, OpenLDAP's `entryCSN`) read only what changed since; with
/// `modifyTimestamp` (whole seconds, an inclusive marker) what changed in
/// the marker's second is read again, so the test waits a second there.
async fn changes_found_by(server: &DirectoryServer, tracking: Option<&str>) {
    let exact = tracking != Some("modify_timestamp");
    let wait_a_second = || async {
        if !exact {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    };
    let ou = server.new_ou("changes").await;
    let n = |s: &str| format!("{}-{s}", ou.name);
    let ann = ou.add_user(&UserSpec::full(&n("ann"))).await;
    let bob = ou.add_user(&UserSpec::full(&n("bob"))).await;
    let outsider = ou.add_user(&UserSpec::full(&n("out"))).await;
    let sub = ou.add_group(&n("sub"), std::slice::from_ref(&bob.dn)).await;
    let top = ou
        .add_group(&n("top"), &[ann.dn.clone(), sub.dn.clone()])
        .await;
    let s = scope(&[&top.dn], &[&ou.dn]);
    let mut m = mapping(server);
    m.changes = tracking.map(|t| serde_json::from_value(json!(t)).unwrap());
    let mut source = connect(server, json!({})).await;
    let full = read(&mut source, &s, &m).await;
    let marker = full.marker.clone().expect("a change marker");
    match (&marker, server.kind) {
        (
            ChangeMarker::ActiveDirectory {
                usn, invocation_id, ..
            },
            DirectoryKind::ActiveDirectory,
        ) => {
            assert!(*usn > 0);
            assert_eq!(invocation_id.len(), 36);
        }
        (ChangeMarker::ModifyTimestamp { timestamp }, DirectoryKind::OpenLdap) if !exact => {
            assert!(timestamp.ends_with('Z'), "{timestamp}");
        }
        (ChangeMarker::EntryCsn { csn }, DirectoryKind::OpenLdap) if exact => {
            assert!(csn.contains("Z#"), "{csn}");
        }
        other => panic!("unexpected marker {other:?}"),
    }
    wait_a_second().await;
    // a nested member changes; someone outside the scope changes too
    let department = match server.kind {
        DirectoryKind::ActiveDirectory => "department",
        DirectoryKind::OpenLdap => "departmentNumber",
    };
    ou.set_attribute(&bob.dn, department, &["Sales"]).await;
    ou.set_attribute(&outsider.dn, department, &["Sales"]).await;
    let start = Instant::now();
    let changes = source
        .read_changes(&s, &m, &marker, &mut |_| {})
        .await
        .unwrap()
        .expect("the marker is usable");
    eprintln!("{:?}: changes read in {:?}", server.kind, start.elapsed());
    let ids: Vec<&str> = changes
        .users
        .iter()
        .map(|u| u.external_id.as_str())
        .collect();
    assert!(ids.contains(&bob.external_id.as_str()), "{ids:?}");
    assert!(
        !ids.contains(&outsider.external_id.as_str()),
        "not in scope"
    );
    let b = user(&changes.users, &bob.external_id);
    assert_eq!(b.enterprise.department.as_deref(), Some("Sales"));
    if exact {
        assert_eq!(ids, vec![bob.external_id.as_str()], "only the changed user");
        assert!(changes.groups.is_empty());
    }
    let marker = changes.marker.clone().expect("a new marker");

    // a user joins a nested group: the selected group is read whole
    wait_a_second().await;
    let cy = ou.add_user(&UserSpec::full(&n("cy"))).await;
    ou.add_members(&sub.dn, std::slice::from_ref(&cy.dn)).await;
    let changes = source
        .read_changes(&s, &m, &marker, &mut |_| {})
        .await
        .unwrap()
        .expect("the marker is usable");
    assert_eq!(changes.groups.len(), 1);
    assert_eq!(changes.groups[0].external_id, top.external_id);
    assert_eq!(changes.groups[0].members, ids_of(&[&ann, &bob, &cy]));
    assert!(
        changes
            .users
            .iter()
            .any(|u| u.external_id == cy.external_id)
    );

    // nothing changed since: nothing read
    let marker = changes.marker.clone().expect("a new marker");
    if exact {
        let none = source
            .read_changes(&s, &m, &marker, &mut |_| {})
            .await
            .unwrap()
            .expect("the marker is usable");
        assert!(none.users.is_empty() && none.groups.is_empty(), "{none:?}");
    }

    // disabled, then enabled again: seen by incremental reads
    for (enabled, what) in [(false, "disabled"), (true, "enabled again")] {
        let marker = source
            .read_full(&s, &m, &mut |_| {})
            .await
            .unwrap()
            .marker
            .expect("a marker");
        wait_a_second().await;
        if enabled {
            ou.enable(&ann.dn).await;
        } else {
            ou.disable(&ann.dn).await;
        }
        let changes = source
            .read_changes(&s, &m, &marker, &mut |_| {})
            .await
            .unwrap()
            .expect("the marker is usable");
        assert_eq!(
            user(&changes.users, &ann.external_id).active,
            enabled,
            "{what}"
        );
    }

    // a marker of another domain controller (or a restored one) is refused
    if let ChangeMarker::ActiveDirectory {
        server: host, usn, ..
    } = &marker
    {
        let others = [
            ChangeMarker::ActiveDirectory {
                server: host.clone(),
                invocation_id: "00000000-0000-0000-0000-000000000000".into(),
                usn: *usn,
            },
            ChangeMarker::ActiveDirectory {
                server: "dc2.elsewhere.test".into(),
                invocation_id: "x".into(),
                usn: *usn,
            },
        ];
        for other in &others {
            assert!(
                source
                    .read_changes(&s, &m, other, &mut |_| {})
                    .await
                    .unwrap()
                    .is_none()
            );
        }
    }
}

on_both_servers!(changes => active_directory_usn_marker_and_changes, openldap_entry_csn_marker_and_changes);

/// An LDAP server found by `modifyTimestamp` (as one without `entryCSN`
/// is): OpenLDAP told so with `mapping.changes`.
#[tokio::test]
async fn openldap_modify_timestamp_marker_and_changes() {
    changes_found_by(openldap(), Some("modify_timestamp")).await;
}

/// The OU helper is used by the other modules too; keep it honest here.
#[tokio::test]
async fn test_data_helpers_work_on_both_servers() {
    for server in [samba_dc(), openldap()] {
        let ou: TestOu<'_> = server.new_ou("smoke").await;
        let user = ou
            .add_user(&UserSpec::full(&format!("{}-a", ou.name)))
            .await;
        assert_eq!(user.external_id.len(), 36, "{}", user.external_id);
        let group = ou
            .add_group(&format!("{}-g", ou.name), std::slice::from_ref(&user.dn))
            .await;
        ou.disable(&user.dn).await;
        ou.enable(&user.dn).await;
        ou.remove_members(&group.dn, std::slice::from_ref(&user.dn))
            .await;
        ou.delete(&user.dn).await;
    }
}

mod connections;

mod errors;
