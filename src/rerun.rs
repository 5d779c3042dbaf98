//! Stochastic AD by re-running the program: the pruned triple's estimate without carrying
//! alternative worlds through the program.
//!
//! The pruned triple keeps at most one alternative history per direction: the primal's history
//! with one discrete choice flipped, continued with the same later random numbers. Which flip
//! it is, and its weight, can be chosen while the program runs, from each draw's jumps alone.
//! So [`rerun`] runs the program once with [`Recorder`] numbers (value and tangents, like
//! [`Dual`](crate::Dual)), whose draws record their jumps and keep one per direction with
//! probability ∝ |weight| (weighted reservoir sampling). It then runs the program's `f64` twin
//! once per kept flip, with that draw forced to the flipped outcome and every other draw on the
//! same uniform as the recording run. The estimate of direction d is δ_d + β_d·(f_alt − f), with
//! β_d = sign(w)·Σ|w| over the run's jumps of that direction: unbiased, as the pruned triple.
//!
//! It differs from the pruned triple ([`Triple`](crate::Triple)) in two ways, both measured in
//! `docs/reexecution_study.md`. First, the later draws of an alternative history are coupled by
//! the same uniform (`Redraw::SameUniform`), whatever the family's redraw says. Second, every
//! jump competes for the kept flip, also those whose history comes back to the primal's (the
//! triple lets only worlds whose values differ compete). On Qanti-kT that costs about 1.14× in
//! std, and it takes a fraction of the time: no number carries a world, so the program runs at
//! the cost of a dual number once, then of `f64` once or twice.
//!
//! ```
//! use stochad::{sample::bernoulli, Scalar};
//! // E[B₁·B₂ + B₁] with B₁ ~ Bernoulli(θ), B₂ ~ Bernoulli(θ²): θ³ + θ, derivative 3θ² + 1.
//! fn program<S: Scalar>(t: S) -> stochad::Result<S> {
//!     let b1 = bernoulli(t)?;
//!     let b2 = bernoulli(t * t)?;
//!     Ok(b1 * b2 + b1)
//! }
//! let g = stochad::rerun(|[t]| program(t), |[t]| program(t))
//!     .at([0.5])
//!     .samples(20_000)
//!     .estimate()?;
//! assert!((g.mean[0] - 1.75).abs() < 5.0 * g.stderr[0]);
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! [`Rerun::keep`] chooses otherwise: one flip shared by all directions ([`KeptFlips::Shared`],
//! one re-run per sample), or every flip ([`KeptFlips::Every`]: δ + Σ w·(f_alt − f) over all the
//! run's jumps, the all-worlds triple's kind of estimate, one `f64` run per distinct flip).
//!
//! The alternative histories are real runs of the `f64` program, so the program may branch on
//! its values (`if k.value() > 0.5 { … }`), which a triple can only do inside
//! [`propagate`](crate::propagate).
//!
//! The twin must be the same program written with `f64`. Each re-run checks that it repeats
//! the recording run's draws up to the flip, and the driver checks its output on the first
//! sample. A twin that differs is an error, not a silently wrong derivative.

use std::sync::Arc;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::context::{run_in, splitmix64, with_ctx, Mode, RunContext};
use crate::dual::{DrawRule, DualNumber};
use crate::error::{Error, Result};
use crate::estimate::{check_batch, summarize, GradientEstimate, RunOutput};
use crate::sample::{jumps_inward, Coupling, Drawn, Family};
use crate::scalars::IntoResult;

/// The draw rule of [`Recorder`]: inside a recording run, a draw offers its jumps along each
/// direction to that direction's reservoir of flips; elsewhere it adds nothing (a
/// [`Dual`](crate::Dual)).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RecordJumps;

/// The number type of [`rerun`]'s recording run: a dual number with `N` directions whose draws
/// record their jumps.
pub type Recorder<const N: usize = 1> = DualNumber<RecordJumps, N>;

impl DrawRule for RecordJumps {
    fn after_draw<F: Family, const N: usize>(
        family: &F,
        params: &[DualNumber<Self, N>],
        values: &[f64],
        draw: Drawn,
    ) -> Result<()> {
        let Drawn::Sampled(d) = draw else {
            return Ok(());
        };
        let mut tangents: SmallVec<[f64; 8]> = smallvec::smallvec![0.0; params.len()];
        with_ctx("a discrete draw", |ctx| {
            let Some(mut flips) = ctx.flips.take() else {
                return;
            };
            // Indexed by the draw's number among the primal stream's uniforms (a relaxed draw
            // takes some too, and records nothing).
            let at = ctx.rng.draws - 1;
            let i = at as usize;
            if flips.path.len() <= i {
                flips.path.resize(i + 1, f64::NAN);
                flips.params.resize(i + 1, 0);
            }
            flips.path[i] = d.outcome;
            flips.params[i] = params.len() as u32;
            for dir in 0..N {
                for (t, p) in tangents.iter_mut().zip(params) {
                    *t = p.tangent[dir];
                }
                if tangents.iter().all(|&t| t == 0.0) {
                    continue;
                }
                for jump in
                    jumps_inward(family, values, &tangents, d.outcome, &mut ctx.rng.coupling)
                {
                    if jump.weight != 0.0 && jump.target != d.outcome {
                        flips.offer(ctx.rng.key, dir, at, jump.target, jump.weight);
                    }
                }
            }
            ctx.flips = Some(flips);
        })
    }
}

/// Which flips a recording run keeps for re-running ([`Rerun::keep`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeptFlips {
    /// One per direction, each jump of the direction with probability |w|/Σ|w| and weight
    /// sign(w)·Σ|w| (the pruned triple's rule): up to `N` re-runs per sample.
    #[default]
    PerDirection,
    /// One for every direction: flip a with probability q_a, the mean over the directions with
    /// jumps of |w_a,d|/Σ_b |w_b,d|, and weight w_a,d/q_a in direction d (w_a,d sums the jumps to
    /// a). One re-run per sample; each direction's weights stay within `N`× its own rule's.
    Shared,
    /// Every jump, each with its own weight: one re-run per distinct flip.
    Every,
}

