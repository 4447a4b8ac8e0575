//! Prints every bench figure beside its peer with the ratio, from criterion's output in
//! `target/criterion` and the figures in `target/keygate-bench/*.json`: one table for the
//! in-process figures, one for the fleet on PostgreSQL.
//!
//! ```sh
//! cargo bench -p keygate-benches          # every bench, then:
//! cargo run -p keygate-benches --bin summary -- --write   # print, and update benches/README.md
//! ```
//!
//! Figures that are missing (a bench not run) are shown as "not run"; `--write` rewrites only a
//! table whose every figure was measured, so a partial run leaves the README as it was.

// A reporting tool: a missing or unreadable file is reported in the table, not by panicking.
#![allow(clippy::unwrap_used)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// One line of the table: a figure, its peer, and the target it is held to.
struct Row {
    figure: String,
    keygate: Figure,
    peer: Option<(&'static str, Figure)>,
    target: &'static str,
    check: Check,
}

/// Where a figure comes from.
#[derive(Clone)]
enum Figure {
    /// The median of a criterion bench, in nanoseconds: `group/function`.
    Bench(String),
    /// A value in measurements.json.
    Measured(&'static str, Unit),
}

#[derive(Clone, Copy)]
enum Unit {
    Bytes,
    /// Events per second, shown as they are.
    Rate,
    PerSecond,
    BytesPerSecond,
    Nanos,
}

/// What makes a row pass.
#[derive(Clone, Copy)]
enum Check {
    /// Informational.
    Info,
    /// keygate at most this many nanoseconds.
    AtMostNanos(f64),
    /// keygate at least this many times faster than its peer.
    FasterBy(f64),
    /// keygate within this factor of its peer (keygate / peer at most this).
    WithinOfPeer(f64),
    /// A measured value at most this.
    AtMost(f64),
    /// keygate at least this many times its peer (throughput).
    AtLeastTimesPeer(f64),
}

fn rows() -> Vec<Row> {
    use Check::*;
    use Figure::*;
    let mut rows = vec![
        Row {
            figure: "HS256 authenticate, cold (signature, claims, key, revocation, scope)".into(),
            keygate: Bench("authenticate/hs256/keygate-cold".into()),
            peer: Some(("jsonwebtoken decode", Bench("authenticate/hs256/jsonwebtoken".into()))),
            target: "≥ 3× faster",
            check: FasterBy(3.0),
        },
        Row {
            figure: "HS256 authenticate, cold, vs ring's bare HMAC check".into(),
            keygate: Bench("authenticate/hs256/keygate-cold".into()),
            peer: Some(("ring HMAC verify", Bench("authenticate/hs256/ring".into()))),
            target: "≤ 1.6× ring",
            check: WithinOfPeer(1.6),
        },
        Row {
            figure: "HS256 authenticate, the same token seen before".into(),
            keygate: Bench("authenticate/hs256/keygate-seen".into()),
            peer: Some(("jsonwebtoken decode", Bench("authenticate/hs256/jsonwebtoken".into()))),
            target: "≤ 200 ns",
            check: AtMostNanos(200.0),
        },
    ];
    for (alg, cold, warm, jwt, ring) in [
        (
            "HS256",
            "verify/HS256/keygate-cold",
            Some("verify/HS256/keygate-warm"),
            "verify/HS256/jsonwebtoken",
            "verify/HS256/ring",
        ),
        (
            "ES256",
            "verify/ES256/keygate-cold",
            Some("verify/ES256/keygate-warm"),
            "verify/ES256/jsonwebtoken",
            "verify/ES256/ring",
        ),
        (
            "EdDSA",
            "verify/EdDSA/keygate-cold",
            Some("verify/EdDSA/keygate-warm"),
            "verify/EdDSA/jsonwebtoken",
            "verify/EdDSA/ring",
        ),
        (
            "RS256",
            "verify/RS256/keygate-cold",
            Some("verify/RS256/keygate-warm"),
            "verify/RS256/jsonwebtoken",
            "verify/RS256/ring",
        ),
    ] {
        let symmetric = alg == "HS256";
        rows.push(Row {
            figure: (format!("{alg} verify, cold, vs ring's bare signature check")),
            keygate: Bench(cold.to_owned()),
            peer: Some(("ring verify", Bench(ring.to_owned()))),
            target: if symmetric { "—" } else { "≤ 1.15× ring" },
            check: if symmetric { Info } else { WithinOfPeer(1.15) },
        });
        rows.push(Row {
            figure: (format!("{alg} verify, cold, vs jsonwebtoken decode")),
            keygate: Bench(cold.to_owned()),
            peer: Some(("jsonwebtoken decode", Bench(jwt.to_owned()))),
            target: "—",
            check: Info,
        });
        if let Some(warm) = warm {
            rows.push(Row {
                figure: (format!("{alg} verify, warm (cache hit)")),
                keygate: Bench(warm.to_owned()),
                peer: Some(("jsonwebtoken decode", Bench(jwt.to_owned()))),
                target: "≤ 0.5 µs",
                check: AtMostNanos(500.0),
            });
        }
    }
    rows.push(Row {
        figure: "opaque key authenticate, 1M keys indexed".into(),
        keygate: Bench("authenticate/opaque-1m/keygate".into()),
        peer: Some(("SHA-256 + HashMap floor", Bench("authenticate/opaque-1m/floor".into()))),
        target: "≤ 1.5× floor",
        check: WithinOfPeer(1.5),
    });
    for (name, what) in [
        ("allocated_bytes_per_authentication_opaque", "an opaque key"),
        ("allocated_bytes_per_authentication_hs256_seen", "an HS256 JWT seen before"),
        ("allocated_bytes_per_authentication_hs256_cold", "an HS256 JWT, cache off"),
    ] {
        rows.push(Row {
            figure: format!("heap bytes allocated per authentication, {what}"),
            keygate: Measured(name, Unit::Bytes),
            peer: None,
            target: "0 B",
            check: AtMost(0.0),
        });
    }
    for size in ["1000", "100000", "1000000"] {
        rows.push(Row {
            figure: (format!("revocation check, {size} entries")),
            keygate: Bench(format!("revocation-check/keygate/{size}")),
            peer: Some((
                "std HashSet contains",
                Bench(format!("revocation-check/std-hashset/{size}")),
            )),
            target: if size == "1000000" { "≤ 50 ns" } else { "—" },
            check: if size == "1000000" { AtMostNanos(50.0) } else { Info },
        });
    }
    rows.extend([
        Row {
            figure: "revocation bytes per entry, 1M entries".into(),
            keygate: Measured("revocation_bytes_per_entry", Unit::Bytes),
            peer: None,
            target: "≤ 64 B",
            check: AtMost(64.0),
        },
        Row {
            figure: "10k-entry delta applied to a 1M-entry list".into(),
            keygate: Bench("revocation-apply/keygate/10k-into-1m".into()),
            peer: None,
            target: "—",
            check: Info,
        },
        Row {
            figure: "revocation check p99 while deltas apply".into(),
            keygate: Measured("revocation_check_during_apply_p99_ns", Unit::Nanos),
            peer: None,
            target: "—",
            check: Info,
        },
        Row {
            figure: "authenticator bytes per indexed key, 1M keys".into(),
            keygate: Measured("authenticator_bytes_per_key", Unit::Bytes),
            peer: None,
            target: "≤ 150 B",
            check: AtMost(150.0),
        },
        Row {
            figure: "authenticate throughput, 2 threads vs 1".into(),
            keygate: Measured("authenticate_per_second_2_threads", Unit::PerSecond),
            peer: Some(("1 thread", Measured("authenticate_per_second_1_thread", Unit::PerSecond))),
            target: "≥ 1.8×",
            check: AtLeastTimesPeer(1.8),
        },
        Row {
            figure: "authenticate throughput, 2 threads on keys of their own vs 1".into(),
            keygate: Measured("authenticate_per_second_2_threads_own_keys", Unit::PerSecond),
            peer: Some(("1 thread", Measured("authenticate_per_second_1_thread", Unit::PerSecond))),
            target: "—",
            check: Info,
        },
    ]);
    for (what, proxy, direct) in [
        ("produce", "produce_bytes_per_second_proxy", "produce_bytes_per_second_direct"),
        ("consume (fetch)", "consume_bytes_per_second_proxy", "consume_bytes_per_second_direct"),
    ] {
        rows.push(Row {
            figure: format!("Kafka proxy: {what} throughput vs the same client straight to Tansu"),
            keygate: Measured(proxy, Unit::BytesPerSecond),
            peer: Some(("direct", Measured(direct, Unit::BytesPerSecond))),
            target: "≥ 0.9× direct",
            check: AtLeastTimesPeer(0.9),
        });
    }
    rows.extend([
        Row {
            figure: "Kafka proxy: produce p99 latency vs direct".into(),
            keygate: Measured("produce_p99_ns_proxy", Unit::Nanos),
            peer: Some(("direct", Measured("produce_p99_ns_direct", Unit::Nanos))),
            target: "—",
            check: Info,
        },
        Row {
            figure: "Kafka proxy: produce p99 latency added".into(),
            keygate: Measured("produce_p99_added_ns", Unit::Nanos),
            peer: None,
            target: "≤ 0.5 ms",
            check: AtMost(500_000.0),
        },
    ]);
    for alg in ["HS256", "ES256", "EdDSA", "RS256"] {
        rows.push(Row {
            figure: (format!("{alg} mint")),
            keygate: Bench(format!("mint/{alg}/keygate")),
            peer: Some(("jsonwebtoken encode", Bench(format!("mint/{alg}/jsonwebtoken")))),
            target: "—",
            check: Info,
        });
    }
    rows
}

/// The fleet bench's figures: push beside polling, and a start from a large store.
fn fleet_rows() -> Vec<Row> {
    use Check::*;
    use Figure::*;
    let mut rows = Vec::new();
    for servers in [2, 8] {
        for (name, target, check) in
            [("p50", "—", Info), ("p99", "≤ 25 ms", AtMostNanos(25e6)), ("max", "—", Info)]
        {
            let figure = |mode: &str| {
                let key = format!("revocation_{name}_ns_{servers}_servers_{mode}");
                Measured(Box::leak(key.into_boxed_str()), Unit::Nanos)
            };
            rows.push(Row {
                figure: format!(
                    "revocation to refusal on all {servers} servers, {name}, push vs polling"
                ),
                keygate: figure("push"),
                peer: Some(("polling every 100 ms", figure("polling"))),
                target,
                check,
            });
        }
    }
    rows.extend([
        Row {
            figure: "statements per second an idle fleet of 8 sends the database".into(),
            keygate: Measured("idle_queries_per_second_8_servers_push", Unit::Rate),
            peer: Some((
                "polling every 100 ms",
                Measured("idle_queries_per_second_8_servers_polling", Unit::Rate),
            )),
            target: "≥ 10× fewer",
            check: FasterBy(10.0),
        },
        Row {
            figure: "start from SQLite, 1M keys and 100k revocations".into(),
            keygate: Measured("start_ns_sqlite", Unit::Nanos),
            peer: None,
            target: "≤ 5 s",
            check: AtMostNanos(5e9),
        },
        Row {
            figure: "start from PostgreSQL, 1M keys and 100k revocations".into(),
            keygate: Measured("start_ns_postgres", Unit::Nanos),
            peer: None,
            target: "≤ 10 s",
            check: AtMostNanos(10e9),
        },
        Row {
            figure: "resident memory after starting from SQLite".into(),
            keygate: Measured("start_resident_bytes_sqlite", Unit::Bytes),
            peer: None,
            target: "—",
            check: Info,
        },
        Row {
            figure: "resident memory after starting from PostgreSQL".into(),
            keygate: Measured("start_resident_bytes_postgres", Unit::Bytes),
            peer: None,
            target: "—",
            check: Info,
        },
    ]);
    rows
}

/// The control plane bench's figures.
fn control_plane_rows() -> Vec<Row> {
    use Check::*;
    use Figure::*;
    let mut rows = vec![
        Row {
            figure: "control plane: authenticating a request with a key seen before (Basic \
                     header parsed and checked)"
                .into(),
            keygate: Measured("authenticate_basic_ns", Unit::Nanos),
            peer: Some(("the authenticator alone", Measured("authenticate_alone_ns", Unit::Nanos))),
            target: "≤ 2 µs",
            check: AtMostNanos(2e3),
        },
        Row {
            figure: "control plane: a whole authenticated GET (roles read from SQLite)".into(),
            keygate: Measured("request_get_sqlite_ns", Unit::Nanos),
            peer: None,
            target: "—",
            check: Info,
        },
    ];
    for backend in ["sqlite", "postgres"] {
        let figure = |via: &str| {
            let key = format!("create_keys_per_second_{backend}_{via}");
            Measured(Box::leak(key.into_boxed_str()), Unit::Rate)
        };
        rows.push(Row {
            figure: format!("control plane: keys created by 8 concurrent clients, {backend}"),
            keygate: figure("api"),
            peer: Some(("KeyManager, 8 concurrent callers", figure("manager"))),
            target: "≥ 0.8× KeyManager",
            check: AtLeastTimesPeer(0.8),
        });
    }
    rows.push(Row {
        figure: "control plane: a page of 1000 keys at 1M keys vs at 10k, PostgreSQL".into(),
        keygate: Measured("list_page_1000_ns_postgres_1000000_keys", Unit::Nanos),
        peer: Some(("at 10k keys", Measured("list_page_1000_ns_postgres_10000_keys", Unit::Nanos))),
        target: "≤ 2× at 10k",
        check: WithinOfPeer(2.0),
    });
    rows
}

/// A table of the README, between its markers, and the figure files it reads.
struct Section {
    start: &'static str,
    end: &'static str,
    files: &'static [&'static str],
    rows: Vec<Row>,
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let criterion = root.join("target/criterion");
    let sections = [
        Section {
            start: "<!-- summary:start -->",
            end: "<!-- summary:end -->",
            files: &["measurements.json", "throughput.json", "kafka_proxy.json"],
            rows: rows(),
        },
        Section {
            start: "<!-- fleet:start -->",
            end: "<!-- fleet:end -->",
            files: &["fleet.json"],
            rows: fleet_rows(),
        },
        Section {
            start: "<!-- control-plane:start -->",
            end: "<!-- control-plane:end -->",
            files: &["control_plane.json"],
            rows: control_plane_rows(),
        },
    ];
    let write = std::env::args().any(|arg| arg == "--write");
    for section in sections {
        let (table, complete) = table(&root, &criterion, &section);
        println!("{table}");
        if write && complete {
            write_section(&root, &section, &table);
        } else if write {
            eprintln!("{}: some figures were not run; not written", section.start);
        }
    }
}

/// The section's table, and whether every one of its figures was measured.
fn table(root: &Path, criterion: &Path, section: &Section) -> (String, bool) {
    // The figures the section's benches wrote, in one object.
    let mut figures = serde_json::Map::new();
    for file in section.files {
        let read = std::fs::read_to_string(root.join("target/keygate-bench").join(file))
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Map<String, Value>>(&text).ok());
        figures.extend(read.unwrap_or_default());
    }
    let measured = Value::Object(figures);
    let mut complete = true;

