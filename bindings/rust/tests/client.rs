//! The Rust binding against catalog-sqlite: two clients (as two services
//! would be) register, resolve each other's roles and hear each other's
//! changes through boxed closures.
use muster::{Client, Event, Health, Service, Status};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

fn clients(name: &str) -> (Client, Client, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("muster-rust-{}-{}", name, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let option = format!("catalog-sqlite.path={}", dir.join("m.db").display());
    let settings = [
        ("backend-option", option.as_str()),
        ("heartbeat-interval", "500ms"),
        ("log-level", "warn"),
    ];
    (Client::new(&settings).unwrap(), Client::new(&settings).unwrap(), dir)
}

#[test]
fn register_resolve_subscribe_pick() {
    let (a, b, dir) = clients("flow");
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let sub = a
        .subscribe(Some("router"), move |e, i, backend| {
            seen.lock().unwrap().push((e, i.address.clone(), backend.to_string()))
        })
        .unwrap();
    let mut router = Service::new("router", "10.0.0.1:7000");
    router.metadata.insert("zone".into(), "a".into());
    let router = b.register(&router).unwrap();
    let me = a.register(&Service::new("querier", "10.0.0.2:7001")).unwrap();

    let added = (Event::Added, "10.0.0.1:7000".to_string(), "catalog-sqlite".to_string());
    assert!(eventually(|| events.lock().unwrap().contains(&added)));
    let routers = a.resolve("router").unwrap();
    assert_eq!(routers.instances.len(), 1);
    assert_eq!(routers.instances[0].metadata["zone"], "a");
    assert_eq!(routers.backend, "catalog-sqlite");
    assert!(!routers.stale);
    assert!(eventually(|| b
        .resolve("querier")
        .unwrap()
        .instances
        .iter()
        .any(|q| q.id == me.id())));

    let call = a
        .picker("router", Some("random"))
        .unwrap()
        .pick(None)
        .unwrap()
        .expect("a router to pick");
    assert_eq!(call.instance.address, "10.0.0.1:7000");
    call.success(Some(250));

    router.set_health(Health::Warning, "busy", 0).unwrap();
    assert!(eventually(
        || a.resolve("router").unwrap().instances[0].health == Health::Warning
    ));
    router.drain(true).unwrap();
    assert!(eventually(|| a
        .picker("router", None)
        .unwrap()
        .pick(None)
        .unwrap()
        .is_none()));
    router.deregister().unwrap();
    let removed = (
        Event::Removed,
        "10.0.0.1:7000".to_string(),
        "catalog-sqlite".to_string(),
    );
    assert!(eventually(|| events.lock().unwrap().contains(&removed)));
    drop(sub);
    drop(me);
    drop((a, b));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_input_is_an_error_with_a_status() {
    let (a, _b, dir) = clients("errors");
    assert_eq!(a.resolve("Not A Role").unwrap_err().status, Status::InvalidArgument);
    assert_eq!(
        a.picker("router", Some("fastest")).err().unwrap().status,
        Status::InvalidArgument
    );
    let e = Client::new(&[("heartbeat-interval", "soon")]).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.message.contains("heartbeat"), "{}", e.message);
    std::fs::remove_dir_all(dir).unwrap();
}

/// docs/security.md, item 7: a callback may deregister, and drop its own
/// subscription, without hanging; it is not called after that.
#[test]
fn a_callback_may_step_down_and_drop_its_own_subscription() {
    let (a, b, dir) = clients("callbacks");
    let mine = Arc::new(Mutex::new(Some(a.register(&Service::new("worker", "10.0.0.1:80")).unwrap())));
    let own: Arc<Mutex<Option<muster::Subscription>>> = Arc::new(Mutex::new(None));
    let calls = Arc::new(Mutex::new(0u32));
    let (m, o, c) = (mine.clone(), own.clone(), calls.clone());
    let sub = a
        .subscribe(Some("worker"), move |e, i, _| {
            *c.lock().unwrap() += 1;
            if e == Event::Removed && i.address == "10.0.0.2:80" {
                drop(m.lock().unwrap().take()); // my peer left, so I step down
                drop(o.lock().unwrap().take()); // and stop listening, from inside the callback
            }
        })
        .unwrap();
    *own.lock().unwrap() = Some(sub);
    let peer = b.register(&Service::new("worker", "10.0.0.2:80")).unwrap();
    // `a` must have seen the peer come before it can see it go.
    assert!(eventually(|| a
        .resolve("worker")
        .unwrap()
        .instances
        .iter()
        .any(|i| i.address == "10.0.0.2:80")));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        peer.deregister().unwrap();
        done_tx.send(()).unwrap();
    });
    done_rx.recv_timeout(Duration::from_secs(20)).expect("deregistering hung");
    assert!(eventually(|| mine.lock().unwrap().is_none() && own.lock().unwrap().is_none()));
    let seen = *calls.lock().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(*calls.lock().unwrap(), seen);
    drop(a);
    drop(b);
    std::fs::remove_dir_all(dir).ok();
}