/// The kept flip of one direction: which draw, its flipped outcome, and the sign of its weight.
#[derive(Clone, Copy, Debug)]
struct Kept {
    at: u64,
    target: f64,
    sign: f64,
}

/// What a recording run keeps: per direction the total |weight| of its jumps and the flip kept
/// (each jump with probability |weight|/total), the primal outcome and parameter count of every
/// draw by its number (NaN and 0 for uniforms no draw took), and how many jumps were offered (it
/// keys the reservoir's coins).
#[derive(Debug, Default)]
pub(crate) struct Flips {
    total: SmallVec<[f64; 4]>,
    kept: SmallVec<[Option<Kept>; 4]>,
    path: Vec<f64>,
    params: Vec<u32>,
    offered: u64,
    /// Unless one flip per direction is kept: every jump, as (direction, draw, target, weight).
    every: Option<Vec<(usize, u64, f64, f64)>>,
}

impl Flips {
    fn new(n: usize, every: bool) -> Self {
        Flips {
            total: smallvec::smallvec![0.0; n],
            kept: smallvec::smallvec![None; n],
            every: every.then(Vec::new),
            ..Flips::default()
        }
    }

    /// Offers the jump of draw `at` to `target` with weight `w` along `dir`: it replaces the
    /// kept one with probability |w| / (total so far), a coin keyed by the run and the offer.
    fn offer(&mut self, key: u64, dir: usize, at: u64, target: f64, w: f64) {
        // Summed in both modes: a weight that is not finite shows in the total.
        self.total[dir] += w.abs();
        if let Some(every) = &mut self.every {
            every.push((dir, at, target, w));
            return;
        }
        self.offered += 1;
        let z = splitmix64(key ^ 0x3c6e_f372_fe94_f82b ^ splitmix64(self.offered));
        let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        if u * self.total[dir] < w.abs() {
            self.kept[dir] = Some(Kept {
                at,
                target,
                sign: w.signum(),
            });
        }
    }
}

