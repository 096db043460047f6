//! The mirrors in ffi.rs against every frozen size and offset of the C
//! headers (muster/client_layout.h, muster/layout.h), found in
//! MUSTER_INCLUDE_DIRS (':'-separated; by default the source tree's).

use crate::ffi;
use std::mem::{size_of, MaybeUninit};

// offset_of! is not in Rust 1.63 (Debian 12's): the field's address in an
// uninitialised value, less the value's.
macro_rules! offset {
    ($t:ty, $f:ident) => {{
        let v = MaybeUninit::<$t>::uninit();
        let base = v.as_ptr();
        unsafe { std::ptr::addr_of!((*base).$f) as usize - base as usize }
    }};
}

// What the mirror of `field` of C struct `name` measures (its size when
// `field` is None); None when the struct has no mirror here.
fn mirror(name: &str, field: Option<&str>) -> Option<usize> {
    let got = match (name, field) {
        ("muster_kv", None) => size_of::<ffi::Kv>(),
        ("muster_kv", Some("value")) => offset!(ffi::Kv, value),
        ("muster_instance", None) => size_of::<ffi::Instance>(),
        ("muster_instance", Some("id")) => offset!(ffi::Instance, id),
        ("muster_instance", Some("metadata_count")) => offset!(ffi::Instance, metadata_count),
        ("muster_instance", Some("stopped_at_ms")) => offset!(ffi::Instance, stopped_at_ms),
        ("muster_error", None) => size_of::<ffi::Error>(),
        ("muster_client_config", None) => size_of::<ffi::Config>(),
        ("muster_client_config", Some("config_path")) => offset!(ffi::Config, config_path),
        ("muster_client_config", Some("config_text")) => offset!(ffi::Config, config_text),
        ("muster_client_config", Some("settings")) => offset!(ffi::Config, settings),
        ("muster_client_config", Some("settings_count")) => offset!(ffi::Config, settings_count),
        ("muster_service", None) => size_of::<ffi::Service>(),
        ("muster_service", Some("role")) => offset!(ffi::Service, role),
        ("muster_service", Some("address")) => offset!(ffi::Service, address),
        ("muster_service", Some("id")) => offset!(ffi::Service, id),
        ("muster_service", Some("metadata")) => offset!(ffi::Service, metadata),
        ("muster_service", Some("metadata_count")) => offset!(ffi::Service, metadata_count),
        ("muster_service", Some("checks")) => offset!(ffi::Service, checks),
        ("muster_service", Some("checks_count")) => offset!(ffi::Service, checks_count),
        ("muster_service", Some("depends_on")) => offset!(ffi::Service, depends_on),
        ("muster_service", Some("depends_on_count")) => offset!(ffi::Service, depends_on_count),
        ("muster_snapshot", None) => size_of::<ffi::Snapshot>(),
        ("muster_snapshot", Some("stale")) => offset!(ffi::Snapshot, stale),
        ("muster_snapshot", Some("role")) => offset!(ffi::Snapshot, role),
        ("muster_snapshot", Some("instances")) => offset!(ffi::Snapshot, instances),
        ("muster_snapshot", Some("count")) => offset!(ffi::Snapshot, count),
        ("muster_snapshot", Some("backend")) => offset!(ffi::Snapshot, backend),
        ("muster_snapshot", Some("as_of_ms")) => offset!(ffi::Snapshot, as_of_ms),
        ("muster_snapshot", Some("held")) => offset!(ffi::Snapshot, held),
        ("muster_picker_options", None) => size_of::<ffi::PickerOptions>(),
        ("muster_picker_options", Some("policy")) => offset!(ffi::PickerOptions, policy),
        ("muster_picker_options", Some("zone")) => offset!(ffi::PickerOptions, zone),
        ("muster_picker_options", Some("region")) => offset!(ffi::PickerOptions, region),
        ("muster_picker_options", Some("panic_threshold")) => offset!(ffi::PickerOptions, panic_threshold),
        (
            "muster_kv" | "muster_instance" | "muster_error" | "muster_client_config" | "muster_service"
            | "muster_snapshot" | "muster_picker_options",
            Some(f),
        ) => panic!("{}.{} is frozen in C but has no check here: add it", name, f),
        _ => return None,
    };
    Some(got)
}

// "MUSTER_FROZEN(offsetof(muster_service, checks) == 48);" ->
// ("muster_service", Some("checks"), 48).
fn parse(line: &str) -> Option<(String, Option<String>, usize)> {
    let rule = line.trim().strip_prefix("MUSTER_FROZEN(")?.strip_suffix(");")?;
    let (what, value) = rule.split_once(" == ")?;
    let inner = what.strip_prefix("sizeof(").or_else(|| what.strip_prefix("offsetof("))?.strip_suffix(')')?;
    let mut parts = inner.split(", ");
    let name = parts.next()?.to_string();
    Some((name, parts.next().map(str::to_string), value.parse().ok()?))
}

#[test]
fn the_mirrors_match_the_frozen_layouts() {
    let dirs = std::env::var("MUSTER_INCLUDE_DIRS").unwrap_or_else(|_| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        format!("{}/client/include:{}/sdk/include", root, root)
    });
    let mut checked = 0;
    for dir in dirs.split(':') {
        for file in ["client_layout.h", "layout.h"] {
            let text = match std::fs::read_to_string(format!("{}/muster/{}", dir, file)) {
                Ok(t) => t,
                Err(_) => continue,
            };
            for (name, field, frozen) in text.lines().filter_map(parse) {
                if let Some(got) = mirror(&name, field.as_deref()) {
                    assert_eq!(got, frozen, "{} {:?}", name, field);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 30, "client_layout.h or layout.h was not found ({} checks)", checked);
}
