//! Optimises the anti-kT jet radius R by stochastic gradients of the Qanti-kT reconstructed Higgs
//! mass, once for all events (global R) and once per event, and shows what that does to the
//! Higgs peak.
//!
//! ```text
//! cargo run --release --example jet_radius_opt                  # the full study, ≈ 70 s of CPU
//! cargo run --release --example jet_radius_opt -- --quick --out /tmp/jro   # CI's smoke run
//! cargo run --release --example jet_radius_opt -- --help        # every flag with its default
//! ```
//!
//! # The observable and the loss
//! Each event's particles (the embedded pp → ZH → ℓℓbb̄ sample by default; particles with
//! pT < `--ptmin-particles`, default 1 GeV, are dropped to save time: that halves the particle
//! count and lowers mH at R = 1 by about 13 GeV, so the optimal R is larger than with every
//! particle) are clustered by Qanti-kT with radius R and sharpness α (`--alpha`, default 1).
//! mH is the invariant mass of the two leading-pT jets (0 when the history ends with fewer than
//! two jets). The per-event loss is
//!
//! > ℓ(R) = (mH − 125 GeV)² if mH < 250 GeV, else 0
//!
//! (`stochad::jets::qantikt::mh_loss`). **The cut is part of the observable**: it is decided in
//! each alternative world of a stochastic triple on that world's mH, so the jump of ℓ at the
//! cut is differentiated correctly by every estimator. The quantity optimised is the
//! expectation E[ℓ(R)] over Qanti-kT's random clustering histories; the global loss is the
//! **mean of ℓ over the events of a batch, normalised by the batch size** (not by the number of
//! events that pass the cut: an event above 250 GeV counts as 0).
//!
//! # What it does
//! 1. **Global R** (one R for all events): for each estimator of `--estimator` and each start of
//!    `--starts` (default R = 0.2 and R = 1.2), `--steps` optimiser steps on minibatches of
//!    `--batch` events (default 100). Batches are consecutive slices of a seeded shuffle of the
//!    events, reshuffled every epoch, the same for every run (common random numbers). Each
//!    event of a batch gets an estimate of dE[ℓ]/dR from `--samples` runs; the batch gradient
//!    is their mean. Optimiser: Adam (default; β₁ = 0.9, β₂ = 0.999) or plain SGD, with the
//!    learning rate decayed by a cosine from `--lr` to `--lr`·`--lr-final`. R is clamped to
//!    [0.05, 2.0] after every step (outside it the jets are either single particles or the
//!    whole event). The optimum R* reported is the mean of R over the last quarter of the
//!    steps (Polyak averaging), with the standard deviation of R over those steps as its
//!    "spread". The spread is small because the learning rate has decayed; the optimum's real
//!    uncertainty shows in how far the runs from different starts end apart, and in loss terms
//!    in the evaluated L(R*) of the starts (printed as ΔL ± s.e.).
//! 2. **Evaluation**: E[ℓ] over all events (`--eval-samples` Qanti-kT runs per event, the same
//!    random streams at every R, so differences are paired) on a grid of `--landscape-points`
//!    R values in [0.1, 1.6], at each start and at each run's optimum: the global loss
//!    landscape, and whether each run lowered the loss (difference ± standard error).
//! 3. **Per-event R**: for each of the first `--per-event` events (default 100) and each start
//!    of `--per-event-starts` (default 0.4 and 1.0), `--per-event-steps` steps of the same
//!    optimiser on that event's E[ℓ] alone, with `--per-event-samples` runs per gradient and
//!    `--per-event-estimator` (default `score`: on these events its variance × cost is about
//!    2.5× lower than `triple-mix`'s). The optimum of a run is again the mean of R over its
//!    last quarter. Each start's optimum is then evaluated afresh (`--landscape-samples` runs,
//!    the same random streams for both starts) and the event's R is the one with the lower
//!    E[ℓ]. The agreement of the starts is reported in R (median |ΔR|, fraction within 0.1 and
//!    0.2) and in loss (fraction of events whose two optima have the same E[ℓ] within 2
//!    standard errors: in a flat valley different R are equally good minima). Events whose
//!    mH can be pushed above 250 GeV (where ℓ = 0) run to the clamp R = 2: the loss allows it,
//!    and their entries then leave the histograms' selection (the counts are printed). For
//!    the first `--landscape-events` events the loss landscape E[ℓ](R) is computed on a grid
//!    in [0.05, 2.0] (`--landscape-samples` runs per point, ± 1 standard error) and drawn with
//!    both optimisers' paths.
//! 4. **The Higgs peak**: mH histograms at R = 1.0 (fixed), at the global optimum (the mean of
//!    the optima of every global run except `dual`'s, which never moves) and at each event's own
//!    optimum. **Selection**: entries with 0 < mH < 250 GeV, i.e. two jets exist and the event
//!    passes the loss window — the set the optimisation acts on; the number of entries that
//!    pass is reported with μ and σ. μ and σ are the plain mean and standard deviation
//!    (n − 1) of the selected entries, their standard errors from 200 bootstrap resamplings of
//!    the events. **All three are compared on the same events** (the per-event set), with the
//!    same random streams; R = 1.0 and the global R are also given on all events. Two
//!    observables: the optimised one, Qanti-kT mH at α (`--hist-samples` histories per event,
//!    each an entry), and deterministic anti-kT (α → ∞, one entry per event) at the same R.
//!
//! # Estimators (`--estimator`, `--per-event-estimator`)
//! - `triple-mix`: stochastic AD (pruned stochastic triple) mixed with the score function of the
//!   same runs by a cross-fitted weight: unbiased, the library's lowest-variance default. Needs
//!   ≥ 4 samples.
//! - `triple`: the pruned stochastic triple alone.
//! - `keep4`: the keep-4 triple (up to 4 alternative worlds; lower variance, ≈ 2× costlier).
//! - `rerun`: `stochad::rerun_resumable`, the pruned triple's kind of estimate from a recording
//!   run and, per kept flip, the `f64` clustering resumed at the flipped step (~0.75× the
//!   triple's cost at about its std: the triple of `QantiKt::mh` resumes its worlds alike, from
//!   its own run; `LossProgram` below shows how a loss on Qanti-kT's jets is made resumable).
//! - `rerun-mix`: `rerun` mixed with the score function of its recording runs (≥ 4 samples):
//!   on the variance study's events a work per unit of precision of 1.2 / 1.5 times the score
//!   function with baseline's (dE/dR / dE/dα), 1.3× less than `triple-mix` (1.55 / 2.03).
//! - `rerun-signed`: `rerun_resumable` with the signed coupling (two jumps from every draw),
//!   64 flips per direction kept and the score mix (≥ 4 samples): on the variance study's
//!   events mH's gradient 3.2× / 4.3× (dE/dR / dE/dα) below the score function with baseline
//!   in std, at ~15× `rerun-mix`'s cost per sample.
//! - `score`: score function (REINFORCE) with a leave-one-out baseline. Needs ≥ 2 samples.
//! - `fd`: central finite differences with common random numbers, half step `--fd-step`
//!   (shrunk to R/2 near the lower clamp). Biased by O(h²).
//! - `dual`: classical forward AD. It does not see the discrete choices: mH of a fixed history
//!   does not depend on R, so its derivative is exactly 0 and R never moves — the point of
//!   showing it.
//!
//! # Outputs (in `--out`, default `docs/jet_radius_opt/`)
//! - `global_steps.png`: batch loss (top) and R (bottom) against step, one line per estimator
//!   (colour) and start (solid: first start, dashed: second). The batch loss is noisy because
//!   the batch changes every step.
//! - `global_landscape.png`: the evaluated global loss E[ℓ](R) (band: ± 1 standard error over
//!   events), each run's optimum as a marker with its noise as a horizontal bar.
//! - `per_event_landscapes.png`: E[ℓ](R) of a few events with ± 1 s.e. bands; each optimiser's
//!   iterates are drawn on the curve (at the curve's value at that R), its optimum as a
//!   vertical line.
//! - `per_event_optima.png`: the optimum from one start against the other (on the diagonal when
//!   they agree), and the histogram of the chosen per-event R.
//! - `mh_histograms.png`: the Higgs peak at R = 1.0, the global R and the per-event R on the
//!   per-event events, Qanti-kT (left) and anti-kT (right), μ, σ and n in the legends.
//! - `summary.json`: every number printed, the global optimiser traces (R, batch loss and
//!   gradient with their Monte Carlo errors, learning rate per step), the global landscape,
//!   each event's optima from every start with their evaluated losses (and the full paths of
//!   the landscape events), and the histograms' statistics; wall times under `timing` (with
//!   `command`, the only parts that change between runs with the same seed).
//!
//! The global optima, the per-event agreement and the table of μ/σ are also printed, then the
//! wall time of each phase.
//!
//! # Reading the result
//! - The global runs from R = 0.2 and R = 1.2 should end at optima whose evaluated losses agree
//!   (ΔL within about 2 s.e.); on the default sample with the 1 GeV particle cut the global
//!   loss is flat between R ≈ 0.7 and 1.1 (it changes by less than 10 % there), so R* is
//!   only determined to about ± 0.15 by these budgets, while both starts lower the loss.
//! - `dual` stays at its start: classical AD sees no dependence of the clustering on R.
//! - The per-event optima scatter around the diagonal of `per_event_optima.png`; off-diagonal
//!   events mostly have flat valleys (equal loss at both optima, see the printed fraction).
//! - The line `σ(per-event) − σ(global)` is the result that matters: optimising R per event
//!   narrows the peak well beyond what one global R can do. Compare the selected counts too:
//!   the loss lets a few events escape above 250 GeV.
//!
//! # Reproducibility and speed
//! Every random stream is derived from `--seed` and the phase, estimator, start, step, event
//! and sample index, never from thread scheduling, and every reduction runs in index order:
//! the same seed gives the same numbers whatever `--threads` (0 = all cores). Events are
//! processed in parallel (rayon) and so are the samples of each estimate. Memory: the
//! `--max-events` events read (the reader streams the file) and the traces (≈ 20 MB resident
//! for the default run).
//!
//! The default run costs ≈ 65–75 s of CPU (global R ≈ half of it, per-event R ≈ a third), so
//! about 35–40 s on two idle cores; on a shared machine it took 95–103 s of wall time while
//! getting about 0.65 of a core. The wall time of each phase is printed at the end.
//! Costs scale with the number of particles per event (`--ptmin-particles`).
//!
//! # Checks and exit status
//! The run fails (exit status 1) unless every output file exists and is non-empty and the
//! global loss went down: for every run of an estimator other than `dual`, the evaluated loss
//! at its optimum is not significantly above the loss at its start (by less than 3 standard
//! errors of the paired difference), and summed over those runs it is lower. `--quick` makes
//! the defaults small enough for CI (≈ 10 s of CPU): 200 events, 8 global steps on batches of
//! 50 events, 12 per-event events of 16 steps, one landscape event, a coarser grid, 2
//! histories per event in the histograms; flags given explicitly still win.

