//! muster for Rust: a safe wrapper over libmuster's C API
//! (include/muster/client.h, docs/embedding.md). Handles are freed in
//! `Drop` (a `Registration` deregisters), watch callbacks are boxed
//! closures, and every failure is an `Error` with the C API's status.
//!
//! ```no_run
//! let client = muster::Client::new(&[("backend-option", "catalog-sqlite.path=muster.db")]).unwrap();
//! let _me = client.register(&muster::Service::new("querier", "10.0.0.5:7001")).unwrap();
//! for router in client.resolve("router").unwrap().instances {
//!     println!("{} {}", router.id, router.address);
//! }
//! ```

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::ptr;

mod ffi;
#[cfg(test)]
mod layout_test;

/// The status of a failed call (the C API's muster_status) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub status: Status,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotFound,
    Unavailable,
    TryAgain,
    InvalidArgument,
    Unsupported,
    Conflict,
    Internal,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(code: c_int, err: &ffi::Error) -> Result<()> {
    let status = match code {
        0 => return Ok(()),
        1 => Status::NotFound,
        2 => Status::Unavailable,
        3 => Status::TryAgain,
        4 => Status::InvalidArgument,
        5 => Status::Unsupported,
        6 => Status::Conflict,
        _ => Status::Internal,
    };
    let message = unsafe { CStr::from_ptr(err.message.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Err(Error { status, message })
}

fn cstring(s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error {
        status: Status::InvalidArgument,
        message: format!("{:?} contains a NUL", s),
    })
}

unsafe fn text(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Passing = 0,
    Warning = 1,
    Critical = 2,
}

/// An instance, copied out of the library's snapshot, event or call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub role: String,
    pub address: String,
    pub health: Health,
    pub metadata: BTreeMap<String, String>,
    pub registered_at_ms: i64,
    pub last_seen_ms: i64,
}

impl Instance {
    unsafe fn from_c(c: &ffi::Instance) -> Instance {
        let mut metadata = BTreeMap::new();
        for i in 0..c.metadata_count {
            let kv = &*c.metadata.add(i);
            metadata.insert(text(kv.key), text(kv.value));
        }
        Instance {
            id: text(c.id),
            role: text(c.role),
            address: text(c.address),
            health: match c.health {
                0 => Health::Passing,
                1 => Health::Warning,
                _ => Health::Critical,
            },
            metadata,
            registered_at_ms: c.registered_at_ms,
            last_seen_ms: c.last_seen_ms,
        }
    }
}

/// The instances of a role and where they came from.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub instances: Vec<Instance>,
    pub backend: String,
    pub as_of_ms: i64,
    /// Every backend failed since `as_of_ms`: the last good answer.
    pub stale: bool,
}

/// A change of topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Added,
    Changed,
    Removed,
}

/// What to register.
#[derive(Debug, Clone, Default)]
pub struct Service {
    pub role: String,
    pub address: String,
    /// A UUID; empty for a new one.
    pub id: String,
    pub metadata: BTreeMap<String, String>,
    /// `[check.NAME]` names of the configuration, or health-check plugins.
    pub checks: Vec<String>,
    /// "router" or "router:2".
    pub depends_on: Vec<String>,
}

impl Service {
    pub fn new(role: &str, address: &str) -> Service {
        Service {
            role: role.into(),
            address: address.into(),
            ..Default::default()
        }
    }
}

/// The loaded libmuster's API version (major, minor).
pub fn library_version() -> (u32, u32) {
    let v = unsafe { ffi::muster_client_version() };
    (v >> 16, v & 0xffff)
}

/// A registry over the chain muster-host's settings describe.
pub struct Client {
    raw: *mut ffi::Client,
}

