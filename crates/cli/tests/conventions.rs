//! The command line's conventions: a table that fits the terminal, flags where users type
//! them, colour only on a terminal, CSV, completions, a manual page, short flags, help whose
//! examples paste.

mod common;

use std::process::Command as Process;

use common::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs the binary with `args` on a pseudo-terminal of `cols` columns (`script` from
/// util-linux), returning what the terminal showed.
fn on_pty(cols: u32, args: &str, env: &[(&str, &str)]) -> String {
    let bin = env!("CARGO_BIN_EXE_edgegap-probe");
    let mut cmd = Process::new("script");
    cmd.args([
        "-qec",
        &format!("stty cols {cols}; {bin} {args}"),
        "/dev/null",
    ])
    .env_remove("NO_COLOR")
    .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("`script` (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The screen lines of a terminal capture: colour codes and progress-bar redraws removed.
fn screen_lines(raw: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in raw.split('\n') {
        // A progress bar redraws with `ESC[2K` (clear line): what follows the last one stays.
        let visible = line.rsplit("\u{1b}[2K").next().unwrap_or_default();
        let mut text = String::new();
        let mut chars = visible.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                // Skip `ESC[...` up to its final letter.
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else if c != '\r' {
                text.push(c);
            }
        }
        lines.push(text);
    }
    lines
}

#[test]
fn the_default_table_fits_80_columns_and_a_zero_size_pty_falls_back_to_80() {
    for cols in [80, 0] {
        let raw = on_pty(cols, "demo", &[]);
        let lines = screen_lines(&raw);
        let table: Vec<&String> = lines.iter().filter(|l| l.starts_with('│')).collect();
        assert!(table.len() >= 10, "{cols}: no table:\n{raw}");
        for line in &lines {
            assert!(
                line.chars().count() <= 80,
                "{cols} columns: a line of {} characters:\n{line}\n\nwhole screen:\n{}",
                line.chars().count(),
                lines.join("\n")
            );
        }
        // Cells are whole words, not one character per line.
        assert!(
            table.iter().any(|l| l.contains("Montreal")),
            "{}",
            lines.join("\n")
        );
        assert!(table.iter().any(|l| l.contains("Los Angeles")));
    }
}

#[test]
fn wide_shows_every_column() {
    let raw = on_pty(80, "demo --wide", &[]);
    let screen = screen_lines(&raw).join("\n");
    for header in ["country", "p90", "jitter", "protocol"] {
        assert!(screen.contains(header), "{header} missing:\n{screen}");
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let coloured = on_pty(120, "demo", &[]);
    assert!(
        coloured.contains("\u{1b}[31m"),
        "the unreachable heading is red"
    );
    assert!(coloured.contains("\u{1b}[1m"), "the best row stands out");
    let plain = on_pty(120, "demo", &[("NO_COLOR", "1")]);
    let without_bar: String = screen_lines(&plain).join("\n");
    assert!(
        !plain.contains("\u{1b}[31m") && !plain.contains("\u{1b}[1m"),
        "{without_bar}"
    );
    let piped = run(bin().arg("demo"));
    assert!(!piped.stdout.contains('\u{1b}'), "no colour into a pipe");
    assert!(
        !piped.stderr.contains('\u{1b}'),
        "no colour in logs into a pipe"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_flags_are_accepted_before_or_after_the_command() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/storage/endpoints"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "endpoints": [], "pagination": {}
        })))
        .mount(&server)
        .await;
    let uri = server.uri();
    for args in [
        vec!["storage", "endpoint", "list", "--api-url", &uri],
        vec!["storage", "--api-url", &uri, "endpoint", "list"],
        vec!["--api-url", &uri, "storage", "endpoint", "list"],
    ] {
        let out = run(bin()
            .args(&args)
            .env("EDGEGAP_API_TOKEN", "token-123456789"));
        assert_eq!(out.code, OK, "{args:?}: {out:?}");
    }
}

#[test]
fn a_url_without_a_scheme_is_a_usage_error_that_says_to_add_it() {
    let out = run(bin().args(["beacons", "--matchmaker-url", "127.0.0.1:8700"]));
    assert_eq!(out.code, USAGE, "{out:?}");
    assert!(
        out.stderr.contains("https://127.0.0.1:8700"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_has_one_row_per_location() {
    let sim = known().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beacons.json");
    std::fs::write(&file, sim.beacon_list_v1().to_string()).unwrap();
    let out = run(bin()
        .args([
            "probe",
            "--csv",
            "-c",
            "3",
            "-i",
            "10",
            "-t",
            "500",
            "--beacons-file",
        ])
        .arg(&file));
    assert_eq!(out.code, OK, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("status,rank,city,country,statistic"),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines.len(),
        1 + 4,
        "a header and one row per location:\n{}",
        out.stdout
    );
    assert!(
        lines[1].starts_with("ranked,1,Near,Testland,median,"),
        "{}",
        out.stdout
    );
    let columns = fields(lines[0]).len();
    assert!(
        lines.iter().all(|l| fields(l).len() == columns),
        "{}",
        out.stdout
    );
    let dead = fields(lines[4]);
    assert!(dead[19].contains("connection refused"), "{dead:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("unreachable,,Dead,")),
        "{}",
        out.stdout
    );
}

#[test]
fn completions_and_a_manual_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(bin().args(["completions", shell]));
        assert_eq!(out.code, OK, "{shell}: {out:?}");
        assert!(out.stdout.contains("edgegap-probe"), "{shell}");
        assert!(
            out.stdout.contains("matchmaker-url"),
            "{shell}: flags are completed"
        );
    }
    let man = run(bin().arg("man"));
    assert_eq!(man.code, OK, "{man:?}");
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        man.stdout
    );
    assert!(man.stdout.contains("edgegap\\-probe"), "roff");
}

#[test]
fn help_examples_fit_80_columns_so_they_paste_whole() {
    for command in [
        "demo",
        "probe",
        "beacons",
        "locations",
        "ticket",
        "group",
        "servers",
        "beacon",
        "storage",
        "completions",
    ] {
        let out = run(bin().args([command, "--help"]).env("COLUMNS", "80"));
        for line in out.stdout.lines() {
            let example = line.trim_start().starts_with("edgegap-probe")
                || line.trim_start().starts_with("EDGEGAP_")
                || line.starts_with("      --") && line.trim_end().ends_with('\\');
            if example {
                assert!(line.chars().count() <= 80, "{command}: {line}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_above_the_limit_says_so() {
    let sim = known().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beacons.json");
    std::fs::write(&file, sim.beacon_list_v1().to_string()).unwrap();
    let out = run(bin()
        .args(["probe", "--max-latency-ms", "1", "--beacons-file"])
        .arg(&file)
        .args(FAST));
    assert_eq!(out.code, NO_LOCATION_REACHABLE, "{out:?}");
    assert!(
        out.stdout.contains("No location within the latency limit"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("No location reachable"),
        "{}",
        out.stdout
    );
}

/// The fields of one CSV line (quoted fields may hold commas and doubled quotes).
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => out.push(String::new()),
            (c, _) => out.last_mut().unwrap().push(c),
        }
    }
    out
}
