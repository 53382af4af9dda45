//! `edgegap_rank::Report::from_json`: the previous report a game hands back, and the cache file
//! the CLI keeps between runs. Any report that parses is written with `to_json_pretty` (which
//! must not panic) and read again: that must succeed and give the same report (numbers compared
//! to within float parsing precision), so a saved report is never unreadable or changed.
#![no_main]

use edgegap_rank::Report;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(report) = Report::from_json(text) else {
        return;
    };
    let _ = report.best();

    let written = report.to_json_pretty();
    let again = Report::from_json(&written).unwrap_or_else(|e| {
        panic!("a report that parsed, written back, fails to parse: {e}\n{written}")
    });
    let rewritten = again.to_json_pretty();

    let first: Value = serde_json::from_str(&written).expect("to_json_pretty wrote invalid JSON");
    let second: Value =
        serde_json::from_str(&rewritten).expect("to_json_pretty wrote invalid JSON");
    assert!(
        same(&first, &second),
        "the report changed in a round trip:\n{written}\n---\n{rewritten}"
    );
});

/// JSON equality with numbers compared to within float parsing precision.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if x == y {
                return true;
            }
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}
