//! The `switchboard` command line: run and check scenario files, show
//! profiles, and serve the platforms' REST APIs (`serve`, with the `server`
//! feature).

use std::io::Write;
use std::process::ExitCode;

use switchboard::profile::{PROFILE_NAMES, Profile};
use switchboard::scenario;

const USAGE: &str = "\
switchboard: a deterministic simulator of hosted messaging platforms

Usage:
  switchboard run FILE [--seed N] [--human]   run a scenario, print its trace
  switchboard check FILE [--seed N]           run it twice, compare the traces
  switchboard profile show NAME               print a profile as JSON
  switchboard serve [--profile acs] [--seed N] [--listen ADDR] [--tls]
                    [--epoch RFC3339] [--state-dir DIR] [--record FILE]
                                              serve the platform's REST API
  switchboard COMMAND --help                  help on one command

Exit status: 0 success, 1 a failed expectation or a diverging check,
2 a malformed file or bad usage.";

const RUN_HELP: &str = "\
switchboard run FILE [--seed N] [--human]

Runs the scenario FILE and prints its trace as JSON Lines on stdout: one object
per step outcome and per event, each with at_ms and kind, then a summary line
with the trace digest. --seed N replaces the file's seed. --human prints the
compact one-line-per-event rendering instead of JSON.
Failed expectations go to stderr with their step index; the exit status is then
1. A malformed file is reported with the JSON path of the problem, exit 2.";

const CHECK_HELP: &str = "\
switchboard check FILE [--seed N]

Runs the scenario twice and compares the traces byte for byte. Prints that the
digests match, or the first diverging line of each run (exit 1).";

const SERVE_HELP: &str = "\
switchboard serve [--profile acs] [--seed N] [--listen ADDR] [--tls]
                  [--epoch RFC3339] [--state-dir DIR] [--record FILE]

Serves the simulator behind the platform's own REST API (ACS: chat,
identity, SMS) and the control plane /_switchboard/... on ADDR (default
127.0.0.1:0, a free loopback port). Once it listens it prints one JSON line on
stdout: the URL, the profile, the seed and the credentials (with --tls also the
CA certificate, written to DIR/ca.pem). --epoch is the calendar time of virtual
instant 0 (default 2026-01-01T00:00:00Z). It stops with exit status 0 on
SIGINT, SIGTERM or POST /_switchboard/shutdown; with --record FILE it then
writes the session as a scenario file that `switchboard run` replays.";

const PROFILE_HELP: &str = "\
switchboard profile show NAME

Prints the named platform profile (its limits, rate limits and rules) as JSON.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("switchboard: {message}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(args: &[String]) -> Result<ExitCode, String> {
    let Some(command) = args.first() else {
        println!("{USAGE}");
        return Ok(ExitCode::from(2));
    };
    let rest = &args[1..];
    let wants_help = rest.iter().any(|a| a == "--help" || a == "-h");
    match command.as_str() {
        "--help" | "-h" | "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "run" if wants_help => help(RUN_HELP),
        "check" if wants_help => help(CHECK_HELP),
        "profile" if wants_help => help(PROFILE_HELP),
        "serve" if wants_help => help(SERVE_HELP),
        "serve" => serve(rest),
        "run" => run(rest),
        "check" => check(rest),
        "profile" => profile(rest),
        other => Err(format!(
            "unknown command {}\n\n{USAGE}",
            scenario::quote(other)
        )),
    }
}