    let mut table = String::from(
        "| figure | keygate | peer | ratio | target | met |\n|---|---|---|---|---|---|\n",
    );
    for row in &section.rows {
        let ours = value(criterion, &measured, &row.keygate);
        complete &= ours.is_some();
        let peer = row
            .peer
            .as_ref()
            .map(|(name, figure)| (*name, figure, value(criterion, &measured, figure)));
        let theirs = peer.as_ref().and_then(|(_, _, v)| *v);
        complete &= peer.is_none() || theirs.is_some();
        let ratio = match (ours, theirs) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "—".to_owned(),
        };
        let met = match (row.check, ours, theirs) {
            (Check::Info, ..) => "",
            (Check::AtMostNanos(max), Some(a), _) | (Check::AtMost(max), Some(a), _) => {
                yes(a <= max)
            }
            (Check::FasterBy(times), Some(a), Some(b)) => yes(b / a >= times),
            (Check::WithinOfPeer(factor), Some(a), Some(b)) => yes(a / b <= factor),
            (Check::AtLeastTimesPeer(times), Some(a), Some(b)) => yes(a / b >= times),
            _ => "not run",
        };
        let peer = match peer {
            Some((name, figure, Some(v))) => format!("{name}: {}", show(figure, v)),
            Some((name, _, None)) => format!("{name}: not run"),
            None => "—".to_owned(),
        };
        let shown = ours.map_or_else(|| "not run".to_owned(), |v| show(&row.keygate, v));
        writeln!(table, "| {} | {shown} | {peer} | {ratio} | {} | {met} |", row.figure, row.target)
            .unwrap();
    }
    (table, complete)
}

