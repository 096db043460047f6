// Links libmuster: from MUSTER_LIB_DIR, else where `pkg-config muster`
// says, else the system's library path. The directory is also the
// programs' run path, so tests and examples run against that install.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MUSTER_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let dir = std::env::var("MUSTER_LIB_DIR").ok().or_else(|| {
        let out = Command::new("pkg-config")
            .args(["--variable=libdir", "muster"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    if let Some(dir) = dir {
        println!("cargo:rustc-link-search=native={}", dir);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir);
    }
    println!("cargo:rustc-link-lib=dylib=muster");
}
