//! The committed header `include/edgegap_probe.h` must be exactly what cbindgen generates from
//! the sources: a changed signature without a regenerated header fails here (and in CI).
//!
//! Regenerate with `EGP_BLESS=1 cargo test -p edgegap-probe-ffi --test header`.

use std::path::Path;

fn generate() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config =
        cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen could not generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

#[test]
fn committed_header_matches_the_sources() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/edgegap_probe.h");
    let generated = generate();
    if std::env::var_os("EGP_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != generated {
        let first = committed
            .lines()
            .zip(generated.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
        panic!(
            "ffi/include/edgegap_probe.h is out of date (first difference at line {}).\n\
             Regenerate it with:\n    EGP_BLESS=1 cargo test -p edgegap-probe-ffi --test header\n\
             and commit the result.",
            first + 1
        );
    }
}

#[test]
fn header_declares_every_entry_point() {
    let header = generate();
    for name in [
        "egp_version",
        "egp_abi_version",
        "egp_result_name",
        "egp_config_init",
        "egp_probe_create",
        "egp_probe_create_json",
        "egp_probe_set_previous_json",
        "egp_probe_set_callback",
        "egp_probe_start",
        "egp_probe_poll",
        "egp_probe_result_json",
        "egp_probe_payload_json",
        "egp_probe_cancel",
        "egp_probe_run_blocking",
        "egp_probe_free",
        "egp_last_error_message",
        "egp_last_error_code",
    ] {
        let declared = header
            .lines()
            .any(|line| line.contains(&format!("{name}(")) && line.trim_end().ends_with(");"));
        assert!(declared, "{name} is not declared in the header");
    }
    assert!(header.contains("extern \"C\""), "C++ guard missing");
    assert!(
        header.contains("EGP_RESULT_PANIC = 15"),
        "result codes must be numbered"
    );
}
