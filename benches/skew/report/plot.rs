//! SVG line charts (plotters, SVG backend): speedup against threads per workload, the
//! stealing/channel time ratio against skew, and speedup against per-job cost.

use std::path::Path;

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;

use crate::contenders::Contender;
use crate::plan::Sweep;
use crate::report::summary::{Row, find, thread_counts};

/// One line of a chart.
struct Series {
    name: String,
    colour: RGBColor,
    points: Vec<(f64, f64)>,
    dashed: bool,
}

/// A linear x axis over `range` whose ticks are exactly `ticks` (the x values that hold a
/// point), so that every such x is labelled and no other.
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let f = (value - self.range.start) / (self.range.end - self.range.start);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for Ticked {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

/// Distinct colours, one per contender.
fn colour(c: Contender) -> RGBColor {
    match c {
        Contender::Sequential => RGBColor(0, 0, 0),
        Contender::SkewerSteal => RGBColor(214, 39, 40),
        Contender::SkewerChan => RGBColor(31, 119, 180),
        Contender::SkewerStealJoin => RGBColor(255, 127, 14),
        Contender::RayonSpawn => RGBColor(44, 160, 44),
        Contender::RayonJoin => RGBColor(148, 103, 189),
        Contender::RayonIter => RGBColor(140, 86, 75),
        Contender::ChiliJoin => RGBColor(0, 128, 128),
        Contender::CbChannel => RGBColor(23, 190, 207),
        Contender::MutexMpsc => RGBColor(127, 127, 127),
        Contender::StaticRr => RGBColor(188, 189, 34),
        Contender::Cursor => RGBColor(227, 119, 194),
    }
}

/// Draws `series` into `path`; with `log_x` the x values are plotted on a log10 axis.
fn chart(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
    series: &[Series],
) -> Result<(), String> {
    let tx = |x: f64| if log_x { x.log10() } else { x };
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|&(x, y)| (tx(x), y)))
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let (mut x0, mut x1) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    if x1 - x0 < 1e-9 {
        x0 -= 0.5;
        x1 += 0.5;
    }
    let pad = (x1 - x0) * 0.04;
    let y1 = all.iter().map(|p| p.1).fold(0.0f64, f64::max) * 1.1 + 1e-9;
    // One x tick at every x that holds a point, and no other: each is labelled, on a log
    // axis as on a linear one.
    let mut xs: Vec<f64> = all.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut ch = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(
            Ticked {
                range: (x0 - pad)..(x1 + pad),
                ticks: xs.clone(),
            },
            0.0..y1,
        )
        .map_err(|e| e.to_string())?;
    let fmt_x = |v: &f64| {
        let x = if log_x { 10f64.powf(*v) } else { *v };
        if x >= 1000.0 && (x / 1000.0 - (x / 1000.0).round()).abs() < 1e-6 {
            format!("{:.0}k", x / 1000.0)
        } else if (x - x.round()).abs() < 1e-6 {
            format!("{x:.0}")
        } else {
            format!("{x:.2}")
        }
    };
    ch.configure_mesh()
        .x_labels(xs.len() + 1)
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&fmt_x)
        .y_label_formatter(&|v| format!("{v:.2}"))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(|e| e.to_string())?;
    for s in series {
        let c = s.colour;
        let pts: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (tx(x), y)).collect();
        let style = ShapeStyle::from(&c).stroke_width(2);
        if s.dashed {
            // The legend shows the line as drawn: dashes of 6 px with gaps of 4, same colour
            // and width.
            ch.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
                .map_err(|e| e.to_string())?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (6, 0)], style)
                        + PathElement::new(vec![(10, 0), (16, 0)], style)
                });
        } else {
            ch.draw_series(LineSeries::new(pts.clone(), style))
                .map_err(|e| e.to_string())?
                .label(s.name.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2))
                });
            ch.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(|e| e.to_string())?;
        }
    }
    ch.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

fn groups_of(rows: &[Row<'_>], sweep: fn(Sweep) -> bool) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for r in rows.iter().filter(|r| sweep(r.rec.sweep)) {
        if !v.contains(&r.rec.group) {
            v.push(r.rec.group.clone());
        }
    }
    v
}