/// The one flip [`KeptFlips::Shared`] keeps from `every` (direction, draw, target, weight) and
/// its weight in each direction (see there), chosen by a coin keyed by the run.
fn shared(every: &[(usize, u64, f64, f64)], key: u64) -> Vec<(usize, u64, f64, f64)> {
    // Per flip (draw, target), the sum of its jumps' weights in each direction.
    let mut flips: Vec<(u64, f64, SmallVec<[f64; 4]>)> = Vec::new();
    let n = every.iter().map(|e| e.0 + 1).max().unwrap_or(0);
    for &(d, at, target, w) in every {
        let i = match flips
            .iter()
            .position(|f| f.0 == at && f.1.to_bits() == target.to_bits())
        {
            Some(i) => i,
            None => {
                flips.push((at, target, smallvec::smallvec![0.0; n]));
                flips.len() - 1
            }
        };
        flips[i].2[d] += w;
    }
    let total: SmallVec<[f64; 4]> = (0..n)
        .map(|d| flips.iter().map(|f| f.2[d].abs()).sum())
        .collect();
    let live = total.iter().filter(|&&t| t > 0.0).count() as f64;
    let q = |f: &(u64, f64, SmallVec<[f64; 4]>)| {
        f.2.iter()
            .zip(&total)
            .filter(|(_, &t)| t > 0.0)
            .map(|(w, t)| w.abs() / t)
            .sum::<f64>()
            / live
    };
    let z = splitmix64(key ^ 0xa54f_f53a_5f1d_36f1);
    let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    // The first flip where the running sum of q passes u, else the last with q > 0 (rounding).
    let mut acc = 0.0;
    let chosen = flips
        .iter()
        .find(|f| {
            acc += q(f);
            u < acc
        })
        .or_else(|| flips.iter().rev().find(|f| q(f) > 0.0));
    let Some(f) = chosen else {
        return Vec::new();
    };
    let qf = q(f);
    f.2.iter()
        .enumerate()
        .filter(|(_, &w)| w != 0.0)
        .map(|(d, &w)| (d, f.0, f.1, w / qf))
        .collect()
}

/// A configured re-run estimation, made by [`rerun`].
pub struct Rerun<F, T, const N: usize> {
    program: F,
    twin: T,
    at: [f64; N],
    seed: u64,
    samples: usize,
    coupling: Coupling,
    keep: KeptFlips,
}

/// The gradient of E\[f(θ)\] by re-running `program`'s `f64` twin once per kept flip (see the
/// [module docs](mod@crate::rerun)): `program` takes [`Recorder`] numbers, `twin` the same program
/// with `f64`.
pub fn rerun<F, T, O, P, const N: usize>(program: F, twin: T) -> Rerun<F, T, N>
where
    F: Fn([Recorder<N>; N]) -> O + Sync,
    O: IntoResult<Recorder<N>>,
    T: Fn([f64; N]) -> P + Sync,
    P: IntoResult<f64>,
{
    Rerun {
        program,
        twin,
        at: [0.0; N],
        seed: 0,
        samples: 1000,
        coupling: Coupling::default(),
        keep: KeptFlips::PerDirection,
    }
}