use std::error::Error;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use rayon::prelude::*;
use serde::Serialize;

use stochad::jets::io::{default_sample, EventReader, Format, Selection};
use stochad::jets::qantikt::{mh_loss, Checkpoint, QantiKt, Sampling};
use stochad::jets::FourMomentum;
use stochad::sample::Coupling;
use stochad::triple::Keep;
use stochad::{Dual, Estimate, KeptFlips, Recorder, Resumable, Scalar, Score, StochasticTriple};

/// Target of the loss and upper edge of its window (GeV).
const TARGET: f64 = 125.0;
const CUT: f64 = 250.0;
/// R is clamped to this range after every step.
const R_MIN: f64 = 0.05;
const R_MAX: f64 = 2.0;
/// Range of the global loss landscape and of the per-event landscapes.
const GLOBAL_GRID: (f64, f64) = (0.1, 1.6);
const EVENT_GRID: (f64, f64) = (0.05, 2.0);
const EVENT_GRID_POINTS: usize = 24;
/// Bootstrap resamplings for the standard errors of μ and σ.
const BOOTSTRAPS: usize = 200;

/// Phases, for deriving seeds.
const GLOBAL: u64 = 1;
const BATCHES: u64 = 2;
const EVAL: u64 = 3;
const PER_EVENT: u64 = 4;
const LANDSCAPE: u64 = 5;
const HIST: u64 = 6;
const BOOT: u64 = 7;
const PER_EVENT_EVAL: u64 = 8;

/// A derivative estimator of dE[ℓ]/dR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Est {
    /// Pruned stochastic triple mixed with the score function of the same runs (≥ 4 samples).
    TripleMix,
    /// Pruned stochastic triple.
    Triple,
    /// Keep-4 stochastic triple.
    Keep4,
    /// Score function with a leave-one-out baseline (≥ 2 samples).
    Score,
    /// Central finite differences with common random numbers (biased, O(h²)).
    Fd,
    /// Classical forward AD (blind to the discrete choices: always 0).
    Dual,
    /// `stochad::rerun_resumable`: a recording run, then the `f64` loss once per kept flip,
    /// resumed at its step (the pruned triple's kind of estimate at about a third of its cost).
    Rerun,
    /// `rerun` mixed with the score function of its recording runs (≥ 4 samples; on the
    /// variance study's events 2.2–2.3× less work per unit of precision than `triple-mix`).
    RerunMix,
    /// `rerun_resumable` with the signed coupling, 64 flips kept and the score mix (≥ 4
    /// samples; 3–4× less noisy per sample than the score function with baseline on the
    /// variance study's events, at ~15× `rerun-mix`'s cost per sample).
    RerunSigned,
}

impl Est {
    fn name(self) -> &'static str {
        match self {
            Est::TripleMix => "triple-mix",
            Est::Triple => "triple",
            Est::Keep4 => "keep4",
            Est::Score => "score",
            Est::Fd => "fd",
            Est::Dual => "dual",
            Est::Rerun => "rerun",
            Est::RerunMix => "rerun-mix",
            Est::RerunSigned => "rerun-signed",
        }
    }

    fn id(self) -> u64 {
        self as u64 + 1
    }

    fn min_samples(self) -> usize {
        match self {
            Est::TripleMix | Est::RerunMix | Est::RerunSigned => 4,
            Est::Score => 2,
            _ => 1,
        }
    }

    fn colour(self) -> RGBColor {
        match self {
            Est::TripleMix => RGBColor(0xd9, 0x5f, 0x02),
            Est::Triple => RGBColor(0xe7, 0x29, 0x8a),
            Est::Keep4 => RGBColor(0x66, 0xa6, 0x1e),
            Est::Score => RGBColor(0x1b, 0x9e, 0x77),
            Est::Fd => RGBColor(0x75, 0x70, 0xb3),
            Est::Dual => RGBColor(0x66, 0x66, 0x66),
            Est::Rerun => RGBColor(0xe6, 0xab, 0x02),
            Est::RerunMix => RGBColor(0xa6, 0x76, 0x1d),
            Est::RerunSigned => RGBColor(0x1f, 0x78, 0xb4),
        }
    }
}

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Opt {
    /// Adam (β₁ = 0.9, β₂ = 0.999): steps of about the learning rate, whatever the gradient's
    /// scale.
    Adam,
    /// Plain stochastic gradient descent: R ← R − lr·g (g is in GeV² per unit of R, so the
    /// learning rate is small).
    Sgd,
}

/// Optimises the anti-kT jet radius R by stochastic gradients of the Qanti-kT reconstructed
/// Higgs mass, globally and per event, and shows what that does to the Higgs peak.
///
/// Loss per event: (mH − 125 GeV)² if mH < 250 GeV else 0 (the cut is part of the observable,
/// decided per alternative world); the global loss is its mean over the batch. Writes PNG plots
/// and summary.json into --out and prints the μ/σ table. See the example's module docs for how
/// to read the outputs.
#[derive(Parser, Debug, Clone)]
#[command(version, allow_negative_numbers = true)]
struct Args {
    /// Event file (default CSV format or HepMC3, plain or gzip). HepMC3 input gets the default
    /// sample's selection (the Z's decay products, neutrinos, |η| ≥ 4 and pT ≤ 0.5 GeV
    /// dropped); CSV input is used as it is. Without it: the embedded default sample (1000
    /// pp → ZH → ℓℓbb̄ events).
    #[arg(long, value_name = "FILE")]
    events: Option<PathBuf>,

    /// Use at most the first N events of the file.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    max_events: u64,

    /// Drop particles with pT below GEV before clustering (saves time; the default sample has
    /// pT > 0.5 GeV, so 0.5 keeps every particle).
    #[arg(long, value_name = "GEV", default_value_t = 1.0, value_parser = non_negative)]
    ptmin_particles: f64,

    /// Estimators of the global runs, comma separated (each runs from every start).
    #[arg(long, value_name = "EST,..", value_enum, value_delimiter = ',', default_values_t = [Est::TripleMix, Est::Score])]
    estimator: Vec<Est>,

    /// Starting R of the global runs, comma separated.
    #[arg(long, value_name = "R,..", value_delimiter = ',', default_values_t = [0.2, 1.2], value_parser = radius)]
    starts: Vec<f64>,

    /// Optimiser steps of each global run.
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    steps: u64,

    /// Events per minibatch (at most the number of events).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    batch: u64,

    /// Qanti-kT runs per event for each gradient of the global runs.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..))]
    samples: u64,

    /// Optimiser (global and per event).
    #[arg(long, value_enum, default_value_t = Opt::Adam)]
    optimizer: Opt,

    /// Learning rate of the global runs [default: 0.1 with adam, 1e-5 with sgd].
    #[arg(long, value_name = "LR", value_parser = positive)]
    lr: Option<f64>,

    /// The learning rate decays by a cosine from LR to LR·F at the last step (global and per
    /// event).
    #[arg(long, value_name = "F", default_value_t = 0.25, value_parser = non_negative)]
    lr_final: f64,

    /// Qanti-kT sharpness α (larger: closer to anti-kT, noisier gradients).
    #[arg(long, value_name = "A", default_value_t = 1.0, value_parser = positive)]
    alpha: f64,

    /// Half step h of the finite differences (`fd`).
    #[arg(long, value_name = "H", default_value_t = 0.05, value_parser = positive)]
    fd_step: f64,

    /// Optimise R separately for each of the first N events (0: skip).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 100,
        help_heading = "Per-event R"
    )]
    per_event: usize,

    /// Estimator of the per-event runs.
    #[arg(long, value_name = "EST", value_enum, default_value_t = Est::Score, help_heading = "Per-event R")]
    per_event_estimator: Est,

    /// Starting R of the per-event runs, comma separated.
    #[arg(long, value_name = "R,..", value_delimiter = ',', default_values_t = [0.4, 1.0], value_parser = radius, help_heading = "Per-event R")]
    per_event_starts: Vec<f64>,

    /// Optimiser steps of each per-event run.
    #[arg(long, value_name = "N", default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Per-event R")]
    per_event_steps: u64,

    /// Qanti-kT runs per gradient of the per-event runs.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Per-event R")]
    per_event_samples: u64,

    /// Learning rate of the per-event runs [default: 0.1 with adam, 1e-5 with sgd].
    #[arg(long, value_name = "LR", value_parser = positive, help_heading = "Per-event R")]
    per_event_lr: Option<f64>,

    /// Draw the loss landscape of this many of the per-event events.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        help_heading = "Per-event R"
    )]
    landscape_events: usize,

    /// Qanti-kT runs per point of those landscapes, and per evaluation of each per-event
    /// optimum.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u64).range(2..), help_heading = "Per-event R")]
    landscape_samples: u64,

    /// Points of the global loss landscape in [0.1, 1.6].
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u64).range(2..), help_heading = "Evaluation")]
    landscape_points: u64,

    /// Qanti-kT runs per event for each evaluation of the global loss.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Evaluation")]
    eval_samples: u64,

    /// Qanti-kT histories per event in the mH histograms.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..), help_heading = "Evaluation")]
    hist_samples: u64,

    /// The fixed R the optima are compared with.
    #[arg(long, value_name = "R", default_value_t = 1.0, value_parser = radius, help_heading = "Evaluation")]
    reference_r: f64,

    /// Seed of every random stream (derived per phase, estimator, start, step, event, sample).
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,

    /// Worker threads (0: one per core). The numbers do not depend on it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    threads: usize,

    /// Output directory for the plots and summary.json (created if missing).
    #[arg(long, short, value_name = "DIR", default_value = "docs/jet_radius_opt")]
    out: PathBuf,

    /// Small defaults for a smoke test (CI): 200 events, 8 global steps on batches of 50, 12
    /// per-event events of 16 steps, one landscape event, a coarser grid, 2 histories per
    /// event. Flags given explicitly still win.
    #[arg(long)]
    quick: bool,
}

fn non_negative(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(format!("must be a finite number ≥ 0, got {x}"))
    }
}

fn positive(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(format!("must be a finite number > 0, got {x}"))
    }
}

fn radius(s: &str) -> Result<f64, String> {
    let x: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (R_MIN..=R_MAX).contains(&x) {
        Ok(x)
    } else {
        Err(format!("R must lie in [{R_MIN}, {R_MAX}], got {x}"))
    }
}

impl Args {
    /// Parses the command line; `--quick` replaces the defaults of the flags not given.
    fn from_matches(m: &ArgMatches) -> Result<Args, clap::Error> {
        let mut a = Args::from_arg_matches(m)?;
        if a.quick {
            let default = |id: &str| m.value_source(id) != Some(ValueSource::CommandLine);
            if default("max_events") {
                a.max_events = 200;
            }
            if default("steps") {
                a.steps = 8;
            }
            if default("batch") {
                a.batch = 50;
            }
            if default("per_event") {
                a.per_event = 12;
            }
            if default("per_event_steps") {
                a.per_event_steps = 16;
            }
            if default("landscape_events") {
                a.landscape_events = 1;
            }
            if default("landscape_samples") {
                a.landscape_samples = 16;
            }
            if default("landscape_points") {
                a.landscape_points = 6;
            }
            if default("hist_samples") {
                a.hist_samples = 2;
            }
        }
        Ok(a)
    }