fn contenders_in<'a>(rows: &'a [Row<'a>], group: &str) -> Vec<Contender> {
    let mut v: Vec<Contender> = rows
        .iter()
        .filter(|r| r.rec.group == group && r.rec.contender != Contender::Sequential)
        .map(|r| r.rec.contender)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Writes every chart into `dir`; returns the files written.
pub fn write_all(dir: &Path, rows: &[Row<'_>]) -> Result<Vec<String>, String> {
    let mut files = Vec::new();

    // Speedup against threads, one chart per thread-sweep workload.
    for g in groups_of(rows, |s| s == Sweep::Threads) {
        let mut series: Vec<Series> = contenders_in(rows, &g)
            .into_iter()
            .map(|c| {
                let mut points: Vec<(f64, f64)> = rows
                    .iter()
                    .filter(|r| r.rec.group == g && r.rec.contender == c)
                    .map(|r| (r.rec.threads as f64, r.speedup))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name: c.name().to_string(),
                    colour: colour(c),
                    points,
                    dashed: false,
                }
            })
            .collect();
        let pmax = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(1.0, f64::max);
        series.push(Series {
            name: "ideal".into(),
            colour: BLACK,
            points: vec![(1.0, 1.0), (pmax, pmax)],
            dashed: true,
        });
        let file = format!("speedup-{g}.svg");
        chart(
            &dir.join(&file),
            &format!("{g}: speedup over sequential"),
            "threads",
            "T1 / Tp",
            false,
            &series,
        )?;
        files.push(file);
    }

    // Stealing / channel time ratio against skew.
    for g in groups_of(rows, |s| matches!(s, Sweep::Skew(_))) {
        let axis = match rows.iter().find(|r| r.rec.group == g).map(|r| r.rec.sweep) {
            Some(Sweep::Skew(axis)) => axis,
            _ => "skew",
        };
        let log_x = g.starts_with("bimodal");
        let mut series: Vec<Series> = [
            Contender::SkewerChan,
            Contender::CbChannel,
            Contender::Cursor,
        ]
        .into_iter()
        .map(|other| {
            let mut points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.rec.group == g && r.rec.contender == Contender::SkewerSteal)
                .filter_map(|r| {
                    let o = find(rows, &g, &r.rec.param, other, r.rec.threads)?;
                    Some((r.rec.x, r.wall.as_secs_f64() / o.wall.as_secs_f64()))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: format!("skewer-steal / {}", other.name()),
                colour: colour(other),
                points,
                dashed: false,
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect();
        let xs: Vec<f64> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        if let (Some(lo), Some(hi)) = (
            xs.iter().copied().reduce(f64::min),
            xs.iter().copied().reduce(f64::max),
        ) {
            series.push(Series {
                name: "equal time".into(),
                colour: BLACK,
                points: vec![(lo, 1.0), (hi, 1.0)],
                dashed: true,
            });
        }
        let file = format!("ratio-{g}.svg");
        chart(
            &dir.join(&file),
            &format!("{g}: stealing time / other time (below 1: stealing faster)"),
            axis,
            "time ratio",
            log_x,
            &series,
        )?;
        files.push(file);
    }

    // Speedup against per-job cost, one chart per cost sweep and thread count.
    for g in groups_of(rows, |s| s == Sweep::Cost) {
        for p in thread_counts(rows, &g) {
            let series: Vec<Series> = contenders_in(rows, &g)
                .into_iter()
                .map(|c| {
                    let mut points: Vec<(f64, f64)> = rows
                        .iter()
                        .filter(|r| r.rec.group == g && r.rec.contender == c && r.rec.threads == p)
                        .map(|r| (r.rec.x, r.speedup))
                        .collect();
                    points.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series {
                        name: c.name().to_string(),
                        colour: colour(c),
                        points,
                        dashed: false,
                    }
                })
                .collect();
            let file = format!("{g}-p{p}.svg");
            chart(
                &dir.join(&file),
                &format!("{g}: speedup against per-job cost, {p} threads"),
                "per-job cost (ns, log scale)",
                "T1 / Tp",
                true,
                &series,
            )?;
            files.push(file);
        }
    }
    Ok(files)
}
