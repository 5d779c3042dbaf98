//! Issue 6, point 7: how noisy is each unbiased estimator of dE[mH]/dR and dE[mH]/dα on real
//! events? On the first events of the default sample, at every (R, α) of {0.4, 0.8} × {1, 2, 4},
//! runs the score function with and without the leave-one-out baseline, the pruned stochastic
//! triple with maximal and with same-uniform redraws, `stochad::rerun` (the pruned triple's
//! estimate from re-runs of the `f64` clustering; with one flip shared by both directions; and
//! with every flip re-run; and with reservoirs of 2–8 flips per direction, and of 32 and 64 with
//! the signed coupling, and with the signed coupling's jumps drawn for both directions together
//! and 32, 64 or all of them kept), the triple mixed
//! with the score function,
//! the keep-2, keep-4 and keep-8 triples (and with `--all-worlds` the all-worlds triple), and
//! with the output mH as control variate (`.control_variate(twin)`, E[mH] and E[mH²] from
//! independent `f64` runs) the score function with baseline, the triple + score mix, the keep-4
//! and keep-8 triples and keep-8 + score mix (and with `--fan-out` the keep-32 triple with the
//! proportional coupling fanned out to 8 targets and with the signed coupling fanned out to 4
//! per side and, as the fan-out's control, with the plain signed coupling, and the keep-16 triple
//! with the signed coupling fanned out to 2, each with mix and CV); it reports per-sample standard
//! deviations, time per sample, the ratio
//! std(score + baseline) / std(estimator) per event with its median over events, and the work
//! ratio std² × time relative to score + baseline. A Markdown table goes to standard output,
//! every number to a CSV file.
//!
//! ```text
//! cargo run --release --example qantikt_variance -- [--events 10] [--first-event 0]
//!     [--min-particle-pt 1] [--samples 100] [--radii 0.4,0.8] [--alphas 1,2,4] [--seed 1]
//!     [--all-worlds] [--fan-out] [--twin-runs 4] [--only KEY,..]
//!     [--csv docs/qantikt_variance.csv]
//! ```

#[path = "qantikt_common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use common::{check_output_dir, dedup, load_events, median, run_all, say, Est, Measured, Setup};

/// The unbiased estimators, in table order (the all-worlds backend only with `--all-worlds`).
const ESTIMATORS: [Est; 40] = [
    Est::ScoreBaseline,
    Est::Score,
    Est::Triple,
    Est::TripleCarried,
    Est::TripleSameUniform,
    Est::Rerun,
    Est::RerunEveryFlip,
    Est::RerunShared,
    Est::RerunScoreMix,
    Est::TripleScoreMix,
    Est::TripleCarriedScoreMix,
    Est::Keep2,
    Est::Keep4,
    Est::Keep8,
    Est::AllWorldsTriple,
    Est::ScoreBaselineCv,
    Est::TripleScoreMixCv,
    Est::TripleCarriedScoreMixCv,
    Est::RerunScoreMixCv,
    Est::RerunReservoir2,
    Est::RerunReservoir4,
    Est::RerunReservoir8,
    Est::RerunReservoir4Mix,
    Est::RerunReservoir8Mix,
    Est::RerunReservoir8MixCv,
    Est::RerunSignedReservoir32MixCv,
    Est::RerunSignedReservoir64MixCv,
    Est::RerunSignedReservoir64Mix,
    Est::RerunJoint4Keep32MixCv,
    Est::RerunJoint4Keep64MixCv,
    Est::RerunJointEveryMixCv,
    Est::Keep4Cv,
    Est::Keep8Cv,
    Est::Keep8MixCv,
    Est::Keep8SignedMix,
    Est::Keep8SignedMixCv,
    Est::Keep32Fan8MixCv,
    Est::Keep32SignedFan4MixCv,
    Est::Keep32SignedMixCv,
    Est::Keep16SignedFan2MixCv,
];

/// Per-sample standard deviation of every unbiased estimator of dE[mH]/dR and dE[mH]/dα on
/// real events, relative to the score function with baseline.
///
/// Clusters events `--first-event ..` of the built-in ZH → ℓℓbb̄ sample (particles with
/// pT > --min-particle-pt) with Qanti-kT at every (R, α), and estimates the gradient of E[mH]
/// (mH: invariant mass of the two leading jets, 0 with fewer than two) with each estimator.
/// Prints per (R, α) and estimator the medians over events of the per-sample standard
/// deviations, of the time per sample, of std(score + baseline) / std(estimator) (with the
/// range over events) and of the work ratio std² × time relative to score + baseline, then the
/// same medians over every event and point. Writes every number to --csv.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "\
Every estimate uses the same seed and --samples samples: sample i draws its primal history from \
the streams of (seed, i), so the estimators follow the same histories. The score function with \
and without baseline come from the same runs. Time per sample: the batch's CPU time over \
every thread / samples (Linux; elsewhere wall time × threads / samples), the control variates' \
twin runs included. A control variate's per-sample standard deviation is its standard error × \
√samples, the twin means' noise included. Per-sample standard deviations \
of these estimators have heavy tails: with few samples they swing by tens of percent between \
seeds; the median over events steadies the ratios, and --samples 1000 or more the single ones.

