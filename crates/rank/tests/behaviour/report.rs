//! The JSON report: field names, round trip, atomic save/load, freshness.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgegap_rank::{RankConfig, RankError, Report, Unreachable, rank};
use serde_json::Value;

use crate::common::{beacon, dead};

fn sample_report(now: SystemTime) -> Report {
    let config = {
        let mut c = RankConfig::default();
        c.max_latency_ms = Some(200.0);
        c
    };
    let mut icmp = beacon("Chicago", "United States", "c2", &[13.0]);
    icmp.protocol = Some(edgegap_rank::Protocol::Icmp);
    icmp.port = None;
    let input = [
        beacon("Chicago", "United States", "c1", &[12.0, 14.0, 12.5]),
        icmp,
        beacon("Tokyo", "Japan", "t", &[150.0, 152.0]),
        beacon("Sydney", "Australia", "s", &[260.0]),
        dead("Lima", "Peru", "l", Some(Unreachable::NoReply)),
    ];
    let ranking = rank(&input, &config, None);
    Report::new_at(
        ranking,
        &config,
        Duration::from_millis(420),
        Some(Duration::from_micros(180_500)),
        now,
    )
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn has_all(v: &Value, wanted: &[&str]) {
    let have = keys(v);
    for w in wanted {
        assert!(have.contains(w), "missing field {w:?} in {have:?}");
    }
}

const RTT_FIELDS: [&str; 8] = [
    "min", "p50", "p90", "p99", "max", "mean", "stddev", "jitter",
];

#[test]
#[allow(clippy::too_many_lines)] // one document, checked field by field
fn json_field_names_are_the_documented_ones() {
    let report = sample_report(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let v: Value = serde_json::from_str(&report.to_json_pretty()).unwrap();
    has_all(
        &v,
        &[
            "schema_version",
            "locations",
            "unreachable",
            "payload",
            "duration_ms",
            "decision_ms",
            "confidence",
        ],
    );
    assert_eq!(v["schema_version"], 3);
    has_all(
        &v["confidence"],
        &[
            "verdict",
            "level",
            "runner_up",
            "margin_ms",
            "interval_ms",
            "pairs",
            "decided_by",
        ],
    );
    assert_eq!(v["duration_ms"].as_f64(), Some(420.0));
    assert_eq!(v["decision_ms"].as_f64(), Some(180.5));
    assert_eq!(v["generated_at_unix_ms"].as_u64(), Some(1_700_000_000_000));

    let chicago = &v["locations"][0];
    has_all(
        chicago,
        &[
            "city",
            "country",
            "rank",
            "score_ms",
            "statistic_ms",
            "protocol",
            "protocols",
            "sent",
            "received",
            "lost",
            "late",
            "cancelled",
            "duplicates",
            "loss",
            "rtt_ms",
            "beacons",
            "carried_over",
            "interval_ms",
        ],
    );
    assert_eq!(chicago["city"], "Chicago");
    assert_eq!(chicago["country"], "United States");
    assert_eq!(chicago["rank"], 1);
    assert!(chicago["protocol"].is_null(), "mixed transports");
    assert_eq!(chicago["protocols"], serde_json::json!(["udp", "icmp"]));
    assert!(chicago["carried_over"].is_null(), "measured in this run");
    assert_eq!(chicago["sent"], 4);
    assert_eq!(chicago["received"], 4);
    assert_eq!(chicago["loss"].as_f64(), Some(0.0));
    has_all(&chicago["rtt_ms"], &RTT_FIELDS);
    assert_eq!(chicago["rtt_ms"]["min"].as_f64(), Some(12.0));
    let beacons = chicago["beacons"].as_array().unwrap();
    assert_eq!(beacons.len(), 2);
    for b in beacons {
        has_all(
            b,
            &[
                "host",
                "port",
                "protocol",
                "sent",
                "received",
                "lost",
                "late",
                "cancelled",
                "loss",
                "rtt_ms",
            ],
        );
        has_all(&b["rtt_ms"], &RTT_FIELDS);
    }
    let c2 = beacons.iter().find(|b| b["host"] == "c2").unwrap();
    assert_eq!(c2["protocol"], "icmp");
    assert!(c2["port"].is_null());
    assert!(c2["rtt_ms"]["jitter"].is_null(), "one sample: no jitter");

    assert_eq!(v["locations"][1]["city"], "Tokyo");
    assert_eq!(v["locations"][1]["rank"], 2);
    assert_eq!(v["excluded"][0]["city"], "Sydney");

    let lima = &v["unreachable"][0];
    assert_eq!(
        keys(lima),
        BTreeSet::from([
            "beacons",
            "carried_over",
            "city",
            "codes",
            "country",
            "reasons"
        ])
    );
    assert_eq!(
        lima["reasons"],
        serde_json::json!([edgegap_rank::Unreachable::NoReply.to_string()])
    );
    assert_eq!(lima["codes"], serde_json::json!(["no_reply"]));
    assert_eq!(
        keys(&lima["beacons"][0]),
        BTreeSet::from([
            "host",
            "port",
            "protocol",
            "code",
            "reason",
            "sent",
            "received",
            "lost",
            "late",
            "cancelled",
            "duplicates"
        ])
    );
    assert_eq!(lima["beacons"][0]["code"], "no_reply");
    assert_eq!(
        v["payload"],
        serde_json::json!({"beacons": {"Chicago": 12.5, "Tokyo": 150.0}})
    );
}

#[test]
fn no_decision_is_null() {
    let report = Report::new(
        rank(&[], &RankConfig::default(), None),
        &RankConfig::default(),
        Duration::from_millis(5),
        None,
    );
    let v: Value = serde_json::from_str(&report.to_json_pretty()).unwrap();
    assert!(v["decision_ms"].is_null());
    assert_eq!(v["locations"], serde_json::json!([]));
    assert_eq!(v["payload"], serde_json::json!({"beacons": {}}));
    assert!(report.best().is_none());
}

#[test]
fn json_round_trips() {
    let report = sample_report(SystemTime::now());
    let back = Report::from_json(&report.to_json_pretty()).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.best().unwrap().city, "Chicago");
}

#[test]
fn a_minimal_document_from_another_tool_is_read() {
    let json = r#"{"locations": [], "unreachable": [], "payload": {"beacons": {}},
                   "duration_ms": 3.5, "decision_ms": null, "extra": true}"#;
    let report = Report::from_json(json).unwrap();
    assert!(report.excluded.is_empty() && report.config.is_none());
    assert_eq!(report.generated_at_unix_ms, 0);
    let err = Report::from_json("{\"locations\": 3}").unwrap_err();
    assert!(matches!(err, RankError::Decode(_)), "{err:?}");
}