    fn lr(&self) -> f64 {
        self.lr.unwrap_or(match self.optimizer {
            Opt::Adam => 0.1,
            Opt::Sgd => 1e-5,
        })
    }

    fn per_event_lr(&self) -> f64 {
        self.per_event_lr.unwrap_or(match self.optimizer {
            Opt::Adam => 0.1,
            Opt::Sgd => 1e-5,
        })
    }

    fn check(&self) -> Result<(), String> {
        for (est, n, flag) in self
            .estimator
            .iter()
            .map(|&e| (e, self.samples, "--samples"))
            .chain([(
                self.per_event_estimator,
                self.per_event_samples,
                "--per-event-samples",
            )])
        {
            if (n as usize) < est.min_samples() {
                return Err(format!(
                    "{} needs at least {} samples per gradient ({flag} {n})",
                    est.name(),
                    est.min_samples()
                ));
            }
        }
        if self.estimator.is_empty() || self.starts.is_empty() {
            return Err("--estimator and --starts need at least one value each".into());
        }
        if self.per_event > 0 && self.per_event_starts.is_empty() {
            return Err("--per-event-starts needs at least one value".into());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Seeds, the observable and the estimators

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of one stream: a hash of `--seed` and the indices naming the stream.
fn derive(seed: u64, parts: &[u64]) -> u64 {
    parts.iter().fold(mix64(seed), |h, &p| mix64(h ^ mix64(p)))
}

/// The per-event loss of one Qanti-kT run: (mH − 125)² if mH < 250 GeV, else 0.
fn event_loss<S: Scalar>(particles: &[FourMomentum], r: S, alpha: f64) -> stochad::Result<S> {
    loss_with(QantiKt::new(), particles, r, alpha)
}

/// [`event_loss`] clustered by `q` (a coupling of its own).
fn loss_with<S: Scalar>(
    q: QantiKt,
    particles: &[FourMomentum],
    r: S,
    alpha: f64,
) -> stochad::Result<S> {
    // `mh` stops the clustering once mH is known (the same value, fewer steps).
    mh_loss(q.mh(particles, r, S::from(alpha))?, TARGET, CUT)
}

/// ℓ(mH) of one event as a program `stochad::rerun_resumable` resumes at a flipped step:
/// Qanti-kT offers a checkpoint after each step's draw, and `QantiKt::resume_mh` clusters the rest until mH is known.
struct LossProgram<'a> {
    clusterer: QantiKt,
    particles: &'a [FourMomentum],
    alpha: f64,
}

impl Resumable<1> for LossProgram<'_> {
    type Checkpoint = Checkpoint;

    fn run(&self, [r]: [Recorder; 1]) -> stochad::Result<Recorder> {
        loss_with(self.clusterer, self.particles, r, self.alpha)
    }

    fn twin(&self, [r]: [f64; 1]) -> stochad::Result<f64> {
        loss_with(self.clusterer, self.particles, r, self.alpha)
    }

    fn resume(&self, checkpoint: Checkpoint, outcome: f64) -> stochad::Result<f64> {
        mh_loss(self.clusterer.resume_mh(checkpoint, outcome)?, TARGET, CUT)
    }
}

/// One Qanti-kT history's mH (f64), drawn from stream (`seed`, `index`).
fn sample_mh(particles: &[FourMomentum], r: f64, alpha: f64, seed: u64, index: u64) -> f64 {
    stochad::with_run(seed, index, || QantiKt::new().mh(particles, r, alpha))
        .expect("Qanti-kT on checked particles")
}

/// Anti-kT (α → ∞) mH.
fn antikt_mh(particles: &[FourMomentum], r: f64) -> f64 {
    QantiKt::new()
        .sampling(Sampling::Deterministic)
        .cluster(particles, r, 1.0)
        .and_then(|j| j.mh())
        .expect("anti-kT on checked particles")
}

/// ℓ of one event at `r` from `n` f64 runs of streams (`seed`, 0..n).
fn loss_samples(particles: &[FourMomentum], r: f64, alpha: f64, seed: u64, n: u64) -> Vec<f64> {
    (0..n)
        .map(|i| {
            stochad::with_run(seed, i, || event_loss(particles, r, alpha))
                .expect("Qanti-kT on checked particles")
        })
        .collect()
}

/// E[ℓ] of one event at `r`: the mean of `n` f64 runs of streams (`seed`, 0..n), ± s.e.
fn mean_loss(particles: &[FourMomentum], r: f64, alpha: f64, seed: u64, n: u64) -> (f64, f64) {
    mean_stderr(&loss_samples(particles, r, alpha, seed, n))
}

/// dE[ℓ]/dR of one event with estimator `est` (its `value` estimates E[ℓ]).
fn estimate(
    est: Est,
    particles: &[FourMomentum],
    r: f64,
    alpha: f64,
    seed: u64,
    samples: u64,
    fd_step: f64,
) -> stochad::Result<Estimate> {
    let n = samples as usize;
    let f = |x| event_loss(particles, x, alpha);
    match est {
        Est::TripleMix => stochad::derivative(f)
            .at(r)
            .seed(seed)
            .samples(n)
            .score_mix(true)
            .estimate(),
        Est::Triple => stochad::derivative(f)
            .at(r)
            .seed(seed)
            .samples(n)
            .estimate(),
        Est::Keep4 => stochad::derivative_with(|x: StochasticTriple<Keep<4, 4>>| {
            event_loss(particles, x, alpha)
        })
        .at(r)
        .seed(seed)
        .samples(n)
        .estimate(),
        Est::Score => stochad::derivative_with(|x: Score| event_loss(particles, x, alpha))
            .at(r)
            .seed(seed)
            .samples(n)
            .estimate(),
        Est::Rerun | Est::RerunMix | Est::RerunSigned => {
            let (clusterer, keep) = if est == Est::RerunSigned {
                (
                    QantiKt::new().coupling(Coupling::Signed),
                    KeptFlips::Reservoir(64),
                )
            } else {
                (QantiKt::new(), KeptFlips::PerDirection)
            };
            stochad::rerun_resumable(LossProgram {
                clusterer,
                particles,
                alpha,
            })
            .at([r])
            .seed(seed)
            .samples(n)
            .keep(keep)
            .score_mix(est != Est::Rerun)
            .estimate()
            .map(Estimate::from)
        }
        Est::Dual => stochad::derivative_with(|x: Dual| event_loss(particles, x, alpha))
            .at(r)
            .seed(seed)
            .samples(n)
            .estimate(),
        Est::Fd => stochad::finite_difference(|x: f64| event_loss(particles, x, alpha))
            .at([r])
            .step(fd_step.min(0.5 * r))
            .seed(seed)
            .samples(n)
            .estimate()
            .map(Estimate::from),
    }
}

/// Mean and standard error of the mean (0 for one value).
fn mean_stderr(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    if xs.len() < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

// ---------------------------------------------------------------------------------------------
// The optimiser

/// Adam or SGD on one parameter, with R clamped to [R_MIN, R_MAX].
struct Optimiser {
    kind: Opt,
    m: f64,
    v: f64,
    t: i32,
}

impl Optimiser {
    fn new(kind: Opt) -> Self {
        Optimiser {
            kind,
            m: 0.0,
            v: 0.0,
            t: 0,
        }
    }

    /// The next R from R and the gradient g.
    fn step(&mut self, r: f64, g: f64, lr: f64) -> f64 {
        let next = match self.kind {
            Opt::Sgd => r - lr * g,
            Opt::Adam => {
                const B1: f64 = 0.9;
                const B2: f64 = 0.999;
                self.t += 1;
                self.m = B1 * self.m + (1.0 - B1) * g;
                self.v = B2 * self.v + (1.0 - B2) * g * g;
                let m = self.m / (1.0 - B1.powi(self.t));
                let v = self.v / (1.0 - B2.powi(self.t));
                // g = 0 (classical AD) gives no step.
                if m == 0.0 {
                    r
                } else {
                    r - lr * m / (v.sqrt() + 1e-12)
                }
            }
        };
        next.clamp(R_MIN, R_MAX)
    }
}

/// The learning rate at step `t` of `steps`: a cosine from `lr` to `lr·final`.
fn schedule(lr: f64, final_fraction: f64, t: usize, steps: usize) -> f64 {
    let x = if steps > 1 {
        t as f64 / (steps - 1) as f64
    } else {
        0.0
    };
    lr * (final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + (std::f64::consts::PI * x).cos()))
}

/// The number of last steps the optimum is averaged over: a quarter, at least one.
fn tail(steps: usize) -> usize {
    (steps / 4).max(1)
}

// ---------------------------------------------------------------------------------------------
// Global R

/// One step of a global run.
#[derive(Clone, Debug, Serialize)]
struct GlobalStep {
    step: usize,
    /// R at which the gradient was estimated.
    r: f64,
    /// Batch mean of the per-event E[ℓ] estimates, and its Monte Carlo standard error.
    loss: f64,
    loss_stderr: f64,
    /// Batch gradient dL/dR and its Monte Carlo standard error (given the batch).
    grad: f64,
    grad_stderr: f64,
    lr: f64,
}

/// One global run: an estimator from a start.
#[derive(Clone, Debug, Serialize)]
struct GlobalRun {
    estimator: Est,
    start: f64,
    steps: Vec<GlobalStep>,
    /// R after the last step.
    r_last: f64,
    /// The optimum: mean of R over the last quarter of the steps, and its spread there.
    r_opt: f64,
    r_opt_spread: f64,
    /// Evaluated global loss at the start and at the optimum, and their paired difference.
    eval_start: f64,
    eval_opt: f64,
    eval_delta: f64,
    eval_delta_stderr: f64,
}

/// The events of minibatch `step`: consecutive slices of per-epoch seeded shuffles.
fn batch_indices(seed: u64, n: usize, batch: usize, step: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(batch);
    let mut k = step * batch;
    let mut epoch = usize::MAX;
    let mut perm = Vec::new();
    while out.len() < batch {
        if k / n != epoch {
            epoch = k / n;
            perm = shuffle(n, derive(seed, &[BATCHES, epoch as u64]));
        }
        out.push(perm[k % n]);
        k += 1;
    }
    out
}

/// A Fisher–Yates shuffle of 0..n driven by SplitMix64.
fn shuffle(n: usize, seed: u64) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let j = (mix64(state) % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

fn global_run(
    args: &Args,
    events: &[Vec<FourMomentum>],
    est: Est,
    start_index: usize,
    progress: &ProgressBar,
) -> stochad::Result<GlobalRun> {
    let steps = args.steps as usize;
    let batch = (args.batch as usize).min(events.len());
    let start = args.starts[start_index];
    let mut opt = Optimiser::new(args.optimizer);
    let mut r = start;
    let mut trace = Vec::with_capacity(steps);
    let mut rs = Vec::with_capacity(steps);
    for t in 0..steps {
        let idx = batch_indices(args.seed, events.len(), batch, t);
        let ests: Vec<stochad::Result<Estimate>> = idx
            .par_iter()
            .map(|&i| {
                let seed = derive(
                    args.seed,
                    &[GLOBAL, est.id(), start_index as u64, t as u64, i as u64],
                );
                estimate(
                    est,
                    &events[i],
                    r,
                    args.alpha,
                    seed,
                    args.samples,
                    args.fd_step,
                )
            })
            .collect();
        let ests = ests.into_iter().collect::<stochad::Result<Vec<_>>>()?;
        let b = ests.len() as f64;
        let grad = ests.iter().map(|e| e.mean).sum::<f64>() / b;
        let grad_stderr = ests.iter().map(|e| e.stderr.powi(2)).sum::<f64>().sqrt() / b;
        let loss = ests.iter().map(|e| e.value).sum::<f64>() / b;
        let loss_stderr = ests
            .iter()
            .map(|e| e.value_stderr.powi(2))
            .sum::<f64>()
            .sqrt()
            / b;
        let lr = schedule(args.lr(), args.lr_final, t, steps);
        trace.push(GlobalStep {
            step: t,
            r,
            loss,
            loss_stderr,
            grad,
            grad_stderr: if grad_stderr.is_finite() {
                grad_stderr
            } else {
                0.0
            },
            lr,
        });
        r = opt.step(r, grad, lr);
        rs.push(r);
        progress.inc(1);
    }
    let last = &rs[rs.len() - tail(steps)..];
    let (r_opt, _) = mean_stderr(last);
    let spread = if last.len() > 1 {
        (last.iter().map(|x| (x - r_opt).powi(2)).sum::<f64>() / (last.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    Ok(GlobalRun {
        estimator: est,
        start,
        steps: trace,
        r_last: r,
        r_opt,
        r_opt_spread: spread,
        eval_start: f64::NAN,
        eval_opt: f64::NAN,
        eval_delta: f64::NAN,
        eval_delta_stderr: f64::NAN,
    })
}

/// The global loss landscape: E[ℓ] per event at each R, the same streams at every R.
struct Landscape {
    rs: Vec<f64>,
    /// `per_event[k][i]`: E[ℓ] of event i at rs[k] (mean of the evaluation runs).
    per_event: Vec<Vec<f64>>,
}

impl Landscape {
    fn position(&self, r: f64) -> usize {
        self.rs
            .iter()
            .position(|&x| x == r)
            .expect("evaluated radius")
    }

    /// Mean over events and its standard error at rs[k].
    fn loss(&self, k: usize) -> (f64, f64) {
        mean_stderr(&self.per_event[k])
    }

    /// The paired difference L(b) − L(a) and its standard error.
    fn delta(&self, a: usize, b: usize) -> (f64, f64) {
        let d: Vec<f64> = self.per_event[b]
            .iter()
            .zip(&self.per_event[a])
            .map(|(y, x)| y - x)
            .collect();
        mean_stderr(&d)
    }
}

fn evaluate(
    args: &Args,
    events: &[Vec<FourMomentum>],
    rs: Vec<f64>,
    progress: &ProgressBar,
) -> Landscape {
    let per_event = rs
        .iter()
        .map(|&r| {
            let v: Vec<f64> = events
                .par_iter()
                .enumerate()
                .map(|(i, ev)| {
                    let seed = derive(args.seed, &[EVAL, i as u64]);
                    let l = mean_loss(ev, r, args.alpha, seed, args.eval_samples).0;
                    progress.inc(1);
                    l
                })
                .collect();
            v
        })
        .collect();
    Landscape { rs, per_event }
}

// ---------------------------------------------------------------------------------------------
// Per-event R

/// One per-event run: an event from a start.
#[derive(Clone, Debug, Serialize)]
struct EventRun {
    start: f64,
    /// R at which each gradient was estimated, then the R after the last step (in
    /// summary.json only for the landscape events).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    path: Vec<f64>,
    /// E[ℓ] estimate at each step, from the gradient's own runs (likewise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    loss: Vec<f64>,
    /// Mean of R over the last quarter of the steps.
    r_opt: f64,
    /// Mean of the loss estimates over the last quarter.
    tail_loss: f64,
    /// E[ℓ] at the optimum, evaluated afresh (`--landscape-samples` runs, the same streams
    /// for every start of the event).
    eval_loss: f64,
}

/// The per-event result: every start's run and the R chosen.
#[derive(Clone, Debug, Serialize)]
struct EventResult {
    event: usize,
    runs: Vec<EventRun>,
    /// The optimum of the run with the lower evaluated loss.
    r_opt: f64,
    /// E[ℓ] at the second start's optimum minus at the first's (paired), and its s.e.
    delta_loss: f64,
    delta_stderr: f64,
}

fn event_run(
    args: &Args,
    particles: &[FourMomentum],
    event: usize,
    start_index: usize,
) -> stochad::Result<EventRun> {
    let steps = args.per_event_steps as usize;
    let start = args.per_event_starts[start_index];
    let mut opt = Optimiser::new(args.optimizer);
    let mut r = start;
    let mut path = Vec::with_capacity(steps + 1);
    let mut loss = Vec::with_capacity(steps);
    for t in 0..steps {
        let seed = derive(
            args.seed,
            &[PER_EVENT, start_index as u64, t as u64, event as u64],
        );
        let e = estimate(
            args.per_event_estimator,
            particles,
            r,
            args.alpha,
            seed,
            args.per_event_samples,
            args.fd_step,
        )?;
        path.push(r);
        loss.push(e.value);
        r = opt.step(
            r,
            e.mean,
            schedule(args.per_event_lr(), args.lr_final, t, steps),
        );
    }
    path.push(r);
    let k = tail(steps);
    let r_opt = mean_stderr(&path[path.len() - k..]).0;
    let tail_loss = mean_stderr(&loss[loss.len() - k..]).0;
    Ok(EventRun {
        start,
        path,
        loss,
        r_opt,
        tail_loss,
        eval_loss: f64::NAN,
    })
}

/// A per-event loss landscape on EVENT_GRID.
#[derive(Clone, Debug, Serialize)]
struct EventLandscape {
    event: usize,
    r: Vec<f64>,
    loss: Vec<f64>,
    stderr: Vec<f64>,
}

fn event_grid() -> Vec<f64> {
    grid(EVENT_GRID, EVENT_GRID_POINTS)
}

fn grid((lo, hi): (f64, f64), n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| lo + (hi - lo) * k as f64 / (n - 1) as f64)
        .collect()
}

/// Linear interpolation of (xs, ys) at x (clamped to the ends).
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> f64 {
    if x <= xs[0] {
        return ys[0];
    }
    for k in 1..xs.len() {
        if x <= xs[k] {
            let w = (x - xs[k - 1]) / (xs[k] - xs[k - 1]);
            return ys[k - 1] + w * (ys[k] - ys[k - 1]);
        }
    }
    ys[ys.len() - 1]
}

// ---------------------------------------------------------------------------------------------
// Histograms

/// μ, σ and the number of selected entries of one configuration on one event set.
#[derive(Clone, Debug, Serialize)]
struct PeakStats {
    label: String,
    events: usize,
    entries: usize,
    selected: usize,
    mean: f64,
    mean_stderr: f64,
    sigma: f64,
    sigma_stderr: f64,
    #[serde(skip)]
    masses: Vec<Vec<f64>>,
}

/// μ and σ of the entries with 0 < m < CUT of the given events (`masses[event]`), or None.
fn moments(masses: &[Vec<f64>], events: &[usize]) -> Option<(f64, f64, usize)> {
    let (mut n, mut s, mut s2) = (0usize, 0.0, 0.0);
    for &i in events {
        for &m in &masses[i] {
            if m > 0.0 && m < CUT {
                n += 1;
                s += m;
                s2 += m * m;
            }
        }
    }
    if n < 2 {
        return None;
    }
    let mean = s / n as f64;
    let var = ((s2 - n as f64 * mean * mean) / (n as f64 - 1.0)).max(0.0);
    Some((mean, var.sqrt(), n))
}

/// Bootstrap resamplings of the event indices 0..n (seeded).
fn bootstrap_sets(seed: u64, n: usize) -> Vec<Vec<usize>> {
    (0..BOOTSTRAPS)
        .map(|b| {
            let mut state = derive(seed, &[BOOT, b as u64]);
            (0..n)
                .map(|_| {
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    (mix64(state) % n as u64) as usize
                })
                .collect()
        })
        .collect()
}

fn std_of(xs: &[f64]) -> f64 {
    mean_stderr(xs).1 * (xs.len() as f64).sqrt()
}

impl PeakStats {
    fn new(label: String, masses: Vec<Vec<f64>>, boots: &[Vec<usize>]) -> PeakStats {
        let all: Vec<usize> = (0..masses.len()).collect();
        let entries = masses.iter().map(Vec::len).sum();
        let (mean, sigma, selected) = moments(&masses, &all).unwrap_or((f64::NAN, f64::NAN, 0));
        let (bm, bs): (Vec<f64>, Vec<f64>) = boots
            .iter()
            .filter_map(|set| moments(&masses, set).map(|(m, s, _)| (m, s)))
            .unzip();
        PeakStats {
            label,
            events: masses.len(),
            entries,
            selected,
            mean,
            mean_stderr: std_of(&bm),
            sigma,
            sigma_stderr: std_of(&bs),
            masses,
        }
    }

    fn legend(&self) -> String {
        if self.selected < 2 {
            return format!("{}: no events pass", self.label);
        }
        format!(
            "{}: μ = {:.1}, σ = {:.1} GeV, n = {}/{}",
            self.label, self.mean, self.sigma, self.selected, self.entries
        )
    }

    fn row(&self) -> String {
        if self.selected < 2 {
            return format!("{:>7}/{:<7} {:>16} {:>16}", 0, self.entries, "–", "–");
        }
        format!(
            "{:>7}/{:<7} {:>7.1} ± {:<6.1} {:>7.1} ± {:<6.1}",
            self.selected, self.entries, self.mean, self.mean_stderr, self.sigma, self.sigma_stderr
        )
    }
}

/// σ(b) − σ(a) on the same events, with its bootstrap standard error.
fn sigma_difference(a: &PeakStats, b: &PeakStats, boots: &[Vec<usize>]) -> (f64, f64) {
    let d: Vec<f64> = boots
        .iter()
        .filter_map(|set| {
            let x = moments(&a.masses, set)?;
            let y = moments(&b.masses, set)?;
            Some(y.1 - x.1)
        })
        .collect();
    (b.sigma - a.sigma, std_of(&d))
}

// ---------------------------------------------------------------------------------------------
// Summary

#[derive(Serialize)]
struct PerEventSummary {
    events: usize,
    estimator: Est,
    starts: Vec<f64>,
    /// Median and mean |ΔR| between the first two starts' optima, and the fractions within
    /// 0.1 and 0.2.
    median_abs_delta: f64,
    mean_abs_delta: f64,
    within_0_1: f64,
    within_0_2: f64,
    /// Fraction of events whose two optima have the same E[ℓ] within 2 standard errors of the
    /// paired difference (equally good minima), and the median |ΔE[ℓ]|.
    same_loss_within_2se: f64,
    median_abs_delta_loss: f64,
    results: Vec<EventResult>,
    landscapes: Vec<EventLandscape>,
}

#[derive(Serialize)]
struct Timing {
    phase: String,
    seconds: f64,
}

#[derive(Serialize)]
struct Summary {
    command: Vec<String>,
    events: usize,
    mean_particles: f64,
    ptmin_particles: f64,
    alpha: f64,
    optimizer: Opt,
    lr: f64,
    per_event_lr: f64,
    seed: u64,
    loss: &'static str,
    selection: &'static str,
    global_runs: Vec<GlobalRun>,
    global_landscape: Vec<(f64, f64, f64)>,
    r_global: f64,
    r_reference: f64,
    per_event: Option<PerEventSummary>,
    /// Qanti-kT mH at α on the per-event events: reference R, global R, per-event R.
    peak_qantikt: Vec<PeakStats>,
    /// Anti-kT mH at the same R on the same events.
    peak_antikt: Vec<PeakStats>,
    /// Qanti-kT mH on all events: reference R and global R.
    peak_qantikt_all_events: Vec<PeakStats>,
    /// σ(per-event) − σ(global) and σ(global) − σ(reference) with bootstrap s.e., Qanti-kT.
    sigma_per_event_minus_global: (f64, f64),
    sigma_global_minus_reference: (f64, f64),
    check_passed: bool,
    timing: Vec<Timing>,
}

// ---------------------------------------------------------------------------------------------
// Plots

type DynResult<T> = Result<T, Box<dyn Error>>;

/// The R of each event of a histogram configuration.
type RadiusOf = Box<dyn Fn(usize) -> f64 + Sync>;

const GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);
const PEAK_COLOURS: [RGBColor; 3] = [
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x1b, 0x9e, 0x77),
];
const START_COLOURS: [RGBColor; 4] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
];

fn png(path: &Path, size: (u32, u32)) -> DrawingArea<BitMapBackend<'_>, Shift> {
    let root = BitMapBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE).expect("fill");
    root
}