CSV columns: event, n_particles, radius, alpha, estimator, samples, seed, ms_per_sample, mh \
(E[mH] estimate), mh_stderr, then for d = dr and dalpha: d (mean), d_stderr, d_std (per-sample \
standard deviation); std_ratio_dr and std_ratio_dalpha = std(score + baseline) / \
std(estimator) on the same event and point (> 1: less noisy than score + baseline); \
work_ratio_dr and work_ratio_dalpha = std² × time relative to score + baseline (< 1: the same \
precision costs less time)."
)]
struct Args {
    /// How many events (the first of the default sample from --first-event on).
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    events: u64,
    /// The index of the first event in the default sample.
    #[arg(long, value_name = "N", default_value_t = 0)]
    first_event: usize,
    /// Keep only particles with pT > GEV.
    #[arg(long, value_name = "GEV", default_value_t = 1.0, value_parser = common::non_negative)]
    min_particle_pt: f64,
    /// Samples per estimate (at least 16: the score mix and the control variates fit their
    /// weights on half the batch).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(16..))]
    samples: u64,
    /// The radii R (comma-separated; may be repeated).
    #[arg(long, value_name = "R,..", value_delimiter = ',', default_value = "0.4,0.8",
          value_parser = common::positive)]
    radii: Vec<f64>,
    /// The sharpnesses α (comma-separated; may be repeated).
    #[arg(long, value_name = "A,..", value_delimiter = ',', default_value = "1,2,4",
          value_parser = common::positive)]
    alphas: Vec<f64>,
    /// The seed of every estimate.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Also run the all-worlds triple (every alternative world kept). Its cost grows with N:
    /// 0.46 ms per sample in the median cell, about 2× the pruned triple (stop 35, worlds
    /// resumed from their draws; carried, stop 31: 1.0 ms).
    #[arg(long)]
    all_worlds: bool,
    /// Also run the keep-32 triple with the proportional coupling fanned out to 8 targets,
    /// score mix and output control variate (1.05 ms per sample in the median cell); the
    /// keep-32 triple with the signed coupling fanned out to 4 targets per side, mix and output
    /// control variate (2.5 ms; with its worlds carried, stop 31, the least noisy estimator in
    /// both directions at 9.2 ms, and 76 ms with the code of stop 18); and, as the control of
    /// the fan-out, the keep-32 triple with the plain signed coupling, and the keep-16 triple
    /// with the signed coupling fanned out to 2, each with mix and output control variate (2.3
    /// and 1.5 ms). The four rows took 135 s for the 60 cells at 500 samples (stop 35, worlds
    /// resumed from their draws).
    #[arg(long)]
    fan_out: bool,
    /// Independent `f64` twin runs per sample of the output-control-variate estimators.
    #[arg(long, value_name = "M", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..))]
    twin_runs: u64,
    /// Run only these estimators (CSV keys, e.g. keep8,keep8_cv; score + baseline, the
    /// reference of every ratio, always runs; a key named here runs without its flag).
    #[arg(long, value_name = "KEY,..", value_delimiter = ',')]
    only: Vec<String>,
    /// Where to write every number (CSV).
    #[arg(long, value_name = "FILE", default_value = "docs/qantikt_variance.csv")]
    csv: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qantikt_variance: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every estimate on one event at one (R, α).
struct Cell {
    event: usize,
    n: usize,
    radius: f64,
    alpha: f64,
    results: Vec<Measured>,
}

impl Cell {
    fn get(&self, e: Est) -> Option<&Measured> {
        self.results.iter().find(|m| m.est == e)
    }
    /// std(score + baseline) / std(e), direction `d`.
    fn std_ratio(&self, e: Est, d: usize) -> Option<f64> {
        let (b, m) = (self.get(Est::ScoreBaseline)?, self.get(e)?);
        Some(b.g.std_dev()[d] / m.g.std_dev()[d])
    }
    /// std² × time of `e` relative to score + baseline's, direction `d`.
    fn work_ratio(&self, e: Est, d: usize) -> Option<f64> {
        let (b, m) = (self.get(Est::ScoreBaseline)?, self.get(e)?);
        Some((m.g.std_dev()[d].powi(2) * m.ms) / (b.g.std_dev()[d].powi(2) * b.ms))
    }
}

