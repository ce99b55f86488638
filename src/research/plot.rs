//! `switchboard plot`: pictures of a trace as SVG, drawn with `plotters`
//! (its SVG backend only). The timeline shows, over virtual time, traffic per
//! channel (accepted and throttled), deliveries by status, thread deletions
//! and active threads, one panel each with labelled axes; `--kind latency`
//! shows the distribution of delivery latency per channel.
//!
//! The counting is `stats`': a `Timeline` rides along in `Stats` and is told
//! each counted happening with its instant.

use std::collections::BTreeMap;

use plotters::prelude::*;

use super::human_time;

/// What the timeline counts per time slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    /// Chat calls answered 2xx.
    ChatAccepted,
    /// Chat calls answered 429.
    ChatThrottled,
    /// SMS deliveries handed to the carrier.
    SmsQueued,
    /// ACS `send_sms` calls answered 429.
    SmsThrottled,
    /// WhatsApp deliveries handed to the carrier.
    WhatsappQueued,
    /// Final receipts `delivered`.
    Delivered,
    /// Final receipts `undelivered`.
    Undelivered,
    /// Final receipts `failed`, and deliveries refused at once.
    Failed,
    /// `read` receipts.
    Read,
    /// Threads deleted by a call.
    DeletedByApi,
    /// Threads deleted by their retention policy.
    DeletedByRetention,
    /// Threads purged.
    Purged,
}

const SERIES: usize = 12;

impl Series {
    /// The series' name on the picture.
    pub fn label(self) -> &'static str {
        match self {
            Series::ChatAccepted => "chat calls accepted",
            Series::ChatThrottled => "chat calls throttled (429)",
            Series::SmsQueued => "SMS handed to the carrier",
            Series::SmsThrottled => "send_sms throttled (429)",
            Series::WhatsappQueued => "WhatsApp handed to the carrier",
            Series::Delivered => "delivered",
            Series::Undelivered => "undelivered",
            Series::Failed => "failed",
            Series::Read => "read",
            Series::DeletedByApi => "deleted by API",
            Series::DeletedByRetention => "deleted by retention",
            Series::Purged => "purged",
        }
    }
}

/// Resolutions the timeline keeps its counts at: a second, a minute, an
/// hour. It moves to the next once it holds more slots than `SLOTS_MAX`, so
/// a month-long trace is counted in bounded memory.
const RESOLUTIONS: [u64; 3] = [1000, 60_000, 3_600_000];
const SLOTS_MAX: usize = 50_000;

/// Counts per time slot, and the number of live threads over time.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    resolution: usize,
    counts: BTreeMap<u64, [u64; SERIES]>,
    /// Live threads after the last change in each slot.
    active: BTreeMap<u64, u64>,
    live: u64,
    end_ms: u64,
}

impl Timeline {
    fn slot(&self, at: u64) -> u64 {
        at / RESOLUTIONS[self.resolution]
    }

    /// `n` more of `series` at instant `at`.
    pub fn count(&mut self, at: u64, series: Series, n: u64) {
        self.end_ms = self.end_ms.max(at);
        if n == 0 {
            return;
        }
        let slot = self.slot(at);
        let value = &mut self.counts.entry(slot).or_insert([0; SERIES])[series as usize];
        *value = value.saturating_add(n);
        self.coarsen();
    }

    /// The number of live threads changed at `at` by `delta`.
    pub fn threads(&mut self, at: u64, delta: i64) {
        self.end_ms = self.end_ms.max(at);
        self.live = self.live.saturating_add_signed(delta);
        let slot = self.slot(at);
        self.active.insert(slot, self.live);
        self.coarsen();
    }

    /// The trace went on to `at`.
    pub fn seen(&mut self, at: u64) {
        self.end_ms = self.end_ms.max(at);
    }

