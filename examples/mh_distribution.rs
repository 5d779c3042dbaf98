//! The reconstructed Higgs mass (m_jj of the two leading anti-kT jets) on the default sample for
//! R = 0.4 … 1.2: why the jet radius matters. Draws a histogram (PNG, or SVG when the output
//! ends in `.svg`) and prints, per R, the number of events with two jets, mean ± std in
//! [50, 200] GeV, the core (iteratively 2σ-clipped) mean and width, and how many masses fall
//! below and above the plotted range.
//!
//! ```text
//! cargo run --release --example mh_distribution -- [--output docs/mh_distribution.png] [--ptmin 20]
//! ```

use std::error::Error;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use stochad::jets::cluster::{Algorithm, JetDefinition};
use stochad::jets::io::default_sample;
use stochad::jets::observables::{reconstruct_mh, DijetSelection};
use stochad::jets::FourMomentum;

const RADII: [f64; 5] = [0.4, 0.6, 0.8, 1.0, 1.2];
const COLOURS: [RGBColor; 5] = [
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe7, 0x29, 0x8a),
    RGBColor(0x66, 0xa6, 0x1e),
];
/// Histogram range and bin width (GeV). Masses outside [M_LO, M_HI) are counted, not drawn.
const M_LO: f64 = 0.0;
const M_HI: f64 = 250.0;
const BIN: f64 = 5.0;
/// Window of the plain mean ± std (GeV).
const WINDOW: (f64, f64) = (50.0, 200.0);

/// The reconstructed Higgs mass on the built-in ZH → ℓℓbb̄ sample for R = 0.4 … 1.2.
///
/// Clusters the 1000 default events with anti-kT at each R, reconstructs m_jj from the two
/// leading jets, prints per R the events with two jets, mean ± std in [50, 200] GeV, the core
/// (iteratively 2σ-clipped) mean and width and the masses outside the plotted [0, 250) GeV, and
/// draws the histograms.
#[derive(Parser, Debug)]
#[command(version, allow_negative_numbers = true)]
struct Args {
    /// Where to draw the histogram: PNG, or SVG when the name ends in `.svg`. The directory
    /// must exist.
    #[arg(
        long,
        short,
        value_name = "FILE",
        default_value = "docs/mh_distribution.png"
    )]
    output: PathBuf,
    /// Minimum transverse momentum of each of the two leading jets, in GeV.
    #[arg(long, value_name = "GEV", default_value_t = 20.0)]
    ptmin: f64,
}

