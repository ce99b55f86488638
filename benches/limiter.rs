//! The cost of one rate-limit check (and the count that follows an
//! admission) with 1 million keys live, against 1 thousand for the ratio.
//!
//! The limiter runs as the core runs it: `limit::decide` over an
//! `imbl::OrdMap` of each user's windows, then `limit::count` on admission.
//! The profile has Sendbird's shape for one SDK method: a per-second and a
//! per-minute window per user, so a check reads two windows (of one entry). Calls come from users drawn
//! uniformly from a seeded stream, 20 ms of virtual time apart.
//!
//! Run: `cargo bench --bench limiter` (options: `--keys N`, `--calls N`,
//! `--batches N`). Prints one `RESULT` line per key count.

#![allow(clippy::disallowed_methods)] // wall-clock timing is the point of a bench

use std::time::Instant as Clock;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};
use std::collections::BTreeMap;

use switchboard::core::limit::{self, Subject, WindowKey, Windows};
use switchboard::profile::{Operation, Profile, RateLimit, Scope};
use switchboard::{Instant, UserId};

fn profile() -> Profile {
    let mut profile = Profile::sendbird();
    profile.rate_limits = vec![
        RateLimit::new(&[Operation::GetThread], Scope::User, 1_000, 20),
        RateLimit::new(&[Operation::GetThread], Scope::User, 60_000, 120),
    ];
    profile
}

struct Run {
    windows: imbl::OrdMap<WindowKey, Windows>,
    profile: Profile,
    /// The limits of the one operation called, as the state keeps them.
    applying: limit::Applying,
    rng: ChaCha20Rng,
    now: u64,
    keys: u32,
    admitted: u64,
    throttled: u64,
}

impl Run {
    fn new(keys: u32) -> Run {
        let profile = profile();
        let mut run = Run {
            windows: imbl::OrdMap::new(),
            applying: limit::Index::new(&profile).applying(&profile, Operation::GetThread),
            profile,
            rng: ChaCha20Rng::seed_from_u64(1),
            now: 0,
            keys,
            admitted: 0,
            throttled: 0,
        };
        // Every key has been used: each holds a few counted instants.
        for user in 0..keys {
            for _ in 0..3 {
                run.call(user);
            }
        }
        run
    }

    fn call(&mut self, user: u32) {
        let subject = Subject {
            user: Some(UserId(user)),
            connection: 0,
            sender: None,
        };
        let now = Instant(self.now);
        let no_thread: Option<&BTreeMap<WindowKey, Windows>> = None;
        match limit::decide(
            &self.profile,
            self.applying,
            subject,
            now,
            &self.windows,
            no_thread,
            false,
        ) {
            Ok(verdict) => {
                self.admitted += 1;
                limit::count(
                    &self.profile,
                    &verdict,
                    subject,
                    false,
                    now,
                    &mut self.windows,
                );
            }
            Err(_) => self.throttled += 1,
        }
        self.now += 20;
    }

    /// Nanoseconds per call over `calls` calls from random users.
    fn batch(&mut self, calls: u32) -> f64 {
        let users: Vec<u32> = (0..calls)
            .map(|_| (self.rng.next_u64() % u64::from(self.keys)) as u32)
            .collect();
        let start = Clock::now();
        for user in users {
            self.call(user);
        }
        start.elapsed().as_nanos() as f64 / f64::from(calls)
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn arg(args: &[String], name: &str, default: u32) -> u32 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let big = arg(&args, "--keys", 1_000_000);
    let calls = arg(&args, "--calls", 1_000_000);
    let batches = arg(&args, "--batches", 5);
    let mut medians = Vec::new();
    for keys in [1_000, big] {
        let before = rss_mib();
        let build = Clock::now();
        let mut run = Run::new(keys);
        let build_s = build.elapsed().as_secs_f64();
        let grown = rss_mib() - before;
        let mut per_call: Vec<f64> = (0..batches).map(|_| run.batch(calls)).collect();
        per_call.sort_by(f64::total_cmp);
        let median = per_call[per_call.len() / 2];
        medians.push(median);
        println!(
            "RESULT bench=limiter keys={keys} entries={} calls_per_batch={calls} batches={batches} \
             median_ns_per_check={median:.1} min_ns={:.1} max_ns={:.1} admitted={} throttled={} \
             build_s={build_s:.2} rss_growth_mib={grown:.1}",
            run.windows.len(),
            per_call[0],
            per_call[per_call.len() - 1],
            run.admitted,
            run.throttled,
        );
    }
    println!(
        "RESULT bench=limiter ratio_1m_over_1k={:.2}",
        medians[1] / medians[0]
    );
}
