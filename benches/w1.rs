//! W1: the reference workload of `bench/WORKLOAD.md`, seed 1, digest on, trace
//! lines not kept: chat and SMS participants, carrier delivery events.
//!
//! 200 chat identities; 1,000 live threads of 40 chat participants and 10 SMS
//! participants each (fresh numbers, one shared proxy number), every thread
//! deleted 7 days after its creation (the first thousand at uniform instants in the
//! first 7 days) and replaced at once by a fresh one; about 1,000,000 send attempts
//! over 30 virtual days as Poisson arrivals, 0.2 % of them opening a burst of 80
//! sends 100 ms apart; the ACS rate limit throttles about 5 %. Every accepted
//! message is fanned out to the thread's SMS participants (a delivery each,
//! with its segment count) and the carrier delivers each 1 to 5 s later
//! (uniform) as its own report event.
//!
//! The profile is `acs` with non-chat participants allowed (ACS chat has none;
//! W1 models a service that does) and a carrier that always delivers.
//!
//! The arrival rate is set so that the *attempts*, bursts included, total the
//! requested number: one arrival makes on average 1 + 0.002 × 79 = 1.158
//! attempts, so the mean gap is `horizon × 1.158 / sends` (about 0.333 arrivals a
//! second, as WORKLOAD.md states).
//!
//! Every draw comes from the simulator's workload stream, so a run is a pure
//! function of the seed and the options. Only the simulation loop is timed.
//!
//! Options (after `--`): `--participants N` (chat participants per thread, 40),
//! `--users N` (200), `--threads N` (1000), `--sends N` (1,000,000 × days / 30),
//! `--days D` (30), `--seed S` (1), `--forks N` (101), `--sms N` (SMS
//! participants per thread, 10; 0 is W1-chat).

#![allow(clippy::disallowed_methods)] // wall-clock timing is the point of a bench

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant as WallClock;
use switchboard::core::ChatCall;

use serde_json::json;
use switchboard::core::{BindingSpec, ContentType, ParticipantSpec};
use switchboard::profile::NonChatRules;
use switchboard::rules::{Channel, sms_info};
use switchboard::sim::{Stream, Subsystem};
use switchboard::time::{Duration, Instant};
use switchboard::{Command, Profile, Reply};
use switchboard::{Simulator, ThreadId, UserId};

const DAY_MS: u64 = 86_400_000;
const PROXY: &str = "+18005550100";
const RETENTION_MS: u64 = 7 * DAY_MS;
const BODIES: usize = 1_000;
const BODY_CHARS_MAX: u64 = 300;
/// Bursts: an arrival opens one with probability 2/1000; it is `BURST_SENDS`
/// sends, `BURST_GAP_MS` apart.
const BURST_NUM: u64 = 2;
const BURST_DEN: u64 = 1_000;
const BURST_SENDS: u32 = 80;
const BURST_GAP_MS: u64 = 100;

const GSM7_EXTENSION: &[char] = &['^', '{', '}', '\\', '[', '~', ']', '|', '€'];
const GSM7_ACCENTED: &[char] = &[
    'é', 'è', 'ù', 'ì', 'ò', 'Ç', 'Ø', 'ø', 'Å', 'å', 'Ä', 'Ö', 'Ñ', 'Ü', '§', 'ä', 'ö', 'ñ', 'ü',
    'à',
];
const ASCII: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?";
const EMOJI: &[char] = &['😀', '👍', '🎉', '❤', '🚀', '😂', '🙏', '🔥'];

#[derive(Clone, Debug)]
struct Options {
    participants: usize,
    users: usize,
    threads: usize,
    sends: u64,
    days: u64,
    seed: u64,
    forks: usize,
    sms: usize,
}

