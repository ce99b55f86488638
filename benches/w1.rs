//! W1, the reference workload (docs/benchmarks.md), run exactly as
//! `switchboard run fixtures/workloads/w1.json` runs it: the shipped scenario
//! file, parsed by the scenario reader and driven by its workload generator
//! and runner, so what researchers run is what is measured. Seed 1, digest
//! on, trace lines not kept (`RunOptions::digest_only`), so the oracles,
//! which read the lines, do not run; the digest is the one `switchboard run`
//! prints for the same file.
//!
//! Options (after `--`) override the file's `workload` section for the
//! variants: `--sms N` (SMS participants per thread, 10; 0 is W1-chat),
//! `--participants N` (chat participants, 40), `--sends N` (send attempts
//! over the horizon, bursts included, 1,000,000 × days / 30; sets the mean gap
//! between arrivals), `--days D` (30), `--users N` (200), `--threads N`
//! (1000), `--seed S` (1), `--forks N` (forks timed at the end, 101),
//! `--fork-day` (also run one more virtual day on a fork and report the
//! memory it adds; runs the workload a second time), `--totals` (also count
//! the run's totals from its trace lines; runs it a second time, untimed).

#![allow(clippy::disallowed_methods)] // wall-clock timing is the point of a bench

use serde_json::{Value, json};
use std::hint::black_box;
use std::time::Instant as WallClock;
use switchboard::scenario::{self, Run, RunOptions};
use switchboard::time::Instant;

const DAY_MS: u64 = 86_400_000;
/// Attempts per arrival, in thousandths, with W1's bursts: 1 + 0.002 × 79.
const ATTEMPTS_PER_ARRIVAL_MILLI: u64 = 1_158;

#[derive(Clone, Debug)]
struct Options {
    days: u64,
    sends: Option<u64>,
    seed: u64,
    forks: usize,
    fork_day: bool,
    totals: bool,
    /// (workload field, value) overrides.
    fields: Vec<(&'static str, u64)>,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            days: 30,
            sends: None,
            seed: 1,
            forks: 101,
            fork_day: false,
            totals: false,
            fields: Vec::new(),
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> u64 {
                args.next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .unwrap_or_else(|| panic!("{name} takes a whole number"))
            };
            match arg.as_str() {
                "--participants" => o.fields.push(("chat_participants", value(&arg))),
                "--sms" => o.fields.push(("sms_participants", value(&arg))),
                "--users" => o.fields.push(("users", value(&arg))),
                "--threads" => o.fields.push(("threads", value(&arg))),
                "--sends" => o.sends = Some(value(&arg)),
                "--days" => o.days = value(&arg),
                "--seed" => o.seed = value(&arg),
                "--forks" => o.forks = value(&arg) as usize,
                "--fork-day" => o.fork_day = true,
                "--totals" => o.totals = true,
                // cargo bench passes `--bench` to harness-less targets.
                "--bench" => {}
                other => panic!("unknown option {other:?}"),
            }
        }
        assert!(o.days > 0, "--days must be positive");
        o
    }

    /// The fixture with the options applied and a horizon of `days`.
    fn scenario_text(&self, days: u64) -> String {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/workloads/w1.json");
        let text = std::fs::read_to_string(path).expect("fixtures/workloads/w1.json");
        let mut file: Value = serde_json::from_str(&text).expect("the W1 fixture is JSON");
        file["seed"] = json!(self.seed);
        let workload = &mut file["workload"];
        for (field, value) in &self.fields {
            workload[*field] = json!(value);
        }
        workload["horizon"] = json!(format!("{days}d"));
        // The mean gap between arrivals that makes `sends` attempts over
        // `self.days` days (the fixture's 3001 ms for W1's million a month).
        let sends = self.sends.unwrap_or(1_000_000 * self.days / 30).max(1);
        let gap = u128::from(self.days * DAY_MS) * u128::from(ATTEMPTS_PER_ARRIVAL_MILLI)
            / (1_000 * u128::from(sends));
        workload["mean_gap"] = json!(format!("{}ms", (gap as u64).max(1)));
        serde_json::to_string(&file).expect("JSON writes")
    }
}

/// A field of /proc/self/status in KiB (VmHWM, VmRSS).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) this thread has used, in seconds, from
/// /proc/thread-self/stat (clock ticks, assumed 100 a second). Beside the wall
/// time it shows whether a run shared its core with other work.
fn thread_cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A run's totals, counted from its trace lines.
#[derive(Debug, Default)]
struct Totals {
    attempts: u64,
    accepted: u64,
    throttled: u64,
    chat_deliveries: u64,
    sms_deliveries: u64,
    sms_segments: u64,
    created: u64,
    deleted: u64,
}

