//! What goes to stdout: the ranking table, the JSON report, the payload, plain lists.
//!
//! Everything here renders to a `String`; the caller writes it, so a closed pipe is handled in
//! one place.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use edgegap_probe::rank::UnreachableLocation;
use edgegap_probe::{LocationReport, Report, Statistic};

use crate::cli::OutputArgs;

/// The report in the format the flags ask for.
pub fn report(report: &Report, format: OutputArgs) -> String {
    if format.json {
        let mut text = report.to_json_pretty();
        text.push('\n');
        text
    } else if format.payload {
        payload(report)
    } else {
        report_tables(report)
    }
}

/// The ticket attribute object alone, e.g. `{"beacons": {"Montreal": 12.3}}`, pretty-printed.
pub fn payload(report: &Report) -> String {
    let mut text =
        serde_json::to_string_pretty(&report.payload).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

/// A new table in the house style.
pub fn table<S: AsRef<str>>(header: &[S]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(|h| Cell::new(h.as_ref())));
    table
}

/// Right-aligns the given columns (numbers).
pub fn align_right(table: &mut Table, columns: &[usize]) {
    for &i in columns {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// Milliseconds as shown in tables: one decimal (two below 1 ms, so a fast loopback figure
/// never reads as `0.0`), or `-` when undefined.
pub fn ms(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v < 1.0 => format!("{v:.2} ms"),
        Some(v) if v.is_finite() => format!("{v:.1} ms"),
        _ => "-".to_owned(),
    }
}

fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.0} %", v * 100.0),
        _ => "-".to_owned(),
    }
}

/// The samples column: received / sent, and the probes stopped in flight (`sent = received +
/// lost + late + stopped`; the loss column is `(lost + late) / (sent − stopped)`), or the age
/// of figures carried over from the saved report.
fn samples(l: &LocationReport) -> String {
    if let Some(carried) = l.carried_over {
        return format!("saved {} ago", age(carried.age_ms));
    }
    let c = l.counts;
    if c.cancelled > 0 {
        format!("{}/{} ({} stopped)", c.received, c.sent, c.cancelled)
    } else {
        format!("{}/{}", c.received, c.sent)
    }
}

/// A human age: seconds below two minutes, minutes above.
fn age(ms: f64) -> String {
    let secs = (ms / 1000.0).round();
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", (secs / 60.0).round())
    }
}

fn location_rows(table: &mut Table, locations: &[LocationReport]) {
    for l in locations {
        let rank = if l.sticky {
            format!("{} (kept)", l.rank)
        } else {
            l.rank.to_string()
        };
        let protocol = match (l.protocol, l.protocols.as_slice()) {
            (Some(p), _) => p.as_str().to_owned(),
            (None, []) => "-".to_owned(),
            (None, many) => many
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join("+"),
        };
        table.add_row(vec![
            rank,
            l.city.clone(),
            l.country.clone(),
            ms(Some(l.statistic_ms)),
            ms(l.rtt_ms.p90),
            ms(l.rtt_ms.jitter),
            percent(l.loss),
            samples(l),
            protocol,
        ]);
    }
}

/// The ranking table's header: the first figure is the statistic that ranks (and that the
/// payload carries), named as configured.
fn rank_header(report: &Report) -> [String; 9] {
    let statistic = report
        .config
        .as_ref()
        .map_or(Statistic::Median, |c| c.statistic);
    let name = match statistic {
        Statistic::Median => "median",
        Statistic::Mean => "mean",
        Statistic::TrimmedMean => "trimmed mean",
        Statistic::Min => "min",
    };
    [
        "rank", "city", "country", name, "p90", "jitter", "loss", "samples", "protocol",
    ]
    .map(str::to_owned)
}
/// The numeric columns of [`rank_header`].
const RANK_NUMERIC: [usize; 6] = [0, 3, 4, 5, 6, 7];

/// The ranking, the excluded locations and the unreachable ones, as tables.
pub fn report_tables(report: &Report) -> String {
    let mut out = String::new();
    if report.locations.is_empty() {
        out.push_str("No location reachable.\n");
    } else {
        let mut ranked = table(&rank_header(report));
        location_rows(&mut ranked, &report.locations);
        align_right(&mut ranked, &RANK_NUMERIC);
        out.push_str(&ranked.to_string());
        out.push('\n');
        out.push_str(
            "samples: replies received / probes sent; the others were lost, late, or stopped in \
             flight once the location could no longer win (stopped probes are not loss).\n",
        );
        if report.locations.iter().any(|l| l.carried_over.is_some()) {
            out.push_str(
                "saved: figures carried over from the cache (only the best locations were \
                 measured again); every location stays in the payload.\n",
            );
        }
    }
    if !report.excluded.is_empty() {
        let limit = report
            .config
            .as_ref()
            .and_then(|c| c.max_latency_ms)
            .map_or_else(String::new, |m| format!(" {m} ms"));
        out.push_str("\nAbove the latency limit");
        out.push_str(&limit);
        out.push_str(" (left out of the payload):\n");
        let mut excluded = table(&rank_header(report));
        location_rows(&mut excluded, &report.excluded);
        align_right(&mut excluded, &RANK_NUMERIC);
        out.push_str(&excluded.to_string());
        out.push('\n');
    }
    if !report.unreachable.is_empty() {
        out.push_str("\nUnreachable (left out of the payload):\n");
        out.push_str(&unreachable_table(&report.unreachable));
        out.push('\n');
    }
    out
}

fn unreachable_table(unreachable: &[UnreachableLocation]) -> String {
    let mut table = table(&["city", "country", "reason"]);
    for u in unreachable {
        let reason = if u.reasons.is_empty() {
            "no reply".to_owned()
        } else {
            u.reasons.join("; ")
        };
        table.add_row(vec![u.city.clone(), u.country.clone(), reason]);
    }
    table.to_string()
}

/// Whole milliseconds, or one decimal below 10 ms.
fn duration(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The one-line timing summary printed under a table.
pub fn timing(report: &Report) -> String {
    match report.decision_ms {
        Some(decided) => format!(
            "Best location known after {}; probing took {} in all.\n",
            duration(decided),
            duration(report.duration_ms)
        ),
        None => format!("Probing took {}.\n", duration(report.duration_ms)),
    }
}
