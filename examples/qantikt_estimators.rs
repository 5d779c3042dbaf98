//! The seed talk's figure "Single event: comparing gradient estimators", redone with every
//! estimator of the library: on one real event, E[mH] and dE[mH]/dR for R ∈ [0.5, 1.0] at
//! α = 1, 2, 3, 4, by finite differences (common random numbers), the score function with and
//! without baseline, Gumbel-softmax straight through, the stochastic triple (pruned), the triple
//! mixed with the score function, the keep-4 triple, and `rerun_resumable` with the signed
//! coupling, 64 flips per direction, the score mix and the output as control variate (the
//! library's least noisy estimator on real events below 100 ms per sample) —
//! each with its ± 1 standard-error band.
//! Writes the figure (PNG, or SVG when the name ends in `.svg`) and a CSV of every number, and
//! prints the tables: the estimates, and the per-sample standard deviation of dE/dR and dE/dα of
//! each unbiased estimator with its time per sample, relative to the score function with
//! baseline (issue 6, point 7, on this event).
//!
//! ```text
//! cargo run --release --example qantikt_estimators -- [--event 0] [--min-particle-pt 1]
//!     [--samples 1000] [--radii 0.5,0.6,0.7,0.8,0.9,1.0] [--alphas 1,2,3,4] [--seed 1]
//!     [--step 0.05] [--tau 0.1] [--output docs/qantikt_estimators.png]
//!     [--csv docs/qantikt_estimators.csv]
//! ```

#[path = "qantikt_common/mod.rs"]
mod common;

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use common::{check_output_dir, dedup, load_event, median, run_all, say, Est, Measured, Setup};

/// The estimators of the figure, in legend order.
const ESTIMATORS: [Est; 9] = [
    Est::FiniteDifferences,
    Est::Score,
    Est::ScoreBaseline,
    Est::GumbelSoftmax,
    Est::Triple,
    Est::TripleScoreMix,
    Est::Keep4,
    Est::RerunSignedReservoir64MixCv,
    // Only with --all-worlds: it keeps every alternative world, slow on real events.
    Est::AllWorldsTriple,
];

/// The estimators run by default (the all-worlds backend only with `--all-worlds`).
fn estimators(all_worlds: bool) -> Vec<Est> {
    ESTIMATORS
        .iter()
        .copied()
        .filter(|&e| all_worlds || e != Est::AllWorldsTriple)
        .collect()
}

fn colour(e: Est) -> RGBColor {
    match e {
        Est::FiniteDifferences => RGBColor(0x33, 0x33, 0x33),
        Est::Score => RGBColor(0xa6, 0xa6, 0xa6),
        Est::ScoreBaseline => RGBColor(0x1f, 0x77, 0xb4),
        Est::GumbelSoftmax => RGBColor(0xd6, 0x27, 0x28),
        Est::Triple => RGBColor(0x2c, 0xa0, 0x2c),
        Est::TripleScoreMix => RGBColor(0x94, 0x67, 0xbd),
        Est::Keep4 => RGBColor(0xff, 0x7f, 0x0e),
        Est::RerunSignedReservoir64MixCv => RGBColor(0x17, 0xbe, 0xcf),
        _ => RGBColor(0x8c, 0x56, 0x4b),
    }
}

/// The seed talk's single-event estimator comparison, with every estimator of the library.
///
/// On one event of the built-in ZH → ℓℓbb̄ sample, estimates E[mH] (invariant mass of the two
/// leading Qanti-kT jets, 0 with fewer than two) and its derivatives in R and α at every
/// (R, α) of the grid, with finite differences (CRN), the score function with and without the
/// leave-one-out baseline, Gumbel-softmax straight through (GS-STE), the pruned stochastic
/// triple, the triple mixed with the score function, the keep-4 triple and `rerun_resumable`
/// with the signed coupling, 64 flips per direction, the score mix and the output as control
/// variate. Draws E[mH] and
/// dE[mH]/dR with ± 1 standard-error bands, writes every number to a CSV file, and prints the
/// estimates and the variance table (per-sample standard deviations relative to the score
/// function with baseline, time per sample).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "\
Every estimate uses the same seed and --samples samples: sample i of every estimator draws its \
primal history from the streams of (seed, i), so finite differences and the unbiased estimators \
follow the same histories, and the curves are smooth in R (common random numbers across the \
grid). Time per sample: the batch's CPU time over every thread / samples (Linux; elsewhere \
wall time × threads / samples). The score function with and without baseline come from the \
same runs. The dE/dR panels' range is set by the estimators drawn with bands; the score \
function without baseline and GS-STE, often orders of magnitude noisier, are drawn as ± 1 \
standard-error bars cut at the panel, with a triangle at the edge where the mean lies beyond.