fn help(text: &str) -> Result<ExitCode, String> {
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// FILE, --seed N and flags from `allowed`.
struct Options {
    file: String,
    seed: Option<u64>,
    flags: Vec<String>,
}

fn options(args: &[String], allowed: &[&str]) -> Result<Options, String> {
    let mut file = None;
    let mut seed = None;
    let mut flags = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        if arg == "--seed" {
            if seed.is_some() {
                return Err("--seed is given twice".to_string());
            }
            let value = args.get(i + 1).ok_or("--seed needs a value")?;
            seed = Some(value.parse::<u64>().map_err(|_| {
                format!(
                    "--seed {} is not an unsigned 64-bit integer",
                    scenario::quote(value)
                )
            })?);
            i += 2;
            continue;
        }
        if allowed.contains(&arg.as_str()) {
            flags.push(arg.clone());
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {}", scenario::quote(arg)));
        } else if file.is_none() {
            file = Some(arg.clone());
        } else {
            return Err(format!("unexpected argument {}", scenario::quote(arg)));
        }
        i += 1;
    }
    Ok(Options {
        file: file.ok_or("missing FILE")?,
        seed,
        flags,
    })
}

fn load(options: &Options) -> Result<scenario::Scenario, String> {
    let bytes =
        std::fs::read(&options.file).map_err(|e| format!("cannot read {}: {e}", options.file))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| format!("{}: $: not UTF-8 text ({e})", options.file))?;
    scenario::parse(&text, options.seed).map_err(|e| format!("{}: {e}", options.file))
}

fn run(args: &[String]) -> Result<ExitCode, String> {
    let options = options(args, &["--human"])?;
    let scenario = load(&options)?;
    let human = options.flags.iter().any(|f| f == "--human");
    // The trace streams to stdout as the run goes: memory does not grow with
    // it. A reader that closes the pipe early ends the output quietly.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut open = true;
    let report = scenario::run_with(&scenario, |line| {
        if !open {
            return;
        }
        let written = if human {
            writeln!(out, "{}", switchboard::sim::trace::render_line(line))
        } else {
            writeln!(out, "{line}")
        };
        open = written.is_ok();
    });
    if open {
        let _ = out.flush();
    }
    for failure in &report.failures {
        eprintln!("{}: {failure}", options.file);
    }
    if report.failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "{}: {} expectation(s) failed; replay with: switchboard run {} --seed {}",
            options.file,
            report.failures.len(),
            options.file,
            scenario.seed.unwrap_or_default()
        );
        Ok(ExitCode::from(1))
    }
}

fn check(args: &[String]) -> Result<ExitCode, String> {
    let options = options(args, &[])?;
    let scenario = load(&options)?;
    let first = scenario::run(&scenario);
    let second = scenario::run(&scenario);
    match scenario::first_divergence(&first.lines, &second.lines) {
        None => {
            println!(
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
            println!(
                "diverged at line {}:\n  first:  {}\n  second: {}",
                i + 1,
                line(&first),
                line(&second)
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn profile(args: &[String]) -> Result<ExitCode, String> {
    match args {
        [show, name] if show == "show" => {
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
        _ => Err(format!("usage: {PROFILE_HELP}")),
    }
}

#[cfg(feature = "server")]
fn serve(args: &[String]) -> Result<ExitCode, String> {
    use switchboard::server::{Config, run};
    use switchboard::wire::calendar::Epoch;
    let mut config = Config {
        signals: true,
        ..Config::default()
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--tls" {
            config.tls = true;
            i += 1;
            continue;
        }
        let value = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag} needs a value"))?;
        match flag {
            "--profile" => config.profile = value.clone(),
            "--seed" => {
                config.seed = value
                    .parse()
                    .map_err(|_| format!("--seed {value:?} is not an unsigned 64-bit integer"))?
            }
            "--listen" => {
                config.listen = value.parse().map_err(|_| {
                    format!("--listen {value:?} is not an address such as 127.0.0.1:8443")
                })?
            }
            "--epoch" => config.epoch = Epoch::parse(value).map_err(|e| format!("--epoch: {e}"))?,
            "--state-dir" => config.state_dir = Some(value.into()),
            "--record" => config.record = Some(value.into()),
            other => return Err(format!("unknown option {other:?}\n\n{SERVE_HELP}")),
        }
        i += 2;
    }
    run(config)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "server"))]
fn serve(_args: &[String]) -> Result<ExitCode, String> {
    Err("this build has no server mode (build with the `server` feature)".to_string())
}