#[test]
fn save_and_load_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache").join("report.json");
    let first = sample_report(SystemTime::now());
    let err = first.save(&path).unwrap_err();
    assert!(err.to_string().contains("never created"), "{err}");
    assert!(
        !path.parent().unwrap().exists(),
        "a missing directory is not created"
    );
    std::fs::create_dir(path.parent().unwrap()).unwrap();
    first.save(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the cache is readable by its owner only"
        );
    }
    assert_eq!(Report::load(&path).unwrap(), first);

    // Overwrite with another report.
    let second = Report::new(
        rank(
            &[beacon("Paris", "France", "p", &[9.0])],
            &RankConfig::default(),
            None,
        ),
        &RankConfig::default(),
        Duration::from_millis(7),
        None,
    );
    second.save(&path).unwrap();
    assert_eq!(Report::load(&path).unwrap(), second);

    // No temporary file is left behind.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["report.json"]);
}

#[test]
fn a_reader_never_sees_half_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let a = sample_report(UNIX_EPOCH + Duration::from_secs(1));
    let b = sample_report(UNIX_EPOCH + Duration::from_secs(2));
    a.save(&path).unwrap();
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            for i in 0..60 {
                let r = if i % 2 == 0 { &b } else { &a };
                r.save(&path).unwrap();
            }
        });
        let mut reads = 0;
        while !writer.is_finished() || reads < 20 {
            let got = Report::load(&path).unwrap();
            assert!(got == a || got == b, "a torn read");
            reads += 1;
        }
    });
}

#[test]
fn save_and_load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let err = Report::load(&missing).unwrap_err();
    assert!(matches!(err, RankError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing.json"), "{err}");

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{ not json").unwrap();
    let err = Report::load(&garbage).unwrap_err();
    assert!(matches!(err, RankError::DecodeFile { .. }), "{err:?}");
    assert!(err.to_string().contains("garbage.json"), "{err}");

    // A regular file where the directory should be.
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "x").unwrap();
    let target = blocker.join("report.json");
    let err = sample_report(SystemTime::now()).save(&target).unwrap_err();
    assert!(err.to_string().contains("blocker"), "{err}");
    assert!(!target.exists());
}

/// A planted symbolic link can never make a save truncate or write another file: the
/// temporary file has a random name and is created exclusively.
#[cfg(unix)]
#[test]
fn a_planted_link_is_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let path = dir.path().join("report.json");
    // Plant links at every name the old scheme would have used, and a few more.
    for i in 0..64 {
        let name = format!(".report.json.{}.{i}.tmp", std::process::id());
        std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
    }
    for _ in 0..20 {
        sample_report(SystemTime::now()).save(&path).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(Report::load(&path).is_ok());
    // And the report itself, if it is a link, is replaced, not written through.
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    sample_report(SystemTime::now()).save(&path).unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

/// Only a regular file of a sane size is read: a FIFO would hang a reader, /dev/zero would
/// grow it without end.
#[cfg(unix)]
#[test]
fn only_a_regular_file_of_a_sane_size_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let err = Report::load(&fifo).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    } else {
        panic!("mkfifo is needed for this test");
    }
    let err = Report::load(std::path::Path::new("/dev/zero")).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = Report::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(edgegap_rank::MAX_REPORT_BYTES + 1).unwrap();
    let err = Report::load(&big).unwrap_err();
    assert!(matches!(err, RankError::TooLarge { .. }), "{err:?}");
}

#[test]
fn age_and_freshness() {
    let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let report = sample_report(t0);
    assert_eq!(report.generated_at(), t0);
    let ttl = Duration::from_secs(600);
    assert_eq!(
        report.age(t0 + Duration::from_secs(5)),
        Duration::from_secs(5)
    );
    assert!(report.is_fresh(ttl, t0));
    assert!(report.is_fresh(ttl, t0 + Duration::from_secs(599)));
    assert!(!report.is_fresh(ttl, t0 + Duration::from_secs(600)));
    assert!(!report.is_fresh(ttl, t0 + Duration::from_secs(86_400)));
    // Stamped in the future (clock set back): age zero, fresh only while less than a TTL ahead.
    assert_eq!(report.age(t0 - Duration::from_secs(5)), Duration::ZERO);
    assert!(report.is_fresh(ttl, t0 - Duration::from_secs(5)));
    assert!(!report.is_fresh(ttl, t0 - Duration::from_secs(3_600)));
    // A report without a stamp is never fresh.
    let mut old = report.clone();
    old.generated_at_unix_ms = 0;
    assert!(!old.is_fresh(ttl, SystemTime::now()));
}
