//! `switchboard diff`: the first line where two traces differ, with the
//! lines before it, then how many lines of each kind each trace has from
//! there on. Two traces are equal when every line is equal, byte for byte.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Where two traces part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Divergence {
    /// The first differing line's number, from 1.
    pub line: u64,
    /// The lines before it (equal in both), at most the context asked for.
    pub context: Vec<String>,
    /// A's line there, none when A ended first.
    pub a: Option<String>,
    /// B's line there, none when B ended first.
    pub b: Option<String>,
    /// From the first differing line on: how many lines of each kind A and B
    /// have (`[a, b]`), every kind either has.
    pub after: BTreeMap<String, [u64; 2]>,
}

/// What `diff` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// A's lines.
    pub lines_a: u64,
    /// B's lines.
    pub lines_b: u64,
    /// Where they part; none when they are equal.
    pub divergence: Option<Divergence>,
}

#[derive(Deserialize)]
struct KindOnly {
    kind: String,
}

/// A line's `kind`, or `?` for a line that is not a trace line.
pub fn kind_of(line: &str) -> String {
    serde_json::from_str::<KindOnly>(line).map_or_else(|_| "?".to_string(), |k| k.kind)
}

/// Compares the traces `a` and `b` line by line, keeping at most `context`
/// equal lines before the first difference. Reading stops at the first error.
pub fn diff(
    a: impl IntoIterator<Item = Result<String, String>>,
    b: impl IntoIterator<Item = Result<String, String>>,
    context: usize,
) -> Result<Diff, String> {
    let (mut a, mut b) = (a.into_iter(), b.into_iter());
    let mut before: VecDeque<String> = VecDeque::new();
    let mut line = 0u64;
    loop {
        let (x, y) = (a.next().transpose()?, b.next().transpose()?);
        line += 1;
        match (x, y) {
            (None, None) => {
                return Ok(Diff {
                    lines_a: line - 1,
                    lines_b: line - 1,
                    divergence: None,
                });
            }
            (Some(x), Some(y)) if x == y => {
                if context > 0 {
                    if before.len() == context {
                        before.pop_front();
                    }
                    before.push_back(x);
                }
            }
            (x, y) => {
                let mut after: BTreeMap<String, [u64; 2]> = BTreeMap::new();
                let before_lines = line - 1;
                let lines_a = before_lines + count_kinds(x.clone(), a, 0, &mut after)?;
                let lines_b = before_lines + count_kinds(y.clone(), b, 1, &mut after)?;
                return Ok(Diff {
                    lines_a,
                    lines_b,
                    divergence: Some(Divergence {
                        line,
                        context: before.into_iter().collect(),
                        a: x,
                        b: y,
                        after,
                    }),
                });
            }
        }
    }
}

/// Counts `first` and the lines of `rest` by kind into column `side` of
/// `after`; returns how many lines it counted.
fn count_kinds(
    first: Option<String>,
    rest: impl Iterator<Item = Result<String, String>>,
    side: usize,
    after: &mut BTreeMap<String, [u64; 2]>,
) -> Result<u64, String> {
    let Some(first) = first else {
        return Ok(0);
    };
    let mut count = 0;
    for l in std::iter::once(Ok(first)).chain(rest) {
        count += 1;
        after.entry(kind_of(&l?)).or_default()[side] += 1;
    }
    Ok(count)
}

impl Diff {
    /// The diff for people, naming the two sides `a_name` and `b_name`.
    pub fn text(&self, a_name: &str, b_name: &str) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let Some(d) = &self.divergence else {
            let _ = writeln!(out, "equal: {} lines", self.lines_a);
            return out;
        };
        let _ = writeln!(
            out,
            "differ at line {} (A: {a_name}, {} lines; B: {b_name}, {} lines)",
            d.line, self.lines_a, self.lines_b
        );
        let first = d.line - d.context.len() as u64;
        for (i, l) in d.context.iter().enumerate() {
            let _ = writeln!(out, "  {:>8}  {l}", first + i as u64);
        }
        let end = "<end of trace>".to_string();
        let _ = writeln!(out, "A {:>8}  {}", d.line, d.a.as_ref().unwrap_or(&end));
        let _ = writeln!(out, "B {:>8}  {}", d.line, d.b.as_ref().unwrap_or(&end));
        let _ = writeln!(out, "from line {} on, lines by kind:", d.line);
        let _ = writeln!(out, "  {:<24}{:>10}{:>10}", "kind", "A", "B");
        for (kind, [a, b]) in &d.after {
            let mark = if a == b { "" } else { "  *" };
            let _ = writeln!(out, "  {kind:<24}{a:>10}{b:>10}{mark}");
        }
        out
    }
}