/// A line, solid for the first start and dashed for the others.
fn line<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    dashed: bool,
    label: Option<String>,
) -> DynResult<()>
where
    DB::ErrorType: 'static,
{
    let style = colour.stroke_width(2);
    let anno = if dashed {
        chart.draw_series(DashedLineSeries::new(points, 7, 5, style))?
    } else {
        chart.draw_series(LineSeries::new(points, style))?
    };
    if let Some(label) = label {
        // A dashed line gets a dashed legend sample: two short strokes.
        let gap = if dashed { (9, 14) } else { (22, 22) };
        anno.label(label).legend(move |(x, y)| {
            EmptyElement::at((x, y))
                + PathElement::new([(0, 0), (gap.0, 0)], colour.stroke_width(3))
                + PathElement::new([(gap.1, 0), (22, 0)], colour.stroke_width(3))
        });
    }
    Ok(())
}

/// An axis label: no trailing zeros ("0.2", "1500", "1").
fn trim(x: f64) -> String {
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

fn range_of(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).max(1e-9);
    (lo - pad * span, hi + pad * span)
}

fn plot_global_steps(path: &Path, runs: &[GlobalRun], args: &Args) -> DynResult<()> {
    let root = png(path, (1000, 800));
    let (top, bottom) = root.split_vertically(400);
    let steps = args.steps as f64;
    let (lo, hi) = range_of(
        runs.iter().flat_map(|r| r.steps.iter().map(|s| s.loss)),
        0.05,
    );
    let mut chart = ChartBuilder::on(&top)
        .caption(
            format!(
                "Global R: batch loss ({} events per batch, {} runs per event, α = {})",
                args.batch, args.samples, args.alpha
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .margin_right(25)
        .x_label_area_size(35)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..steps, lo.max(0.0)..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .x_desc("step")
        .y_desc("mean (mH − 125)² [GeV²]")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    for (k, run) in runs.iter().enumerate() {
        let dashed = args.starts.iter().position(|&s| s == run.start) != Some(0);
        let pts = run.steps.iter().map(|s| (s.step as f64, s.loss)).collect();
        line(
            &mut chart,
            pts,
            run.estimator.colour(),
            dashed,
            Some(format!("{} from R = {}", run.estimator.name(), run.start)),
        )?;
        let _ = k;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    let (rlo, rhi) = range_of(
        runs.iter()
            .flat_map(|r| r.steps.iter().map(|s| s.r).chain([r.r_last])),
        0.08,
    );
    let mut chart = ChartBuilder::on(&bottom)
        .caption(
            "Global R against step (dotted: optimum, mean of the last quarter)",
            ("sans-serif", 18),
        )
        .margin(10)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..steps, rlo.max(0.0)..rhi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .x_desc("step")
        .y_desc("R")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    for run in runs {
        let dashed = args.starts.iter().position(|&s| s == run.start) != Some(0);
        let mut pts: Vec<(f64, f64)> = run.steps.iter().map(|s| (s.step as f64, s.r)).collect();
        pts.push((steps, run.r_last));
        line(&mut chart, pts, run.estimator.colour(), dashed, None)?;
        let t0 = steps - tail(args.steps as usize) as f64;
        chart.draw_series(DashedLineSeries::new(
            [(t0, run.r_opt), (steps, run.r_opt)],
            2,
            4,
            run.estimator.colour().stroke_width(1),
        ))?;
    }
    root.present()?;
    Ok(())
}

fn plot_global_landscape(
    path: &Path,
    land: &Landscape,
    grid_len: usize,
    runs: &[GlobalRun],
    args: &Args,
) -> DynResult<()> {
    let root = png(path, (1000, 600));
    let pts: Vec<(f64, f64, f64)> = (0..grid_len)
        .map(|k| {
            let (m, s) = land.loss(k);
            (land.rs[k], m, s)
        })
        .collect();
    let (lo, hi) = range_of(pts.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2]), 0.08);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "Global loss E[ℓ](R) over {} events (α = {}), and each run's optimum",
                land.per_event[0].len(),
                args.alpha
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .margin_right(25)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(GLOBAL_GRID.0 - 0.05..GLOBAL_GRID.1 + 0.05, lo.max(0.0)..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .x_desc("R")
        .y_desc("mean (mH − 125)² [GeV²], mH < 250 GeV")
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()?;
    let band: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (p.0, p.1 + p.2))
        .chain(pts.iter().rev().map(|p| (p.0, p.1 - p.2)))
        .collect();
    chart.draw_series([Polygon::new(band, GREY.mix(0.3).filled())])?;
    chart
        .draw_series(LineSeries::new(
            pts.iter().map(|p| (p.0, p.1)),
            BLACK.stroke_width(2),
        ))?
        .label("E[ℓ](R) ± 1 s.e.")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 22, y)], BLACK.stroke_width(2)));
    for run in runs {
        let k = land.position(run.r_opt);
        let y = land.loss(k).0;
        let c = run.estimator.colour();
        // The noise as a horizontal bar with end ticks.
        let (a, b) = (run.r_opt - run.r_opt_spread, run.r_opt + run.r_opt_spread);
        let tick = 0.012 * (hi - lo.max(0.0));
        chart.draw_series([
            PathElement::new([(a, y), (b, y)], c.stroke_width(2)),
            PathElement::new([(a, y - tick), (a, y + tick)], c.stroke_width(2)),
            PathElement::new([(b, y - tick), (b, y + tick)], c.stroke_width(2)),
        ])?;
        let first = args.starts.iter().position(|&s| s == run.start) == Some(0);
        let label = format!(
            "{} from {}: R* = {:.2} (spread {:.2} over the last steps)",
            run.estimator.name(),
            run.start,
            run.r_opt,
            run.r_opt_spread
        );
        if first {
            chart
                .draw_series([Circle::new((run.r_opt, y), 6, c.filled())])?
                .label(label)
                .legend(move |(x, y)| Circle::new((x + 11, y), 6, c.filled()));
        } else {
            chart
                .draw_series([TriangleMarker::new((run.r_opt, y), 8, c.filled())])?
                .label(label)
                .legend(move |(x, y)| TriangleMarker::new((x + 11, y), 8, c.filled()));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperMiddle)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_event_landscapes(
    path: &Path,
    lands: &[EventLandscape],
    results: &[EventResult],
    args: &Args,
) -> DynResult<()> {
    if lands.is_empty() {
        return Ok(());
    }
    let cols = lands.len().min(2);
    let rows = lands.len().div_ceil(cols);
    let root = png(path, (600 * cols as u32, 420 * rows as u32));
    let areas = root.split_evenly((rows, cols));
    for (land, area) in lands.iter().zip(areas) {
        let res = &results[land.event];
        let (lo, hi) = range_of(
            land.loss
                .iter()
                .zip(&land.stderr)
                .flat_map(|(m, s)| [m - s, m + s]),
            0.08,
        );
        let mut chart = ChartBuilder::on(&area)
            .caption(
                format!(
                    "event {}: E[ℓ](R) ± 1 s.e., {} paths",
                    land.event,
                    args.per_event_estimator.name()
                ),
                ("sans-serif", 17),
            )
            .margin(10)
            .margin_right(20)
            .x_label_area_size(35)
            .y_label_area_size(65)
            .build_cartesian_2d(0.0..EVENT_GRID.1 + 0.05, lo.max(0.0)..hi)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|x| trim(*x))
            .y_label_formatter(&|y| trim(*y))
            .x_desc("R")
            .y_desc("E[ℓ] [GeV²]")
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        let band: Vec<(f64, f64)> = land
            .r
            .iter()
            .zip(land.loss.iter().zip(&land.stderr))
            .map(|(&r, (m, s))| (r, m + s))
            .chain(
                land.r
                    .iter()
                    .zip(land.loss.iter().zip(&land.stderr))
                    .rev()
                    .map(|(&r, (m, s))| (r, m - s)),
            )
            .collect();
        chart.draw_series([Polygon::new(band, GREY.mix(0.3).filled())])?;
        chart.draw_series(LineSeries::new(
            land.r.iter().copied().zip(land.loss.iter().copied()),
            BLACK.stroke_width(2),
        ))?;
        for (s, run) in res.runs.iter().enumerate() {
            let c = START_COLOURS[s % START_COLOURS.len()];
            let pts: Vec<(f64, f64)> = run
                .path
                .iter()
                .map(|&r| (r, interpolate(&land.r, &land.loss, r)))
                .collect();
            chart.draw_series(LineSeries::new(pts.clone(), c.mix(0.5).stroke_width(1)))?;
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.mix(0.8).filled())))?
                .label(format!("from R = {}: R* = {:.2}", run.start, run.r_opt))
                .legend(move |(x, y)| Circle::new((x + 11, y), 4, c.filled()));
            chart.draw_series(DashedLineSeries::new(
                [(run.r_opt, lo.max(0.0)), (run.r_opt, hi)],
                5,
                4,
                c.stroke_width(2),
            ))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperMiddle)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

