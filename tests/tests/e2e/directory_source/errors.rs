//! Errors an administrator can act on: an unreachable address, a refused
//! bind, an unknown CA, a scope naming a missing entry or a non-group, each
//! named clearly; the bind password read from a file.

use super::*;

async fn clear_errors(server: &DirectoryServer, other_ca: &std::path::Path) {
    let config = directory_config(server, json!({}));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let unreachable = directory_config(server, json!({"url": format!("ldaps://127.0.0.1:{port}")}));
    let refused = Source::connect_with_password(&unreachable, Password::new("x"))
        .await
        .err()
        .expect("nothing listens there");
    assert!(matches!(refused, SourceError::Connect { .. }), "{refused}");

    let refused = Source::connect_with_password(&config, Password::new("wrong password"))
        .await
        .err()
        .expect("a wrong password is refused");
    assert!(matches!(refused, SourceError::Bind { .. }), "{refused}");
    assert!(
        refused.to_string().contains("directory.bind_dn"),
        "{refused}"
    );
    assert!(!refused.to_string().contains("wrong password"));

    let config = directory_config(server, json!({"ca_file": other_ca}));
    let refused =
        Source::connect_with_password(&config, Password::new(server.bind_password.clone()))
            .await
            .err()
            .expect("a certificate of another CA is refused");
    assert!(matches!(refused, SourceError::Tls { .. }), "{refused}");
    eprintln!("{:?}: {refused}", server.kind);
    assert!(refused.to_string().contains("ca_file"), "{refused}");

    let mut source = connect(server, json!({})).await;
    let ou = server.new_ou("errors").await;
    let group = ou.add_group(&format!("{}-g", ou.name), &[]).await;
    let missing = format!("ou=nowhere,{}", server.base_dn);
    let err = source
        .read_full(
            &scope(&[&group.dn], &[&missing]),
            &mapping(server),
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::NoSuchEntry { .. }), "{err}");
    assert!(err.to_string().starts_with("scope.base_dns[0]"), "{err}");
    let missing_group = format!("cn=nothing,{}", ou.dn);
    let err = source
        .read_full(
            &scope(&[&group.dn, &missing_group], &[]),
            &mapping(server),
            &mut |_| {},
        )
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("scope.groups[1]"), "{err}");
    let err = source
        .read_full(&scope(&[&ou.dn], &[]), &mapping(server), &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::NotAGroup { .. }), "{err}");
    assert!(err.to_string().starts_with("scope.groups[0]"), "{err}");
}

#[tokio::test]
async fn active_directory_errors_are_clear() {
    clear_errors(samba_dc(), &openldap().ca_file).await;
    // Active Directory refuses a simple bind over plain LDAP: so does the
    // connector, with the directory's reason
    let server = samba_dc();
    let config = directory_config(
        server,
        json!({"url": server.ldap_url, "tls": "none", "allow_insecure_plain_ldap": true}),
    );
    let refused =
        Source::connect_with_password(&config, Password::new(server.bind_password.clone()))
            .await
            .err()
            .expect("plain LDAP bind refused");
    assert!(matches!(refused, SourceError::Bind { .. }), "{refused}");
}

#[tokio::test]
async fn openldap_errors_are_clear() {
    clear_errors(openldap(), &samba_dc().ca_file).await;
}

#[tokio::test]
async fn the_password_comes_from_a_file() {
    let server = openldap();
    let path = std::env::temp_dir().join(format!("user-sync-pw-{}", std::process::id()));
    std::fs::write(&path, format!("{}\n", server.bind_password)).unwrap();
    let mut config = directory_config(server, json!({}));
    config.password_env = None;
    config.password_file = Some(path.clone());
    let source = Source::connect(&config).await;
    std::fs::remove_file(&path).unwrap();
    assert!(source.is_ok(), "{:?}", source.err());
}