impl Options {
    fn parse() -> Options {
        let mut o = Options {
            participants: 40,
            users: 200,
            threads: 1_000,
            sends: 0,
            days: 30,
            seed: 1,
            forks: 101,
            sms: 10,
        };
        let mut sends = None;
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = |name: &str| -> u64 {
                args.next()
                    .and_then(|v| v.replace('_', "").parse().ok())
                    .unwrap_or_else(|| panic!("{name} takes a whole number"))
            };
            match arg.as_str() {
                "--participants" => o.participants = value("--participants") as usize,
                "--users" => o.users = value("--users") as usize,
                "--threads" => o.threads = value("--threads") as usize,
                "--sends" => sends = Some(value("--sends")),
                "--days" => o.days = value("--days"),
                "--seed" => o.seed = value("--seed"),
                "--forks" => o.forks = value("--forks") as usize,
                "--sms" => o.sms = value("--sms") as usize,
                // cargo bench passes `--bench` to harness-less targets.
                "--bench" => {}
                other => panic!("unknown option {other:?}"),
            }
        }
        o.sends = sends.unwrap_or(1_000_000 * o.days / 30);
        assert!(
            (2..=o.users).contains(&o.participants),
            "--participants must be in 2..=users"
        );
        assert!(o.threads > 0 && o.sends > 0 && o.days > 0);
        o
    }

    fn horizon(&self) -> Instant {
        Instant(self.days * DAY_MS)
    }

    /// Mean gap between arrivals so that attempts, bursts included, total `sends`.
    fn mean_gap_ms(&self) -> u64 {
        let per_arrival_milli = BURST_DEN + BURST_NUM * u64::from(BURST_SENDS - 1); // 1158
        let gap = u128::from(self.horizon().ms()) * u128::from(per_arrival_milli)
            / (u128::from(BURST_DEN) * u128::from(self.sends));
        (gap as u64).max(1)
    }
}

/// A burst's next send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct BurstSend {
    at: Instant,
    /// Ties at one instant go in the order the bursts began.
    order: u64,
    thread: ThreadId,
    sender: UserId,
    body: u32,
    remaining: u32,
}

#[derive(Clone, Debug, Default)]
struct Totals {
    attempts: u64,
    accepted: u64,
    throttled: u64,
    other_errors: u64,
    deliveries: u64,
    sms_deliveries: u64,
    sms_segments: u64,
    bursts: u64,
    created: u64,
    deleted: u64,
}

/// The workload's own state beside the simulator's: which thread is in each
/// slot, when each slot's thread expires, the next arrival and the bursts under
/// way. Cloned along with a forked simulator.
#[derive(Clone, Debug)]
struct Workload {
    users: Vec<UserId>,
    bodies: Arc<Vec<Arc<str>>>,
    /// Each body's SMS segment count (cached: the bodies are fixed).
    segments: Arc<Vec<u32>>,
    participants: usize,
    sms: usize,
    next_number: u64,
    mean_gap_ms: u64,
    /// The live thread of each slot.
    threads: Vec<ThreadId>,
    /// Its participants, `participants` per slot side by side (one cache miss
    /// per draw); the first of each slot is the creator.
    members: Vec<UserId>,
    /// (deletion instant, slot)
    expiries: BinaryHeap<Reverse<(Instant, usize)>>,
    bursts: BinaryHeap<Reverse<BurstSend>>,
    next_arrival: Instant,
    burst_order: u64,
    generation: u64,
    totals: Totals,
}

fn draw_body(rng: &mut Stream) -> Arc<str> {
    let len = rng.between(1, BODY_CHARS_MAX);
    let mut body = String::with_capacity(len as usize * 2 + 4);
    for _ in 0..len {
        let c = match rng.below(100) {
            0 => GSM7_EXTENSION[rng.below(GSM7_EXTENSION.len() as u64) as usize],
            1 | 2 => GSM7_ACCENTED[rng.below(GSM7_ACCENTED.len() as u64) as usize],
            _ => char::from(ASCII[rng.below(ASCII.len() as u64) as usize]),
        };
        body.push(c);
    }
    if rng.chance(1, 10) {
        body.push(EMOJI[rng.below(EMOJI.len() as u64) as usize]);
    }
    Arc::from(body)
}