/// Replaces the section's table in benches/README.md.
fn write_section(root: &Path, section: &Section, table: &str) {
    let readme = root.join("benches/README.md");
    let text = std::fs::read_to_string(&readme).unwrap_or_default();
    let (Some(start), Some(end)) = (text.find(section.start), text.find(section.end)) else {
        eprintln!(
            "{} has no {} … {} markers; not written",
            readme.display(),
            section.start,
            section.end
        );
        return;
    };
    let machine = machine();
    let updated =
        format!("{}{}\n{machine}\n\n{table}{}", &text[..start], section.start, &text[end..]);
    std::fs::write(&readme, updated).unwrap();
    eprintln!("wrote {} ({})", readme.display(), section.start);
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "**no**" }
}

/// A figure's value: nanoseconds for benches, the measurement's own unit otherwise.
fn value(criterion: &Path, measured: &Value, figure: &Figure) -> Option<f64> {
    match figure {
        Figure::Bench(id) => median_nanos(criterion, id),
        Figure::Measured(name, _) => measured.get(*name).and_then(Value::as_f64),
    }
}

fn show(figure: &Figure, value: f64) -> String {
    match figure {
        Figure::Bench(_) | Figure::Measured(_, Unit::Nanos) => nanos(value),
        Figure::Measured(_, Unit::Bytes) if value >= 1024.0 * 1024.0 => {
            format!("{:.0} MiB", value / (1024.0 * 1024.0))
        }
        Figure::Measured(_, Unit::Bytes) => format!("{value:.1} B"),
        Figure::Measured(_, Unit::Rate) => format!("{value:.2}/s"),
        Figure::Measured(_, Unit::PerSecond) => format!("{:.2} M/s", value / 1e6),
        Figure::Measured(_, Unit::BytesPerSecond) => format!("{:.1} MB/s", value / 1e6),
    }
}

