//! The ranking table: the columns that fit the terminal, by priority, or every column with
//! `--wide` (and whenever stdout is not a terminal).

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};
use edgegap_probe::{LocationReport, Report, Statistic};

use crate::output::{ms, table};
use crate::terminal::Terminal;

/// One column: its header, whether it is a number, how early it is dropped to fit (0 never),
/// and its cells.
struct Column {
    header: String,
    numeric: bool,
    drop_order: u8,
    cells: Vec<String>,
}

/// The name of the statistic that ranks, as the header shows it.
pub fn statistic_name(report: &Report) -> &'static str {
    match report
        .config
        .as_ref()
        .map_or(Statistic::Median, |c| c.statistic)
    {
        Statistic::Median => "median",
        Statistic::Mean => "mean",
        Statistic::TrimmedMean => "trimmed mean",
        Statistic::Min => "min",
    }
}

fn percent(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{:.0} %", v * 100.0),
        _ => "-".to_owned(),
    }
}

/// A human age: seconds below two minutes, minutes above.
pub fn age(ms: f64) -> String {
    let secs = (ms / 1000.0).round();
    if secs < 120.0 {
        format!("{secs:.0} s")
    } else {
        format!("{:.0} min", (secs / 60.0).round())
    }
}

/// The samples cell: received / sent and the probes stopped in flight (`sent = received +
/// lost + late + stopped`; loss is `(lost + late) / (sent − stopped)`), or the age of figures
/// carried over from the saved report. `short` leaves the stopped count to the note below.
fn samples(l: &LocationReport, short: bool) -> String {
    if let Some(carried) = l.carried_over {
        return format!("saved {} ago", age(carried.age_ms));
    }
    let c = l.counts;
    if c.cancelled > 0 && !short {
        format!("{}/{} ({} stopped)", c.received, c.sent, c.cancelled)
    } else {
        format!("{}/{}", c.received, c.sent)
    }
}

fn protocol(l: &LocationReport) -> String {
    match (l.protocol, l.protocols.as_slice()) {
        (Some(p), _) => p.as_str().to_owned(),
        (None, []) => "-".to_owned(),
        (None, many) => many
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("+"),
    }
}

fn columns(report: &Report, locations: &[LocationReport], short: bool) -> Vec<Column> {
    let column =
        |header: &str, numeric, drop_order, cell: &dyn Fn(&LocationReport) -> String| Column {
            header: header.to_owned(),
            numeric,
            drop_order,
            cells: locations.iter().map(cell).collect(),
        };
    vec![
        column("rank", true, 0, &|l| {
            if l.sticky {
                format!("{} (kept)", l.rank)
            } else {
                l.rank.to_string()
            }
        }),
        column("city", false, 0, &|l| l.city.clone()),
        column("country", false, 5, &|l| l.country.clone()),
        column(statistic_name(report), true, 0, &|l| {
            ms(Some(l.statistic_ms))
        }),
        column("p90", true, 3, &|l| ms(l.rtt_ms.p90)),
        column("jitter", true, 4, &|l| ms(l.rtt_ms.jitter)),
        column("loss", true, 1, &|l| percent(l.loss)),
        column("samples", true, 2, &|l| samples(l, short)),
        column("protocol", false, 6, &|l| protocol(l)),
    ]
}

