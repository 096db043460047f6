//! set_log: the library's lines reach the closure at the level of the
//! client opened last. A test binary of its own: the log and its level are
//! the process's, and the other tests open clients of their own meanwhile.
use muster::{Client, LogLevel, Service};
use std::sync::{Arc, Mutex};

#[test]
fn set_log_takes_the_lines_at_the_client_level() {
    let dir = std::env::temp_dir().join(format!("muster-rust-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    muster::set_log(move |level, message| seen.lock().unwrap().push((level, message.to_string())));
    let option = format!("catalog-sqlite.path={}", dir.join("m.db").display());
    let client = Client::new(&[("backend-option", option.as_str()), ("log-level", "info")]).unwrap();
    let me = client.register(&Service::new("logged", "10.0.0.8:1")).unwrap();
    let expected = format!("registered logged {} at 10.0.0.8:1 (passing)", me.id());
    assert!(lines.lock().unwrap().iter().any(|(l, m)| *l == LogLevel::Info && *m == expected));
    muster::reset_log();
    drop(me);
    drop(client);
    std::fs::remove_dir_all(&dir).unwrap();
}