fn plot_event_optima(path: &Path, results: &[EventResult], args: &Args) -> DynResult<()> {
    let root = png(path, (1100, 500));
    let (left, right) = root.split_horizontally(500);
    let starts = &args.per_event_starts;
    if starts.len() >= 2 {
        let mut chart = ChartBuilder::on(&left)
            .caption(
                format!(
                    "Per-event optima: start {} vs start {}",
                    starts[0], starts[1]
                ),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..R_MAX + 0.05, 0.0..R_MAX + 0.05)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|x| trim(*x))
            .y_label_formatter(&|y| trim(*y))
            .x_desc(format!("R* from R = {}", starts[0]))
            .y_desc(format!("R* from R = {}", starts[1]))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(0.0, 0.0), (R_MAX, R_MAX)],
            5,
            4,
            GREY.stroke_width(1),
        ))?;
        chart.draw_series(results.iter().map(|r| {
            Circle::new(
                (r.runs[0].r_opt, r.runs[1].r_opt),
                4,
                START_COLOURS[0].mix(0.7).filled(),
            )
        }))?;
    }
    let bins = 20usize;
    let width = R_MAX / bins as f64;
    let mut counts = vec![0u32; bins];
    for r in results {
        counts[((r.r_opt / width) as usize).min(bins - 1)] += 1;
    }
    let ymax = (*counts.iter().max().unwrap_or(&1) as f64 * 1.2)
        .ceil()
        .max(1.0);
    let mut chart = ChartBuilder::on(&right)
        .caption(
            format!("Chosen per-event R ({} events)", results.len()),
            ("sans-serif", 18),
        )
        .margin(12)
        .margin_right(25)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..R_MAX, 0.0..ymax)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_label_formatter(&|x| trim(*x))
        .y_label_formatter(&|y| trim(*y))
        .x_desc("R*")
        .y_desc("events")
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 14))
        .draw()?;
    chart.draw_series(counts.iter().enumerate().map(|(k, &c)| {
        let x0 = k as f64 * width;
        Rectangle::new(
            [(x0, 0.0), (x0 + width, c as f64)],
            START_COLOURS[0].mix(0.6).filled(),
        )
    }))?;
    root.present()?;
    Ok(())
}