// The C API is thread-safe for every handle.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    /// Settings by muster-host's command-line names without "--"
    /// (`("heartbeat-interval", "1s")`); a repeatable one repeats.
    pub fn new(settings: &[(&str, &str)]) -> Result<Client> {
        Client::open(settings, None)
    }

    /// The same with a muster-host configuration file first.
    pub fn with_config(path: &str, settings: &[(&str, &str)]) -> Result<Client> {
        Client::open(settings, Some(path))
    }

    fn open(settings: &[(&str, &str)], path: Option<&str>) -> Result<Client> {
        if library_version().0 != 1 {
            let message = format!(
                "libmuster {:?} is not 1.x, which this crate is written for",
                library_version()
            );
            return Err(Error {
                status: Status::Unsupported,
                message,
            });
        }
        let owned: Vec<(CString, CString)> = settings
            .iter()
            .map(|(k, v)| Ok((cstring(k)?, cstring(v)?)))
            .collect::<Result<_>>()?;
        let kvs: Vec<ffi::Kv> = owned
            .iter()
            .map(|(k, v)| ffi::Kv {
                key: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let path = path.map(cstring).transpose()?;
        let config = ffi::Config {
            struct_size: std::mem::size_of::<ffi::Config>() as u32,
            reserved: 0,
            config_path: path.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            config_text: ptr::null(),
            settings: kvs.as_ptr(),
            settings_count: kvs.len(),
        };
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        check(unsafe { ffi::muster_client_open(&config, &mut raw, &mut err) }, &err)?;
        Ok(Client { raw })
    }

    /// Registers `s` and heartbeats it until the `Registration` drops.
    pub fn register(&self, s: &Service) -> Result<Registration> {
        let (role, address, id) = (cstring(&s.role)?, cstring(&s.address)?, cstring(&s.id)?);
        let meta: Vec<(CString, CString)> = s
            .metadata
            .iter()
            .map(|(k, v)| Ok((cstring(k)?, cstring(v)?)))
            .collect::<Result<_>>()?;
        let kvs: Vec<ffi::Kv> = meta
            .iter()
            .map(|(k, v)| ffi::Kv {
                key: k.as_ptr(),
                value: v.as_ptr(),
            })
            .collect();
        let checks: Vec<CString> = s.checks.iter().map(|c| cstring(c)).collect::<Result<_>>()?;
        let check_ptrs: Vec<*const c_char> = checks.iter().map(|c| c.as_ptr()).collect();
        let deps: Vec<CString> = s.depends_on.iter().map(|d| cstring(d)).collect::<Result<_>>()?;
        let dep_ptrs: Vec<*const c_char> = deps.iter().map(|d| d.as_ptr()).collect();
        let service = ffi::Service {
            struct_size: std::mem::size_of::<ffi::Service>() as u32,
            reserved: 0,
            role: role.as_ptr(),
            address: address.as_ptr(),
            id: if s.id.is_empty() { ptr::null() } else { id.as_ptr() },
            metadata: kvs.as_ptr(),
            metadata_count: kvs.len(),
            checks: check_ptrs.as_ptr(),
            checks_count: check_ptrs.len(),
            depends_on: dep_ptrs.as_ptr(),
            depends_on_count: dep_ptrs.len(),
        };
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        check(
            unsafe { ffi::muster_register(self.raw, &service, &mut raw, &mut err) },
            &err,
        )?;
        Ok(Registration { raw })
    }

    /// The live instances of `role`, from the client's cache.
    pub fn resolve(&self, role: &str) -> Result<Snapshot> {
        let role = cstring(role)?;
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        check(
            unsafe { ffi::muster_resolve(self.raw, role.as_ptr(), &mut raw, &mut err) },
            &err,
        )?;
        unsafe {
            let s = &*raw;
            let instances = (0..s.count).map(|i| Instance::from_c(&*s.instances.add(i))).collect();
            let out = Snapshot {
                instances,
                backend: text(s.backend),
                as_of_ms: s.as_of_ms,
                stale: s.stale != 0,
            };
            ffi::muster_snapshot_free(raw);
            Ok(out)
        }
    }

    /// Calls `f` on a library thread with each change of `role` (None:
    /// every role), first ADDED for each instance known; until the
    /// `Subscription` drops.
    pub fn subscribe<F>(&self, role: Option<&str>, f: F) -> Result<Subscription>
    where
        F: FnMut(Event, &Instance, &str) + Send + 'static,
    {
        let role = role.map(cstring).transpose()?;
        let mut callback: Box<Box<dyn FnMut(Event, &Instance, &str) + Send>> = Box::new(Box::new(f));
        let user = &mut *callback as *mut Box<dyn FnMut(Event, &Instance, &str) + Send> as *mut c_void;
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        check(
            unsafe {
                ffi::muster_subscribe(
                    self.raw,
                    role.as_ref().map_or(ptr::null(), |r| r.as_ptr()),
                    trampoline,
                    user,
                    &mut raw,
                    &mut err,
                )
            },
            &err,
        )?;
        Ok(Subscription {
            raw,
            _callback: callback,
        })
    }

    /// A picker over `role`: policy "round_robin" (None), "random",
    /// "least_outstanding", "weighted" or "maglev".
    pub fn picker(&self, role: &str, policy: Option<&str>) -> Result<Picker> {
        let role = cstring(role)?;
        let policy = policy.map(cstring).transpose()?;
        let options = ffi::PickerOptions {
            struct_size: std::mem::size_of::<ffi::PickerOptions>() as u32,
            reserved: 0,
            policy: policy.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
            zone: ptr::null(),
            region: ptr::null(),
            panic_threshold: 0.0,
        };
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        check(
            unsafe { ffi::muster_picker_open(self.raw, role.as_ptr(), &options, &mut raw, &mut err) },
            &err,
        )?;
        Ok(Picker { raw })
    }
}

impl Drop for Client {
    /// Deregisters what the client registered and stops it.
    fn drop(&mut self) {
        unsafe { ffi::muster_client_close(self.raw) }
    }
}

extern "C" fn trampoline(user: *mut c_void, event: u32, instance: *const ffi::Instance, backend: *const c_char) {
    let event = match event {
        0 => Event::Added,
        1 => Event::Changed,
        _ => Event::Removed,
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe {
        let f = &mut *(user as *mut Box<dyn FnMut(Event, &Instance, &str) + Send>);
        f(event, &Instance::from_c(&*instance), &text(backend));
    }));
    if result.is_err() {
        eprintln!("muster: a subscription callback panicked; the panic stops here (it must not unwind into C)");
    }
}

