//! The verdict: what this run says about when work stealing wins, in plain words, derived
//! from the quiet cells only (a disturbed cell says more about the machine than about the
//! pools).
//!
//! Every comparison is the time of the best channel pool (skewer's `Backend::Channel` or the
//! plain crossbeam-channel pool, whichever was faster) over the time of skewer's stealing
//! backend, at one thread count: above `MARGIN` stealing won, below its inverse the channel
//! won, between the two the channel was as good. Comparisons are grouped by what they vary:
//! the workload at the largest thread count (skew of flat jobs, nesting), the skew parameter,
//! and the per-job cost; a last paragraph compares skewer's `join` with rayon's and chili's.

use std::fmt::Write as _;

use crate::contenders::Contender::{self, *};
use crate::plan::Sweep;
use crate::report::summary::{DISTURBED_CORES, Row, max_threads, quiet, thread_counts};
use crate::workloads::Kind;

/// How much faster one side must be for the verdict to call it a win (5%).
const MARGIN: f64 = 1.05;

/// Who won one comparison.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stealing,
    Even,
    Channel,
}

/// One comparison: the best channel pool's time over stealing's.
struct Compared {
    /// channel time / stealing time.
    ratio: f64,
    /// The channel pool that was faster.
    channel: Contender,
}

impl Compared {
    fn outcome(&self) -> Outcome {
        if self.ratio >= MARGIN {
            Outcome::Stealing
        } else if self.ratio <= 1.0 / MARGIN {
            Outcome::Channel
        } else {
            Outcome::Even
        }
    }

    /// "stealing 1.85x faster", "the channel as good (0.98x)", "cb-channel 1.20x faster".
    fn words(&self) -> String {
        match self.outcome() {
            Outcome::Stealing => format!("stealing {:.2}x faster", self.ratio),
            Outcome::Even => format!("the channel as good ({:.2}x)", self.ratio),
            Outcome::Channel => format!("{} {:.2}x faster", self.channel, 1.0 / self.ratio),
        }
    }
}

fn compare(rows: &[Row<'_>], group: &str, param: &str, p: usize) -> Option<Compared> {
    let steal = quiet(rows, group, param, SkewerSteal, p)?;
    let (channel, best) = [SkewerChan, CbChannel]
        .into_iter()
        .filter_map(|c| Some((c, quiet(rows, group, param, c, p)?)))
        .min_by(|a, b| a.1.wall.cmp(&b.1.wall))?;
    Some(Compared {
        ratio: best.wall.as_secs_f64() / steal.wall.as_secs_f64().max(1e-12),
        channel,
    })
}

/// The distinct groups of `rows` that satisfy `keep`, in run order.
fn groups<'a>(rows: &'a [Row<'a>], keep: impl Fn(&Row<'_>) -> bool) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| keep(r)) {
        if !out.contains(&r.rec.group.as_str()) {
            out.push(&r.rec.group);
        }
    }
    out
}