fn nanos(value: f64) -> String {
    if value >= 1e9 {
        format!("{:.2} s", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.2} ms", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.2} µs", value / 1e3)
    } else {
        format!("{value:.1} ns")
    }
}

/// The median estimate of `group/function[/parameter]` in criterion's output. Criterion keeps
/// each group in a directory named after it and each function in one below, with any `/` in
/// either name made `_`; a parameter is one more directory. Which `/` of `id` is which is not
/// known here, so every reading is tried.
fn median_nanos(criterion: &Path, id: &str) -> Option<f64> {
    let parts: Vec<&str> = id.split('/').collect();
    for group_end in 1..parts.len() {
        for function_end in group_end + 1..=parts.len() {
            let mut path: PathBuf = criterion.join(parts[..group_end].join("_"));
            path.push(parts[group_end..function_end].join("_"));
            path.extend(&parts[function_end..]);
            if let Ok(text) = std::fs::read_to_string(path.join("new/estimates.json")) {
                let json: Value = serde_json::from_str(&text).ok()?;
                return json["median"]["point_estimate"].as_f64();
            }
        }
    }
    None
}

/// The machine the figures were measured on.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .map(|line| line.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!(
        "Measured on {cpu}, {cores} cores available, {} {}, {}.",
        std::env::consts::OS,
        std::env::consts::ARCH,
        rustc_version()
    )
}

fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map_or_else(|| "rustc".to_owned(), |text| text.trim().to_owned())
}