CSV columns: event, n_particles, alpha, radius, estimator, unbiased, samples, seed, \
ms_per_sample, mh (E[mH] estimate), mh_stderr, then for d = dr and dalpha: d (mean), \
d_stderr, d_std (per-sample standard deviation); std_ratio_dr and std_ratio_dalpha = \
std(score + baseline) / std(estimator) at the same point (> 1: less noisy than score + \
baseline); work_ratio_dr and work_ratio_dalpha = std² × time relative to score + baseline (< \
1: the same precision costs less time)."
)]
struct Args {
    /// The event: its index in the default sample (0–999).
    #[arg(long, value_name = "N", default_value_t = 0)]
    event: usize,
    /// Keep only the event's particles with pT > GEV.
    #[arg(long, value_name = "GEV", default_value_t = 1.0, value_parser = common::non_negative)]
    min_particle_pt: f64,
    /// Samples per estimate (at least 16: the score mix and the control variate fit their
    /// weights on half the batch).
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(16..))]
    samples: u64,
    /// The radii R (comma-separated; may be repeated).
    #[arg(long, value_name = "R,..", value_delimiter = ',',
          default_value = "0.5,0.6,0.7,0.8,0.9,1.0", value_parser = common::positive)]
    radii: Vec<f64>,
    /// The sharpnesses α (comma-separated; may be repeated), one column of panels each.
    #[arg(long, value_name = "A,..", value_delimiter = ',', default_value = "1,2,3,4",
          value_parser = common::positive)]
    alphas: Vec<f64>,
    /// The seed of every estimate.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Finite differences' half step h: (f(θ + h) − f(θ − h)) / 2h, in R and in α.
    #[arg(long, value_name = "H", default_value_t = 0.05, value_parser = common::positive)]
    step: f64,
    /// GS-STE's temperature τ.
    #[arg(long, value_name = "TAU", default_value_t = 0.1, value_parser = common::positive)]
    tau: f64,
    /// Also run the all-worlds triple (every alternative world kept; slow on real events).
    #[arg(long)]
    all_worlds: bool,
    /// Where to draw the figure: PNG, or SVG when the name ends in `.svg`.
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "docs/qantikt_estimators.png"
    )]
    output: PathBuf,
    /// Where to write every number (CSV).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "docs/qantikt_estimators.csv"
    )]
    csv: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qantikt_estimators: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every estimate at one (α, R).
struct Point {
    alpha: f64,
    radius: f64,
    results: Vec<Measured>,
}

impl Point {
    fn get(&self, e: Est) -> Option<&Measured> {
        self.results.iter().find(|m| m.est == e)
    }
    /// E[mH]: from the pruned triple's runs (every unbiased estimator and finite differences
    /// follow the same primal histories, so they agree), else the first estimate.
    fn mh(&self) -> (f64, f64) {
        let m = self.get(Est::Triple).unwrap_or(&self.results[0]);
        (m.g.value, m.g.value_stderr)
    }
}