/// The parameters of `group` in increasing order of their numeric value.
fn params<'a>(rows: &'a [Row<'a>], group: &str) -> Vec<(&'a str, f64)> {
    let mut out: Vec<(&str, f64)> = Vec::new();
    for r in rows.iter().filter(|r| r.rec.group == group) {
        if !out.iter().any(|(p, _)| *p == r.rec.param) {
            out.push((&r.rec.param, r.rec.x));
        }
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

/// The verdict, as lines of text (markdown bullets under a headline).
pub fn verdict(rows: &[Row<'_>]) -> String {
    let quiet_cells = rows.iter().filter(|r| !r.disturbed).count();
    if quiet_cells == 0 {
        return format!(
            "No verdict: every cell was measured while other processes kept at least \
             {DISTURBED_CORES} of a core busy. Run again on an idle machine.\n"
        );
    }
    let mut tally = [0usize; 3];
    let mut count = |c: &Compared| {
        tally[c.outcome() as usize] += 1;
    };
    let mut body = String::new();

    // Workloads at the largest thread count: skewed flat jobs, and nesting.
    for (title, kinds) in [
        (
            "Independent jobs, at the largest thread count",
            &[Kind::Flat][..],
        ),
        (
            "Jobs that spawn jobs (nesting), at the largest thread count",
            &[Kind::Nested][..],
        ),
    ] {
        let mut lines = Vec::new();
        for g in groups(rows, |r| {
            r.rec.sweep == Sweep::Threads && kinds.contains(&r.rec.kind)
        }) {
            let Some(p) = max_threads(rows, g) else {
                continue;
            };
            if let Some(c) = compare(rows, g, "", p) {
                count(&c);
                lines.push(format!("{g} (P={p}): {}", c.words()));
            }
        }
        if !lines.is_empty() {
            let _ = writeln!(body, "- {title}: {}.", lines.join("; "));
        }
    }

    // Skew sweeps: where stealing won, where the channel was as good.
    for g in groups(rows, |r| matches!(r.rec.sweep, Sweep::Skew(_))) {
        let Some(p) = max_threads(rows, g) else {
            continue;
        };
        let axis = match rows.iter().find(|r| r.rec.group == g).map(|r| r.rec.sweep) {
            Some(Sweep::Skew(axis)) => axis,
            _ => "skew",
        };
        let parts: Vec<String> = params(rows, g)
            .into_iter()
            .filter_map(|(param, _)| {
                let c = compare(rows, g, param, p)?;
                count(&c);
                Some(format!("{param}: {}", c.words()))
            })
            .collect();
        if !parts.is_empty() {
            let _ = writeln!(body, "- {g} ({axis}, P={p}): {}.", parts.join("; "));
        }
    }

    // Per-job cost sweeps: from which job size on the channel is as good.
    for g in groups(rows, |r| r.rec.sweep == Sweep::Cost) {
        for p in thread_counts(rows, g) {
            let points: Vec<(&str, Compared)> = params(rows, g)
                .into_iter()
                .filter_map(|(param, _)| Some((param, compare(rows, g, param, p)?)))
                .collect();
            let Some((first, c0)) = points.first() else {
                continue;
            };
            points.iter().for_each(|(_, c)| count(c));
            // The smallest cost from which on stealing no longer wins.
            let from = points
                .iter()
                .rposition(|(_, c)| c.outcome() == Outcome::Stealing)
                .map_or(Some(0), |i| (i + 1 < points.len()).then_some(i + 1));
            let tail = match from {
                Some(0) => "stealing never won by more than 5%".to_string(),
                Some(i) => format!("the channel as good or better from {} on", points[i].0),
                None => "stealing won at every job size measured".to_string(),
            };
            let _ = writeln!(
                body,
                "- {g} (job size, P={p}): at {first}, {}; {tail}.",
                c0.words()
            );
        }
    }

    // join: skewer against rayon and chili wherever all three ran.
    let mut joins = Vec::new();
    for g in groups(rows, |r| matches!(r.rec.contender, RayonJoin | ChiliJoin)) {
        for (param, _) in params(rows, g) {
            let Some(p) = rows
                .iter()
                .filter(|r| r.rec.group == g && r.rec.param == param)
                .map(|r| r.rec.threads)
                .max()
            else {
                continue;
            };
            let skewer_join = if rows
                .iter()
                .any(|r| r.rec.group == g && r.rec.kind == Kind::ForkJoin)
            {
                SkewerSteal
            } else {
                SkewerStealJoin
            };
            let Some(s) = quiet(rows, g, param, skewer_join, p) else {
                continue;
            };
            let others: Vec<String> = [RayonJoin, ChiliJoin]
                .into_iter()
                .filter_map(|c| {
                    let o = quiet(rows, g, param, c, p)?;
                    Some(format!(
                        "{:.2}x {c}'s",
                        s.wall.as_secs_f64() / o.wall.as_secs_f64().max(1e-12)
                    ))
                })
                .collect();
            if !others.is_empty() {
                let at = if param.is_empty() {
                    String::new()
                } else {
                    format!(" {param}")
                };
                joins.push(format!("{g}{at} (P={p}): {}", others.join(", ")));
            }
        }
    }
    if !joins.is_empty() {
        let _ = writeln!(
            body,
            "- join (time of skewer's join as a multiple of the others'; below 1 is faster): {}.",
            joins.join("; ")
        );
    }

    let [won, even, lost] = tally;
    let total = won + even + lost;
    let mut out = String::new();
    if total == 0 {
        let _ = writeln!(
            out,
            "No verdict on stealing against the channel: no quiet cell has both to compare."
        );
    } else {
        let _ = writeln!(
            out,
            "Stealing won {won} of {total} comparisons with the best channel pool by more than \
             5%, the channel was as good in {even} and faster in {lost} (quiet cells only: {} of \
             {} cells were measured while other processes kept a core busy and are left out).",
            rows.len() - quiet_cells,
            rows.len()
        );
    }
    out.push('\n');
    out.push_str(&body);
    out
}