impl Totals {
    fn count(&mut self, line: &str) {
        // Delivery updates are most lines and count nothing here.
        if line.contains("\"kind\":\"delivery_updated\"") {
            return;
        }
        let v: Value = serde_json::from_str(line).expect("trace lines are JSON");
        let n = |key: &str| v[key].as_u64().unwrap_or(0);
        match (v["kind"].as_str(), v["op"].as_str()) {
            (Some("step"), Some("send_message")) => {
                self.attempts += 1;
                match n("status") {
                    201 => self.accepted += 1,
                    429 => self.throttled += 1,
                    _ => {}
                }
            }
            (Some("message_sent"), _) => self.chat_deliveries += n("recipients"),
            (Some("deliveries_created"), _) => {
                self.sms_deliveries += n("queued");
                self.sms_segments += n("queued") * n("segments");
            }
            (Some("thread_created"), _) => self.created += 1,
            (Some("retention_expired" | "thread_deleted"), _) => self.deleted += 1,
            _ => {}
        }
    }
}

fn main() {
    let o = Options::parse();
    let text = o.scenario_text(o.days);
    let parsed = scenario::parse(&text, None).expect("the W1 fixture parses");
    let options = RunOptions {
        digest_only: true,
        ..RunOptions::default()
    };

    let cpu_start = thread_cpu_s();
    let start = WallClock::now();
    let mut run = Run::new(&parsed, options);
    let report = run.finish(&mut |_| {});
    let loop_s = start.elapsed().as_secs_f64();
    let loop_cpu_s = thread_cpu_s() - cpu_start;
    let peak_kib = status_kib("VmHWM");
    let sim = run.session().simulator();
    let lines = sim.trace().len();

    // Forking at the end of the run: the median of many, each dropped untimed.
    let mut fork_us: Vec<f64> = (0..o.forks.max(1))
        .map(|_| {
            let start = WallClock::now();
            let fork = black_box(sim.fork());
            let us = start.elapsed().as_secs_f64() * 1e6;
            drop(fork);
            us
        })
        .collect();
    fork_us.sort_by(f64::total_cmp);
    let fork_median_us = fork_us[fork_us.len() / 2];

    println!(
        "W1: fixtures/workloads/w1.json, seed {}, {} days, overrides {:?}{}",
        o.seed,
        o.days,
        o.fields,
        o.sends.map_or(String::new(), |s| format!(", {s} sends")),
    );
    println!("trace lines       {lines:>12}");
    println!("loop              {loop_s:>12.3} s (CPU {loop_cpu_s:.2} s)");
    println!("lines/s           {:>12.0}", lines as f64 / loop_s);
    println!("digest            {:>12}", report.digest);
    println!("peak RSS (VmHWM)  {:>12.1} MiB", mib(peak_kib));
    println!(
        "fork              {fork_median_us:>12.2} us (median of {})",
        fork_us.len()
    );
    let mut result = format!(
        "RESULT bench=w1 seed={} days={} lines={lines} loop_s={loop_s:.4} loop_cpu_s={loop_cpu_s:.2} digest={} peak_rss_mib={:.1} fork_us={fork_median_us:.2}",
        o.seed,
        o.days,
        report.digest,
        mib(peak_kib)
    );
    drop(run);

    if o.fork_day {
        // The same workload with one more day; forked at the end of `days`,
        // the original kept alive beside the fork while it runs the day.
        let longer = scenario::parse(&o.scenario_text(o.days + 1), None).expect("parses");
        let mut original = Run::new(&longer, options);
        original.run_until(Some(Instant(o.days * DAY_MS)), &mut |_| {});
        let rss_before = status_kib("VmRSS");
        let mut fork = original.clone();
        let start = WallClock::now();
        fork.finish(&mut |_| {});
        let day_s = start.elapsed().as_secs_f64();
        let growth_kib = status_kib("VmRSS").saturating_sub(rss_before);
        println!(
            "fork + 1 day      {:>12.1} MiB RSS growth ({day_s:.3} s)",
            mib(growth_kib)
        );
        result += &format!(" fork_day_growth_mib={:.1}", mib(growth_kib));
        drop(black_box(original));
    }

    if o.totals {
        let mut t = Totals::default();
        scenario::run_with(&parsed, RunOptions::default(), |line| t.count(line));
        println!("sends attempted   {:>12}", t.attempts);
        println!("  accepted        {:>12}", t.accepted);
        println!(
            "  throttled (429) {:>12}  ({:.2} %)",
            t.throttled,
            100.0 * t.throttled as f64 / t.attempts.max(1) as f64
        );
        println!("chat deliveries   {:>12}", t.chat_deliveries);
        println!("SMS deliveries    {:>12}", t.sms_deliveries);
        println!(
            "segments per SMS  {:>12.3}",
            t.sms_segments as f64 / t.sms_deliveries.max(1) as f64
        );
        println!("threads created   {:>12}", t.created);
        println!("threads deleted   {:>12}", t.deleted);
        result += &format!(
            " attempts={} accepted={} throttled={} chat_deliveries={} sms_deliveries={} created={} deleted={}",
            t.attempts,
            t.accepted,
            t.throttled,
            t.chat_deliveries,
            t.sms_deliveries,
            t.created,
            t.deleted
        );
    }
    println!("{result}");
}
