//! Connections that fail: closed while idle, dropped mid-read (resumed),
//! stalled (timed out and run again).

use super::*;

/// A TCP proxy to `target` that counts the bytes the server sends and,
/// once, when `cut_after` bytes have gone through, cuts the connection (or,
/// with `stall`, keeps it open and forwards nothing more).
struct CuttingProxy {
    port: u16,
    cuts: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
    accepted: Arc<AtomicU64>,
    close: Arc<tokio::sync::Notify>,
}

impl CuttingProxy {
    /// Closes every open connection now (as a server closing idle ones).
    fn close_all(&self) {
        self.close.notify_waiters();
    }
}

async fn cutting_proxy(target: String, cut_after: u64, stall: bool) -> CuttingProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cuts = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let armed = Arc::new(AtomicBool::new(true));
    let accepted = Arc::new(AtomicU64::new(0));
    let close = Arc::new(tokio::sync::Notify::new());
    let (counted_cuts, counted_bytes) = (cuts.clone(), bytes.clone());
    let (counted_accepts, closing) = (accepted.clone(), close.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            counted_accepts.fetch_add(1, Ordering::SeqCst);
            let closing = closing.clone();
            let target = target.clone();
            let armed = armed.clone();
            let cuts = counted_cuts.clone();
            let bytes = counted_bytes.clone();
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(&target).await else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let up = tokio::spawn(async move {
                    let _copied = tokio::io::copy(&mut cr, &mut sw).await;
                });
                let mut buf = vec![0u8; 4 * 1024];
                loop {
                    let n = tokio::select! {
                        read = sr.read(&mut buf) => match read {
                            Ok(n) => n,
                            Err(_) => break,
                        },
                        () = closing.notified() => break,
                    };
                    if n == 0 {
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    let total = bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                    if total > cut_after && armed.swap(false, Ordering::SeqCst) {
                        cuts.fetch_add(1, Ordering::SeqCst);
                        if stall {
                            tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                        }
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    CuttingProxy {
        port,
        cuts,
        bytes,
        accepted,
        close,
    }
}

/// The server closes the connection while the connector is idle (Active
/// Directory does after 900 s): the next read opens a new one.
async fn an_idle_connection_closed_by_the_server(server: &DirectoryServer) {
    let ou = server.new_ou("idle").await;
    let added = ou.populate(10, 1).await;
    let s = scope(&[&added.groups[0].dn], &[]);
    let target = server.ldaps_url.trim_start_matches("ldaps://").to_owned();
    let proxy = cutting_proxy(target, u64::MAX, false).await;
    let url = format!("ldaps://127.0.0.1:{}", proxy.port);
    let mut source = connect(server, json!({"url": url})).await;
    assert_eq!(
        read(&mut source, &s, &mapping(server)).await.users.len(),
        10
    );
    proxy.close_all();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        read(&mut source, &s, &mapping(server)).await.users.len(),
        10
    );
    assert_eq!(
        proxy.accepted.load(Ordering::SeqCst),
        2,
        "a second connection"
    );
    assert!(source.stats().reconnects >= 1, "{:?}", source.stats());
}

on_both_servers!(an_idle_connection_closed_by_the_server => active_directory_idle_connection_closed_by_the_server, openldap_idle_connection_closed_by_the_server);

async fn reconnect_and_resume(server: &DirectoryServer) {
    let ou = server.new_ou("drop").await;
    let added = ou.populate(250, 1).await;
    let s = scope(&[&added.groups[0].dn], &[]);
    let m = mapping(server);
    let target = server.ldaps_url.trim_start_matches("ldaps://").to_owned();
    // a read without trouble, through a proxy that only counts
    let counting = cutting_proxy(target.clone(), u64::MAX, false).await;
    let url = format!("ldaps://127.0.0.1:{}", counting.port);
    let mut clean = connect(server, json!({"url": url, "page_size": 20})).await;
    let expected = read(&mut clean, &s, &m).await;
    let clean_entries = clean.stats().entries;
    let clean_bytes = counting.bytes.load(Ordering::SeqCst);

    // the same read, cut two thirds of the way through (in the second or
    // third of the three lookups of 100, 100 and 50 users)
    let proxy = cutting_proxy(target, clean_bytes * 2 / 3, false).await;
    let url = format!("ldaps://127.0.0.1:{}", proxy.port);
    let mut source = connect(server, json!({"url": url, "page_size": 20})).await;
    let snap = read(&mut source, &s, &m).await;
    let stats = source.stats();
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "the proxy cut the connection"
    );
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert_eq!(snap.users, expected.users);
    assert_eq!(snap.groups, expected.groups);
    // resumed, not restarted: at most the lookup that was cut is read again
    // (a restart would read the 150 or more users before the cut again)
    let again = stats.entries - clean_entries;
    assert!(
        again < 100,
        "{again} entries read again ({} with a cut, {clean_entries} without)",
        stats.entries
    );
    eprintln!(
        "{:?}: cut after {} of {clean_bytes} bytes; {again} entries read again",
        server.kind,
        clean_bytes * 2 / 3
    );
}

on_both_servers!(reconnect_and_resume => active_directory_dropped_connection_is_resumed, openldap_dropped_connection_is_resumed);

/// A server that stops answering mid-read: the operation times out
/// (`timeout_seconds`) and runs again on a new connection.
async fn a_stalled_operation_times_out_and_runs_again(server: &DirectoryServer) {
    let ou = server.new_ou("stall").await;
    let added = ou.populate(40, 1).await;
    let s = scope(&[&added.groups[0].dn], &[]);
    let target = server.ldaps_url.trim_start_matches("ldaps://").to_owned();
    // past the TLS handshake and the bind
    let proxy = cutting_proxy(target, 12_000, true).await;
    let url = format!("ldaps://127.0.0.1:{}", proxy.port);
    let mut source = connect(
        server,
        json!({"url": url, "page_size": 5, "timeout_seconds": 1}),
    )
    .await;
    let start = Instant::now();
    let snap = read(&mut source, &s, &mapping(server)).await;
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1, "the proxy stalled");
    assert_eq!(snap.users.len(), 40);
    assert!(source.stats().reconnects >= 1, "{:?}", source.stats());
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}

on_both_servers!(a_stalled_operation_times_out_and_runs_again => active_directory_stalled_operation_times_out_and_runs_again, openldap_stalled_operation_times_out_and_runs_again);