fn render(columns: &[&Column], rows: usize, colour: bool, best_row: bool) -> Table {
    let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
    let mut t = table(&header);
    t.set_content_arrangement(ContentArrangement::Disabled);
    if colour {
        // The caller decided (a terminal without NO_COLOR); comfy-table would ask again.
        t.enforce_styling();
    }
    for row in 0..rows {
        let cells = columns.iter().map(|c| {
            // Data from servers and files is escaped here, before any colour is added.
            let cell = Cell::new(crate::printable::line(&c.cells[row]));
            if colour && best_row && row == 0 {
                cell.fg(Color::Green).add_attribute(Attribute::Bold)
            } else {
                cell
            }
        });
        t.add_row(cells);
    }
    for (i, c) in columns.iter().enumerate() {
        if c.numeric
            && let Some(col) = t.column_mut(i)
        {
            col.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    t
}

fn width_of(table: &Table) -> usize {
    table
        .to_string()
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

/// The locations as a table that fits `terminal` (every column when `wide` or when stdout is
/// not a terminal), its best row coloured when colour is on and `best_row`.
pub fn locations_table(
    report: &Report,
    locations: &[LocationReport],
    terminal: Terminal,
    wide: bool,
    best_row: bool,
) -> String {
    let limit = terminal.width.filter(|_| !wide);
    let rows = locations.len();
    let full = columns(report, locations, false);
    let Some(limit) = limit else {
        let all: Vec<&Column> = full.iter().collect();
        return render(&all, rows, terminal.colour, best_row).to_string();
    };
    // Choose the columns on the plain rendering (colour codes take no room on screen):
    // short samples first (the note says what stopped probes are), then drop by priority.
    let short = columns(report, locations, true);
    let mut shown: Vec<&Column> = full.iter().collect();
    if width_of(&render(&shown, rows, false, false)) > limit {
        shown = short.iter().collect();
    }
    let mut order: Vec<u8> = short
        .iter()
        .map(|c| c.drop_order)
        .filter(|&d| d > 0)
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    for drop in order {
        if width_of(&render(&shown, rows, false, false)) <= limit {
            break;
        }
        shown.retain(|c| c.drop_order != drop);
    }
    let fits = width_of(&render(&shown, rows, false, false)) <= limit;
    let mut table = render(&shown, rows, terminal.colour, best_row);
    if !fits {
        // Still too wide (very long city names): let the table wrap inside its cells.
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(u16::try_from(limit).unwrap_or(u16::MAX));
    }
    table.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report::from_json(
            r#"{"locations": [{"city": "Montreal", "country": "Canada", "rank": 1,
                "score_ms": 12.3, "statistic_ms": 12.3, "protocol": "udp", "sent": 5,
                "received": 3, "lost": 0, "late": 0, "cancelled": 2, "loss": 0.0,
                "rtt_ms": {"min": 12.0, "p50": 12.3, "p90": 13.1, "p99": 13.1, "max": 13.1,
                           "mean": 12.4, "stddev": 0.4, "jitter": 0.4},
                "beacons": []},
               {"city": "Los Angeles", "country": "United States", "rank": 2,
                "score_ms": 61.2, "statistic_ms": 61.2, "protocol": "udp", "sent": 6,
                "received": 3, "lost": 1, "late": 0, "cancelled": 2, "loss": 0.25,
                "rtt_ms": {"min": 61.0, "p50": 61.2, "p90": 61.4, "p99": 61.4, "max": 61.4,
                           "mean": 61.2, "stddev": 0.4, "jitter": 0.5},
                "beacons": []}],
               "unreachable": [], "payload": {"beacons": {}}, "duration_ms": 5.0,
               "decision_ms": null}"#,
        )
        .unwrap()
    }

    fn widest(text: &str) -> usize {
        text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
    }

    #[test]
    fn the_table_fits_the_terminal_by_dropping_columns_by_priority() {
        let r = report();
        for width in [40, 60, 80, 100] {
            let terminal = Terminal {
                width: Some(width),
                colour: false,
            };
            let text = locations_table(&r, &r.locations, terminal, false, true);
            assert!(widest(&text) <= width, "{width}:\n{text}");
            for kept in ["rank", "city", "median", "Los Angeles"] {
                assert!(text.contains(kept), "{width}: {kept} dropped:\n{text}");
            }
        }
        let wide = locations_table(&r, &r.locations, Terminal::plain(), false, true);
        for header in ["country", "p90", "jitter", "protocol", "2 stopped"] {
            assert!(wide.contains(header), "{header}:\n{wide}");
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let r = report();
        let plain = Terminal {
            width: Some(120),
            colour: false,
        };
        assert!(!locations_table(&r, &r.locations, plain, false, true).contains('\u{1b}'));
        let coloured = Terminal {
            width: Some(120),
            colour: true,
        };
        assert!(locations_table(&r, &r.locations, coloured, false, true).contains('\u{1b}'));
    }
}
