//! The matchmaker ticket attribute.
//!
//! `{"<attribute>": {"<City>": ms, ...}}`, the value of a `latencies` rule:
//! - one entry per ranked location (reachable, within `max_latency_ms`); unreachable and
//!   excluded locations are absent, never a stand-in number;
//! - the key is the city exactly as the beacon list spelled it;
//! - the value is the location's **statistic** (median by default), not the penalised score,
//!   which only orders the locations; rounded to 2 decimals;
//! - two locations with the same city name in different countries would collide as keys:
//!   the better-ranked one is kept (the matchmaker can only hold one value per city).

use serde_json::{Map, Value};

use crate::LocationReport;

/// Rounds milliseconds to 2 decimals (10 µs), as the payload carries them.
pub fn round_ms(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// The payload of `locations`, given best first.
pub(crate) fn build_payload(locations: &[LocationReport], attribute: &str) -> Value {
    let mut cities = Map::new();
    for l in locations {
        if !l.statistic_ms.is_finite() || cities.contains_key(&l.city) {
            continue;
        }
        cities.insert(l.city.clone(), Value::from(round_ms(l.statistic_ms)));
    }
    let mut top = Map::new();
    top.insert(attribute.to_owned(), Value::Object(cities));
    Value::Object(top)
}
