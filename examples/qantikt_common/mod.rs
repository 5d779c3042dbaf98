//! Shared by the `qantikt_estimators` and `qantikt_variance` examples: the estimators of
//! dE[mH]/dR and dE[mH]/dα on one Qanti-kT event, each run the way a user would write it, timed,
//! and the small helpers both reports use. Not an example of its own (Cargo builds only
//! `examples/*.rs` and `examples/*/main.rs`).

// Each example uses part of what is here.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use indicatif::ProgressBar;

use stochad::estimate::{apply_baseline, summarize, Estimator, RunOutput};
use stochad::jets::io::{default_sample, Selection};
use stochad::jets::qantikt::{MhProgram, QantiKt, Sampling};
use stochad::jets::FourMomentum;
use stochad::sample::{Categorical, Coupling, Redraw};
use stochad::triple::Keep;
use stochad::{
    AllWorldsTriple, Dual, GradientEstimate, KeepTriple, KeptFlips, Result, Score,
    StochasticTriple, Triple,
};

/// The keep-K triple with inline room for exactly K worlds (K < 8: smaller values than
/// `KeepTriple`'s default of 8, the same numbers).
type KeepSmall<const K: usize> = StochasticTriple<Keep<K, K>, 2>;

/// An estimator of (dE[mH]/dR, dE[mH]/dα), as a row of the reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Est {
    /// Central finite differences, common random numbers, half step h (biased, O(h²)).
    FiniteDifferences,
    /// Score function (REINFORCE), no baseline.
    Score,
    /// Score function with the leave-one-out baseline (the reference of every ratio).
    ScoreBaseline,
    /// Gumbel-softmax straight through at temperature τ (biased relaxation).
    GumbelSoftmax,
    /// Stochastic triple, pruned backend, proportional coupling (the default: each world resumed
    /// from its draw).
    Triple,
    /// The pruned triple with its worlds carried through the clustering (`carry_worlds`),
    /// maximal redraws.
    TripleCarried,
    /// The pruned triple, worlds carried, redraws by the same uniform.
    TripleSameUniform,
    /// `stochad::rerun`: a recording run, then the `f64` clustering once per kept flip (the
    /// pruned triple's estimate, pruned when recorded, same-uniform redraws).
    Rerun,
    /// `stochad::rerun(..).keep(KeptFlips::Every)`: the `f64` clustering once per flip of the
    /// recording run (the all-worlds triple's kind of estimate, same-uniform redraws).
    RerunEveryFlip,
    /// `stochad::rerun(..).keep(KeptFlips::Shared)`: one flip for both directions, one re-run.
    RerunShared,
    /// `stochad::rerun_resumable(..).score_mix(true)`: mixed with the score function of the
    /// recording runs.
    RerunScoreMix,
    /// The same with the output as control variate (`.control_variate(4)`: E[mH], E[mH²] from
    /// 4 independent `f64` runs per sample).
    RerunScoreMixCv,
    /// `stochad::rerun_resumable(..).keep(KeptFlips::Reservoir(2))`: 2 flips per direction
    /// (VarOpt_k reservoirs), up to 4 re-runs per sample.
    RerunReservoir2,
    /// The same with 4 flips per direction.
    RerunReservoir4,
    /// The same with 8 flips per direction.
    RerunReservoir8,
    /// 4 flips per direction, mixed with the score function of the recording runs.
    RerunReservoir4Mix,
    /// 8 flips per direction, mixed with the score function of the recording runs.
    RerunReservoir8Mix,
    /// The same with the output as control variate (4 twin runs per sample).
    RerunReservoir8MixCv,
    /// `rerun_resumable` with the signed coupling (`Coupling::Signed`: two jumps from every
    /// draw), 32 flips per direction, mixed with the score function, output as control variate.
    RerunSignedReservoir32MixCv,
    /// The same with 64 flips per direction.
    RerunSignedReservoir64MixCv,
    /// 64 flips per direction with the signed coupling and the score mix, no control variate.
    RerunSignedReservoir64Mix,
    /// The signed coupling's jumps drawn for both directions together (`KeptFlips::Joint`: 4
    /// targets per draw), 32 flips kept for both, the score mix and the output as control
    /// variate.
    RerunJoint4Keep32MixCv,
    /// As [`Est::RerunJoint4Keep32MixCv`] with 64 flips.
    RerunJoint4Keep64MixCv,
    /// 2 joint targets per draw, every one re-run (a reservoir with room for all).
    RerunJointEveryMixCv,
    /// The default triple mixed with the score function of the same runs (`.score_mix(true)`).
    TripleScoreMix,
    /// The triple with carried worlds, mixed with the score function.
    TripleCarriedScoreMix,
    /// Stochastic triple, keep-2 backend.
    Keep2,
    /// Stochastic triple, keep-4 backend.
    Keep4,
    /// Stochastic triple, keep-8 backend.
    Keep8,
    /// Stochastic triple, all-worlds backend (every alternative world kept; slow).
    AllWorldsTriple,
    /// Score function with baseline, and the output mH as control variate
    /// (`.control_variate(twin)`: E[mH], E[mH²] from independent `f64` runs).
    ScoreBaselineCv,
    /// The triple + score mix with the output as control variate.
    TripleScoreMixCv,
    /// The triple with carried worlds + score mix, with the output as control variate.
    TripleCarriedScoreMixCv,
    /// The keep-4 triple with the output as control variate.
    Keep4Cv,
    /// The keep-8 triple with the output as control variate.
    Keep8Cv,
    /// The keep-8 triple mixed with the score function, and the output as control variate.
    Keep8MixCv,
    /// The keep-32 triple with the proportional coupling fanned out to 8 targets
    /// (`Coupling::ProportionalFan(8)`), mixed with the score function, the output as control
    /// variate: the least noisy of the proportional coupling's rows (the signed coupling's
    /// fanned rows are less noisy still).
    Keep32Fan8MixCv,
    /// The keep-8 triple with the signed coupling (`Coupling::Signed`: two jumps of opposite
    /// signs from every draw), mixed with the score function.
    Keep8SignedMix,
    /// The same with the output as control variate.
    Keep8SignedMixCv,
    /// The keep-32 triple with the signed coupling fanned out to 4 targets per side
    /// (`Coupling::SignedFan(4)`: up to 8 jumps from every draw), mixed with the score
    /// function, the output as control variate.
    Keep32SignedFan4MixCv,
    /// The keep-32 triple with the plain signed coupling (`Coupling::Signed`), mixed with the
    /// score function, the output as control variate: the control that tells how much of the
    /// fanned row's gain is the fan-out and how much keep-32's room.
    Keep32SignedMixCv,
    /// The keep-16 triple with the signed coupling fanned out to 2 targets per side
    /// (`Coupling::SignedFan(2)`), mixed with the score function, the output as control
    /// variate: half the worlds and fan-out of the keep-32 `SignedFan(4)` row.
    Keep16SignedFan2MixCv,
}