fn run(args: Args) -> Result<(), String> {
    let (radii, alphas) = (dedup(&args.radii), dedup(&args.alphas));
    for path in [&args.output, &args.csv] {
        check_output_dir(path)?;
    }
    let event = load_event(args.event, args.min_particle_pt)?;
    let ests = estimators(args.all_worlds);
    let setup = Setup {
        seed: args.seed,
        samples: args.samples as usize,
        step: args.step,
        tau: args.tau,
        twin_runs: 4,
    };
    let points = radii.len() * alphas.len();
    let progress = ProgressBar::new((points * common::batches(&ests)) as u64).with_style(
        ProgressStyle::with_template(
            "{msg:<44} [{bar:30}] {pos}/{len} estimates, {elapsed} (eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    say(
        &progress,
        &format!(
            "Event {} of the default sample, {} particles with pT > {} GeV; {} samples per \
             estimate, seed {}; finite differences with half step h = {}, GS-STE with τ = {}; \
             {} rayon threads",
            args.event,
            event.len(),
            args.min_particle_pt,
            setup.samples,
            setup.seed,
            setup.step,
            setup.tau,
            rayon::current_num_threads()
        ),
    );
    let mut grid = Vec::new();
    for &alpha in &alphas {
        for &radius in &radii {
            progress.set_message(format!("α = {alpha}, R = {radius}"));
            let results = run_all(&ests, &event, [radius, alpha], &setup, |done| {
                progress.set_message(format!(
                    "α = {alpha}, R = {radius}: {} done",
                    done[0].label()
                ));
                progress.inc(1);
            })
            .map_err(|e| format!("α = {alpha}, R = {radius}: {e}"))?;
            grid.push(Point {
                alpha,
                radius,
                results,
            });
        }
    }
    progress.finish_and_clear();
    let quiet = ProgressBar::hidden();
    say(&quiet, &estimates_table(&grid, &ests, &alphas));
    say(&quiet, &variance_table(&grid, &ests, &alphas));
    fs::write(&args.csv, csv(&grid, args.event, event.len(), &setup))
        .map_err(|e| format!("{}: {e}", args.csv.display()))?;
    plot(&args, &grid, &ests, &alphas, event.len())?;
    say(
        &quiet,
        &format!("wrote {} and {}", args.output.display(), args.csv.display()),
    );
    Ok(())
}

/// `mean ± stderr` with enough digits for the magnitude of the error.
fn pm(mean: f64, stderr: f64) -> String {
    let digits = if stderr >= 10.0 {
        0
    } else if stderr >= 1.0 {
        1
    } else {
        2
    };
    format!("{mean:.digits$} ± {stderr:.digits$}")
}

/// Per α: E[mH] and every estimator's dE/dR (mean ± standard error) at each R.
fn estimates_table(grid: &[Point], ests: &[Est], alphas: &[f64]) -> String {
    let mut s = String::new();
    for &alpha in alphas {
        let _ = write!(
            s,
            "\nα = {alpha}: E[mH] (GeV) and dE[mH]/dR (GeV), mean ± standard error\n\n| R | E[mH] |"
        );
        for e in ests {
            let _ = write!(s, " {} |", e.label());
        }
        let _ = write!(s, "\n|---|---|");
        for _ in ests {
            s.push_str("---|");
        }
        for p in grid.iter().filter(|p| p.alpha == alpha) {
            let (mh, mh_se) = p.mh();
            let _ = write!(s, "\n| {} | {} |", p.radius, pm(mh, mh_se));
            for &e in ests {
                let cell = p
                    .get(e)
                    .map_or("–".into(), |m| pm(m.g.mean[0], m.g.stderr[0]));
                let _ = write!(s, " {cell} |");
            }
        }
        s.push('\n');
    }
    s
}

/// The reference estimator's (score + baseline) result at `p`.
fn reference(p: &Point) -> Option<&Measured> {
    p.get(Est::ScoreBaseline)
}

/// std(score + baseline) / std(m), direction `d`.
fn std_ratio(p: &Point, m: &Measured, d: usize) -> f64 {
    reference(p).map_or(f64::NAN, |b| b.g.std_dev()[d] / m.g.std_dev()[d])
}

/// std² × time of `m` relative to score + baseline's, direction `d`.
fn work_ratio(p: &Point, m: &Measured, d: usize) -> f64 {
    reference(p).map_or(f64::NAN, |b| {
        (m.g.std_dev()[d].powi(2) * m.ms) / (b.g.std_dev()[d].powi(2) * b.ms)
    })
}

/// Issue 6, point 7, on this event: per α and unbiased estimator, the medians over R of the
/// per-sample standard deviations, the time per sample and the ratios to score + baseline.
fn variance_table(grid: &[Point], ests: &[Est], alphas: &[f64]) -> String {
    let mut s = String::from(
        "\nPer-sample standard deviation of the unbiased estimators (median over the R points), \
         time per sample,\nstd ratio = std(score + baseline) / std(estimator) (> 1: less noisy), \
         work ratio = std² × time relative to score + baseline (< 1: cheaper for equal \
         precision); medians over R\n\n\
         | α | estimator | std dE/dR | std dE/dα | ms/sample | std ratio dR | std ratio dα | \
         work ratio dR | work ratio dα |\n|---|---|---|---|---|---|---|---|---|",
    );
    for &alpha in alphas {
        let points: Vec<&Point> = grid.iter().filter(|p| p.alpha == alpha).collect();
        for &e in ests.iter().filter(|e| e.unbiased()) {
            let ms: Vec<&Measured> = points.iter().filter_map(|p| p.get(e)).collect();
            let col = |f: &dyn Fn(&Point, &Measured) -> f64| {
                let xs: Vec<f64> = points
                    .iter()
                    .filter_map(|p| p.get(e).map(|m| f(p, m)))
                    .collect();
                median(&xs)
            };
            let _ = write!(
                s,
                "\n| {alpha} | {} | {:.1} | {:.2} | {:.3} | {:.2} | {:.2} | {:.2} | {:.2} |",
                e.label(),
                col(&|_, m| m.g.std_dev()[0]),
                col(&|_, m| m.g.std_dev()[1]),
                median(&ms.iter().map(|m| m.ms).collect::<Vec<_>>()),
                col(&|p, m| std_ratio(p, m, 0)),
                col(&|p, m| std_ratio(p, m, 1)),
                col(&|p, m| work_ratio(p, m, 0)),
                col(&|p, m| work_ratio(p, m, 1)),
            );
        }
    }
    s.push('\n');
    s
}

/// Every number, one row per (α, R, estimator).
fn csv(grid: &[Point], event: usize, n: usize, setup: &Setup) -> String {
    let mut s = String::from(
        "event,n_particles,alpha,radius,estimator,unbiased,samples,seed,ms_per_sample,mh,\
         mh_stderr,dr,dr_stderr,dr_std,dalpha,dalpha_stderr,dalpha_std,std_ratio_dr,\
         std_ratio_dalpha,work_ratio_dr,work_ratio_dalpha\n",
    );
    for p in grid {
        for m in &p.results {
            let (g, sd) = (&m.g, m.g.std_dev());
            let _ = writeln!(
                s,
                "{event},{n},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                p.alpha,
                p.radius,
                m.est.key(),
                m.est.unbiased(),
                g.samples,
                setup.seed,
                m.ms,
                g.value,
                g.value_stderr,
                g.mean[0],
                g.stderr[0],
                sd[0],
                g.mean[1],
                g.stderr[1],
                sd[1],
                std_ratio(p, m, 0),
                std_ratio(p, m, 1),
                work_ratio(p, m, 0),
                work_ratio(p, m, 1),
            );
        }
    }
    s
}

fn plot(args: &Args, grid: &[Point], ests: &[Est], alphas: &[f64], n: usize) -> Result<(), String> {
    // plotters' `ab_glyph` text loads no system font: hand it the embedded DejaVu Sans.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded font could not be loaded".to_string())?;
    let svg = args
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let size = ((420 * alphas.len() as u32).max(900) + 80, 900);
    let title = format!(
        "Single event: comparing gradient estimators — event {} ({n} particles with pT > {} GeV), \
         {} samples per point, ± 1 standard error",
        args.event, args.min_particle_pt, args.samples
    );
    if svg {
        draw(
            SVGBackend::new(&args.output, size).into_drawing_area(),
            grid,
            ests,
            alphas,
            &title,
            args,
        )
    } else {
        draw(
            BitMapBackend::new(&args.output, size).into_drawing_area(),
            grid,
            ests,
            alphas,
            &title,
            args,
        )
    }
    .map_err(|e| format!("{}: {e}", args.output.display()))
}

/// A point of a band: (x, lower, upper).
type BandPoint = (f64, f64, f64);

/// The y range of a panel: every band of the estimators in `ests`, with a margin.
fn y_range(bands: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let (lo, hi) = bands.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
        (lo.min(a), hi.max(b))
    });
    if !(lo.is_finite() && hi.is_finite()) {
        return (-1.0, 1.0);
    }
    let pad = 0.08 * (hi - lo).max(1e-9);
    (lo - pad, hi + pad)
}