/// The estimators to run: every one of [`ESTIMATORS`] but the slow ones behind their flags, or
/// with `--only` those named (a slow one too) and the reference score + baseline.
fn selected(args: &Args) -> Result<Vec<Est>, String> {
    if let Some(k) = args
        .only
        .iter()
        .find(|k| !ESTIMATORS.iter().any(|e| e.key() == k.as_str()))
    {
        return Err(format!("--only: no estimator {k:?}"));
    }
    Ok(ESTIMATORS
        .iter()
        .copied()
        .filter(|&e| {
            if args.only.is_empty() {
                match e {
                    Est::AllWorldsTriple => args.all_worlds,
                    Est::Keep32Fan8MixCv
                    | Est::Keep32SignedFan4MixCv
                    | Est::Keep32SignedMixCv
                    | Est::Keep16SignedFan2MixCv => args.fan_out,
                    _ => true,
                }
            } else {
                e == Est::ScoreBaseline || args.only.iter().any(|k| k == e.key())
            }
        })
        .collect())
}

fn run(args: Args) -> Result<(), String> {
    check_output_dir(&args.csv)?;
    let (radii, alphas) = (dedup(&args.radii), dedup(&args.alphas));
    let events = load_events(args.first_event, args.events as usize, args.min_particle_pt)?;
    let ests = selected(&args)?;
    let setup = Setup {
        seed: args.seed,
        samples: args.samples as usize,
        step: 0.05,
        tau: 0.1,
        twin_runs: args.twin_runs as usize,
    };
    let total = events.len() * radii.len() * alphas.len() * common::batches(&ests);
    let progress = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template(
            "{msg:<40} [{bar:30}] {pos}/{len} estimates, {elapsed} (eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let sizes: Vec<String> = events.iter().map(|e| e.len().to_string()).collect();
    say(
        &progress,
        &format!(
            "Events {}..{} of the default sample, particles with pT > {} GeV: {} particles; \
             {} samples per estimate, seed {}, {} rayon threads",
            args.first_event,
            args.first_event + events.len(),
            args.min_particle_pt,
            sizes.join(", "),
            setup.samples,
            setup.seed,
            rayon::current_num_threads()
        ),
    );
    let start = Instant::now();
    let mut cells = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let number = args.first_event + i;
        for &radius in &radii {
            for &alpha in &alphas {
                progress.set_message(format!("event {number}, R = {radius}, α = {alpha}"));
                let results =
                    run_all(&ests, event, [radius, alpha], &setup, |_| progress.inc(1))
                        .map_err(|e| format!("event {number}, R = {radius}, α = {alpha}: {e}"))?;
                cells.push(Cell {
                    event: number,
                    n: event.len(),
                    radius,
                    alpha,
                    results,
                });
            }
        }
    }
    progress.finish_and_clear();
    let quiet = ProgressBar::hidden();
    say(&quiet, &table(&cells, &ests, &radii, &alphas));
    fs::write(&args.csv, csv(&cells, &setup))
        .map_err(|e| format!("{}: {e}", args.csv.display()))?;
    say(
        &quiet,
        &format!(
            "wrote {} ({:.0} s)",
            args.csv.display(),
            start.elapsed().as_secs_f64()
        ),
    );
    Ok(())
}

/// `median (min–max)` of `xs`.
fn spread(xs: &[f64]) -> String {
    if xs.is_empty() {
        return "–".into();
    }
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    format!("{} ({}–{})", short(median(xs)), short(lo), short(hi))
}

/// Two decimals, or scientific notation from 1000 on (a ratio blows up where an estimator's
/// samples happened to be all equal).
fn short(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.1e}")
    } else {
        format!("{x:.2}")
    }
}

/// One table row: the medians over `cells` for estimator `e`.
fn row(cells: &[&Cell], e: Est) -> String {
    let of = |f: &dyn Fn(&Cell) -> Option<f64>| -> Vec<f64> {
        cells.iter().filter_map(|c| f(c)).collect()
    };
    let std = |d: usize| of(&|c| c.get(e).map(|m| m.g.std_dev()[d]));
    let ms = of(&|c| c.get(e).map(|m| m.ms));
    format!(
        "| {} | {:.1} | {:.2} | {:.3} | {} | {} | {} | {} |",
        e.label(),
        median(&std(0)),
        median(&std(1)),
        median(&ms),
        spread(&of(&|c| c.std_ratio(e, 0))),
        spread(&of(&|c| c.std_ratio(e, 1))),
        short(median(&of(&|c| c.work_ratio(e, 0)))),
        short(median(&of(&|c| c.work_ratio(e, 1)))),
    )
}

const HEADER: &str = "| estimator | std dE/dR | std dE/dα | ms/sample | std ratio dR | \
                      std ratio dα | work ratio dR | work ratio dα |\n\
                      |---|---|---|---|---|---|---|---|";