impl Est {
    /// The name in tables and legends.
    pub fn label(self) -> &'static str {
        match self {
            Est::FiniteDifferences => "finite differences (CRN)",
            Est::Score => "score function",
            Est::ScoreBaseline => "score + baseline",
            Est::GumbelSoftmax => "GS-STE",
            Est::Triple => "triple (pruned)",
            Est::TripleCarried => "triple (pruned, carried worlds)",
            Est::TripleSameUniform => "triple (pruned, carried, same-uniform redraw)",
            Est::Rerun => "rerun (record, then resume per kept flip)",
            Est::RerunEveryFlip => "rerun, every flip",
            Est::RerunShared => "rerun, one flip shared",
            Est::RerunScoreMix => "rerun + score mix",
            Est::RerunScoreMixCv => "rerun + score mix + output CV",
            Est::RerunReservoir2 => "rerun, 2 flips per direction",
            Est::RerunReservoir4 => "rerun, 4 flips per direction",
            Est::RerunReservoir8 => "rerun, 8 flips per direction",
            Est::RerunReservoir4Mix => "rerun, 4 flips per direction, + score mix",
            Est::RerunReservoir8Mix => "rerun, 8 flips per direction, + score mix",
            Est::RerunReservoir8MixCv => "rerun, 8 flips per direction, + score mix + output CV",
            Est::RerunSignedReservoir32MixCv => {
                "rerun, signed coupling, 32 flips, + score mix + output CV"
            }
            Est::RerunSignedReservoir64MixCv => {
                "rerun, signed coupling, 64 flips, + score mix + output CV"
            }
            Est::RerunSignedReservoir64Mix => "rerun, signed coupling, 64 flips, + score mix",
            Est::RerunJoint4Keep32MixCv => {
                "rerun, signed coupling, joint 4 targets, 32 flips, + score mix + output CV"
            }
            Est::RerunJointEveryMixCv => {
                "rerun, signed coupling, joint 2 targets, every flip, + score mix + output CV"
            }
            Est::RerunJoint4Keep64MixCv => {
                "rerun, signed coupling, joint 4 targets, 64 flips, + score mix + output CV"
            }
            Est::TripleScoreMix => "triple + score mix",
            Est::TripleCarriedScoreMix => "triple (carried) + score mix",
            Est::Keep2 => "keep-2 triple",
            Est::Keep4 => "keep-4 triple",
            Est::Keep8 => "keep-8 triple",
            Est::AllWorldsTriple => "all-worlds triple",
            Est::ScoreBaselineCv => "score + baseline + output CV",
            Est::TripleScoreMixCv => "triple + score mix + output CV",
            Est::TripleCarriedScoreMixCv => "triple (carried) + score mix + output CV",
            Est::Keep4Cv => "keep-4 triple + output CV",
            Est::Keep8Cv => "keep-8 triple + output CV",
            Est::Keep8MixCv => "keep-8 triple + score mix + output CV",
            Est::Keep32Fan8MixCv => "keep-32 triple, fan-out 8, + score mix + output CV",
            Est::Keep8SignedMix => "keep-8 triple, signed coupling, + score mix",
            Est::Keep8SignedMixCv => "keep-8 triple, signed coupling, + score mix + output CV",
            Est::Keep32SignedFan4MixCv => {
                "keep-32 triple, signed coupling fanned out to 4, + score mix + output CV"
            }
            Est::Keep32SignedMixCv => "keep-32 triple, signed coupling, + score mix + output CV",
            Est::Keep16SignedFan2MixCv => {
                "keep-16 triple, signed coupling fanned out to 2, + score mix + output CV"
            }
        }
    }

    /// The name in CSV files.
    pub fn key(self) -> &'static str {
        match self {
            Est::FiniteDifferences => "finite_differences",
            Est::Score => "score",
            Est::ScoreBaseline => "score_baseline",
            Est::GumbelSoftmax => "gs_ste",
            Est::Triple => "triple",
            Est::TripleCarried => "triple_carried",
            Est::TripleSameUniform => "triple_same_uniform",
            Est::Rerun => "rerun",
            Est::RerunEveryFlip => "rerun_every_flip",
            Est::RerunShared => "rerun_shared",
            Est::RerunScoreMix => "rerun_score_mix",
            Est::RerunScoreMixCv => "rerun_score_mix_cv",
            Est::RerunReservoir2 => "rerun_reservoir2",
            Est::RerunReservoir4 => "rerun_reservoir4",
            Est::RerunReservoir8 => "rerun_reservoir8",
            Est::RerunReservoir4Mix => "rerun_reservoir4_mix",
            Est::RerunReservoir8Mix => "rerun_reservoir8_mix",
            Est::RerunReservoir8MixCv => "rerun_reservoir8_mix_cv",
            Est::RerunSignedReservoir32MixCv => "rerun_signed_reservoir32_mix_cv",
            Est::RerunSignedReservoir64MixCv => "rerun_signed_reservoir64_mix_cv",
            Est::RerunSignedReservoir64Mix => "rerun_signed_reservoir64_mix",
            Est::RerunJoint4Keep32MixCv => "rerun_joint4_keep32_mix_cv",
            Est::RerunJointEveryMixCv => "rerun_joint2_every_mix_cv",
            Est::RerunJoint4Keep64MixCv => "rerun_joint4_keep64_mix_cv",
            Est::TripleScoreMix => "triple_score_mix",
            Est::TripleCarriedScoreMix => "triple_carried_score_mix",
            Est::Keep2 => "keep2",
            Est::Keep4 => "keep4",
            Est::Keep8 => "keep8",
            Est::AllWorldsTriple => "all_worlds_triple",
            Est::ScoreBaselineCv => "score_baseline_cv",
            Est::TripleScoreMixCv => "triple_score_mix_cv",
            Est::TripleCarriedScoreMixCv => "triple_carried_score_mix_cv",
            Est::Keep4Cv => "keep4_cv",
            Est::Keep8Cv => "keep8_cv",
            Est::Keep8MixCv => "keep8_mix_cv",
            Est::Keep32Fan8MixCv => "keep32_fan8_mix_cv",
            Est::Keep8SignedMix => "keep8_signed_mix",
            Est::Keep8SignedMixCv => "keep8_signed_mix_cv",
            Est::Keep32SignedFan4MixCv => "keep32_signed_fan4_mix_cv",
            Est::Keep32SignedMixCv => "keep32_signed_mix_cv",
            Est::Keep16SignedFan2MixCv => "keep16_signed_fan2_mix_cv",
        }
    }

    /// How the `rerun` rows keep their flips, whether they mix in the score function and how
    /// many twin runs per sample their output control variate takes (`None` for the others).
    pub fn rerun_setup(self) -> Option<(KeptFlips, bool, usize)> {
        let joint = |targets, keep| KeptFlips::Joint { targets, keep };
        Some(match self {
            Est::Rerun => (KeptFlips::PerDirection, false, 0),
            Est::RerunEveryFlip => (KeptFlips::Every, false, 0),
            Est::RerunShared => (KeptFlips::Shared, false, 0),
            Est::RerunScoreMix => (KeptFlips::PerDirection, true, 0),
            Est::RerunScoreMixCv => (KeptFlips::PerDirection, true, 4),
            Est::RerunReservoir2 => (KeptFlips::Reservoir(2), false, 0),
            Est::RerunReservoir4 => (KeptFlips::Reservoir(4), false, 0),
            Est::RerunReservoir8 => (KeptFlips::Reservoir(8), false, 0),
            Est::RerunReservoir4Mix => (KeptFlips::Reservoir(4), true, 0),
            Est::RerunReservoir8Mix => (KeptFlips::Reservoir(8), true, 0),
            Est::RerunReservoir8MixCv => (KeptFlips::Reservoir(8), true, 4),
            Est::RerunSignedReservoir32MixCv => (KeptFlips::Reservoir(32), true, 4),
            Est::RerunSignedReservoir64MixCv => (KeptFlips::Reservoir(64), true, 4),
            Est::RerunSignedReservoir64Mix => (KeptFlips::Reservoir(64), true, 0),
            Est::RerunJoint4Keep32MixCv => (joint(4, 32), true, 4),
            Est::RerunJointEveryMixCv => (joint(2, 1024), true, 4),
            Est::RerunJoint4Keep64MixCv => (joint(4, 64), true, 4),
            _ => return None,
        })
    }

    /// The coupling of the draws of a `rerun` row: signed for the `rerun_signed_*` rows, the
    /// default (proportional) for the others.
    pub fn rerun_coupling(self) -> Coupling {
        match self {
            Est::RerunSignedReservoir32MixCv
            | Est::RerunSignedReservoir64MixCv
            | Est::RerunSignedReservoir64Mix
            | Est::RerunJoint4Keep32MixCv
            | Est::RerunJointEveryMixCv
            | Est::RerunJoint4Keep64MixCv => Coupling::Signed,
            _ => Coupling::Proportional,
        }
    }

    /// Whether the estimator is unbiased for E[mH]'s gradient.
    pub fn unbiased(self) -> bool {
        !matches!(self, Est::FiniteDifferences | Est::GumbelSoftmax)
    }
}

