//! What goes to stdout: the ranking table, the JSON report, the payload, plain lists.
//!
//! Everything here renders to a `String`; the caller writes it, so a closed pipe is handled in
//! one place.

use std::fmt::Write as _;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use edgegap_probe::Report;
use edgegap_probe::rank::UnreachableLocation;

use crate::cli::OutputArgs;
use crate::printable;
use crate::rank_table::{locations_table, statistic_name};
use crate::terminal::Terminal;

/// The report in the format the flags ask for, for `terminal`.
pub fn report(report: &Report, format: OutputArgs, terminal: Terminal) -> String {
    if format.json {
        let mut text = report.to_json_pretty();
        text.push('\n');
        text
    } else if format.payload {
        payload(report)
    } else if format.csv {
        csv(report)
    } else {
        report_tables(report, terminal, format.wide)
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

/// Fits `table` to `terminal`: cells wrap to its width, or every column at full width when
/// stdout is not a terminal or `wide` is asked for.
pub fn fit(table: &mut Table, terminal: Terminal, wide: bool) {
    match terminal.width.filter(|_| !wide) {
        Some(width) => {
            table.set_content_arrangement(ContentArrangement::Dynamic);
            table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
}

/// A table of `rows` under `headers` that fits `terminal`: when too wide, the columns with the
/// highest `drop_order` go first (0: never dropped), then cells wrap; every column with `wide`
/// or when stdout is not a terminal. `numeric` columns are right-aligned.
pub fn fitted_table(
    headers: &[&str],
    rows: &[Vec<String>],
    drop_order: &[u8],
    numeric: &[usize],
    terminal: Terminal,
    wide: bool,
) -> String {
    let render = |keep: &[usize]| {
        let names: Vec<&str> = keep.iter().map(|&i| headers[i]).collect();
        let mut t = table(&names);
        t.set_content_arrangement(ContentArrangement::Disabled);
        for row in rows {
            t.add_row(
                keep.iter()
                    .map(|&i| printable::line(row.get(i).map_or("", String::as_str))),
            );
        }
        let right: Vec<usize> = keep
            .iter()
            .enumerate()
            .filter(|(_, i)| numeric.contains(i))
            .map(|(n, _)| n)
            .collect();
        align_right(&mut t, &right);
        t
    };
    let width = |t: &Table| {
        t.to_string()
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    let mut keep: Vec<usize> = (0..headers.len()).collect();
    let Some(limit) = terminal.width.filter(|_| !wide) else {
        return render(&keep).to_string();
    };
    let mut order: Vec<u8> = drop_order.iter().copied().filter(|&d| d > 0).collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    order.dedup();
    for drop in order {
        if width(&render(&keep)) <= limit {
            break;
        }
        keep.retain(|&i| drop_order.get(i).copied().unwrap_or(0) != drop);
    }
    let mut t = render(&keep);
    if width(&t) > limit {
        fit(&mut t, terminal, false);
    }
    t.to_string()
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

/// The ranking, the excluded locations and the unreachable ones, as tables fitted to
/// `terminal` (every column with `wide`).
pub fn report_tables(report: &Report, terminal: Terminal, wide: bool) -> String {
    let mut out = String::new();
    if report.locations.is_empty() {
        if report.excluded.is_empty() {
            out.push_str("No location reachable.\n");
        } else {
            let _ = writeln!(
                out,
                "No location within the latency limit: {} location(s) answered, all above it.",
                report.excluded.len()
            );
        }
    } else {
        out.push_str(&locations_table(
            report,
            &report.locations,
            terminal,
            wide,
            true,
        ));
        out.push('\n');
        out.push_str(&wrap(
            &format!(
                "{}: the figure that ranks, and that the payload carries. samples: replies \
                 received / probes sent; the others were lost, late, or stopped in flight once \
                 the location could no longer win (stopped probes are not loss).",
                statistic_name(report)
            ),
            terminal,
        ));
        if report.locations.iter().any(|l| l.carried_over.is_some()) {
            out.push_str(&wrap(
                "saved: figures carried over from the cache (only the best locations were \
                 measured again); every location stays in the payload.",
                terminal,
            ));
        }
    }
    if !report.excluded.is_empty() {
        let limit = report
            .config
            .as_ref()
            .and_then(|c| c.max_latency_ms)
            .map_or_else(String::new, |m| format!(" {m} ms"));
        let _ = writeln!(
            out,
            "\nAbove the latency limit{limit} (left out of the payload):"
        );
        out.push_str(&locations_table(
            report,
            &report.excluded,
            terminal,
            wide,
            false,
        ));
        out.push('\n');
    }
    if !report.unreachable.is_empty() {
        out.push('\n');
        out.push_str(&paint(
            "Unreachable (left out of the payload):",
            terminal,
            "31",
        ));
        out.push('\n');
        out.push_str(&unreachable_table(&report.unreachable, terminal, wide));
        out.push('\n');
    }
    out
}

/// `text` in the SGR colour `code` when colour is on.
fn paint(text: &str, terminal: Terminal, code: &str) -> String {
    if terminal.colour {
        format!("\u{1b}[{code}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}

/// A note, wrapped at the terminal's width (one line when not a terminal), with a newline.
pub fn wrap(text: &str, terminal: Terminal) -> String {
    let Some(width) = terminal.width else {
        return format!("{text}\n");
    };
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// The unreachable locations with their reasons, fitted to the terminal.
pub fn unreachable_table(
    unreachable: &[UnreachableLocation],
    terminal: Terminal,
    wide: bool,
) -> String {
    let mut t = table(&["city", "country", "reason"]);
    for u in unreachable {
        let reason = if u.reasons.is_empty() {
            "no reply".to_owned()
        } else {
            u.reasons.join("; ")
        };
        t.add_row(vec![
            printable::line(&u.city),
            printable::line(&u.country),
            printable::line(&reason),
        ]);
    }
    fit(&mut t, terminal, wide);
    t.to_string()
}

/// The report as CSV: a header, then one row per location (ranked, then excluded, then
/// unreachable), like mtr's and trippy's reports. Fields with `,`, `"` or a line break are
/// quoted.
pub fn csv(report: &Report) -> String {
    let mut out = String::from(
        "status,rank,city,country,statistic,statistic_ms,score_ms,p50_ms,p90_ms,jitter_ms,loss,\
         sent,received,lost,late,cancelled,protocol,carried_over_age_ms,codes,reason\n",
    );
    let statistic = statistic_name(report);
    // Milliseconds to the microsecond, fractions to 4 decimals: no binary-float noise.
    let num = |v: Option<f64>| {
        v.filter(|v| v.is_finite())
            .map_or_else(String::new, |v| format!("{}", (v * 1e4).round() / 1e4))
    };
    let rows = report
        .locations
        .iter()
        .map(|l| ("ranked", l))
        .chain(report.excluded.iter().map(|l| ("excluded", l)));
    for (status, l) in rows {
        let c = l.counts;
        let protocol = l
            .protocols
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let fields = [
            status.to_owned(),
            l.rank.to_string(),
            l.city.clone(),
            l.country.clone(),
            statistic.to_owned(),
            num(Some(l.statistic_ms)),
            num(Some(l.score_ms)),
            num(l.rtt_ms.p50),
            num(l.rtt_ms.p90),
            num(l.rtt_ms.jitter),
            num(l.loss),
            c.sent.to_string(),
            c.received.to_string(),
            c.lost.to_string(),
            c.late.to_string(),
            c.cancelled.to_string(),
            protocol,
            num(l.carried_over.map(|c| c.age_ms)),
            String::new(),
            String::new(),
        ];
        push_csv_row(&mut out, &fields);
    }
    for u in &report.unreachable {
        let sent: u32 = u.beacons.iter().map(|b| b.counts.sent).sum();
        let codes = u
            .codes
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join("+");
        let mut fields = vec![String::new(); 20];
        "unreachable".clone_into(&mut fields[0]);
        fields[2].clone_from(&u.city);
        fields[3].clone_from(&u.country);
        statistic.clone_into(&mut fields[4]);
        fields[11] = sent.to_string();
        fields[17] = num(u.carried_over.map(|c| c.age_ms));
        fields[18] = codes;
        fields[19] = u.reasons.join("; ");
        push_csv_row(&mut out, &fields);
    }
    out
}

/// Appends one CSV row: fields with `,`, `"` or a line break are quoted, quotes doubled.
pub fn push_csv_row(out: &mut String, fields: &[String]) {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    out.push_str(&quoted.join(","));
    out.push('\n');
}

/// Whole milliseconds, or one decimal below 10 ms.
fn duration(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// The one-line summary printed under a table: the choice, how sure it is, when it was
/// known ("Frankfurt, ahead of Amsterdam by 7.8 ms, 95 % confident, after 410 ms"), and how
/// long probing took.
pub fn timing(report: &Report, terminal: Terminal) -> String {
    if let (Some(best), Some(confidence)) = (report.best(), &report.confidence) {
        let line = format!(
            "{}; probing took {} in all.",
            confidence.describe(&best.city, report.decision_ms),
            duration(report.duration_ms)
        );
        return wrap(&line, terminal);
    }
    match report.decision_ms {
        Some(decided) => format!(
            "Best location known after {}; probing took {} in all.\n",
            duration(decided),
            duration(report.duration_ms)
        ),
        None => format!("Probing took {}.\n", duration(report.duration_ms)),
    }
}
