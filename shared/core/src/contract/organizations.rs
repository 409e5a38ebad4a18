//! The contract of [`Organizations`].

use super::{Checked, fresh_org};
use crate::StoreError;
use crate::ids::OrgId;
use crate::ports::{Organization, Organizations};

fn organization(id: &OrgId) -> Organization {
    Organization::new(id.clone(), "Contract", "2026-12-01T09:00:00.000Z")
}

/// Creates organizations named after a fresh prefix and checks
/// creation, versioned updates and paging through every organization.
pub async fn organizations<S: Organizations>(store: &S) -> Checked {
    let prefix = fresh_org();
    let prefix = &prefix.as_str()[..prefix.as_str().len().min(34)];
    let ids: Vec<OrgId> = (1..=3)
        .map(|n| OrgId::parse(&format!("{prefix}-{n}")).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let first = &ids[0];
    assert_eq!(
        store.get_org(first).await.ok(),
        Some(None),
        "no such organization yet"
    );
    for id in &ids {
        assert!(store.create_org(&organization(id)).await.is_ok());
    }
    assert!(
        matches!(
            store.create_org(&organization(first)).await,
            Err(StoreError::Conflict(_))
        ),
        "create_org MUST return Conflict when the organization exists"
    );
    let stored = store.get_org(first).await.ok().flatten();
    assert_eq!(stored, Some(organization(first)));

    // updates are conditional on the version read
    let mut org = organization(first);
    org.name = "Renamed".into();
    assert!(store.update_org(&org).await.is_ok());
    let stored = store.get_org(first).await.ok().flatten();
    assert_eq!(
        stored.as_ref().map(|o| (o.name.as_str(), o.version)),
        Some(("Renamed", 1))
    );
    assert!(
        matches!(store.update_org(&org).await, Err(StoreError::Conflict(_))),
        "update_org MUST return Conflict at another version"
    );
    let missing =
        organization(&OrgId::parse(&format!("{prefix}-none")).unwrap_or_else(|e| panic!("{e}")));
    assert!(
        matches!(store.update_org(&missing).await, Err(StoreError::NotFound)),
        "update_org MUST return NotFound when the organization does not exist"
    );

    // paging reaches every organization, at most `limit` a page
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let (page, next) = store
            .list_orgs(cursor.as_deref(), 2)
            .await
            .unwrap_or_else(|e| panic!("list_orgs: {e}"));
        assert!(
            page.len() <= 2,
            "a page holds at most `limit` organizations"
        );
        seen.extend(page.into_iter().map(|o| o.id));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    for id in &ids {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id} listed once"
        );
    }
    Ok(())
}