/// What every estimate shares: seed, samples, the finite-difference half step and GS-STE's
/// temperature.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// The seed of every estimate (sample i of every estimator draws from the streams of
    /// (seed, i), so the unbiased ones and finite differences follow the same primal histories).
    pub seed: u64,
    /// Samples per estimate.
    pub samples: usize,
    /// Finite differences' half step h, in R and in α.
    pub step: f64,
    /// GS-STE's temperature τ.
    pub tau: f64,
    /// Independent twin runs per sample of the control-variate estimators.
    pub twin_runs: usize,
}

/// One estimator's result at one point: the estimate and the time per sample.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Which estimator.
    pub est: Est,
    /// Its estimate (mean, standard error, E[mH]).
    pub g: GradientEstimate<2>,
    /// Time per sample in milliseconds on one core: the batch's CPU time (every thread) /
    /// samples (Linux; elsewhere wall time × rayon threads / samples).
    pub ms: f64,
}

/// CPU time used so far by every thread of this process, in ns, from Linux's per-thread
/// scheduler statistics (`/proc/self/task/*/schedstat`, first field); `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

/// Runs `f` and returns its value and the time per sample in ms: the CPU time of every thread
/// (Linux), so other processes on the machine do not count, else wall time × rayon threads.
fn timed<T>(samples: usize, f: impl FnOnce() -> Result<T>) -> Result<(T, f64)> {
    let (cpu, wall) = (cpu_ns(), Instant::now());
    let out = f()?;
    let ms = match (cpu, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 * 1e-6,
        _ => wall.elapsed().as_secs_f64() * 1e3 * rayon::current_num_threads() as f64,
    };
    Ok((out, ms / samples as f64))
}