const BIN: f64 = 10.0;

fn plot_peaks(path: &Path, qa: &[PeakStats], akt: &[PeakStats], args: &Args) -> DynResult<()> {
    let root = png(path, (1400, 560));
    let (left, right) = root.split_horizontally(700);
    for (area, stats, title) in [
        (
            left,
            qa,
            format!(
                "mH, Qanti-kT (α = {}, {} histories per event), {} events",
                args.alpha,
                args.hist_samples,
                qa.first().map_or(0, |s| s.events)
            ),
        ),
        (
            right,
            akt,
            format!(
                "mH, anti-kT at the same R, {} events",
                akt.first().map_or(0, |s| s.events)
            ),
        ),
    ] {
        let nbins = (CUT / BIN) as usize;
        let hists: Vec<Vec<f64>> = stats
            .iter()
            .map(|s| {
                let mut h = vec![0.0; nbins];
                let per = s.entries as f64 / s.events.max(1) as f64;
                for ms in &s.masses {
                    for &m in ms {
                        if m > 0.0 && m < CUT {
                            h[((m / BIN) as usize).min(nbins - 1)] += 1.0 / per;
                        }
                    }
                }
                h
            })
            .collect();
        let ymax = hists.iter().flatten().fold(0.0f64, |a, &b| a.max(b)) * 1.45 + 1.0;
        let mut chart = ChartBuilder::on(&area)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .margin_right(25)
            .x_label_area_size(40)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..CUT, 0.0..ymax)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_label_formatter(&|x| trim(*x))
            .y_label_formatter(&|y| trim(*y))
            .x_desc("mH [GeV] (0 < mH < 250 GeV selected)")
            .y_desc(format!("events / {BIN} GeV"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .draw()?;
        chart.draw_series(DashedLineSeries::new(
            [(TARGET, 0.0), (TARGET, ymax)],
            6,
            5,
            GREY.stroke_width(1),
        ))?;
        for ((s, h), &c) in stats.iter().zip(&hists).zip(&PEAK_COLOURS) {
            let mut pts = vec![(0.0, 0.0)];
            for (k, &v) in h.iter().enumerate() {
                pts.push((k as f64 * BIN, v));
                pts.push(((k + 1) as f64 * BIN, v));
            }
            pts.push((CUT, 0.0));
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))?
                .label(s.legend())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 22, y)], c.stroke_width(3)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The run

/// Prints a line of the report; a closed pipe (`| head`) ends the run quietly.
fn say(progress: Option<&ProgressBar>, text: &str) {
    let print = || {
        if let Err(e) = writeln!(io::stdout(), "{text}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("writing to standard output: {e}");
        }
    };
    match progress {
        Some(p) => p.suspend(print),
        None => print(),
    }
}

/// A progress bar on stderr (hidden when it is not a terminal), with an ETA.
fn bar(len: u64, what: &str) -> ProgressBar {
    ProgressBar::new(len).with_style(
        ProgressStyle::with_template(&format!(
            "{{msg:<22}} [{{bar:30}}] {{pos}}/{{len}} {what}, {{elapsed}} (ETA {{eta}})"
        ))
        .expect("valid template")
        .progress_chars("=> "),
    )
}

fn load(args: &Args) -> Result<Vec<Vec<FourMomentum>>, String> {
    let reader = match &args.events {
        None => default_sample().map_err(|e| e.to_string())?,
        Some(path) => {
            let r = EventReader::open(path).map_err(|e| e.to_string())?;
            if r.format() == Format::HepMc3 {
                r.drop_descendants_of(&[23]).map_err(|e| e.to_string())?
            } else {
                r
            }
        }
    };
    let hepmc = reader.format() == Format::HepMc3;
    let cuts = Selection::default_sample();
    let pt2 = args.ptmin_particles * args.ptmin_particles;
    let mut events = Vec::new();
    for ev in reader.take(args.max_events as usize) {
        let mut ev = ev.map_err(|e| e.to_string())?;
        if hepmc {
            ev = cuts.filter(ev);
        }
        // pT = 0 lies on the beam axis, where anti-kT is undefined: always dropped.
        events.push(
            ev.particles
                .iter()
                .map(|p| p.momentum)
                .filter(|p| p.pt2() >= pt2 && p.pt2() > 0.0)
                .collect(),
        );
    }
    if events.is_empty() {
        return Err("no events read".into());
    }
    Ok(events)
}