/// Per (R, α), then over everything: medians over events of each estimator's numbers.
fn table(cells: &[Cell], ests: &[Est], radii: &[f64], alphas: &[f64]) -> String {
    let mut s = String::from(
        "\nMedians over events. std: per-sample standard deviation (GeV for dE/dR, GeV per unit \
         α for dE/dα); ms/sample: time per sample on one core;\nstd ratio = std(score + \
         baseline) / std(estimator) on the same event, median (min–max over events), > 1: \
         less noisy than score + baseline;\nwork ratio = std² × time relative to score + \
         baseline, < 1: the same precision in less time.\n",
    );
    for &radius in radii {
        for &alpha in alphas {
            let here: Vec<&Cell> = cells
                .iter()
                .filter(|c| c.radius == radius && c.alpha == alpha)
                .collect();
            let _ = write!(s, "\nR = {radius}, α = {alpha}\n\n{HEADER}");
            for &e in ests {
                let _ = write!(s, "\n{}", row(&here, e));
            }
            s.push('\n');
        }
    }
    let all: Vec<&Cell> = cells.iter().collect();
    let _ = write!(
        s,
        "\nEvery event and (R, α): medians over {} estimates per estimator\n\n{HEADER}",
        all.len()
    );
    for &e in ests {
        let _ = write!(s, "\n{}", row(&all, e));
    }
    s.push('\n');
    s
}

/// Every number, one row per (event, R, α, estimator).
fn csv(cells: &[Cell], setup: &Setup) -> String {
    let mut s = String::from(
        "event,n_particles,radius,alpha,estimator,samples,seed,ms_per_sample,mh,mh_stderr,dr,\
         dr_stderr,dr_std,dalpha,dalpha_stderr,dalpha_std,std_ratio_dr,std_ratio_dalpha,\
         work_ratio_dr,work_ratio_dalpha\n",
    );
    let num = |x: Option<f64>| x.map_or(String::new(), |x| x.to_string());
    for c in cells {
        for m in &c.results {
            let (g, sd) = (&m.g, m.g.std_dev());
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                c.event,
                c.n,
                c.radius,
                c.alpha,
                m.est.key(),
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
                num(c.std_ratio(m.est, 0)),
                num(c.std_ratio(m.est, 1)),
                num(c.work_ratio(m.est, 0)),
                num(c.work_ratio(m.est, 1)),
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
        let args =
            Args::try_parse_from(["x", "--radii=0.8", "--alphas", "1,4", "--all-worlds"]).unwrap();
        assert_eq!(
            (args.radii, args.alphas, args.all_worlds),
            (vec![0.8], vec![1.0, 4.0], true)
        );
        assert!(Args::try_parse_from(["x", "--events", "0"]).is_err());
        assert!(Args::try_parse_from(["x", "--alphas", "0"]).is_err());
        assert!(Args::try_parse_from(["x", "--samples", "15"]).is_err());
    }

    #[test]
    fn slow_estimators_run_on_request() {
        let pick = |argv: &[&str]| selected(&Args::try_parse_from(argv).unwrap());
        let default = pick(&["x"]).unwrap();
        assert_eq!(default.len(), ESTIMATORS.len() - 5);
        assert!(
            !default.contains(&Est::AllWorldsTriple)
                && !default.contains(&Est::Keep32Fan8MixCv)
                && !default.contains(&Est::Keep32SignedFan4MixCv)
                && !default.contains(&Est::Keep32SignedMixCv)
                && !default.contains(&Est::Keep16SignedFan2MixCv)
        );
        let fan = pick(&["x", "--fan-out"]).unwrap();
        assert!(
            fan.contains(&Est::Keep32Fan8MixCv)
                && fan.contains(&Est::Keep32SignedFan4MixCv)
                && fan.contains(&Est::Keep32SignedMixCv)
                && fan.contains(&Est::Keep16SignedFan2MixCv)
                && !fan.contains(&Est::AllWorldsTriple)
        );
        assert_eq!(
            pick(&["x", "--only", "keep8,keep32_fan8_mix_cv"]).unwrap(),
            [Est::ScoreBaseline, Est::Keep8, Est::Keep32Fan8MixCv]
        );
        assert_eq!(
            pick(&["x", "--only", "keep32_signed_fan4_mix_cv"]).unwrap(),
            [Est::ScoreBaseline, Est::Keep32SignedFan4MixCv]
        );
        assert!(pick(&["x", "--only", "keep9"]).is_err());
    }

    #[test]
    fn spread_and_median() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), "2.00 (1.00–3.00)");
        assert_eq!(spread(&[]), "–");
        assert_eq!(spread(&[1.0, f64::INFINITY]), "inf (1.00–inf)");
        assert_eq!(short(4.6e13), "4.6e13");
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