impl<F, T, O, P, const N: usize> Rerun<F, T, N>
where
    F: Fn([Recorder<N>; N]) -> O + Sync,
    O: IntoResult<Recorder<N>>,
    T: Fn([f64; N]) -> P + Sync,
    P: IntoResult<f64>,
{
    /// The point θ to differentiate at (default 0).
    pub fn at(mut self, at: [f64; N]) -> Self {
        self.at = at;
        self
    }

    /// The seed (default 0). Sample `i` draws from streams determined by (seed, i) alone.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of samples of [`estimate`](Self::estimate) (default 1000).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// The coupling of categorical draws that name none (default [`Coupling::Proportional`]),
    /// as [`Gradient::coupling`](crate::estimate::Gradient::coupling).
    pub fn coupling(mut self, coupling: Coupling) -> Self {
        self.coupling = coupling;
        self
    }

    /// Which flips to re-run (default [`KeptFlips::PerDirection`]). [`KeptFlips::Every`]
    /// gives the all-worlds triple's kind of estimate at one `f64` run per distinct flip (on
    /// Qanti-kT ~15 per direction).
    pub fn keep(mut self, keep: KeptFlips) -> Self {
        self.keep = keep;
        self
    }

    fn check(&self) -> Result<()> {
        check_batch(&self.at, self.samples)
    }

    fn context(&self, index: u64) -> RunContext {
        let mut ctx = RunContext::new(self.seed, index);
        ctx.options.default_coupling = self.coupling;
        ctx
    }

    /// One run's unbiased estimate (run `index` of the batch): the recording run, then one re-run
    /// of the twin per distinct kept flip.
    ///
    /// # Errors
    /// The program's errors; [`Error::InvalidConfig`] when the twin's re-run does not repeat the
    /// recording run's draws up to the flip, or ends before it (the two programs differ).
    pub fn run(&self, index: u64) -> Result<RunOutput<N>> {
        self.check()?;
        self.run_one(index)
    }

    fn run_one(&self, index: u64) -> Result<RunOutput<N>> {
        let mut ctx = self.context(index);
        ctx.flips = Some(Flips::new(N, self.keep != KeptFlips::PerDirection));
        let (out, mut ctx) = run_in(ctx, || {
            (self.program)(std::array::from_fn(|d| Recorder::variable(self.at[d], d))).into_result()
        });
        let out = out?;
        let flips = ctx.flips.take().unwrap_or_default();
        // A jump weight that is not finite (parameters with NaN or infinite tangents) would be
        // skipped by the reservoir's coin: the run's estimate would leave it out silently.
        if let Some(d) = flips.total.iter().position(|t| !t.is_finite()) {
            return Err(Error::config(format!(
                "rerun: direction {d}: a draw's jump weight is not finite (its parameters' \
                 tangents are NaN or infinite there)"
            )));
        }
        // (direction, draw, target, weight) of each flip to re-run.
        let jumps: Vec<(usize, u64, f64, f64)> = match flips.every {
            Some(every) if self.keep == KeptFlips::Shared => shared(&every, ctx.rng.key),
            Some(every) => every,
            None => flips
                .kept
                .iter()
                .enumerate()
                .filter_map(|(d, k)| k.map(|k| (d, k.at, k.target, k.sign * flips.total[d])))
                .collect(),
        };
        let path = Arc::new(flips.path);
        let mut derivative = out.tangent;
        // Flips met more than once (two directions, or two jumps to one target) share a re-run.
        let mut done: Vec<(u64, u64, f64)> = Vec::new();
        for (d, at, target, w) in jumps {
            let alt = match done.iter().find(|e| e.0 == at && e.1 == target.to_bits()) {
                Some(e) => e.2,
                None => {
                    let mut ctx = self.context(index);
                    ctx.mode = Mode::Flip {
                        at,
                        outcome: target,
                        params: flips.params[at as usize] as usize,
                        path: path.clone(),
                    };
                    let (alt, ctx) = run_in(ctx, || (self.twin)(self.at).into_result());
                    let alt = alt?;
                    // A re-run that never reached its flip would add a silent 0.
                    if ctx.rng.draws <= at {
                        return Err(Error::config(format!(
                            "rerun: the re-run made {} draws, fewer than the recording run's \
                             {} before its flip at draw {at}: the two programs differ",
                            ctx.rng.draws,
                            at + 1,
                        )));
                    }
                    done.push((at, target.to_bits(), alt));
                    alt
                }
            };
            derivative[d] += w * (alt - out.value);
        }
        Ok(RunOutput {
            value: out.value,
            derivative,
            pathwise: out.tangent,
            score: [0.0; N],
            feature_score: [0.0; N],
        })
    }

    /// Checks the twin on sample 0: run without a flip, it must return the program's primal
    /// value bit for bit.
    fn check_twin(&self, value: f64) -> Result<()> {
        let ctx = self.context(0);
        let twin = run_in(ctx, || (self.twin)(self.at).into_result()).0?;
        if twin.to_bits() != value.to_bits() {
            return Err(Error::config(format!(
                "rerun: the f64 twin returned {twin} where the program's primal value is {value} \
                 (sample 0): the two programs differ"
            )));
        }
        Ok(())
    }

    /// Every run's result, in sample order (in parallel; the same for a seed whatever the
    /// thread count). The first failing sample's error (by index) is returned.
    pub fn runs(&self) -> Result<Vec<RunOutput<N>>> {
        self.check()?;
        let results: Vec<Result<RunOutput<N>>> = (0..self.samples as u64)
            .into_par_iter()
            .map(|i| self.run_one(i))
            .collect();
        let runs: Vec<RunOutput<N>> = results.into_iter().collect::<Result<_>>()?;
        self.check_twin(runs[0].value)?;
        Ok(runs)
    }

    /// The batch estimate: mean, standard error and sample count per direction.
    pub fn estimate(&self) -> Result<GradientEstimate<N>> {
        Ok(summarize(&self.runs()?))
    }
}
