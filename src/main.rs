//! The `switchboard` command line: run and check scenario files, show
//! profiles, and serve the platforms' REST APIs (`serve`, with the `server`
//! feature). Arguments are parsed by clap; output to a reader that closes the
//! pipe early ends quietly; input of any size is echoed cut to a bound.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use switchboard::core::api::error::cut;
use switchboard::profile::{PROFILE_NAMES, Profile};
use switchboard::scenario::{self, RunOptions};

/// A deterministic simulator of hosted messaging platforms.
///
/// Exit status: 0 success, 1 a failed expectation or a diverging check, 2 a
/// malformed file or bad usage.
#[derive(Parser)]
#[command(name = "switchboard", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and print its trace as JSON Lines.
    ///
    /// One object per step outcome and per event, each with at_ms and kind,
    /// then a summary line with the trace digest. Failed expectations go to
    /// stderr with their step index (exit 1). A malformed file is reported
    /// with the JSON path of the problem (exit 2).
    Run {
        #[command(flatten)]
        file: FileArgs,
        /// Print the compact one-line-per-event rendering instead of JSON.
        #[arg(long)]
        human: bool,
        /// A step that fails without an `expect` is a failed expectation.
        #[arg(long)]
        strict: bool,
        /// Run the oracles (always on for a workload): a broken property
        /// fails the run.
        #[arg(long)]
        oracles: bool,
        /// Write the run's inputs first (an `inputs` line: the file without
        /// its seed), so that `switchboard replay` can re-execute the trace.
        #[arg(long)]
        inputs: bool,
    },
    /// Re-execute the inputs a trace records and check every line matches.
    ///
    /// The trace must start with the inputs line of `switchboard run FILE
    /// --inputs`; carrier receipts are fed back from its delivery_updated
    /// lines, so the replay uses no seed. Exit 0 when every line matches, 1
    /// with the first diverging line when not.
    Replay {
        /// The trace; `-` reads standard input.
        trace: String,
    },
    /// Run a scenario twice and compare the traces byte for byte.
    ///
    /// Prints that the digests match, or the first diverging line of each
    /// run (exit 1).
    Check {
        #[command(flatten)]
        file: FileArgs,
    },
    /// Platform profiles.
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// Serve the simulator behind the platform's own REST API.
    ///
    /// ACS: chat, identity, SMS (--profile acs); Sendbird: the Platform API
    /// v3 (--profile sendbird); and the control plane /_switchboard/... on
    /// ADDR (default 127.0.0.1:0, a free loopback port). Once it listens it
    /// prints one JSON line on stdout: the URL, the profile, the seed and the
    /// credentials (with --tls also the CA certificate, written to
    /// DIR/ca.pem). It stops with exit status 0 on SIGINT, SIGTERM or POST
    /// /_switchboard/shutdown; with --record FILE it then writes the session
    /// as a scenario file that `switchboard run` replays.
    Serve(ServeArgs),
    /// Run a scenario under many seeds, in parallel, and report the failures.
    ///
    /// Each run is isolated and single-threaded; runs are spread over
    /// --jobs threads and reported in seed order. Every failing seed is
    /// printed with the one command line that replays it, then a summary:
    /// runs, failures by kind, and the spread (min, median, max) of the
    /// headline statistics across seeds. Exit 1 when a run failed.
    Sweep {
        /// The scenario file; `-` reads it from standard input.
        file: String,
        /// The seeds: `N`, or `A..B` for A to B, both included.
        #[arg(long, value_name = "A..B", default_value = "1..100")]
        seeds: String,
        /// Worker threads (default: the machine's cores).
        #[arg(long, value_name = "N")]
        jobs: Option<usize>,
        /// A step refused without an `expect` is a failure.
        #[arg(long)]
        strict: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Statistics of a trace, or of a scenario's run.
    ///
    /// Calls by op and status, messages, throttled calls by limit and their
    /// retry-after, chat and non-chat deliveries, SMS segments, threads,
    /// notifications, delivery latency per channel (see docs/research.md).
    Stats {
        #[command(flatten)]
        source: SourceArgs,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two traces (or two scenario runs) line by line.
    ///
    /// Prints the first diverging line with the lines before it, then how
    /// many lines of each kind each side has from there on. Exit 0 when the
    /// traces are equal, 1 when they differ.
    Diff {
        /// A trace, or a scenario file to run; `-` reads standard input.
        a: String,
        /// A trace, or a scenario file to run.
        b: String,
        /// Run A (a scenario file) under this seed.
        #[arg(long, value_name = "N")]
        seed_a: Option<u64>,
        /// Run B (a scenario file) under this seed.
        #[arg(long, value_name = "N")]
        seed_b: Option<u64>,
        /// How many equal lines to show before the first difference.
        #[arg(long, value_name = "N", default_value_t = 3)]
        context: usize,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reduce a failing scenario to a smaller one that fails the same way.
    ///
    /// Delta debugging over the steps, then the workload's numbers; writes
    /// the smaller file (default: FILE with .shrunk.json) and prints the
    /// command that replays it. Exit 0 when it wrote one, 2 when the run
    /// does not fail.
    Shrink {
        #[command(flatten)]
        file: FileArgs,
        /// Where to write the smaller scenario.
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// A step refused without an `expect` is a failure.
        #[arg(long)]
        strict: bool,
        /// The most candidate runs to try.
        #[arg(long, value_name = "N", default_value_t = 20_000)]
        max_runs: u64,
    },
    /// Draw a trace (or a scenario's run) as an SVG picture.
    ///
    /// The timeline (default) shows over virtual time: traffic per channel
    /// (accepted, throttled), deliveries by status, thread deletions and
    /// active threads. --kind latency shows the distribution of delivery
    /// latency per channel.
    Plot {
        #[command(flatten)]
        source: SourceArgs,
        /// Where to write the SVG.
        #[arg(short, long, value_name = "OUT.svg")]
        output: PathBuf,
        /// What to draw.
        #[arg(long, value_enum, default_value = "timeline")]
        kind: PlotKind,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PlotKind {
    /// Traffic, deliveries, deletions and active threads over virtual time.
    Timeline,
    /// The distribution of delivery latency per channel.
    Latency,
}

#[derive(Args)]
struct SourceArgs {
    /// A trace (JSON Lines), or a scenario file to run; `-` reads standard input.
    file: String,
    /// Run a scenario file under this seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[derive(Args)]
struct FileArgs {
    /// The scenario file; `-` reads it from standard input.
    file: String,
    /// Replace the file's seed.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Print a profile (its limits, rate limits and rules) as JSON.
    Show {
        /// acs, twilio or sendbird.
        name: String,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// The platform profile to serve: acs or sendbird.
    #[arg(long, default_value = "acs")]
    profile: String,
    /// The seed of the simulated world.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Serve HTTPS with a certificate made at start-up (localhost, 127.0.0.1).
    #[arg(long)]
    tls: bool,
    /// The calendar time of virtual instant 0 (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    epoch: Option<String>,
    /// Where the CA certificate goes (a fresh temporary folder by default).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Write the session as a scenario file when the server stops.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage(&error),
    };
    let result = match cli.command {
        Command::Run {
            file,
            human,
            strict,
            inputs,
            oracles,
        } => run(&file, human, strict, inputs, oracles),
        Command::Replay { trace } => replay(&trace),
        Command::Check { file } => check(&file),
        Command::Profile {
            command: ProfileCommand::Show { name },
        } => profile_show(&name),
        Command::Serve(args) => serve(args),
        Command::Sweep {
            file,
            seeds,
            jobs,
            strict,
            json,
        } => sweep(&file, &seeds, jobs, strict, json),
        Command::Stats { source, json } => stats(&source, json),
        Command::Diff {
            a,
            b,
            seed_a,
            seed_b,
            context,
            json,
        } => diff(&a, &b, seed_a, seed_b, context, json),
        Command::Plot {
            source,
            output,
            kind,
        } => plot(&source, &output, kind),
        Command::Shrink {
            file,
            output,
            strict,
            max_runs,
        } => shrink(&file, output, strict, max_runs),
    };
    result.unwrap_or_else(|message| {
        eprintln!("switchboard: {message}");
        ExitCode::from(2)
    })
}

/// Help and the version go to stdout (exit 0); a usage error to stderr (exit
/// 2), with any word of the input cut to a bound.
fn usage(error: &clap::Error) -> ExitCode {
    let text = error.render().to_string();
    let text: Vec<String> = text
        .split(' ')
        .map(|word| cut(word, scenario::QUOTE_CHARS_MAX).into_owned())
        .collect();
    let text = text.join(" ");
    let code = error.exit_code();
    if error.use_stderr() {
        let _ = write!(std::io::stderr().lock(), "{text}");
    } else {
        let _ = write!(std::io::stdout().lock(), "{text}");
    }
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}

/// The scenario at `args.file` (`-`: standard input).
fn load(args: &FileArgs) -> Result<scenario::Scenario, String> {
    let text = read_text(&args.file)?;
    scenario::parse(&text, args.seed).map_err(|e| format!("{}: {e}", args.file))
}

/// The text of the file at `path` (`-`: standard input).
fn read_text(path: &str) -> Result<String, String> {
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    read.map_err(|e| format!("cannot read {path}: {e}"))?;
    String::from_utf8(bytes).map_err(|e| format!("{path}: $: not UTF-8 text ({e})"))
}

fn run(
    args: &FileArgs,
    human: bool,
    strict: bool,
    inputs: bool,
    oracles: bool,
) -> Result<ExitCode, String> {
    let text = read_text(&args.file)?;
    let scenario = scenario::parse(&text, args.seed).map_err(|e| format!("{}: {e}", args.file))?;
    let inputs = match inputs {
        true => Some(
            switchboard::research::replay::inputs_line(&text, strict)
                .map_err(|e| format!("{}: {e}", args.file))?,
        ),
        false => None,
    };
    // The trace streams to stdout as the run goes: memory does not grow with
    // it. A reader that closes the pipe early ends the output quietly.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut open = true;
    let recording = inputs.is_some();
    if let Some(line) = inputs {
        open = writeln!(out, "{line}").is_ok();
    }
    let options = RunOptions {
        strict,
        oracles,
        ..Default::default()
    };
    let report = {
        let each = |line: &str| {
            if !open {
                return;
            }
            let written = if human {
                writeln!(out, "{}", switchboard::sim::trace::render_line(line))
            } else {
                writeln!(out, "{line}")
            };
            open = written.is_ok();
        };
        if recording {
            scenario::run_recording_inputs(&scenario, options, each)
        } else {
            scenario::run_with(&scenario, options, each)
        }
    };
    if open {
        let _ = out.flush();
    }
    let mut err = std::io::stderr().lock();
    for failure in &report.failures {
        let _ = writeln!(err, "{}: {failure}", args.file);
    }
    if !strict && report.unexpected_refusals > 0 {
        let _ = writeln!(
            err,
            "{}: {} step(s) without an expect were refused (--strict makes that a failure)",
            args.file, report.unexpected_refusals
        );
    }
    if report.failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(
        err,
        "{}: {} failure(s); replay with: {}",
        args.file,
        report.failures.len(),
        switchboard::research::sweep::replay_line(
            &args.file,
            scenario.seed.unwrap_or_default(),
            strict,
            oracles
        )
    );
    Ok(ExitCode::from(1))
}

fn check(args: &FileArgs) -> Result<ExitCode, String> {
    let scenario = load(args)?;
    let first = scenario::run(&scenario);
    let second = scenario::run(&scenario);
    let mut out = std::io::stdout().lock();
    match scenario::first_divergence(&first.lines, &second.lines) {
        None => {
            let _ = writeln!(
                out,
                "identical: {} lines, digest {} (seed {})",
                first.lines.len(),
                first.digest,
                scenario.seed.unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(i) => {
            let line = |r: &scenario::RunReport| {
                r.lines
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| "<end of trace>".into())
            };
            let _ = writeln!(
                out,
                "diverged at line {}:\n  first:  {}\n  second: {}",
                i + 1,
                line(&first),
                line(&second)
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn profile_show(name: &str) -> Result<ExitCode, String> {
    let profile = Profile::named(name).ok_or_else(|| {
        format!(
            "unknown profile {} (this build knows: {})",
            scenario::quote(name),
            PROFILE_NAMES.join(", ")
        )
    })?;
    let json = serde_json::to_string_pretty(&profile).map_err(|e| e.to_string())?;
    // A reader that closes the pipe early ends the output quietly.
    let _ = writeln!(std::io::stdout().lock(), "{json}");
    Ok(ExitCode::SUCCESS)
}

fn sweep(
    file: &str,
    seeds: &str,
    jobs: Option<usize>,
    strict: bool,
    json: bool,
) -> Result<ExitCode, String> {
    use switchboard::research::sweep;
    let seeds = sweep::parse_seeds(seeds)?;
    let scenario = load(&FileArgs {
        file: file.to_string(),
        seed: None,
    })?;
    let jobs = match jobs {
        Some(0) => return Err("--jobs: at least 1".to_string()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let mut progress = sweep::Progress::new(seeds.len() as u64);
    let runs = sweep::sweep(&scenario, &seeds, jobs, strict, |run| progress.done(run));
    progress.finish();
    let summary = sweep::summarize(file, &runs, strict);
    let text = if json {
        serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())? + "\n"
    } else {
        summary.table()
    };
    let _ = write!(std::io::stdout().lock(), "{text}");
    Ok(if summary.failing_runs == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn stats(args: &SourceArgs, json: bool) -> Result<ExitCode, String> {
    use switchboard::research::{Source, stats::Stats};
    let source = Source::open(&args.file, args.seed)?;
    let mut stats = Stats::new();
    source.for_each_line(|line| stats.add_line(line))?;
    if stats.bad_lines() > 0 {
        eprintln!(
            "switchboard: {}: {} line(s) were not trace lines and were skipped",
            args.file,
            stats.bad_lines()
        );
    }
    let report = stats.report();
    let text = if json {
        serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n"
    } else {
        report.table()
    };
    let _ = write!(std::io::stdout().lock(), "{text}");
    Ok(ExitCode::SUCCESS)
}

fn diff(
    a: &str,
    b: &str,
    seed_a: Option<u64>,
    seed_b: Option<u64>,
    context: usize,
    json: bool,
) -> Result<ExitCode, String> {
    use switchboard::research::{Source, diff};
    if a == "-" && b == "-" {
        return Err("diff: only one side can read standard input".to_string());
    }
    let (first, second) = (Source::open(a, seed_a)?, Source::open(b, seed_b)?);
    let result = diff::diff(first.into_lines(), second.into_lines(), context)?;
    let text = if json {
        serde_json::to_string_pretty(&result).map_err(|e| e.to_string())? + "\n"
    } else {
        let label = |name: &str, seed: Option<u64>| match seed {
            Some(seed) => format!("{name} --seed {seed}"),
            None => name.to_string(),
        };
        result.text(&label(a, seed_a), &label(b, seed_b))
    };
    let _ = write!(std::io::stdout().lock(), "{text}");
    Ok(if result.divergence.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn plot(args: &SourceArgs, output: &std::path::Path, kind: PlotKind) -> Result<ExitCode, String> {
    use switchboard::research::{Source, plot, stats::Stats};
    let source = Source::open(&args.file, args.seed)?;
    let title = match &source {
        Source::Scenario { scenario, .. } => scenario.name.clone(),
        Source::Trace { .. } => None,
    }
    .unwrap_or_else(|| args.file.clone());
    let mut stats = Stats::with_timeline();
    source.for_each_line(|line| stats.add_line(line))?;
    let svg = match (kind, stats.timeline()) {
        (PlotKind::Latency, _) => plot::latency_svg(&stats.latencies(), &title)?,
        (PlotKind::Timeline, Some(timeline)) => plot::timeline_svg(timeline, &title)?,
        (PlotKind::Timeline, None) => return Err("no timeline was kept".to_string()),
    };
    std::fs::write(output, svg).map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    let _ = writeln!(std::io::stdout().lock(), "wrote {}", output.display());
    Ok(ExitCode::SUCCESS)
}

fn replay(trace: &str) -> Result<ExitCode, String> {
    use switchboard::research::{Source, replay};
    let source = Source::open(trace, None)?;
    if matches!(source, Source::Scenario { .. }) {
        return Err(format!("{trace} is a scenario file: replay takes a trace"));
    }
    let replayed = replay::replay(source.into_lines()).map_err(|e| format!("{trace}: {e}"))?;
    let mut out = std::io::stdout().lock();
    let seed = replayed.seed.map_or(String::new(), |s| {
        format!(" (recorded under seed {s}; replayed without it)")
    });
    match &replayed.diff.divergence {
        None => {
            let _ = writeln!(
                out,
                "replayed: all {} lines match{seed}",
                replayed.diff.lines_a
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(_) => {
            let _ = write!(out, "{}", replayed.diff.text("recorded", "replayed"));
            Ok(ExitCode::from(1))
        }
    }
}

fn shrink(
    args: &FileArgs,
    output: Option<PathBuf>,
    strict: bool,
    max_runs: u64,
) -> Result<ExitCode, String> {
    use switchboard::research::shrink;
    let text = read_text(&args.file)?;
    let shrunk = shrink::shrink(&text, args.seed, strict, max_runs)
        .map_err(|e| format!("{}: {e}", args.file))?;
    let output = output.unwrap_or_else(|| {
        let stem = args.file.strip_suffix(".json").unwrap_or(&args.file);
        let stem = if stem == "-" { "stdin" } else { stem };
        PathBuf::from(format!("{stem}.shrunk.json"))
    });
    std::fs::write(&output, &shrunk.file)
        .map_err(|e| format!("cannot write {}: {e}", output.display()))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "kept failure: {}", shrunk.signature);
    let _ = writeln!(
        out,
        "steps: {} -> {} ({} candidate runs)",
        shrunk.steps.0, shrunk.steps.1, shrunk.runs
    );
    for (field, from, to) in &shrunk.workload {
        let _ = writeln!(out, "workload.{field}: {from} -> {to}");
    }
    let seed: Option<u64> = serde_json::from_str::<serde_json::Value>(&shrunk.file)
        .ok()
        .and_then(|v| v["seed"].as_u64());
    // Shrinking ran the oracles (as every sweep and shrink run does).
    let _ = writeln!(
        out,
        "wrote {}; replay: {}",
        output.display(),
        switchboard::research::sweep::replay_line(
            &output.display().to_string(),
            seed.unwrap_or_default(),
            strict,
            true
        )
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "server")]
fn serve(args: ServeArgs) -> Result<ExitCode, String> {
    use switchboard::server::{Config, run};
    use switchboard::wire::calendar::Epoch;
    let epoch = match &args.epoch {
        Some(text) => Epoch::parse(text).map_err(|e| format!("--epoch: {e}"))?,
        None => Epoch::default(),
    };
    let config = Config {
        profile: args.profile,
        seed: args.seed,
        listen: args.listen,
        tls: args.tls,
        epoch,
        state_dir: args.state_dir,
        record: args.record,
        signals: true,
    };
    run(config)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "server"))]
fn serve(_args: ServeArgs) -> Result<ExitCode, String> {
    Err("this build has no server mode (build with the `server` feature)".to_string())
}