fn run(args: Args) -> Result<bool, String> {
    args.check()?;
    if args.threads > 0 {
        rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
        .map_err(|_| "the embedded font could not be loaded".to_string())?;
    let total = Instant::now();
    let mut timing: Vec<Timing> = Vec::new();
    let mut phase = Instant::now();
    let mut lap = |name: &str, phase: &mut Instant| {
        timing.push(Timing {
            phase: name.into(),
            seconds: phase.elapsed().as_secs_f64(),
        });
        *phase = Instant::now();
    };

    // Events.
    let events = load(&args)?;
    let n = events.len();
    let mean_particles = events.iter().map(Vec::len).sum::<usize>() as f64 / n as f64;
    let threads = rayon::current_num_threads();
    say(
        None,
        &format!(
            "{n} events, {mean_particles:.1} particles per event (pT ≥ {} GeV); α = {}; {} \
             thread(s); seed {}",
            args.ptmin_particles, args.alpha, threads, args.seed
        ),
    );
    lap("read events", &mut phase);

    // 1. Global runs, all (estimator, start) pairs at once.
    let pairs: Vec<(Est, usize)> = args
        .estimator
        .iter()
        .flat_map(|&e| (0..args.starts.len()).map(move |s| (e, s)))
        .collect();
    let progress = bar((pairs.len() as u64) * args.steps, "steps");
    progress.set_message("global R");
    let runs: Vec<stochad::Result<GlobalRun>> = pairs
        .par_iter()
        .map(|&(e, s)| global_run(&args, &events, e, s, &progress))
        .collect();
    progress.finish_and_clear();
    let mut runs = runs
        .into_iter()
        .collect::<stochad::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    lap("global R", &mut phase);

    // 2. Evaluation: the grid, the starts and the optima, the same streams at every R.
    let grid_rs = grid(GLOBAL_GRID, args.landscape_points as usize);
    let mut rs = grid_rs.clone();
    for r in args
        .starts
        .iter()
        .copied()
        .chain(runs.iter().map(|r| r.r_opt))
    {
        if !rs.contains(&r) {
            rs.push(r);
        }
    }
    let progress = bar((rs.len() * n) as u64, "event evaluations");
    progress.set_message("global loss landscape");
    let land = evaluate(&args, &events, rs, &progress);
    progress.finish_and_clear();
    for run in &mut runs {
        let a = land.position(run.start);
        let b = land.position(run.r_opt);
        run.eval_start = land.loss(a).0;
        run.eval_opt = land.loss(b).0;
        (run.eval_delta, run.eval_delta_stderr) = land.delta(a, b);
    }
    lap("evaluate global loss", &mut phase);

    say(None, "");
    say(
        None,
        &format!(
            "Global R: {} steps × {} events × {} runs per gradient, {:?}, lr {} → {}; optimum \
             R* = mean R over the last {} steps (spread: its standard deviation there); L: \
             the evaluated global loss",
            args.steps,
            args.batch.min(n as u64),
            args.samples,
            args.optimizer,
            args.lr(),
            args.lr() * args.lr_final,
            tail(args.steps as usize)
        ),
    );
    say(
        None,
        &format!(
            "  {:<11} {:>5}  {:>13}  {:>9}  {:>9}  {:>18}",
            "estimator", "start", "R* (spread)", "L(start)", "L(R*)", "L(R*) − L(start)"
        ),
    );
    for run in &runs {
        say(
            None,
            &format!(
                "  {:<11} {:>5.2}  {:>5.3} ({:.3})  {:>9.0}  {:>9.0}  {:>8.0} ± {:<7.0}",
                run.estimator.name(),
                run.start,
                run.r_opt,
                run.r_opt_spread,
                run.eval_start,
                run.eval_opt,
                run.eval_delta,
                run.eval_delta_stderr
            ),
        );
    }
    let best = (0..args.landscape_points as usize)
        .min_by(|&a, &b| land.loss(a).0.total_cmp(&land.loss(b).0))
        .expect("grid");
    say(
        None,
        &format!(
            "  lowest point of the evaluated landscape: R = {:.2}, L = {:.0} ± {:.0} \
             ({} events × {} runs)",
            land.rs[best],
            land.loss(best).0,
            land.loss(best).1,
            n,
            args.eval_samples
        ),
    );
    // Agreement of the starts, per estimator: ΔR and the paired loss difference.
    for &est in &args.estimator {
        let mine: Vec<&GlobalRun> = runs.iter().filter(|r| r.estimator == est).collect();
        for pair in mine.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (d, se) = land.delta(land.position(a.r_opt), land.position(b.r_opt));
            say(
                None,
                &format!(
                    "  {:<11} optimum from {} minus optimum from {}: ΔR = {:+.3}, \
                     ΔL = {:+.0} ± {:.0}",
                    est.name(),
                    b.start,
                    a.start,
                    b.r_opt - a.r_opt,
                    d,
                    se
                ),
            );
        }
    }
    let used: Vec<&GlobalRun> = {
        let moved: Vec<&GlobalRun> = runs.iter().filter(|r| r.estimator != Est::Dual).collect();
        if moved.is_empty() {
            runs.iter().collect()
        } else {
            moved
        }
    };
    let r_global = used.iter().map(|r| r.r_opt).sum::<f64>() / used.len() as f64;
    say(
        None,
        &format!(
            "  global R used below: {r_global:.3} (mean of the optima of the {} runs{})",
            used.len(),
            if used.len() < runs.len() {
                " other than dual"
            } else {
                ""
            }
        ),
    );

    // 3. Per-event R.
    let p = args.per_event.min(n);
    let mut per_event = None;
    if p > 0 {
        let starts = args.per_event_starts.len();
        let progress = bar((p * starts) as u64, "event runs");
        progress.set_message("per-event R");
        let jobs: Vec<(usize, usize)> = (0..p)
            .flat_map(|e| (0..starts).map(move |s| (e, s)))
            .collect();
        let out: Vec<stochad::Result<EventRun>> = jobs
            .par_iter()
            .map(|&(e, s)| {
                let r = event_run(&args, &events[e], e, s);
                progress.inc(1);
                r
            })
            .collect();
        progress.finish_and_clear();
        let mut out = out
            .into_iter()
            .collect::<stochad::Result<Vec<_>>>()
            .map_err(|e| e.to_string())?
            .into_iter();
        let grouped: Vec<Vec<EventRun>> = (0..p)
            .map(|_| out.by_ref().take(starts).collect())
            .collect();
        // Each start's optimum evaluated afresh, the same streams for every start (paired).
        let results: Vec<EventResult> = grouped
            .into_par_iter()
            .enumerate()
            .map(|(e, mut runs)| {
                let seed = derive(args.seed, &[PER_EVENT_EVAL, e as u64]);
                let ls: Vec<Vec<f64>> = runs
                    .iter()
                    .map(|run| {
                        loss_samples(
                            &events[e],
                            run.r_opt,
                            args.alpha,
                            seed,
                            args.landscape_samples,
                        )
                    })
                    .collect();
                for (run, l) in runs.iter_mut().zip(&ls) {
                    run.eval_loss = mean_stderr(l).0;
                }
                let (delta_loss, delta_stderr) = if ls.len() >= 2 {
                    let d: Vec<f64> = ls[1].iter().zip(&ls[0]).map(|(b, a)| b - a).collect();
                    mean_stderr(&d)
                } else {
                    (f64::NAN, f64::NAN)
                };
                let chosen = runs
                    .iter()
                    .min_by(|a, b| a.eval_loss.total_cmp(&b.eval_loss))
                    .expect("a start");
                EventResult {
                    event: e,
                    r_opt: chosen.r_opt,
                    runs,
                    delta_loss,
                    delta_stderr,
                }
            })
            .collect();
        lap("per-event R", &mut phase);

        // Landscapes of the first few events.
        let le = args.landscape_events.min(p);
        let grid = event_grid();
        let progress = bar((le * grid.len()) as u64, "grid points");
        progress.set_message("per-event landscapes");
        let jobs: Vec<(usize, usize)> = (0..le)
            .flat_map(|e| (0..grid.len()).map(move |k| (e, k)))
            .collect();
        let pts: Vec<(f64, f64)> = jobs
            .par_iter()
            .map(|&(e, k)| {
                let seed = derive(args.seed, &[LANDSCAPE, e as u64]);
                let v = mean_loss(
                    &events[e],
                    grid[k],
                    args.alpha,
                    seed,
                    args.landscape_samples,
                );
                progress.inc(1);
                v
            })
            .collect();
        progress.finish_and_clear();
        let landscapes: Vec<EventLandscape> = (0..le)
            .map(|e| {
                let row = &pts[e * grid.len()..(e + 1) * grid.len()];
                EventLandscape {
                    event: e,
                    r: grid.clone(),
                    loss: row.iter().map(|x| x.0).collect(),
                    stderr: row.iter().map(|x| x.1).collect(),
                }
            })
            .collect();
        lap("per-event landscapes", &mut phase);

        let mut deltas: Vec<f64> = if starts >= 2 {
            results
                .iter()
                .map(|r| (r.runs[0].r_opt - r.runs[1].r_opt).abs())
                .collect()
        } else {
            Vec::new()
        };
        deltas.sort_by(f64::total_cmp);
        let frac = |x: f64| deltas.iter().filter(|&&d| d <= x).count() as f64 / deltas.len() as f64;
        let mut dl: Vec<f64> = results
            .iter()
            .filter(|r| r.delta_loss.is_finite())
            .map(|r| r.delta_loss.abs())
            .collect();
        dl.sort_by(f64::total_cmp);
        let same = results
            .iter()
            .filter(|r| r.delta_loss.is_finite())
            .filter(|r| r.delta_loss.abs() <= 2.0 * r.delta_stderr)
            .count() as f64
            / dl.len().max(1) as f64;
        let summary = PerEventSummary {
            events: p,
            estimator: args.per_event_estimator,
            starts: args.per_event_starts.clone(),
            median_abs_delta: deltas.get(deltas.len() / 2).copied().unwrap_or(f64::NAN),
            mean_abs_delta: if deltas.is_empty() {
                f64::NAN
            } else {
                deltas.iter().sum::<f64>() / deltas.len() as f64
            },
            within_0_1: frac(0.1),
            within_0_2: frac(0.2),
            same_loss_within_2se: same,
            median_abs_delta_loss: dl.get(dl.len() / 2).copied().unwrap_or(f64::NAN),
            results,
            landscapes,
        };
        say(None, "");
        say(
            None,
            &format!(
                "Per-event R: {p} events × {} starts × {} steps × {} runs per gradient ({}), lr {}",
                starts,
                args.per_event_steps,
                args.per_event_samples,
                args.per_event_estimator.name(),
                args.per_event_lr()
            ),
        );
        if starts >= 2 {
            say(
                None,
                &format!(
                    "  starts {} and {}: |ΔR*| median {:.3}, mean {:.3}; within 0.1: {:.0} %, \
                     within 0.2: {:.0} %",
                    args.per_event_starts[0],
                    args.per_event_starts[1],
                    summary.median_abs_delta,
                    summary.mean_abs_delta,
                    100.0 * summary.within_0_1,
                    100.0 * summary.within_0_2
                ),
            );
            say(
                None,
                &format!(
                    "  E[ℓ] at the two optima ({} fresh runs each, paired): equal within 2 s.e. \
                     in {:.0} % of the events; median |ΔE[ℓ]| {:.0} GeV²",
                    args.landscape_samples,
                    100.0 * summary.same_loss_within_2se,
                    summary.median_abs_delta_loss
                ),
            );
            let clamped = summary
                .results
                .iter()
                .filter(|r| r.r_opt >= R_MAX - 0.05)
                .count();
            say(
                None,
                &format!(
                    "  {clamped} events chose R* ≥ {:.2} (at the clamp: a large R pushes their mH \
                     above 250 GeV, where ℓ = 0)",
                    R_MAX - 0.05
                ),
            );
        }
        let mut chosen: Vec<f64> = summary.results.iter().map(|r| r.r_opt).collect();
        chosen.sort_by(f64::total_cmp);
        let q = |f: f64| chosen[((chosen.len() - 1) as f64 * f).round() as usize];
        say(
            None,
            &format!(
                "  chosen R*: min {:.2}, quartiles {:.2} / {:.2} / {:.2}, max {:.2}",
                q(0.0),
                q(0.25),
                q(0.5),
                q(0.75),
                q(1.0)
            ),
        );
        // Keep summary.json small: the paths of the drawn events only.
        let mut summary = summary;
        for r in summary.results.iter_mut().skip(le) {
            for run in &mut r.runs {
                run.path.clear();
                run.loss.clear();
            }
        }
        per_event = Some(summary);
    }

    // 4. Histograms: the same events and streams for every R.
    let set: Vec<usize> = (0..if p > 0 { p } else { n }).collect();
    let progress = bar(
        ((set.len() * if p > 0 { 3 } else { 2 } + if p > 0 && p < n { n * 2 } else { 0 }) as u64)
            * args.hist_samples,
        "histories",
    );
    progress.set_message("mH histograms");
    let hs = args.hist_samples;
    let qa_masses = |r_of: &(dyn Fn(usize) -> f64 + Sync), events_idx: &[usize]| -> Vec<Vec<f64>> {
        events_idx
            .par_iter()
            .map(|&i| {
                let seed = derive(args.seed, &[HIST, i as u64]);
                let v = (0..hs)
                    .map(|s| sample_mh(&events[i], r_of(i), args.alpha, seed, s))
                    .collect();
                progress.inc(hs);
                v
            })
            .collect()
    };
    let akt_masses =
        |r_of: &(dyn Fn(usize) -> f64 + Sync), events_idx: &[usize]| -> Vec<Vec<f64>> {
            events_idx
                .par_iter()
                .map(|&i| vec![antikt_mh(&events[i], r_of(i))])
                .collect()
        };
    let r_ref = args.reference_r;
    let per_event_rs: Vec<f64> = per_event
        .as_ref()
        .map(|s| s.results.iter().map(|r| r.r_opt).collect())
        .unwrap_or_default();
    let per_event_r = move |i: usize| per_event_rs[i];
    let boots = bootstrap_sets(args.seed, set.len());
    let labels = [
        format!("R = {r_ref:.2} (fixed)"),
        format!("R = {r_global:.2} (global)"),
        "per-event R".to_string(),
    ];
    let configs: Vec<(String, RadiusOf)> = {
        let mut c: Vec<(String, RadiusOf)> = vec![
            (labels[0].clone(), Box::new(move |_| r_ref)),
            (labels[1].clone(), Box::new(move |_| r_global)),
        ];
        if p > 0 {
            c.push((labels[2].clone(), Box::new(per_event_r)));
        }
        c
    };
    let peak_qantikt: Vec<PeakStats> = configs
        .iter()
        .map(|(l, f)| PeakStats::new(l.clone(), qa_masses(f.as_ref(), &set), &boots))
        .collect();
    let peak_antikt: Vec<PeakStats> = configs
        .iter()
        .map(|(l, f)| PeakStats::new(l.clone(), akt_masses(f.as_ref(), &set), &boots))
        .collect();
    let all: Vec<usize> = (0..n).collect();
    let boots_all = bootstrap_sets(args.seed, n);
    let peak_all: Vec<PeakStats> = if p > 0 && p < n {
        configs[..2]
            .iter()
            .map(|(l, f)| PeakStats::new(l.clone(), qa_masses(f.as_ref(), &all), &boots_all))
            .collect()
    } else {
        peak_qantikt[..2].to_vec()
    };
    progress.finish_and_clear();
    lap("mH histograms", &mut phase);
    let nan = (f64::NAN, f64::NAN);
    let d_pe = if p > 0 {
        sigma_difference(&peak_qantikt[1], &peak_qantikt[2], &boots)
    } else {
        nan
    };
    let d_gl = sigma_difference(&peak_qantikt[0], &peak_qantikt[1], &boots);

    say(None, "");
    say(
        None,
        &format!(
            "The Higgs peak. Selection: entries with 0 < mH < {CUT} GeV (two jets, inside the \
             loss window); μ, σ: mean and standard deviation of the selected entries, ± \
             bootstrap s.e. over events"
        ),
    );
    let set_name = if p > 0 {
        format!("events 0–{} (the per-event set)", p - 1)
    } else {
        format!("all {n} events")
    };
    for (title, stats) in [
        (
            format!(
                "Qanti-kT mH, α = {}, {} histories per event, {set_name}",
                args.alpha, args.hist_samples
            ),
            &peak_qantikt,
        ),
        (
            format!("anti-kT mH (α → ∞) at the same R, {set_name}"),
            &peak_antikt,
        ),
        (
            format!(
                "Qanti-kT mH, α = {}, {} histories per event, all {n} events",
                args.alpha, args.hist_samples
            ),
            &peak_all,
        ),
    ] {
        say(None, &format!("  {title}"));
        say(
            None,
            &format!(
                "    {:<22} {:>15} {:>16} {:>16}",
                "R", "selected/all", "μ [GeV]", "σ [GeV]"
            ),
        );
        for s in stats.iter() {
            say(None, &format!("    {:<22} {}", s.label, s.row()));
        }
    }
    if p > 0 {
        say(
            None,
            &format!(
                "  σ(per-event) − σ(global) = {:+.1} ± {:.1} GeV ({:+.0} %); σ(global) − σ(R = \
                 {r_ref}) = {:+.1} ± {:.1} GeV (Qanti-kT, {set_name})",
                d_pe.0,
                d_pe.1,
                100.0 * d_pe.0 / peak_qantikt[1].sigma,
                d_gl.0,
                d_gl.1
            ),
        );
    }

    // Plots and summary.
    let out = &args.out;
    let files = [
        "global_steps.png",
        "global_landscape.png",
        "per_event_landscapes.png",
        "per_event_optima.png",
        "mh_histograms.png",
        "summary.json",
    ];
    let path = |f: &str| out.join(f);
    let wrap = |f: &str, r: DynResult<()>| r.map_err(|e| format!("{}: {e}", path(f).display()));
    wrap(files[0], plot_global_steps(&path(files[0]), &runs, &args))?;
    wrap(
        files[1],
        plot_global_landscape(&path(files[1]), &land, grid_rs.len(), &runs, &args),
    )?;
    let expected: Vec<&str> = if let Some(pe) = &per_event {
        wrap(
            files[2],
            plot_event_landscapes(&path(files[2]), &pe.landscapes, &pe.results, &args),
        )?;
        wrap(
            files[3],
            plot_event_optima(&path(files[3]), &pe.results, &args),
        )?;
        files.to_vec()
    } else {
        vec![files[0], files[1], files[4], files[5]]
    };
    wrap(
        files[4],
        plot_peaks(&path(files[4]), &peak_qantikt, &peak_antikt, &args),
    )?;
    lap("plots", &mut phase);

    // The check: the loss went down.
    let checked: Vec<&GlobalRun> = runs.iter().filter(|r| r.estimator != Est::Dual).collect();
    let no_rise = checked
        .iter()
        .all(|r| r.eval_delta < 3.0 * r.eval_delta_stderr);
    let went_down = checked.is_empty() || checked.iter().map(|r| r.eval_delta).sum::<f64>() < 0.0;
    let mut passed = no_rise && went_down;

    let summary = Summary {
        command: std::env::args().collect(),
        events: n,
        mean_particles,
        ptmin_particles: args.ptmin_particles,
        alpha: args.alpha,
        optimizer: args.optimizer,
        lr: args.lr(),
        per_event_lr: args.per_event_lr(),
        seed: args.seed,
        loss: "(mH - 125 GeV)^2 if mH < 250 GeV else 0, per event; the global loss is its mean over the batch (normalised by the batch size)",
        selection: "histogram entries with 0 < mH < 250 GeV",
        global_runs: runs.clone(),
        global_landscape: (0..grid_rs.len())
            .map(|k| {
                let (m, s) = land.loss(k);
                (land.rs[k], m, s)
            })
            .collect(),
        r_global,
        r_reference: r_ref,
        per_event,
        peak_qantikt,
        peak_antikt,
        peak_qantikt_all_events: peak_all,
        sigma_per_event_minus_global: d_pe,
        sigma_global_minus_reference: d_gl,
        check_passed: passed,
        timing: Vec::new(),
    };
    let mut summary = summary;
    lap("summary", &mut phase);
    timing.push(Timing {
        phase: "total".into(),
        seconds: total.elapsed().as_secs_f64(),
    });
    summary.timing = timing;
    let json = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
    fs::write(path(files[5]), json + "\n").map_err(|e| format!("{}: {e}", files[5]))?;

    say(None, "");
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|f| fs::metadata(path(f)).map(|m| m.len() == 0).unwrap_or(true))
        .collect();
    say(
        None,
        &format!("wrote {} in {}", expected.join(", "), out.display()),
    );
    say(
        None,
        &format!(
            "wall time: {}",
            summary
                .timing
                .iter()
                .map(|t| format!("{} {:.1} s", t.phase, t.seconds))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    if !missing.is_empty() {
        eprintln!(
            "jet_radius_opt: check failed: missing or empty: {}",
            missing.join(", ")
        );
        passed = false;
    }
    if !no_rise || !went_down {
        eprintln!(
            "jet_radius_opt: check failed: the evaluated global loss did not go down \
             (per run: L(opt) − L(start) must be < 3 s.e., and their sum < 0)"
        );
    } else {
        say(
            None,
            &format!(
                "check passed: outputs written, {}",
                if checked.is_empty() {
                    "no run other than dual's to check the loss of".to_string()
                } else {
                    format!("the global loss went down ({} runs checked)", checked.len())
                }
            ),
        );
    }
    Ok(passed)
}

fn main() -> ExitCode {
    let matches = Args::command().get_matches();
    let args = match Args::from_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("jet_radius_opt: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_is_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn quick_changes_only_defaults() {
        let m = Args::command().get_matches_from(["x", "--quick", "--steps", "3"]);
        let a = Args::from_matches(&m).unwrap();
        assert_eq!(
            (a.steps, a.max_events, a.per_event, a.batch),
            (3, 200, 12, 50)
        );
        let m = Args::command().get_matches_from(["x"]);
        let a = Args::from_matches(&m).unwrap();
        assert_eq!((a.steps, a.max_events, a.per_event), (30, 1000, 100));
        assert_eq!(a.estimator, [Est::TripleMix, Est::Score]);
    }

    #[test]
    fn too_few_samples_are_refused() {
        let m = Args::command().get_matches_from(["x", "--samples", "3"]);
        assert!(Args::from_matches(&m).unwrap().check().is_err());
        let m = Args::command().get_matches_from(["x", "--samples", "3", "--estimator", "score"]);
        assert!(Args::from_matches(&m).unwrap().check().is_ok());
    }

    #[test]
    fn seeds_differ_by_every_index() {
        let base = derive(1, &[GLOBAL, 1, 0, 5, 7]);
        for other in [
            derive(2, &[GLOBAL, 1, 0, 5, 7]),
            derive(1, &[PER_EVENT, 1, 0, 5, 7]),
            derive(1, &[GLOBAL, 2, 0, 5, 7]),
            derive(1, &[GLOBAL, 1, 1, 5, 7]),
            derive(1, &[GLOBAL, 1, 0, 6, 7]),
            derive(1, &[GLOBAL, 1, 0, 5, 8]),
            derive(1, &[GLOBAL, 1, 0, 7, 5]),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn batches_cover_each_epoch_once() {
        let mut seen: Vec<usize> = (0..5).flat_map(|t| batch_indices(3, 50, 10, t)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        assert_ne!(batch_indices(3, 50, 10, 0), batch_indices(3, 50, 10, 5));
        // A batch straddling two epochs.
        assert_eq!(batch_indices(3, 7, 5, 1).len(), 5);
    }

    #[test]
    fn adam_and_sgd_find_a_quadratic_minimum_and_clamp() {
        for (kind, lr) in [(Opt::Adam, 0.05), (Opt::Sgd, 0.2)] {
            let mut opt = Optimiser::new(kind);
            let mut r = 0.2;
            for t in 0..200 {
                r = opt.step(r, 2.0 * (r - 0.7), schedule(lr, 0.1, t, 200));
            }
            assert!((r - 0.7).abs() < 0.01, "{kind:?}: {r}");
        }
        let mut opt = Optimiser::new(Opt::Sgd);
        assert_eq!(opt.step(0.1, 1e6, 1.0), R_MIN);
        assert_eq!(opt.step(1.9, -1e6, 1.0), R_MAX);
        let mut opt = Optimiser::new(Opt::Adam);
        assert_eq!(opt.step(0.4, 0.0, 0.1), 0.4);
    }

    #[test]
    fn moments_select_the_window() {
        let masses = vec![vec![0.0, 100.0, 300.0], vec![120.0, 140.0]];
        let (m, s, n) = moments(&masses, &[0, 1]).unwrap();
        assert_eq!(n, 3);
        assert!((m - 120.0).abs() < 1e-12 && (s - 20.0).abs() < 1e-12);
        assert!(moments(&masses, &[0]).is_none());
    }

    #[test]
    fn the_loss_cut_is_part_of_the_observable() {
        // Two back-to-back particles: mH = 80 or 0, both below the cut.
        let ev = [
            FourMomentum::new(40.0, 0.0, 0.0, 40.0),
            FourMomentum::new(-40.0, 0.0, 0.0, 40.0),
        ];
        let l: f64 = stochad::with_run(1, 0, || event_loss(&ev, 0.4, 1.0)).unwrap();
        assert!(l == 45.0 * 45.0 || l == 125.0 * 125.0);
        let d = estimate(Est::Dual, &ev, 0.4, 1.0, 1, 4, 0.05).unwrap();
        assert_eq!(d.mean, 0.0);
    }
}
