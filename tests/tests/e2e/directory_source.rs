//! The connector's directory reading against a real Samba Active Directory
//! domain controller and a real OpenLDAP server (no local stack needed).

use user_sync_tests::directory_servers::{DirectoryServer, UserSpec, openldap, samba_dc};

async fn servers_accept_test_data(server: &DirectoryServer) {
    let ou = server.new_ou("smoke").await;
    let user = ou
        .add_user(&UserSpec::full(&format!("{}-a", ou.name)))
        .await;
    assert_eq!(user.external_id.len(), 36, "{}", user.external_id);
    let group = ou
        .add_group(&format!("{}-g", ou.name), std::slice::from_ref(&user.dn))
        .await;
    let moved_to = ou.child_ou("moved").await;
    let renamed = ou.rename(&user.dn, &format!("{}-b", ou.name)).await;
    let moved = ou.move_to(&renamed, &moved_to.dn).await;
    let mut ldap = server.connect().await;
    assert_eq!(
        server.external_id(&mut ldap, &moved).await,
        user.external_id
    );
    ou.disable(&moved).await;
    ou.enable(&moved).await;
    ou.remove_members(&group.dn, std::slice::from_ref(&moved))
        .await;
    ou.delete(&moved).await;
}

#[tokio::test]
async fn samba_dc_starts_and_takes_test_data() {
    servers_accept_test_data(samba_dc()).await;
}

#[tokio::test]
async fn openldap_starts_and_takes_test_data() {
    servers_accept_test_data(openldap()).await;
}