/// The level of a line of muster's log (muster_log_level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

type LogCallback = Box<dyn Fn(LogLevel, &str) + Send + Sync>;

// The callback the library's lines go to; the C side holds only the
// trampoline.
static LOG: std::sync::Mutex<Option<LogCallback>> = std::sync::Mutex::new(None);

/// Sends muster's log lines to `f(level, message)` instead of stderr (the
/// message without time or level). Process-wide: the lines are those at
/// the `log-level` setting of the client opened last (warn unless set).
/// `f` runs on the thread that logs and must not call muster. Needs
/// libmuster 1.2.
pub fn set_log<F>(f: F)
where
    F: Fn(LogLevel, &str) + Send + Sync + 'static,
{
    *LOG.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(f));
    unsafe { ffi::muster_set_log(Some(log_trampoline), ptr::null_mut()) };
}

/// Sends muster's log lines to stderr again.
pub fn reset_log() {
    unsafe { ffi::muster_set_log(None, ptr::null_mut()) };
    *LOG.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

extern "C" fn log_trampoline(_user: *mut c_void, level: c_int, message: *const c_char) {
    let level = match level {
        0 => LogLevel::Trace,
        1 => LogLevel::Debug,
        2 => LogLevel::Info,
        3 => LogLevel::Warn,
        _ => LogLevel::Error,
    };
    let text = unsafe { text(message) };
    let log = LOG.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(f) = log.as_ref() {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(level, &text))).is_err() {
            eprintln!("muster: the log callback panicked; the panic stops here (it must not unwind into C)");
        }
    }
}

/// A registered instance; dropping it deregisters it.
pub struct Registration {
    raw: *mut ffi::Registration,
}

unsafe impl Send for Registration {}
unsafe impl Sync for Registration {}

impl Registration {
    pub fn id(&self) -> String {
        unsafe { text(ffi::muster_registration_id(self.raw)) }
    }