    fn coarsen(&mut self) {
        while self.counts.len().max(self.active.len()) > SLOTS_MAX
            && self.resolution + 1 < RESOLUTIONS.len()
        {
            let factor = RESOLUTIONS[self.resolution + 1] / RESOLUTIONS[self.resolution];
            self.resolution += 1;
            let mut counts: BTreeMap<u64, [u64; SERIES]> = BTreeMap::new();
            for (slot, values) in std::mem::take(&mut self.counts) {
                let merged = counts.entry(slot / factor).or_insert([0; SERIES]);
                for (m, v) in merged.iter_mut().zip(values) {
                    *m = m.saturating_add(v);
                }
            }
            self.counts = counts;
            let active = std::mem::take(&mut self.active);
            self.active = active
                .into_iter()
                .map(|(slot, live)| (slot / factor, live))
                .collect();
        }
    }

    /// The bucket the picture uses: the smallest round width that gives at
    /// most 200 buckets, and no finer than the counts (past a week, a whole
    /// number of the counts' slots that gives at most 200).
    fn bucket_ms(&self) -> u64 {
        const ROUND: [u64; 16] = [
            1000,
            5000,
            10_000,
            30_000,
            60_000,
            300_000,
            600_000,
            900_000,
            1_800_000,
            3_600_000,
            7_200_000,
            10_800_000,
            21_600_000,
            43_200_000,
            86_400_000,
            604_800_000,
        ];
        let floor = RESOLUTIONS[self.resolution];
        ROUND
            .iter()
            .copied()
            .find(|&b| b >= floor && self.end_ms / b < 200)
            .unwrap_or_else(|| {
                (self.end_ms / 199)
                    .div_ceil(floor)
                    .saturating_mul(floor)
                    .max(floor)
            })
    }

    /// Each series' count per bucket, and live threads at each bucket's end.
    fn buckets(&self) -> (u64, Vec<[u64; SERIES]>, Vec<u64>) {
        let bucket = self.bucket_ms();
        let per = bucket / RESOLUTIONS[self.resolution];
        let n = (self.end_ms / bucket + 1) as usize;
        let mut counts = vec![[0u64; SERIES]; n];
        for (slot, values) in &self.counts {
            let i = ((slot / per) as usize).min(n - 1);
            for (c, v) in counts[i].iter_mut().zip(values) {
                *c = c.saturating_add(*v);
            }
        }
        let mut active = vec![0u64; n];
        let mut live = 0;
        let mut changes = self.active.iter().peekable();
        for (i, level) in active.iter_mut().enumerate() {
            while let Some((slot, value)) = changes.peek() {
                if (**slot / per) as usize <= i {
                    live = **value;
                    changes.next();
                } else {
                    break;
                }
            }
            *level = live;
        }
        (bucket, counts, active)
    }
}

const COLORS: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
];

fn error(e: impl std::fmt::Display) -> String {
    format!("drawing the plot: {e}")
}

/// The unit of a time axis that ends at `end_ms`, so that plotters' round
/// ticks fall on round times: days, hours, minutes or seconds, in ms.
fn time_unit(end_ms: u64) -> u64 {
    [86_400_000, 3_600_000, 60_000]
        .into_iter()
        .find(|&unit| end_ms >= 2 * unit)
        .unwrap_or(1000)
}

/// One panel: `series` (name, points at ms) over virtual time.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    end_ms: u64,
    series: &[(String, Vec<(u64, u64)>)],
) -> Result<(), String> {
    let unit = time_unit(end_ms);
    let x = |ms: u64| ms as f64 / unit as f64;
    let top = series
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .max()
        .unwrap_or(0)
        .max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0f64..x(end_ms.max(1)),
            0u64..top.saturating_add(top / 10).saturating_add(1),
        )
        .map_err(error)?;
    let format_time = |t: &f64| match (t * unit as f64).round() as u64 {
        0 => "0".to_string(),
        ms => human_time(ms),
    };
    chart
        .configure_mesh()
        .x_desc("virtual time (days, hours, minutes)")
        .y_desc(y_desc)
        .x_label_formatter(&format_time)
        .x_labels(12)
        .y_labels(6)
        .draw()
        .map_err(error)?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|&(ms, n)| (x(ms), n)),
                color.stroke_width(2),
            ))
            .map_err(error)?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(error)?;
    Ok(())
}

