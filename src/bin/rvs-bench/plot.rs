//! The pictures of a run (issue 17, "Pictures"): SVG charts drawn with the plotters crate (its
//! SVG backend only: no font or bitmap libraries, text is left to the viewer).
//!
//! - [`scenarios_svg`]: per scenario, the worker's Mpps and its ratio to the I/O ceiling of the
//!   same run, as two bar panels side by side.
//! - [`sweep_svg`]: established FULLNAT throughput (and the I/O ceiling of the same run)
//!   against the number of connections in the table, on a log axis, with the ratio beside it.
//!
//! Owns drawing only: the numbers come from the result lines `main` collects.

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One bar of [`scenarios_svg`].
#[derive(Debug, Clone)]
pub struct ScenarioPoint {
    /// The scenario's name (drawn as its label).
    pub name: String,
    /// Packets per second the worker received, in millions.
    pub mpps: f64,
    /// `mpps` over the I/O ceiling's of the same run (NaN when there was none).
    pub ratio: f64,
}

/// One point of [`sweep_svg`].
#[derive(Debug, Clone, Copy)]
pub struct SweepPoint {
    /// Connections in the table.
    pub conns: u64,
    /// Established FULLNAT, Mpps.
    pub mpps: f64,
    /// The I/O ceiling of the same run, Mpps.
    pub io_mpps: f64,
}

const BAR: RGBColor = RGBColor(0x3a, 0x6e, 0xa5);
const CEILING: RGBColor = RGBColor(0xb0, 0x50, 0x30);

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("drawing the chart: {e}")
}