/// Mean and standard deviation (n − 1) of `xs`; `None` for fewer than two values.
fn mean_std(xs: &[f64]) -> Option<(f64, f64)> {
    if xs.len() < 2 {
        return None;
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some((mean, var.sqrt()))
}

/// Core of the distribution: mean and std of the values within 2σ of the mean, iterated until
/// the kept set no longer changes (or would drop below two values).
fn core(xs: &[f64]) -> Option<(f64, f64)> {
    let (mut mean, mut std) = mean_std(xs)?;
    let mut kept = xs.len();
    for _ in 0..100 {
        let inner: Vec<f64> = xs
            .iter()
            .copied()
            .filter(|x| (x - mean).abs() < 2.0 * std)
            .collect();
        let Some(next) = mean_std(&inner) else { break };
        (mean, std) = next;
        if inner.len() == kept {
            break;
        }
        kept = inner.len();
    }
    Some((mean, std))
}

/// One radius: the histogram over [M_LO, M_HI), what fell outside it, and the summary numbers.
struct Row {
    radius: f64,
    counts: Vec<f64>,
    below: usize,
    above: usize,
    events: usize,
    window: Option<(f64, f64)>,
    core: Option<(f64, f64)>,
}

impl Row {
    fn new(radius: f64, masses: &[f64]) -> Row {
        let nbins = ((M_HI - M_LO) / BIN).round() as usize;
        let mut counts = vec![0.0; nbins];
        let (mut below, mut above) = (0, 0);
        for &m in masses {
            if m < M_LO {
                below += 1;
            } else if m >= M_HI {
                above += 1;
            } else {
                counts[(((m - M_LO) / BIN) as usize).min(nbins - 1)] += 1.0;
            }
        }
        let window: Vec<f64> = masses
            .iter()
            .copied()
            .filter(|m| (WINDOW.0..=WINDOW.1).contains(m))
            .collect();
        Row {
            radius,
            counts,
            below,
            above,
            events: masses.len(),
            window: mean_std(&window),
            core: core(masses),
        }
    }

    /// The console line.
    fn line(&self) -> String {
        let r = self.radius;
        if self.events == 0 {
            return format!("{r:4.1}  {:>6}  no events pass", 0);
        }
        let window = match self.window {
            Some((mean, std)) => format!("{mean:7.1} ± {std:5.1}"),
            None => format!("{:>15}", "–"),
        };
        let core = match self.core {
            Some((mu, sigma)) => format!("{mu:6.1}  {sigma:6.1}"),
            None => format!("{:>6}  {:>6}", "–", "–"),
        };
        format!(
            "{r:4.1}  {:6}  {window}        {core}  {:>5}  {:>5}",
            self.events, self.below, self.above
        )
    }

    /// The legend entry.
    fn label(&self) -> String {
        let r = self.radius;
        if self.events == 0 {
            return format!("R = {r:.1}: no events pass");
        }
        let core = match self.core {
            Some((mu, sigma)) => format!("core μ = {mu:.1}, σ = {sigma:.1} GeV"),
            None => format!("{} events", self.events),
        };
        format!(
            "R = {r:.1}: {core}; outside the plot: {} below, {} above",
            self.below, self.above
        )
    }
}

/// Step-line histograms per radius, a dashed marker at 125 GeV, and a legend that says what
/// fell outside the drawn range.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    rows: &[Row],
    ptmin: f64,
    n_events: usize,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let ymax = rows
        .iter()
        .flat_map(|r| r.counts.iter().copied())
        .fold(0.0, f64::max);
    // Headroom for the legend; at least one tick when nothing passes.
    let ymax = ((ymax * 1.4) / 20.0).ceil().max(1.0) * 20.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Reconstructed m_H: two leading anti-kT jets with pT ≥ {ptmin} GeV, \
                 {n_events} ZH → ℓℓbb events"
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .margin_right(28)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(M_LO..M_HI, 0.0..ymax)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(11)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .x_desc("m_jj [GeV]")
        .y_desc(format!("events / {BIN} GeV"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(125.0, 0.0), (125.0, ymax)],
        6,
        5,
        ShapeStyle::from(&RGBColor(0x88, 0x88, 0x88)).stroke_width(1),
    ))?;
    chart.draw_series([Text::new(
        "125 GeV",
        (126.5, ymax * 0.72),
        ("sans-serif", 14)
            .into_font()
            .color(&RGBColor(0x66, 0x66, 0x66)),
    )])?;
    for (row, &colour) in rows.iter().zip(COLOURS.iter()) {
        let mut points = vec![(M_LO, 0.0)];
        for (i, &count) in row.counts.iter().enumerate() {
            let x0 = M_LO + i as f64 * BIN;
            points.push((x0, count));
            points.push((x0 + BIN, count));
        }
        points.push((M_HI, 0.0));
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(row.label())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], colour.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Fails early, before the clustering, when the plot could not be written.
fn check_output_dir(output: &Path) -> Result<(), String> {
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(format!(
                "{}: directory {} does not exist (run from the repository root, or pass \
                 --output FILE)",
                output.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}

fn plot(output: &Path, rows: &[Row], ptmin: f64, n_events: usize) -> Result<(), String> {
    // plotters' `ab_glyph` text loads no system font: hand it the embedded DejaVu Sans.
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded font could not be loaded".to_string())?;
    let svg = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
    let size = (1000, 600);
    if svg {
        draw(
            SVGBackend::new(output, size).into_drawing_area(),
            rows,
            ptmin,
            n_events,
        )
    } else {
        draw(
            BitMapBackend::new(output, size).into_drawing_area(),
            rows,
            ptmin,
            n_events,
        )
    }
    .map_err(|e| format!("{}: {e}", output.display()))
}

/// Prints a line of the report; a closed pipe (`| head`) ends the run quietly.
fn say(text: &str) {
    if let Err(e) = writeln!(io::stdout(), "{text}") {
        if e.kind() == io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        panic!("writing to standard output: {e}");
    }
}

fn run(args: Args) -> Result<(), String> {
    let ptmin = args.ptmin;
    let selection = DijetSelection::new(ptmin, f64::INFINITY).map_err(|e| e.to_string())?;
    check_output_dir(&args.output)?;
    let events: Vec<Vec<FourMomentum>> = default_sample()
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.particles.iter().map(|p| p.momentum).collect()))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    say(&format!(
        "anti-kT, two leading jets with pt ≥ {ptmin} GeV, {} events",
        events.len()
    ));
    say(&format!(
        "   R  events  mean±std in [50,200]  core μ  core σ  below  above  \
         (2σ-clipped core; masses below {M_LO} / at or above {M_HI} GeV are not drawn)"
    ));
    // Drawn on stderr, and only when it is a terminal.
    let progress = ProgressBar::new((RADII.len() * events.len()) as u64).with_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events, {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut rows = Vec::new();
    for r in RADII {
        progress.set_message(format!("clustering, R = {r:.1}"));
        let def = JetDefinition::new(Algorithm::AntiKt, r).map_err(|e| e.to_string())?;
        let mut masses = Vec::new();
        for ev in &events {
            if let Some(m) = reconstruct_mh(ev, &def, &selection)
                .map_err(|e| e.to_string())?
                .mass()
            {
                masses.push(m);
            }
            progress.inc(1);
        }
        let row = Row::new(r, &masses);
        progress.suspend(|| say(&row.line()));
        rows.push(row);
    }
    progress.finish_and_clear();
    if rows.iter().all(|r| r.events == 0) {
        say(&format!(
            "no events pass: no event has two jets with pt ≥ {ptmin} GeV at any R"
        ));
    }
    plot(&args.output, &rows, ptmin, events.len())?;
    say(&format!("wrote {}", args.output.display()));
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mh_distribution: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn masses_outside_the_plot_are_counted() {
        let row = Row::new(0.4, &[-1.0, 0.0, 124.9, 249.9, 250.0, 1e4]);
        assert_eq!((row.below, row.above, row.events), (1, 2, 6));
        assert_eq!(row.counts.iter().sum::<f64>(), 3.0);
        assert!(row.label().contains("1 below, 2 above"));
    }

    #[test]
    fn no_events_is_said_not_computed() {
        let row = Row::new(0.4, &[]);
        assert!(row.line().contains("no events pass"));
        assert!(row.label().contains("no events pass"));
        assert!(!row.line().contains("NaN"));
        let one = Row::new(0.4, &[125.0]);
        assert!(!one.line().contains("NaN"), "{}", one.line());
    }
}