/// The gradient of E[mH] with number type `S`, clustering with `q`: every run's raw sample.
fn runs<S: Estimator<2>>(
    event: &[FourMomentum],
    q: QantiKt,
    at: [f64; 2],
    setup: &Setup,
    baseline: bool,
    mix: bool,
) -> Result<Vec<RunOutput<2>>> {
    stochad::gradient_with(|[r, a]: [S; 2]| q.mh(event, r, a))
        .at(at)
        .seed(setup.seed)
        .samples(setup.samples)
        .baseline(baseline)
        .score_mix(mix)
        .runs()
}

/// One estimator at `at` = (R, α): its estimate and time per sample.
fn estimate<S: Estimator<2>>(
    est: Est,
    event: &[FourMomentum],
    q: QantiKt,
    at: [f64; 2],
    setup: &Setup,
    mix: bool,
) -> Result<Measured> {
    let (samples, ms) = timed(setup.samples, || runs::<S>(event, q, at, setup, true, mix))?;
    Ok(Measured {
        est,
        g: summarize(&samples),
        ms,
    })
}

/// One estimator at `at` with the output mH as control variate (twin: the same clustering
/// with `f64`, `setup.twin_runs` independent runs per sample): its estimate and time per sample
/// (the twin's runs included).
fn estimate_cv<S: Estimator<2>>(
    est: Est,
    event: &[FourMomentum],
    q: QantiKt,
    at: [f64; 2],
    setup: &Setup,
    mix: bool,
) -> Result<Measured> {
    let (g, ms) = timed(setup.samples, || {
        stochad::gradient_with(|[r, a]: [S; 2]| q.mh(event, r, a))
            .at(at)
            .seed(setup.seed)
            .samples(setup.samples)
            .score_mix(mix)
            .control_variate(|[r, a]: [f64; 2]| q.mh(event, r, a))
            .twin_runs(setup.twin_runs)
            .estimate()
    })?;
    Ok(Measured { est, g, ms })
}

