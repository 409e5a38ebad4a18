//! Runs that must not harm: a dry run sends nothing, the guard stops a mass
//! deactivation, a run killed half way converges, and the connector's logs
//! hold no token and no personal data.

use super::*;

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
    let (_, active_users) = k.org.scim().search("Users", "active eq true").await;
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
    let (_, active_users) = k.org.scim().search("Users", "active eq true").await;
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
        // the number's digits with their space: four digits alone turn up
        // in request ids
        "7946 0018",
        "79460018",
        &k.domain,
    ] {
        assert!(!text.contains(secret), "the logs hold {secret:?}:\n{text}");
    }
}