    /// The application's own verdict; with a ttl it turns critical unless
    /// pushed again within it.
    pub fn set_health(&self, health: Health, reason: &str, ttl_ms: i64) -> Result<()> {
        let reason = cstring(reason)?;
        let mut err = ffi::Error::default();
        check(
            unsafe { ffi::muster_set_health(self.raw, health as c_int, reason.as_ptr(), ttl_ms, &mut err) },
            &err,
        )
    }

    /// Listed, never picked for new calls (on), or picked again (off).
    pub fn drain(&self, on: bool) -> Result<()> {
        let mut err = ffi::Error::default();
        check(unsafe { ffi::muster_drain(self.raw, on as c_int, &mut err) }, &err)
    }

    /// Deregisters now, with its outcome; dropping does it silently.
    pub fn deregister(mut self) -> Result<()> {
        let raw = std::mem::replace(&mut self.raw, ptr::null_mut());
        let mut err = ffi::Error::default();
        check(unsafe { ffi::muster_deregister(raw, &mut err) }, &err)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        unsafe { ffi::muster_deregister(self.raw, ptr::null_mut()) };
    }
}

/// Ends the subscription when dropped: the callback never runs after.
pub struct Subscription {
    raw: *mut ffi::Subscription,
    // Freed after the subscription is cancelled (Drop runs before fields drop).
    _callback: Box<Box<dyn FnMut(Event, &Instance, &str) + Send>>,
}

unsafe impl Send for Subscription {}

/// A subscription and its callback, handed to another thread when dropped
/// inside its own callback (which muster_unsubscribe cannot wait for).
struct Pending(*mut ffi::Subscription, Box<Box<dyn FnMut(Event, &Instance, &str) + Send>>);

unsafe impl Send for Pending {}

impl Drop for Subscription {
    fn drop(&mut self) {
        if unsafe { ffi::muster_unsubscribe(self.raw) } == ffi::CONFLICT {
            let callback = std::mem::replace(&mut self._callback, Box::new(Box::new(|_, _, _| {})));
            let pending = Pending(self.raw, callback);
            std::thread::spawn(move || {
                let pending = pending;
                unsafe { ffi::muster_unsubscribe(pending.0) };
                drop(pending.1);
            });
        }
    }
}

pub struct Picker {
    raw: *mut ffi::Picker,
}

unsafe impl Send for Picker {}
unsafe impl Sync for Picker {}

impl Picker {
    /// A call to one instance, or None when none can be picked (none
    /// listed, or all drained). `key` keeps a key on one instance (maglev).
    pub fn pick(&self, key: Option<&str>) -> Result<Option<Call>> {
        let (k, len) = key.map_or((ptr::null(), 0), |k| (k.as_ptr() as *const c_char, k.len()));
        let mut raw = ptr::null_mut();
        let mut err = ffi::Error::default();
        let code = unsafe { ffi::muster_pick(self.raw, k, len, &mut raw, &mut err) };
        if code == 1 {
            return Ok(None);
        }
        check(code, &err)?;
        let instance = unsafe { Instance::from_c(&*ffi::muster_call_instance(raw)) };
        Ok(Some(Call { raw, instance }))
    }
}

impl Drop for Picker {
    fn drop(&mut self) {
        unsafe { ffi::muster_picker_close(self.raw) }
    }
}

/// One call to a picked instance: report how it went (for outlier
/// ejection); dropped without a report it just ends.
pub struct Call {
    raw: *mut ffi::Call,
    pub instance: Instance,
}

unsafe impl Send for Call {}

impl Call {
    pub fn success(mut self, latency_us: Option<i64>) {
        self.end(1, latency_us)
    }
    pub fn failure(mut self, latency_us: Option<i64>) {
        self.end(2, latency_us)
    }
    fn end(&mut self, outcome: c_int, latency_us: Option<i64>) {
        let raw = std::mem::replace(&mut self.raw, ptr::null_mut());
        unsafe { ffi::muster_call_end(raw, outcome, latency_us.unwrap_or(-1)) }
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.end(0, None)
    }
}
