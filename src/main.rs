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
    /// ACS: chat, identity, SMS, and the control plane /_switchboard/... on
    /// ADDR (default 127.0.0.1:0, a free loopback port). Once it listens it
    /// prints one JSON line on stdout: the URL, the profile, the seed and the
    /// credentials (with --tls also the CA certificate, written to
    /// DIR/ca.pem). It stops with exit status 0 on SIGINT, SIGTERM or POST
    /// /_switchboard/shutdown; with --record FILE it then writes the session
    /// as a scenario file that `switchboard run` replays.
    Serve(ServeArgs),
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
    /// The platform profile to serve.
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
            oracles,
        } => run(&file, human, strict, oracles),
        Command::Check { file } => check(&file),
        Command::Profile {
            command: ProfileCommand::Show { name },
        } => profile_show(&name),
        Command::Serve(args) => serve(args),
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
    let mut bytes = Vec::new();
    let read = if args.file == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes).map(drop)
    } else {
        std::fs::read(&args.file).map(|b| bytes = b)
    };
    read.map_err(|e| format!("cannot read {}: {e}", args.file))?;
    let text =
        String::from_utf8(bytes).map_err(|e| format!("{}: $: not UTF-8 text ({e})", args.file))?;
    scenario::parse(&text, args.seed).map_err(|e| format!("{}: {e}", args.file))
}

fn run(args: &FileArgs, human: bool, strict: bool, oracles: bool) -> Result<ExitCode, String> {
    let scenario = load(args)?;
    // The trace streams to stdout as the run goes: memory does not grow with
    // it. A reader that closes the pipe early ends the output quietly.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut open = true;
    let report = scenario::run_with(&scenario, RunOptions { strict, oracles }, |line| {
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
    let mut flags = if strict { " --strict" } else { "" }.to_string();
    if oracles {
        flags.push_str(" --oracles");
    }
    let _ = writeln!(
        err,
        "{}: {} failure(s); replay with: switchboard run {}{flags} --seed {}",
        args.file,
        report.failures.len(),
        args.file,
        scenario.seed.unwrap_or_default()
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