/// The timeline of the trace `stats` has read, as an SVG document titled
/// `title`.
pub fn timeline_svg(timeline: &Timeline, title: &str) -> Result<String, String> {
    let (bucket, counts, active) = timeline.buckets();
    let per = human_time(bucket);
    let end = (counts.len() as u64).saturating_mul(bucket);
    let points = |s: Series| -> Vec<(u64, u64)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| ((i as u64).saturating_mul(bucket), c[s as usize]))
            .collect()
    };
    let group = |list: &[Series]| -> Vec<(String, Vec<(u64, u64)>)> {
        list.iter()
            .map(|&s| (s.label().to_string(), points(s)))
            .collect()
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1100, 1400)).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let root = root
            .titled(
                &format!("{title}: timeline, per {per} of virtual time"),
                ("sans-serif", 22),
            )
            .map_err(error)?;
        let panels = root.split_evenly((4, 1));
        panel(
            &panels[0],
            "Traffic per channel",
            &format!("calls or deliveries per {per}"),
            end,
            &group(&[
                Series::ChatAccepted,
                Series::ChatThrottled,
                Series::SmsQueued,
                Series::SmsThrottled,
                Series::WhatsappQueued,
            ]),
        )?;
        panel(
            &panels[1],
            "SMS and WhatsApp deliveries by status",
            &format!("receipts per {per}"),
            end,
            &group(&[
                Series::Delivered,
                Series::Undelivered,
                Series::Failed,
                Series::Read,
            ]),
        )?;
        panel(
            &panels[2],
            "Thread deletions",
            &format!("threads per {per}"),
            end,
            &group(&[
                Series::DeletedByApi,
                Series::DeletedByRetention,
                Series::Purged,
            ]),
        )?;
        let live: Vec<(u64, u64)> = active
            .iter()
            .enumerate()
            .map(|(i, n)| ((i as u64 + 1).saturating_mul(bucket), *n))
            .collect();
        panel(
            &panels[3],
            "Active threads",
            "threads alive (at each bucket's end)",
            end,
            &[("active threads".to_string(), live)],
        )?;
        root.present().map_err(error)?;
    }
    Ok(svg)
}

/// The distribution of delivery latency per channel (the share of
/// deliveries whose final receipt came within a latency), as an SVG
/// document titled `title`.
pub fn latency_svg(latencies: &BTreeMap<String, Vec<u64>>, title: &str) -> Result<String, String> {
    let max_ms = latencies
        .values()
        .filter_map(|v| v.iter().max())
        .max()
        .copied()
        .unwrap_or(0)
        .max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{title}: delivery latency per channel"),
                ("sans-serif", 20),
            )
            .margin(16)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(
                0f64..max_ms.saturating_add(max_ms / 20 + 1) as f64 / 1000.0,
                0f64..101f64,
            )
            .map_err(error)?;
        let seconds = |s: &f64| format!("{s} s");
        chart
            .configure_mesh()
            .x_desc("latency: hand-over to the carrier until the final receipt (seconds)")
            .y_desc("deliveries at or below it (%)")
            .x_label_formatter(&seconds)
            .draw()
            .map_err(error)?;
        for (i, (channel, values)) in latencies.iter().enumerate() {
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let n = sorted.len() as u64;
            // At most 1,000 points: the value at each per-mille rank.
            let points: Vec<(f64, f64)> = (1..=1000u64)
                .filter_map(|k| {
                    let rank = (k * n).div_ceil(1000).max(1);
                    let ms = sorted.get(rank as usize - 1)?;
                    Some((*ms as f64 / 1000.0, rank as f64 * 100.0 / n as f64))
                })
                .collect();
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(error)?
                .label(format!("{channel} (n={n})"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(error)?;
        root.present().map_err(error)?;
    }
    Ok(svg)
}