/// `k` users sampled uniformly without replacement (a partial Fisher-Yates).
fn sample_users(rng: &mut Stream, users: &[UserId], k: usize) -> Vec<UserId> {
    let mut pool = users.to_vec();
    for i in 0..k {
        let j = i + rng.below((pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    pool.truncate(k);
    pool
}

impl Workload {
    /// Creates the identities and draws the bodies (setup, not timed).
    fn setup(sim: &mut Simulator, o: &Options) -> Workload {
        let users: Vec<UserId> = (0..o.users)
            .map(|i| {
                sim.create_user(&format!("u{i:03}"))
                    .expect("fresh identity")
            })
            .collect();
        let rng = sim.stream(Subsystem::Workload);
        let bodies: Vec<Arc<str>> = (0..BODIES).map(|_| draw_body(rng)).collect();
        let segments = bodies.iter().map(|b| sms_info(b).segments).collect();
        Workload {
            users,
            bodies: Arc::new(bodies),
            segments: Arc::new(segments),
            participants: o.participants,
            sms: o.sms,
            next_number: 0,
            mean_gap_ms: o.mean_gap_ms(),
            threads: Vec::with_capacity(o.threads),
            members: Vec::with_capacity(o.threads * o.participants),
            expiries: BinaryHeap::with_capacity(o.threads),
            bursts: BinaryHeap::new(),
            next_arrival: Instant::ZERO,
            burst_order: 0,
            generation: 0,
            totals: Totals::default(),
        }
    }

    /// Creates the first thread of every slot at time zero, each expiring at a
    /// uniform instant in (0, 7d], and draws the first arrival.
    fn open(&mut self, sim: &mut Simulator, threads: usize) {
        for slot in 0..threads {
            self.threads.push(ThreadId(0));
            self.members
                .extend(std::iter::repeat_n(UserId(0), self.participants));
            self.new_thread(sim, slot);
            let expiry = sim.stream(Subsystem::Workload).between(1, RETENTION_MS);
            self.expiries.push(Reverse((Instant(expiry), slot)));
        }
        let gap = sim
            .stream(Subsystem::Workload)
            .exponential_ms(self.mean_gap_ms);
        self.next_arrival = sim.now().after(Duration(gap));
    }

    /// The participants of `slot`'s thread.
    fn members_of(&mut self, slot: usize) -> &mut [UserId] {
        let p = self.participants;
        &mut self.members[slot * p..(slot + 1) * p]
    }

    /// Creates a new thread with fresh participants in `slot`.
    fn new_thread(&mut self, sim: &mut Simulator, slot: usize) {
        let sample = sample_users(
            sim.stream(Subsystem::Workload),
            &self.users,
            self.participants,
        );
        self.generation += 1;
        let topic = format!("w1 slot {slot} #{}", self.generation);
        let participants: Vec<ParticipantSpec> = sample[1..]
            .iter()
            .map(|u| ParticipantSpec::user(sim.state().user(*u).expect("user").id.clone()))
            .collect();
        let bindings: Vec<BindingSpec> = (0..self.sms)
            .map(|_| {
                self.next_number += 1;
                BindingSpec {
                    channel: Channel::Sms,
                    address: Arc::from(format!("+1425{:07}", self.next_number).as_str()),
                    proxy: Arc::from(PROXY),
                }
            })
            .collect();
        let command = if bindings.is_empty() {
            Command::Chat(ChatCall::CreateThread {
                topic: Arc::from(topic.as_str()),
                participants,
                idempotency_key: None,
                bindings: vec![],
                options: Default::default(),
            })
        } else {
            Command::Chat(ChatCall::CreateThread {
                topic: Arc::from(topic.as_str()),
                participants,
                bindings,
                idempotency_key: None,
                options: Default::default(),
            })
        };
        let Ok(Reply::ThreadCreated { thread, .. }) = sim.execute(Some(sample[0]), &command) else {
            panic!("thread creation is within every limit");
        };
        let id = thread.id;
        self.totals.created += 1;
        self.threads[slot] = id;
        self.members_of(slot).copy_from_slice(&sample);
    }

    fn send(&mut self, sim: &mut Simulator, thread: ThreadId, sender: UserId, body: u32) {
        let segments = self.segments[body as usize];
        let body = self.bodies[body as usize].clone();
        self.totals.attempts += 1;
        match sim.client(sender).send(thread, body, ContentType::Text) {
            Ok(_) => {
                self.totals.accepted += 1;
                self.totals.deliveries += self.participants as u64 - 1;
                self.totals.sms_deliveries += self.sms as u64;
                self.totals.sms_segments += self.sms as u64 * u64::from(segments);
            }
            Err(e) if e.status() == 429 => self.totals.throttled += 1,
            Err(_) => self.totals.other_errors += 1,
        }
    }

    /// Runs the workload up to and including `until`. Within one instant:
    /// expiries, then burst continuations, then the new arrival.
    fn run(&mut self, sim: &mut Simulator, until: Instant) {
        loop {
            let expiry = self.expiries.peek().map_or(Instant(u64::MAX), |e| e.0.0);
            let burst = self.bursts.peek().map_or(Instant(u64::MAX), |b| b.0.at);
            let arrival = self.next_arrival;
            let next = expiry.min(burst).min(arrival);
            if next > until {
                break;
            }
            sim.run_until(next);
            if expiry == next {
                let Reverse((_, slot)) = self.expiries.pop().expect("peeked");
                let creator = self.members_of(slot)[0];
                sim.client(creator)
                    .delete_thread(self.threads[slot])
                    .expect("the creator may delete its live thread");
                self.totals.deleted += 1;
                self.new_thread(sim, slot);
                self.expiries
                    .push(Reverse((next.after(Duration(RETENTION_MS)), slot)));
            } else if burst == next {
                let Reverse(b) = self.bursts.pop().expect("peeked");
                self.send(sim, b.thread, b.sender, b.body);
                if b.remaining > 1 {
                    self.bursts.push(Reverse(BurstSend {
                        at: next.after(Duration(BURST_GAP_MS)),
                        remaining: b.remaining - 1,
                        ..b
                    }));
                }
            } else {
                self.arrive(sim, next);
            }
        }
        sim.run_until(until);
    }

    fn arrive(&mut self, sim: &mut Simulator, now: Instant) {
        let rng = sim.stream(Subsystem::Workload);
        let slot = rng.below(self.threads.len() as u64) as usize;
        let sender =
            self.members[slot * self.participants + rng.below(self.participants as u64) as usize];
        let thread = self.threads[slot];
        let body = rng.below(self.bodies.len() as u64) as u32;
        let burst = rng.chance(BURST_NUM, BURST_DEN);
        let gap = rng.exponential_ms(self.mean_gap_ms);
        self.next_arrival = now.after(Duration(gap.max(1)));
        if burst {
            self.totals.bursts += 1;
            self.bursts.push(Reverse(BurstSend {
                at: now.after(Duration(BURST_GAP_MS)),
                order: self.burst_order,
                thread,
                sender,
                body,
                remaining: BURST_SENDS - 1,
            }));
            self.burst_order += 1;
        }
        self.send(sim, thread, sender, body);
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

fn main() {
    let o = Options::parse();
    let setup_start = WallClock::now();
    // ACS with SMS participants allowed (up to 50 a thread, under Twilio's
    // channel rules) and a carrier that delivers every SMS 1 to 5 s later,
    // reporting only the final status.
    let non_chat = NonChatRules {
        participants_max: 50,
        ..Profile::twilio()
            .non_chat
            .expect("twilio takes SMS participants")
    };
    let profile = Profile::with_overrides(
        &Profile::acs(),
        &json!({
            "non_chat": non_chat,
            "carriers": {
                "sms": {"sent_receipt": false, "sent_ms_min": 0, "sent_ms_max": 0,
                        "final_ms_min": 1000, "final_ms_max": 5000,
                        "failed_ppm": 0, "undelivered_ppm": 0, "read_ppm": 0,
                        "read_ms_min": 0, "read_ms_max": 0,
                        "delivered_code": 2000, "failed_code": 5000, "undelivered_code": 4006},
                "whatsapp": {"sent_receipt": false, "sent_ms_min": 0, "sent_ms_max": 0,
                        "final_ms_min": 1000, "final_ms_max": 5000,
                        "failed_ppm": 0, "undelivered_ppm": 0, "read_ppm": 0,
                        "read_ms_min": 0, "read_ms_max": 0,
                        "delivered_code": 2000, "failed_code": 5000, "undelivered_code": 4006}
            }
        }),
    )
    .expect("valid W1 profile");
    let mut sim = Simulator::builder()
        .seed(o.seed)
        .profile(profile)
        .keep_trace(false)
        .build();
    let mut w = Workload::setup(&mut sim, &o);
    w.open(&mut sim, o.threads);
    let setup_s = setup_start.elapsed().as_secs_f64();

    let cpu_start = thread_cpu_s();
    let start = WallClock::now();
    w.run(&mut sim, o.horizon());
    let loop_s = start.elapsed().as_secs_f64();
    let loop_cpu_s = thread_cpu_s() - cpu_start;

    let t = w.totals.clone();
    let digest = sim.digest();
    let peak_kib = status_kib("VmHWM");
    let throttled_pct = 100.0 * t.throttled as f64 / t.attempts.max(1) as f64;
    println!(
        "W1: seed {}, {} days, {} users, {} threads x ({} chat + {} SMS participants), {} sends requested (mean gap {} ms)",
        o.seed,
        o.days,
        o.users,
        o.threads,
        o.participants,
        o.sms,
        o.sends,
        o.mean_gap_ms()
    );
    println!("sends attempted   {:>12}", t.attempts);
    println!("  accepted        {:>12}", t.accepted);
    println!(
        "  throttled (429) {:>12}  ({throttled_pct:.2} %)",
        t.throttled
    );
    println!("  other errors    {:>12}", t.other_errors);
    println!("bursts            {:>12}", t.bursts);
    println!("chat deliveries   {:>12}", t.deliveries);
    println!("SMS deliveries    {:>12}", t.sms_deliveries);
    println!(
        "segments per SMS  {:>12.3}",
        t.sms_segments as f64 / t.sms_deliveries.max(1) as f64
    );
    println!("threads created   {:>12}", t.created);
    println!("threads deleted   {:>12}", t.deleted);
    println!("trace lines       {:>12}", sim.trace().len());
    println!("setup             {setup_s:>12.3} s");
    println!("loop              {loop_s:>12.3} s (CPU {loop_cpu_s:.2} s)");
    println!("sends/s           {:>12.0}", t.attempts as f64 / loop_s);
    println!("deliveries/s      {:>12.0}", t.deliveries as f64 / loop_s);
    println!(
        "SMS deliveries/s  {:>12.0}",
        t.sms_deliveries as f64 / loop_s
    );
    println!("digest            {digest:>12}");
    println!("peak RSS (VmHWM)  {:>12.1} MiB", mib(peak_kib));

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

    // One more virtual day on a fork, the original kept alive beside it.
    let rss_before = status_kib("VmRSS");
    let mut fork = sim.fork();
    let mut fw = w.clone();
    let fork_start = WallClock::now();
    fw.run(&mut fork, o.horizon().after(Duration(DAY_MS)));
    let fork_day_s = fork_start.elapsed().as_secs_f64();
    let rss_after = status_kib("VmRSS");
    let growth_kib = rss_after.saturating_sub(rss_before);
    let fork_sends = fw.totals.attempts - t.attempts;
    println!(
        "fork              {fork_median_us:>12.2} us (median of {})",
        fork_us.len()
    );
    println!(
        "fork + 1 day      {:>12.1} MiB RSS growth ({:.1} -> {:.1} MiB; {} sends in {:.3} s)",
        mib(growth_kib),
        mib(rss_before),
        mib(rss_after),
        fork_sends,
        fork_day_s
    );
    println!(
        "RESULT bench=w1 seed={} days={} users={} threads={} participants={} sms={} sms_deliveries={} segments_per_sms={:.3} trace_lines={} attempts={} accepted={} throttled={} throttled_pct={throttled_pct:.3} other_errors={} deliveries={} created={} deleted={} loop_s={loop_s:.4} loop_cpu_s={loop_cpu_s:.2} sends_per_s={:.0} deliveries_per_s={:.0} digest={digest} peak_rss_mib={:.1} fork_us={fork_median_us:.2} fork_day_growth_mib={:.1} fork_day_s={fork_day_s:.3}",
        o.seed,
        o.days,
        o.users,
        o.threads,
        o.participants,
        o.sms,
        t.sms_deliveries,
        t.sms_segments as f64 / t.sms_deliveries.max(1) as f64,
        sim.trace().len(),
        t.attempts,
        t.accepted,
        t.throttled,
        t.other_errors,
        t.deliveries,
        t.created,
        t.deleted,
        t.attempts as f64 / loop_s,
        t.deliveries as f64 / loop_s,
        mib(peak_kib),
        mib(growth_kib),
    );
    drop(black_box(fork));
}