/// Top row: E[mH](R) per α; bottom row: dE[mH]/dR per estimator; legend at the bottom.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    grid: &[Point],
    ests: &[Est],
    alphas: &[f64],
    title: &str,
    args: &Args,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (w, h) = root.dim_in_pixel();
    let (top, rest) = root.split_vertically(46);
    top.draw(&Text::new(
        title.to_string(),
        (20, 14),
        ("sans-serif", 19).into_font(),
    ))?;
    let (panels, legend) = rest.split_vertically(h - 46 - 70);
    let cells = panels.split_evenly((2, alphas.len()));
    let (rmin, rmax) = grid
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.radius), b.max(p.radius))
        });
    let xpad = 0.04 * (rmax - rmin).max(0.1);
    let xr = (rmin - xpad)..(rmax + xpad);
    let mut clipped = std::collections::HashSet::new();
    for (col, &alpha) in alphas.iter().enumerate() {
        let points: Vec<&Point> = grid.iter().filter(|p| p.alpha == alpha).collect();
        // E[mH] with its band.
        let mh: Vec<BandPoint> = points
            .iter()
            .map(|p| {
                let (m, se) = p.mh();
                (p.radius, m - se, m + se)
            })
            .collect();
        let (lo, hi) = y_range(mh.iter().map(|&(_, a, b)| (a, b)));
        let mut chart = ChartBuilder::on(&cells[col])
            .caption(format!("α = {alpha}: E[mH]"), ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d(xr.clone(), lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(6)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("R")
            .y_desc(if col == 0 { "E[mH] [GeV]" } else { "" })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        let black = RGBColor(0x22, 0x22, 0x22);
        chart.draw_series(band(&mh, black))?;
        chart.draw_series(LineSeries::new(
            mh.iter().map(|&(r, a, b)| (r, 0.5 * (a + b))),
            black.stroke_width(2),
        ))?;

        // dE/dR per estimator, bands ± 1 s.e. The plain score function's and GS-STE's (often
        // far wider; GS-STE's tangents grow through the relaxed state at small τ) do not set
        // the range; where they leave it they are clipped to the panel (the CSV has them).
        let curves: Vec<(Est, Vec<BandPoint>)> = ests
            .iter()
            .map(|&e| {
                let c = points
                    .iter()
                    .filter_map(|p| {
                        p.get(e).map(|m| {
                            (
                                p.radius,
                                m.g.mean[0] - m.g.stderr[0],
                                m.g.mean[0] + m.g.stderr[0],
                            )
                        })
                    })
                    .collect();
                (e, c)
            })
            .collect();
        let (lo, hi) = y_range(
            curves
                .iter()
                .filter(|(e, _)| sets_range(*e))
                .flat_map(|(_, c)| c.iter().map(|&(_, a, b)| (a, b))),
        );
        let mut chart = ChartBuilder::on(&cells[alphas.len() + col])
            .caption(format!("α = {alpha}: dE[mH]/dR"), ("sans-serif", 17))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d(xr.clone(), lo..hi)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_labels(6)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("R")
            .y_desc(if col == 0 { "dE[mH]/dR [GeV]" } else { "" })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(LineSeries::new(
            [(xr.start, 0.0), (xr.end, 0.0)],
            RGBColor(0xbb, 0xbb, 0xbb).stroke_width(1),
        ))?;
        let mut clip = |e: Est, c: &[BandPoint]| -> Vec<BandPoint> {
            if c.iter().any(|&(_, a, b)| a < lo || b > hi) {
                clipped.insert(e);
            }
            c.iter()
                .map(|&(r, a, b)| (r, a.clamp(lo, hi), b.clamp(lo, hi)))
                .collect()
        };
        // The estimators that set the range: band and line. The others: ± 1 s.e. bars beside
        // the points, cut at the panel, and a triangle at the edge where the mean lies beyond.
        let dx = 0.012 * (rmax - rmin).max(0.1);
        for (e, c) in curves.iter().filter(|(e, _)| sets_range(*e)) {
            chart.draw_series(band(&clip(*e, c), colour(*e)))?;
        }
        for (e, c) in &curves {
            let mean = |&(r, a, b): &BandPoint| (r, 0.5 * (a + b));
            let col = colour(*e);
            if sets_range(*e) {
                chart.draw_series(LineSeries::new(c.iter().map(mean), col.stroke_width(2)))?;
                chart.draw_series(
                    c.iter()
                        .map(mean)
                        .map(|(r, m)| Circle::new((r, m), 3, col.filled())),
                )?;
                continue;
            }
            clip(*e, c);
            let x = |r: f64| if *e == Est::Score { r - dx } else { r + dx };
            chart.draw_series(c.iter().map(|&(r, a, b)| {
                PathElement::new(
                    [(x(r), a.clamp(lo, hi)), (x(r), b.clamp(lo, hi))],
                    col.stroke_width(2),
                )
            }))?;
            for (r, m) in c.iter().map(mean) {
                let at = EmptyElement::at((x(r), m.clamp(lo, hi)));
                if m > hi {
                    chart.draw_series([at + TriangleMarker::new((0, 4), 5, col.filled())])?;
                } else if m < lo {
                    chart.draw_series([at
                        + PathElement::new(
                            [(-5, -6), (5, -6), (0, 2), (-5, -6)],
                            col.stroke_width(2),
                        )])?;
                } else {
                    chart.draw_series([at + Circle::new((0, 0), 3, col.filled())])?;
                }
            }
        }
    }
    // The legend: one entry per estimator, in two rows.
    let per_row = ests.len().div_ceil(2);
    let slot = (w as i32 - 40) / per_row as i32;
    for (i, &e) in ests.iter().enumerate() {
        let (x, y) = (
            20 + slot * (i % per_row) as i32,
            14 + 28 * (i / per_row) as i32,
        );
        if sets_range(e) {
            legend.draw(&Rectangle::new(
                [(x, y), (x + 26, y + 12)],
                colour(e).mix(0.25).filled(),
            ))?;
            legend.draw(&PathElement::new(
                [(x, y + 6), (x + 26, y + 6)],
                colour(e).stroke_width(2),
            ))?;
        } else {
            legend.draw(&PathElement::new(
                [(x + 13, y - 2), (x + 13, y + 14)],
                colour(e).stroke_width(2),
            ))?;
            legend.draw(&Circle::new((x + 13, y + 6), 3, colour(e).filled()))?;
        }
        let mut name = match e {
            Est::FiniteDifferences => format!("{}, h = {} (biased)", e.label(), args.step),
            Est::GumbelSoftmax => format!("{}, τ = {} (biased)", e.label(), args.tau),
            _ => e.label().to_string(),
        };
        if clipped.contains(&e) {
            name.push_str(if sets_range(e) {
                ", clipped"
            } else {
                ", s.e. bars cut (▲▼: off scale)"
            });
        }
        legend.draw(&Text::new(
            name,
            (x + 34, y - 1),
            ("sans-serif", 15).into_font(),
        ))?;
    }
    root.present()?;
    Ok(())
}

/// Whether an estimator's band sets the y range of the dE/dR panels: not the plain score
/// function's nor GS-STE's, which are often orders of magnitude wider.
fn sets_range(e: Est) -> bool {
    !matches!(e, Est::Score | Est::GumbelSoftmax)
}

/// A filled band between the lower and upper curves of `c` = (x, lower, upper).
fn band(c: &[BandPoint], colour: RGBColor) -> Option<Polygon<(f64, f64)>> {
    if c.is_empty() {
        return None;
    }
    let mut outline: Vec<(f64, f64)> = c.iter().map(|&(x, a, _)| (x, a)).collect();
    outline.extend(c.iter().rev().map(|&(x, _, b)| (x, b)));
    Some(Polygon::new(outline, colour.mix(0.18).filled()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
        let args = Args::try_parse_from(["x", "--radii", "0.4,0.8", "--alphas=2"]).unwrap();
        assert_eq!(args.radii, [0.4, 0.8]);
        assert_eq!(args.alphas, [2.0]);
        assert!(Args::try_parse_from(["x", "--radii", "0.4,-1"]).is_err());
        assert!(Args::try_parse_from(["x", "--samples", "3"]).is_err());
        assert!(Args::try_parse_from(["x", "--step", "0"]).is_err());
    }
}