/// Writes the per-scenario chart of `points` to `path` (SVG).
pub fn scenarios_svg(points: &[ScenarioPoint], title: &str, path: &Path) -> Result<()> {
    let n = points.len().max(1) as u32;
    let root = SVGBackend::new(path, (1100, 90 + 26 * n)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    let (left, right) = root.split_horizontally(550);
    let top = |f: fn(&ScenarioPoint) -> f64| {
        points.iter().map(f).filter(|v| v.is_finite()).fold(0.0, f64::max)
    };
    let max_mpps = (top(|p| p.mpps) * 1.15).max(0.01);
    let max_ratio = (top(|p| p.ratio) * 1.15).max(0.6);
    bars(&left, "Mpps per core", points, |p| p.mpps, max_mpps)?;
    bars(&right, "ratio to the I/O ceiling (io = 1)", points, |p| p.ratio, max_ratio)?;
    root.present().map_err(err)?;
    Ok(())
}

/// A horizontal bar panel: one bar per point, labelled with its name and value.
fn bars(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    caption: &str,
    points: &[ScenarioPoint],
    value: fn(&ScenarioPoint) -> f64,
    max: f64,
) -> Result<()> {
    let n = points.len() as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(130)
        .build_cartesian_2d(0f64..max, (0u32..n).into_segmented())
        .map_err(err)?;
    let label = |v: &SegmentValue<u32>| match v {
        SegmentValue::CenterOf(i) => {
            points.get(*i as usize).map_or(String::new(), |p| p.name.clone())
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(points.len().max(1))
        .y_label_formatter(&label)
        .draw()
        .map_err(err)?;
    let shown = || points.iter().enumerate().filter(|(_, p)| value(p).is_finite());
    chart
        .draw_series(shown().map(|(i, p)| {
            let i = i as u32;
            Rectangle::new(
                [(0.0, SegmentValue::Exact(i)), (value(p), SegmentValue::Exact(i + 1))],
                BAR.mix(0.75).filled(),
            )
        }))
        .map_err(err)?;
    chart
        .draw_series(shown().map(|(i, p)| {
            Text::new(
                format!(" {:.2}", value(p)),
                (value(p), SegmentValue::CenterOf(i as u32)),
                ("sans-serif", 12),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// Writes the throughput-against-connections chart of `points` to `path` (SVG).
pub fn sweep_svg(points: &[SweepPoint], title: &str, path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    let (left, right) = root.split_horizontally(550);
    let lo = points.iter().map(|p| p.conns).min().unwrap_or(1000).max(1) as f64 / 2.0;
    let hi = points.iter().map(|p| p.conns).max().unwrap_or(10_000_000).max(1) as f64 * 2.0;
    let top = points
        .iter()
        .flat_map(|p| [p.mpps, p.io_mpps])
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(&left)
        .caption("Mpps per core", ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..(top * 1.15).max(0.01))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("connections in the table")
        .x_label_formatter(&|v| human(*v))
        .draw()
        .map_err(err)?;
    let line = |f: fn(&SweepPoint) -> f64| -> Vec<(f64, f64)> {
        points.iter().filter(|p| f(p).is_finite()).map(|p| (p.conns as f64, f(p))).collect()
    };
    for (name, color, f) in [
        ("est-fullnat", BAR, (|p: &SweepPoint| p.mpps) as fn(&SweepPoint) -> f64),
        ("io (ceiling)", CEILING, |p: &SweepPoint| p.io_mpps),
    ] {
        let pts = line(f);
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled()))).map_err(err)?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()
        .map_err(err)?;
    let ratio: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.conns as f64, p.mpps / p.io_mpps))
        .filter(|(_, r)| r.is_finite())
        .collect();
    let top_r = ratio.iter().map(|p| p.1).fold(0.6, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&right)
        .caption("est-fullnat / io of the same run", ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d((lo..hi).log_scale(), 0f64..top_r)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("connections in the table")
        .x_label_formatter(&|v| human(*v))
        .draw()
        .map_err(err)?;
    chart.draw_series(LineSeries::new(ratio.clone(), BAR.stroke_width(2))).map_err(err)?;
    chart.draw_series(ratio.iter().map(|&p| Circle::new(p, 4, BAR.filled()))).map_err(err)?;
    chart
        .draw_series(
            ratio.iter().map(|&(x, r)| Text::new(format!(" {r:.3}"), (x, r), ("sans-serif", 12))),
        )
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// 1000 as "1k", 2e6 as "2M" (axis labels).
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", (v / 1e6 * 10.0).round() / 10.0)
    } else if v >= 1e3 {
        format!("{}k", (v / 1e3 * 10.0).round() / 10.0)
    } else {
        format!("{}", v.round())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text element of the SVG document `svg` (which must parse as XML with an `svg`
    /// root element).
    fn texts(svg: &str) -> Vec<String> {
        let doc = roxmltree::Document::parse(svg).expect("the chart parses as XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.tag_name().name() == "text")
            .map(|n| n.text().unwrap_or("").trim().to_owned())
            .collect()
    }

    #[test]
    fn the_scenario_chart_is_svg_and_names_each_scenario() {
        let dir = std::env::temp_dir().join(format!("rvs-bench-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scenarios.svg");
        let pts = [
            ScenarioPoint { name: "io".into(), mpps: 10.0, ratio: 1.0 },
            ScenarioPoint { name: "est-fullnat".into(), mpps: 3.5, ratio: 0.35 },
            ScenarioPoint { name: "new-tcp-fullnat".into(), mpps: 1.2, ratio: 0.12 },
            ScenarioPoint { name: "idle".into(), mpps: f64::NAN, ratio: f64::NAN },
        ];
        scenarios_svg(&pts, "a fixed result set", &path).unwrap();
        let t = texts(&std::fs::read_to_string(&path).unwrap());
        for p in &pts {
            assert!(t.contains(&p.name), "{} not named in {t:?}", p.name);
        }
        assert!(t.iter().any(|s| s == "0.35"), "the ratio is written: {t:?}");
        let path = dir.join("conns.svg");
        let sweep = [
            SweepPoint { conns: 1000, mpps: 4.0, io_mpps: 10.0 },
            SweepPoint { conns: 1_000_000, mpps: 2.0, io_mpps: 9.0 },
        ];
        sweep_svg(&sweep, "sweep", &path).unwrap();
        let t = texts(&std::fs::read_to_string(&path).unwrap());
        assert!(t.iter().any(|s| s == "est-fullnat"), "{t:?}");
        assert!(t.iter().any(|s| s == "io (ceiling)"), "{t:?}");
        assert!(t.iter().any(|s| s == "1M"), "the connection axis: {t:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