/// Runs the estimators `ests` at `at` = (R, α) on `event`, one after the other (each batch in
/// parallel), calling `done` after each run with the estimators it produced. The score function
/// with and without baseline come from one batch of runs (the baseline is applied afterwards),
/// so they share their time.
pub fn run_all(
    ests: &[Est],
    event: &[FourMomentum],
    at: [f64; 2],
    setup: &Setup,
    mut done: impl FnMut(&[Est]),
) -> Result<Vec<Measured>> {
    let default = QantiKt::new();
    let carried = default.carry_worlds(true);
    let mut out = Vec::new();
    let wants = |e: Est| ests.contains(&e);
    for &est in ests {
        let m = match est {
            Est::FiniteDifferences => {
                let (samples, ms) = timed(setup.samples, || {
                    stochad::finite_differences(|[r, a]: [f64; 2]| default.mh(event, r, a))
                        .at(at)
                        .step(setup.step)
                        .seed(setup.seed)
                        .samples(setup.samples)
                        .runs()
                })?;
                Measured {
                    est,
                    g: summarize(&samples),
                    ms,
                }
            }
            Est::Score | Est::ScoreBaseline => {
                // Both from the first of the two met; skip the second.
                if out
                    .iter()
                    .any(|m: &Measured| m.est == Est::Score || m.est == Est::ScoreBaseline)
                {
                    continue;
                }
                let (mut samples, ms) = timed(setup.samples, || {
                    runs::<Score<2>>(event, default, at, setup, false, false)
                })?;
                let mut both = Vec::new();
                if wants(Est::Score) {
                    both.push(Measured {
                        est: Est::Score,
                        g: summarize(&samples),
                        ms,
                    });
                }
                if wants(Est::ScoreBaseline) {
                    apply_baseline(&mut samples);
                    both.push(Measured {
                        est: Est::ScoreBaseline,
                        g: summarize(&samples),
                        ms,
                    });
                }
                let ran: Vec<Est> = both.iter().map(|m| m.est).collect();
                out.extend(both);
                done(&ran);
                continue;
            }
            Est::GumbelSoftmax => {
                let gs = QantiKt::new().sampling(Sampling::GumbelSoftmax { tau: setup.tau });
                estimate::<Dual<2>>(est, event, gs, at, setup, false)?
            }
            Est::Triple => estimate::<Triple<2>>(est, event, default, at, setup, false)?,
            Est::TripleCarried => estimate::<Triple<2>>(est, event, carried, at, setup, false)?,
            Est::TripleSameUniform => {
                let same = carried.sampling(Sampling::Categorical(Categorical {
                    coupling: Coupling::Proportional,
                    redraw: Redraw::SameUniform,
                }));
                estimate::<Triple<2>>(est, event, same, at, setup, false)?
            }
            Est::TripleScoreMix => estimate::<Triple<2>>(est, event, default, at, setup, true)?,
            Est::TripleCarriedScoreMix => {
                estimate::<Triple<2>>(est, event, carried, at, setup, true)?
            }
            Est::Rerun
            | Est::RerunEveryFlip
            | Est::RerunShared
            | Est::RerunScoreMix
            | Est::RerunScoreMixCv
            | Est::RerunReservoir2
            | Est::RerunReservoir4
            | Est::RerunReservoir8
            | Est::RerunReservoir4Mix
            | Est::RerunReservoir8Mix
            | Est::RerunReservoir8MixCv
            | Est::RerunSignedReservoir32MixCv
            | Est::RerunSignedReservoir64MixCv
            | Est::RerunSignedReservoir64Mix
            | Est::RerunJoint4Keep32MixCv
            | Est::RerunJointEveryMixCv
            | Est::RerunJoint4Keep64MixCv => {
                let (keep, mix, twin_runs) = est.rerun_setup().unwrap_or_default();
                // (With the proportional coupling, `default`.)
                let q = maximal(est.rerun_coupling());
                let (g, ms) = timed(setup.samples, || {
                    // Resumed at each kept flip's step: the same estimates as whole re-runs.
                    stochad::rerun_resumable(MhProgram::new(q, event))
                        .at(at)
                        .seed(setup.seed)
                        .samples(setup.samples)
                        .keep(keep)
                        .score_mix(mix)
                        .control_variate(twin_runs)
                        .estimate()
                })?;
                Measured { est, g, ms }
            }
            Est::Keep2 => estimate::<KeepSmall<2>>(est, event, default, at, setup, false)?,
            Est::Keep4 => estimate::<KeepSmall<4>>(est, event, default, at, setup, false)?,
            Est::Keep8 => estimate::<KeepTriple<8, 2>>(est, event, default, at, setup, false)?,
            Est::AllWorldsTriple => {
                estimate::<AllWorldsTriple<2>>(est, event, default, at, setup, false)?
            }
            Est::ScoreBaselineCv => estimate_cv::<Score<2>>(est, event, default, at, setup, false)?,
            Est::TripleScoreMixCv => {
                estimate_cv::<Triple<2>>(est, event, default, at, setup, true)?
            }
            Est::TripleCarriedScoreMixCv => {
                estimate_cv::<Triple<2>>(est, event, carried, at, setup, true)?
            }
            Est::Keep4Cv => estimate_cv::<KeepSmall<4>>(est, event, default, at, setup, false)?,
            Est::Keep8Cv => estimate_cv::<KeepTriple<8, 2>>(est, event, default, at, setup, false)?,
            Est::Keep8MixCv => {
                estimate_cv::<KeepTriple<8, 2>>(est, event, default, at, setup, true)?
            }
            Est::Keep32Fan8MixCv => {
                let fan = maximal(Coupling::ProportionalFan(8));
                estimate_cv::<KeepTriple<32, 2>>(est, event, fan, at, setup, true)?
            }
            Est::Keep32SignedFan4MixCv => {
                let fan = maximal(Coupling::SignedFan(4));
                estimate_cv::<KeepTriple<32, 2>>(est, event, fan, at, setup, true)?
            }
            Est::Keep32SignedMixCv => {
                let signed = maximal(Coupling::Signed);
                estimate_cv::<KeepTriple<32, 2>>(est, event, signed, at, setup, true)?
            }
            Est::Keep16SignedFan2MixCv => {
                let fan = maximal(Coupling::SignedFan(2));
                estimate_cv::<KeepTriple<16, 2>>(est, event, fan, at, setup, true)?
            }
            Est::Keep8SignedMix | Est::Keep8SignedMixCv => {
                let signed = maximal(Coupling::Signed);
                if est == Est::Keep8SignedMix {
                    estimate::<KeepTriple<8, 2>>(est, event, signed, at, setup, true)?
                } else {
                    estimate_cv::<KeepTriple<8, 2>>(est, event, signed, at, setup, true)?
                }
            }
        };
        out.push(m);
        done(&[est]);
    }
    Ok(out)
}

