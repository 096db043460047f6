//! The C API (include/muster/client.h) as Rust declares it. Layouts follow
//! the C structs field for field; keep them in step with the header.

use std::os::raw::{c_char, c_int, c_void};

/// MUSTER_CONFLICT (status.h): muster_unsubscribe from its own callback.
pub const CONFLICT: c_int = 6;

/// muster_log_fn: a line of muster's log (level: muster_log_level).
pub type LogFn = extern "C" fn(user: *mut c_void, level: c_int, message: *const c_char);

pub enum Client {}
pub enum Registration {}
pub enum Subscription {}
pub enum Picker {}
pub enum Call {}

#[repr(C)]
pub struct Kv {
    pub key: *const c_char,
    pub value: *const c_char,
}

#[repr(C)]
pub struct Instance {
    pub struct_size: u32,
    pub health: u32,
    pub id: *const c_char,
    pub role: *const c_char,
    pub address: *const c_char,
    pub metadata: *const Kv,
    pub metadata_count: usize,
    pub registered_at_ms: i64,
    pub last_seen_ms: i64,
    pub stopped_at_ms: i64,
}

#[repr(C)]
pub struct Error {
    pub code: i32,
    pub message: [c_char; 512],
}

impl Default for Error {
    fn default() -> Error {
        Error {
            code: 0,
            message: [0; 512],
        }
    }
}

#[repr(C)]
pub struct Config {
    pub struct_size: u32,
    pub reserved: u32,
    pub config_path: *const c_char,
    pub config_text: *const c_char,
    pub settings: *const Kv,
    pub settings_count: usize,
}

#[repr(C)]
pub struct Service {
    pub struct_size: u32,
    pub reserved: u32,
    pub role: *const c_char,
    pub address: *const c_char,
    pub id: *const c_char,
    pub metadata: *const Kv,
    pub metadata_count: usize,
    pub checks: *const *const c_char,
    pub checks_count: usize,
    pub depends_on: *const *const c_char,
    pub depends_on_count: usize,
}

#[repr(C)]
pub struct Snapshot {
    pub struct_size: u32,
    pub stale: u32,
    pub role: *const c_char,
    pub instances: *const Instance,
    pub count: usize,
    pub backend: *const c_char,
    pub as_of_ms: i64,
    pub held: usize,
}

#[repr(C)]
pub struct PickerOptions {
    pub struct_size: u32,
    pub reserved: u32,
    pub policy: *const c_char,
    pub zone: *const c_char,
    pub region: *const c_char,
    pub panic_threshold: f64,
}

pub type TopologyFn = extern "C" fn(*mut c_void, u32, *const Instance, *const c_char);

extern "C" {
    pub fn muster_client_version() -> u32;
    pub fn muster_set_log(f: Option<LogFn>, user: *mut c_void);
    pub fn muster_client_open(config: *const Config, out: *mut *mut Client, err: *mut Error) -> c_int;
    pub fn muster_client_close(client: *mut Client);
    pub fn muster_register(
        client: *mut Client,
        service: *const Service,
        out: *mut *mut Registration,
        err: *mut Error,
    ) -> c_int;
    pub fn muster_registration_id(reg: *const Registration) -> *const c_char;
    pub fn muster_set_health(
        reg: *mut Registration,
        health: c_int,
        reason: *const c_char,
        ttl_ms: i64,
        err: *mut Error,
    ) -> c_int;
    pub fn muster_drain(reg: *mut Registration, on: c_int, err: *mut Error) -> c_int;
    pub fn muster_deregister(reg: *mut Registration, err: *mut Error) -> c_int;
    pub fn muster_resolve(client: *mut Client, role: *const c_char, out: *mut *mut Snapshot, err: *mut Error) -> c_int;
    pub fn muster_snapshot_free(snapshot: *mut Snapshot);
    pub fn muster_subscribe(
        client: *mut Client,
        role: *const c_char,
        f: TopologyFn,
        user: *mut c_void,
        out: *mut *mut Subscription,
        err: *mut Error,
    ) -> c_int;
    pub fn muster_unsubscribe(sub: *mut Subscription) -> c_int;
    pub fn muster_picker_open(
        client: *mut Client,
        role: *const c_char,
        options: *const PickerOptions,
        out: *mut *mut Picker,
        err: *mut Error,
    ) -> c_int;
    pub fn muster_picker_close(picker: *mut Picker);
    pub fn muster_pick(
        picker: *mut Picker,
        key: *const c_char,
        key_len: usize,
        out: *mut *mut Call,
        err: *mut Error,
    ) -> c_int;
    pub fn muster_call_instance(call: *const Call) -> *const Instance;
    pub fn muster_call_end(call: *mut Call, outcome: c_int, latency_us: i64);
}
