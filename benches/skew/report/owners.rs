//! The who-ran-what picture: the mandelbrot image's tiles, coloured by the worker that
//! computed them in the last timed run, shaded by what the tile costs (dark = expensive).
//! Written as plain SVG rectangles.

use std::fmt::Write as _;
use std::path::Path;

/// Worker colours (tableau-like); index 0 is "a thread outside the pool".
const PALETTE: [(u8, u8, u8); 17] = [
    (200, 200, 200),
    (214, 39, 40),
    (31, 119, 180),
    (44, 160, 44),
    (255, 127, 14),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (188, 189, 34),
    (23, 190, 207),
    (127, 127, 127),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
];

/// Writes `path`: `owners[i]` is 0 (outside the pool) or worker + 1 for tile i of a grid
/// `width` tiles wide; `costs[i]` is the tile's measured cost.
pub fn write_svg(
    path: &Path,
    title: &str,
    owners: &[u16],
    width: usize,
    costs: &[f64],
) -> std::io::Result<()> {
    const CELL: usize = 24;
    let rows = owners.len().div_ceil(width.max(1));
    let workers = owners.iter().copied().max().unwrap_or(0) as usize;
    let (w, h) = (width * CELL, rows * CELL);
    let legend_h = 24 * (workers + 2);
    let max_cost = costs.iter().copied().fold(0.0, f64::max).max(1e-12);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="14">"#,
        w + 300,
        (h + 40).max(legend_h + 40)
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="4" y="20">{title}</text>"#);
    for (i, &o) in owners.iter().enumerate() {
        let (x, y) = ((i % width) * CELL, 30 + (i / width) * CELL);
        let (r, g, b) = PALETTE[o as usize % PALETTE.len()];
        // Expensive tiles darker: scale the colour down to 35% at the most expensive tile.
        let k = 1.0 - 0.65 * (costs.get(i).copied().unwrap_or(0.0) / max_cost).sqrt();
        let shade = |c: u8| (f64::from(c) * k).round() as u8;
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="rgb({},{},{})" stroke="white" stroke-width="0.5"/>"#,
            shade(r),
            shade(g),
            shade(b)
        );
    }
    let lx = w + 16;
    for o in 0..=workers {
        let y = 30 + o * 24;
        let (r, g, b) = PALETTE[o % PALETTE.len()];
        let name = if o == 0 {
            "outside the pool".to_string()
        } else {
            format!("worker {}", o - 1)
        };
        let count = owners.iter().filter(|&&x| x as usize == o).count();
        let _ = writeln!(
            s,
            r#"<rect x="{lx}" y="{y}" width="18" height="18" fill="rgb({r},{g},{b})"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}">{name}: {count} tiles</text>"#,
            lx + 24,
            y + 14
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{lx}" y="{}" font-size="12">darker = more expensive tile</text>"#,
        30 + (workers + 1) * 24 + 14
    );
    s.push_str("</svg>\n");
    std::fs::write(path, s)
}