/// Qanti-kT drawing with `coupling` and maximal redraws (named here, not taken from
/// `QantiKt::new`'s default: the study's triple rows depend on it).
fn maximal(coupling: Coupling) -> QantiKt {
    QantiKt::new().sampling(Sampling::Categorical(Categorical {
        coupling,
        redraw: Redraw::Maximal,
    }))
}

/// How many batches [`run_all`] runs for `ests` (the two score estimators share one).
pub fn batches(ests: &[Est]) -> usize {
    let both = ests.contains(&Est::Score) && ests.contains(&Est::ScoreBaseline);
    ests.len() - usize::from(both)
}

/// The four-momenta of event `index` of the default sample, particles with pT > `min_pt` GeV.
pub fn load_event(index: usize, min_pt: f64) -> std::result::Result<Vec<FourMomentum>, String> {
    Ok(load_events(index, 1, min_pt)?.remove(0))
}

/// Events `first .. first + count` of the default sample, particles with pT > `min_pt` GeV.
pub fn load_events(
    first: usize,
    count: usize,
    min_pt: f64,
) -> std::result::Result<Vec<Vec<FourMomentum>>, String> {
    let selection = Selection::all()
        .min_pt(min_pt)
        .map_err(|e| format!("--min-particle-pt: {e}"))?;
    let events: Vec<Vec<FourMomentum>> = default_sample()
        .map_err(|e| e.to_string())?
        .skip(first)
        .take(count)
        .map(|e| {
            e.map(|e| {
                selection
                    .filter(e)
                    .particles
                    .iter()
                    .map(|p| p.momentum)
                    .collect()
            })
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if events.len() < count {
        return Err(format!(
            "the default sample has {} events; events {first}..{} asked for",
            stochad::jets::io::DEFAULT_SAMPLE_EVENTS,
            first + count
        ));
    }
    Ok(events)
}

/// Median of `xs` (NaN for none); NaNs sort last.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Prints a line of the report above the progress bar; a closed pipe (`| head`) ends the run
/// quietly.
pub fn say(progress: &ProgressBar, text: &str) {
    progress.suspend(|| {
        if let Err(e) = writeln!(io::stdout(), "{text}") {
            if e.kind() == io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            panic!("writing to standard output: {e}");
        }
    })
}

/// Parses a positive finite number.
pub fn positive(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("must be positive and finite, got {v}"))
    }
}

/// Parses a finite number ≥ 0.
pub fn non_negative(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("must be a finite number ≥ 0, got {v}"))
    }
}

/// The values in increasing order, each once.
pub fn dedup(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

/// Fails early, before the estimates, when `output` could not be written: its directory must
/// exist.
pub fn check_output_dir(output: &Path) -> std::result::Result<(), String> {
    let dir = output.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if !dir.is_dir() {
            return Err(format!(
                "{}: directory {} does not exist (run from the repository root, or give another \
                 file)",
                output.display(),
                dir.display()
            ));
        }
    }
    Ok(())
}
