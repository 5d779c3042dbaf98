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
//! the cost of a dual number once, then of `f64` once or twice. (Qanti-kT's mH with the
//! pruned triple now works this way by default, from the triple's own run: see
//! [`QantiKt::mh`](crate::jets::qantikt::QantiKt::mh).)
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
//! one re-run per sample), every flip ([`KeptFlips::Every`]: δ + Σ w·(f_alt − f) over all the
//! run's jumps, the all-worlds triple's kind of estimate, one `f64` run per distinct flip), or
//! a reservoir of k flips per direction ([`KeptFlips::Reservoir`]: variance-optimal stream
//! sampling, so the heavy jumps are kept with their own weights and the light ones share a
//! threshold). On Qanti-kT's variance study (medians of 60 cells), 4 flips per direction have
//! 0.63× the one-flip rule's std at 2.0× its time (work, std² × time, 0.79×), and 8 flips every
//! flip's std at 0.75× its time.
//!
//! [`Rerun::score_mix`] mixes the estimate with the score function of the recording runs and
//! [`Rerun::control_variate`] adds the output as control variate, as the drivers do for the
//! triples; on Qanti-kT the score mix takes the work per unit of precision to 1.2–1.4× the
//! score function with baseline's (the pruned triple with the mix: 3.3–3.5×).
//!
//! A coupling that jumps from every draw ([`Coupling::Signed`]) gives each run many jumps (on
//! Qanti-kT's variance study ~90 per direction at α = 1), which a triple pays for as worlds and
//! a reservoir as re-runs. With 64 flips per direction, the score mix and the output as control
//! variate, it is 4.0× / 4.8× below the score function with baseline on Qanti-kT (dE/dR /
//! dE/dα, medians of 60 cells, 1000 samples) at 2.5 ms per sample, 1.7 / 1.4 times its work
//! (the keep-32 triple with the same coupling was as precise at 40× the time).
//!
//! Those re-runs are per direction: the signed coupling's targets follow each direction's
//! tangents, so a run's ~90 flips per direction make ~90 distinct re-runs for two directions.
//! [`KeptFlips::Joint`] draws every direction's jumps of a draw together, from the mixture of
//! their jump rates, so that each kept flip is one re-run for all directions. With 4 targets per
//! draw and 64 flips kept, it is Qanti-kT's least noisy estimator per sample: on the same 60
//! cells 4.3× / 4.8× below score + baseline at 0.9× the per-direction reservoir's time (work
//! 1.34 / 1.09 times score + baseline's; the README's table, `docs/qantikt_variance.csv`).
//!
//! The alternative histories are real runs of the `f64` program, so the program may branch on
//! its values (`if k.value() > 0.5 { … }`), which a triple can only do inside
//! [`propagate`](crate::propagate).
//!
//! The twin must be the same program written with `f64`. Each re-run checks that it repeats
//! the recording run's draws up to the flip, and the driver checks its output on the first
//! sample. A twin that differs is an error, not a silently wrong derivative.
//!
//! A re-run repeats the recording run's history up to its flip. A program that can be paused
//! and resumed at a draw ([`Resumable`]: it offers its state with [`checkpoint`] after a draw)
//! skips that: [`rerun_resumable`] keeps a checkpoint where a flip may be re-run and goes on
//! from it with the flipped outcome, the same estimate bit for bit at less cost. Qanti-kT's
//! [`MhProgram`](crate::jets::qantikt::MhProgram) is one: on the bench events a gradient
//! sample costs 2.4× a primal run instead of 3.6× (the flips sit 59 % of the way through a
//! history on average, and the early steps cost the most).

use std::any::Any;
use std::sync::Arc;

use rayon::prelude::*;
use smallvec::SmallVec;

use crate::context::{run_in, splitmix64, with_ctx, Mode, Randomness, RunContext};
use crate::control::{
    controlled, independent_twins, twin_context, twin_total, Columns, TWIN_DOMAIN,
};
use crate::dual::{DrawRule, DualNumber};
use crate::error::{Error, Result};
use crate::estimate::{apply_score_mix, check_batch, summarize, GradientEstimate, RunOutput};
use crate::sample::{jump_rates_inward, jumps_inward, Coupling, Drawn, Family, Jump};
use crate::scalars::IntoResult;
use crate::score::record_score;

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
                return Ok(());
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
            // With `KeptFlips::Joint`, each direction's expected jumps, drawn together below.
            let joint = match flips.keep {
                KeptFlips::Joint { targets, .. } => Some(targets),
                _ => None,
            };
            let mut rates: SmallVec<[(usize, Vec<Jump>); 4]> = SmallVec::new();
            for dir in 0..N {
                for (t, p) in tangents.iter_mut().zip(params) {
                    *t = p.tangent[dir];
                }
                if tangents.iter().all(|&t| t == 0.0) {
                    continue;
                }
                // For the score mix ([`Rerun::score_mix`]): the draw's score, as `Score` adds it.
                if let Err(e) = record_score(ctx, family, values, &tangents, d.outcome, dir) {
                    ctx.flips = Some(flips);
                    return Err(e);
                }
                if joint.is_some() {
                    rates.push((dir, jump_rates_inward(family, values, &tangents, d.outcome)));
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
            if let Some(targets) = joint {
                let coupling = &mut ctx.rng.coupling;
                for (target, w) in joint_jumps(&rates, d.outcome, targets, N, coupling) {
                    flips.offer_joint(ctx.rng.key, at, target, w);
                }
            }
            ctx.flips = Some(flips);
            Ok(())
        })?
    }
}

/// Which flips a recording run keeps for re-running ([`Rerun::keep`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KeptFlips {
    /// One per direction, each jump of the direction with probability |w|/Σ|w| and weight
    /// sign(w)·Σ|w| (the pruned triple's rule): up to `N` re-runs per sample.
    #[default]
    PerDirection,
    /// One for every direction: the kept flip of a direction drawn uniformly among those with
    /// jumps, so flip a with probability q_a, the mean over those directions of
    /// Σ_j |w_j,d|/Σ_b |w_b,d| (j its jumps, b all jumps), and weight Σ_j w_j,d/q_a in direction
    /// d. One re-run per sample; each direction's weights stay within `N`× its own rule's.
    Shared,
    /// Every jump, each with its own weight: one re-run per distinct flip.
    Every,
    /// A reservoir of `k` per direction, by variance-optimal stream sampling (VarOpt_k: Cohen,
    /// Duffield, Kaplan, Lund and Thorup, "Efficient stream sampling for variance-optimal
    /// estimation of subset sums", SIAM J. Comput. 40, 2011). Each jump enters with its |w|;
    /// when a (k+1)-th arrives, the threshold τ with Σ min(1, a_i/τ) = k over the k + 1 weights
    /// a_i is found, one of them leaves with probability 1 − min(1, a_i/τ), and the others
    /// below τ are raised to it. A kept flip weighs sign(w)·a (unbiased: Horvitz–Thompson),
    /// a jump heavier than τ its own |w|. With no more than `k` jumps in a direction, every one
    /// is kept with its own weight; `Reservoir(1)` samples as `PerDirection`. Up to `k·N`
    /// re-runs per sample; `k` ≥ 1.
    Reservoir(u32),
    /// Every direction's jumps drawn together, and one reservoir for all directions: each
    /// draw jumps to `targets` (m) outcomes drawn by systematic sampling (one uniform, m evenly
    /// spaced points) from q_j, the mean over the directions with jumps of |r_d,j| / Σ_i |r_d,i|
    /// (r_d,j the coupling's expected jump rate to j along d, [`Family::jump_rates`]), and each
    /// part weighs r_d,j / (m q_j) in direction d: its expected weight is r_d,j, so every
    /// direction is unbiased, and a target is one re-run for all of them where per-direction
    /// jumps ([`Reservoir`](KeptFlips::Reservoir)) go to different targets for each. Up to
    /// `keep` (k) flips are kept for all directions by VarOpt_k on a flip's size
    /// Σ_d |w_d| / w̄_d (w̄_d the mean |w| of direction d over the run's flips so far, so that
    /// directions of different scales, per unit of R and of α say, count alike), and a kept
    /// flip's weights are scaled by its raised size over its own (Horvitz–Thompson, unbiased
    /// as for `Reservoir`: the sizes depend only on the run's jumps, not on the reservoir's
    /// coins). With `k` at least the run's number of joint flips (≤ m per draw) every one is
    /// re-run with its own weights. Up to k re-runs per sample; m, k ≥ 1.
    ///
    /// For a family whose jumps leave the parameters' domain along a direction, that
    /// direction's rates are those of the way back, negated (as for the other modes).
    Joint {
        /// Targets per draw (m).
        targets: u32,
        /// Flips kept for all directions together (k).
        keep: u32,
    },
}

/// The kept flip of one direction: which draw, its flipped outcome, and the sign of its weight.
#[derive(Clone, Copy, Debug)]
struct Kept {
    at: u64,
    target: f64,
    sign: f64,
    /// With [`KeptFlips::Joint`]: which offer it was (its weights are `Flips::joint`'s entry).
    id: u32,
}

/// A flip in a direction's reservoir ([`KeptFlips::Reservoir`]): its weight's size, raised
/// to the threshold where it was below one, and the flip.
#[derive(Clone, Copy, Debug)]
struct Held {
    weight: f64,
    flip: Kept,
}

/// What a recording run keeps: per direction the total |weight| of its jumps and the flip kept
/// (each jump with probability |weight|/total) or its reservoir of `k`, the
/// primal outcome and parameter count of every draw by its number (NaN and 0 for uniforms no
/// draw took), and how many jumps were offered (it keys the coins).
#[derive(Debug, Default)]
pub(crate) struct Flips {
    total: SmallVec<[f64; 4]>,
    kept: SmallVec<[Option<Kept>; 4]>,
    /// With [`KeptFlips::Reservoir`]: per direction, its reservoir.
    held: SmallVec<[SmallVec<[Held; 4]>; 4]>,
    /// With [`KeptFlips::Joint`]: every offered flip's size Σ_d |w_d| and weights, by offer
    /// (kept ones are in `held[0]`).
    joint: Vec<(f64, SmallVec<[f64; 4]>)>,
    path: Vec<f64>,
    params: Vec<u32>,
    offered: u64,
    /// Which flips are kept.
    keep: KeptFlips,
    /// Unless one flip per direction is kept: every jump, as (direction, draw, target, weight).
    every: Option<Vec<(usize, u64, f64, f64)>>,
    /// Whether the program's [`checkpoint`]s are kept (a [`Resumable`] program's run).
    wants_checkpoints: bool,
    /// The latest draw whose jump became a flip to re-run, until its checkpoint comes.
    pending: Option<u64>,
    /// The checkpoints of the draws whose flips may be re-run.
    saved: Vec<Saved>,
}

/// A program's [`checkpoint`] after draw `at`, with the run's random numbers at that point.
struct Saved {
    at: u64,
    state: Box<dyn Any + Send>,
    type_name: &'static str,
    rng: Randomness,
}

impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("at", &self.at)
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

impl Flips {
    fn new(n: usize, keep: KeptFlips, wants_checkpoints: bool) -> Self {
        Flips {
            total: smallvec::smallvec![0.0; n],
            kept: smallvec::smallvec![None; n],
            held: smallvec::smallvec![SmallVec::new(); n],
            keep,
            every: matches!(keep, KeptFlips::Shared | KeptFlips::Every).then(Vec::new),
            wants_checkpoints,
            ..Flips::default()
        }
    }

    /// Offers the jump of draw `at` to `target` with weight `w` along `dir`: it replaces the
    /// kept one with probability |w| / (total so far), a coin keyed by the run and the offer.
    fn offer(&mut self, key: u64, dir: usize, at: u64, target: f64, w: f64) {
        // Summed in every mode: a weight that is not finite shows in the total.
        self.total[dir] += w.abs();
        if let Some(every) = &mut self.every {
            every.push((dir, at, target, w));
        }
        // Every jump may be re-run; otherwise the kept ones (one shared flip is one of them).
        if self.keep == KeptFlips::Every {
            self.pending = Some(at);
            return;
        }
        self.offered += 1;
        let flip = Kept {
            at,
            target,
            sign: w.signum(),
            id: 0,
        };
        if let KeptFlips::Reservoir(k) = self.keep {
            let z = splitmix64(key ^ 0x7f4a_7c15_9e37_79b9 ^ splitmix64(self.offered));
            let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
            if varopt(&mut self.held[dir], k as usize, w.abs(), flip, u) {
                self.pending = Some(at);
            }
            return;
        }
        let z = splitmix64(key ^ 0x3c6e_f372_fe94_f82b ^ splitmix64(self.offered));
        let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        if u * self.total[dir] < w.abs() {
            self.kept[dir] = Some(flip);
            self.pending = Some(at);
        }
    }

    /// Offers the joint jump of draw `at` to `target` with weights `w` (one per direction) to
    /// the one reservoir of [`KeptFlips::Joint`].
    fn offer_joint(&mut self, key: u64, at: u64, target: f64, w: SmallVec<[f64; 4]>) {
        for (t, x) in self.total.iter_mut().zip(&w) {
            *t += x.abs();
        }
        let KeptFlips::Joint { keep, .. } = self.keep else {
            return;
        };
        if w.iter().all(|&x| x == 0.0) {
            return;
        }
        self.offered += 1;
        // Each direction's weight in units of its mean |w| so far: directions whose weights
        // differ in scale (per unit of R and of α, say) count alike.
        let n = self.offered as f64;
        let size: f64 = w
            .iter()
            .zip(&self.total)
            .filter(|(&x, _)| x != 0.0)
            .map(|(&x, &t)| x.abs() * n / t)
            .sum();
        let flip = Kept {
            at,
            target,
            sign: 1.0,
            id: self.joint.len() as u32,
        };
        self.joint.push((size, w));
        let z = splitmix64(key ^ 0x9e6c_63d0_676a_9a99 ^ splitmix64(self.offered));
        let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
        if varopt(&mut self.held[0], keep as usize, size, flip, u) {
            self.pending = Some(at);
        }
    }

    /// The kept flips of [`KeptFlips::Joint`] as (direction, draw, target, weight).
    fn joint_flips(&self) -> Vec<(usize, u64, f64, f64)> {
        let mut out = Vec::new();
        for h in self.held.first().into_iter().flatten() {
            let (size, w) = &self.joint[h.flip.id as usize];
            for (d, &x) in w.iter().enumerate().filter(|(_, &x)| x != 0.0) {
                out.push((d, h.flip.at, h.flip.target, x * (h.weight / size)));
            }
        }
        out
    }

    /// The flips that may be re-run so far (all of them with [`KeptFlips::Every`], whose
    /// checkpoints are all kept).
    fn may_rerun(&self, at: u64) -> bool {
        match self.keep {
            KeptFlips::Every => true,
            KeptFlips::Reservoir(_) | KeptFlips::Joint { .. } => self
                .held
                .iter()
                .any(|held| held.iter().any(|h| h.flip.at == at)),
            KeptFlips::PerDirection | KeptFlips::Shared => {
                self.kept.iter().flatten().any(|k| k.at == at)
            }
        }
    }

    /// Keeps `state` as the checkpoint of draw `at` and drops those no flip can use any more.
    fn save(
        &mut self,
        at: u64,
        state: Box<dyn Any + Send>,
        type_name: &'static str,
        rng: Randomness,
    ) {
        self.pending = None;
        if self.keep != KeptFlips::Every {
            let mut saved = std::mem::take(&mut self.saved);
            saved.retain(|s| self.may_rerun(s.at));
            self.saved = saved;
        }
        self.saved.push(Saved {
            at,
            state,
            type_name,
            rng,
        });
    }
}

/// Whether this is a recording run of [`rerun_resumable`], whose draws may offer checkpoints
/// (false elsewhere and outside a run): a program may then keep what its resumes need besides
/// the checkpoints.
pub(crate) fn records_checkpoints() -> bool {
    with_ctx("a recording run", |ctx| {
        ctx.flips.as_ref().is_some_and(|f| f.wants_checkpoints)
    })
    .unwrap_or(false)
}

/// Offers the program's state right after a draw as the point from which [`rerun_resumable`]
/// resumes that draw's alternative histories (see [`Resumable`]). `make` is called only when
/// the draw's jumps may be re-run (a few times per run); elsewhere, also outside a recording
/// run, this does nothing.
///
/// Call it after a draw and before its outcome is used, with everything
/// [`Resumable::resume`] needs to go on with another outcome.
pub fn checkpoint<C: Clone + Send + 'static>(make: impl FnOnce() -> C) {
    let at = with_ctx("a checkpoint", |ctx| {
        let flips = ctx.flips.as_ref()?;
        let at = ctx.rng.draws.checked_sub(1)?;
        (flips.wants_checkpoints && flips.pending == Some(at)).then_some(at)
    });
    let Ok(Some(at)) = at else {
        return;
    };
    // Outside the context's borrow: `make` may be anything.
    let state: Box<dyn Any + Send> = Box::new(make());
    let _ = with_ctx("a checkpoint", |ctx| {
        let rng = ctx.rng.clone();
        if let Some(flips) = &mut ctx.flips {
            flips.save(at, state, std::any::type_name::<C>(), rng);
        }
    });
}

/// The one flip [`KeptFlips::Shared`] keeps, and its weight in each direction (see there):
/// the kept flip of a direction chosen uniformly among those with jumps (a coin keyed by the
/// run), so flip a is chosen with probability q_a = mean over those directions d of
/// Σ|w_j,d|/Σ|w_d| (its jumps' share of the direction's), and weighs Σ_j w_j,d / q_a in
/// direction d. `every` holds the jumps as (direction, draw, target, weight).
fn shared(
    every: &[(usize, u64, f64, f64)],
    kept: &[Option<Kept>],
    total: &[f64],
    key: u64,
) -> Vec<(usize, u64, f64, f64)> {
    let live: SmallVec<[usize; 4]> = (0..total.len()).filter(|&d| total[d] > 0.0).collect();
    let z = splitmix64(key ^ 0xa54f_f53a_5f1d_36f1);
    let u = (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    let Some(&d) = live.get(((u * live.len() as f64) as usize).min(live.len().saturating_sub(1)))
    else {
        return Vec::new();
    };
    // A direction with jumps has kept one (its first offer always is).
    let Some(Kept { at, target, .. }) = kept[d] else {
        return Vec::new();
    };
    let to_flip = |e: &&(usize, u64, f64, f64)| e.1 == at && e.2.to_bits() == target.to_bits();
    let q = live
        .iter()
        .map(|&d| {
            let share: f64 = every
                .iter()
                .filter(to_flip)
                .filter(|e| e.0 == d)
                .map(|e| e.3.abs())
                .sum();
            share / total[d]
        })
        .sum::<f64>()
        / live.len() as f64;
    (0..total.len())
        .filter_map(|d| {
            let w: f64 = every
                .iter()
                .filter(to_flip)
                .filter(|e| e.0 == d)
                .map(|e| e.3)
                .sum();
            (w != 0.0).then_some((d, at, target, w / q))
        })
        .collect()
}

/// A draw's jumps along every direction at once ([`KeptFlips::Joint`]): `rates` holds each
/// direction with a tangent and its expected jumps from the primal outcome `k`; `m` targets are
/// drawn by systematic sampling (one coupling uniform, drawn only where some direction has a
/// jump) from q_j ∝ Σ_d |r_d,j| / A_d (A_d = Σ_j |r_d,j|), and a target hit by n parts weighs
/// n·r_d,j / (m q_j) in direction d (`n_dirs` weights each, by direction): E[n] = m q_j, so its
/// expected weight is r_d,j. A direction whose rates are not finite gets a NaN weight on every
/// target (and is left out of q), so that the run reports it.
fn joint_jumps(
    rates: &[(usize, Vec<Jump>)],
    k: f64,
    m: u32,
    n_dirs: usize,
    stream: &mut crate::context::Stream,
) -> Vec<(f64, SmallVec<[f64; 4]>)> {
    let mut out: Vec<(f64, SmallVec<[f64; 4]>)> = Vec::new();
    // (target, direction, rate), by target: the directions' tables side by side.
    let mut all: Vec<(f64, usize, f64)> = rates
        .iter()
        .flat_map(|(d, r)| r.iter().map(move |j| (j.target, *d, j.weight)))
        .filter(|&(t, _, w)| t != k && w != 0.0)
        .collect();
    let mut mass: SmallVec<[f64; 4]> = smallvec::smallvec![0.0; n_dirs];
    for &(_, d, w) in &all {
        mass[d] += w.abs();
    }
    let bad: SmallVec<[usize; 4]> = (0..n_dirs).filter(|&d| !mass[d].is_finite()).collect();
    if !bad.is_empty() {
        let mut w: SmallVec<[f64; 4]> = smallvec::smallvec![0.0; n_dirs];
        for d in bad {
            w[d] = f64::NAN;
        }
        out.push((k, w));
        return out;
    }
    let live = mass.iter().filter(|&&a| a > 0.0).count();
    if live == 0 {
        return out;
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Per target: its place in `all` and q_j (unnormalised by the number of directions).
    let mut groups: Vec<(usize, usize, f64)> = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let t = all[i].0;
        let start = i;
        let mut q = 0.0;
        while i < all.len() && all[i].0.to_bits() == t.to_bits() {
            q += all[i].2.abs() / mass[all[i].1];
            i += 1;
        }
        groups.push((start, i, q));
    }
    let total: f64 = groups.iter().map(|g| g.2).sum();
    let u = stream.uniform();
    let m = m as usize;
    let mut parts = vec![0usize; groups.len()];
    let (mut acc, mut placed) = (0.0, 0);
    for (g, n) in groups.iter().zip(parts.iter_mut()) {
        acc += g.2;
        while placed < m && acc > (u + placed as f64) / m as f64 * total {
            placed += 1;
            *n += 1;
        }
    }
    // Rounding left points past the end: the last target with mass takes them.
    if placed < m {
        if let Some(last) = groups.iter().rposition(|g| g.2 > 0.0) {
            parts[last] += m - placed;
        }
    }
    for ((start, end, q), n) in groups.into_iter().zip(parts) {
        if n == 0 {
            continue;
        }
        let mut w: SmallVec<[f64; 4]> = smallvec::smallvec![0.0; n_dirs];
        let scale = n as f64 * total / (m as f64 * q);
        for &(_, d, r) in &all[start..end] {
            w[d] += r * scale;
        }
        out.push((all[start].0, w));
    }
    out
}

/// Offers a jump of size `w` to a direction's VarOpt_k reservoir `held` (see
/// [`KeptFlips::Reservoir`]), `u` uniform in [0, 1) choosing which of the k + 1 leaves.
/// Returns whether the jump was kept.
fn varopt(held: &mut SmallVec<[Held; 4]>, k: usize, w: f64, flip: Kept, u: f64) -> bool {
    if held.len() < k {
        held.push(Held { weight: w, flip });
        return true;
    }
    let weights: SmallVec<[f64; 8]> = held.iter().map(|h| h.weight).chain([w]).collect();
    // τ: with the s smallest below it, τ = (their sum)/(s − 1) ≤ the (s+1)-th smallest (the
    // first s that passes is the one: f(τ) = Σ min(1, a/τ) falls as τ grows).
    let mut sorted = weights.clone();
    sorted.sort_by(f64::total_cmp);
    let mut sum = sorted[0];
    let mut tau = f64::INFINITY;
    for s in 2..=k + 1 {
        sum += sorted[s - 1];
        let t = sum / (s - 1) as f64;
        if s == k + 1 || t <= sorted[s] {
            tau = t;
            break;
        }
    }
    // Which leaves: the drop probabilities 1 − min(1, a/τ) sum to 1; rounding falls to the
    // last that can leave.
    let drop_p = |a: f64| (1.0 - a / tau).max(0.0);
    let mut acc = 0.0;
    let mut leaves = None;
    for (i, &a) in weights.iter().enumerate() {
        let p = drop_p(a);
        if p > 0.0 {
            leaves = Some(i);
            acc += p;
            if u < acc {
                break;
            }
        }
    }
    let Some(leaves) = leaves else {
        // Not finite (a weight that is not finite): the run is an error, kept nothing.
        return false;
    };
    for h in held.iter_mut() {
        if h.weight < tau {
            h.weight = tau;
        }
    }
    if leaves == k {
        return false;
    }
    held.remove(leaves);
    held.push(Held {
        weight: w.max(tau),
        flip,
    });
    true
}

/// A program [`rerun_resumable`] can resume at a draw, so that a kept flip's alternative history
/// is computed from that draw on instead of from the start.
///
/// [`run`](Self::run) is the program with [`Recorder`] numbers. After a draw, before the draw's
/// outcome is used, it calls [`checkpoint`] with what it would need to go on from there;
/// [`resume`](Self::resume) goes on from such a checkpoint with another outcome. The driver
/// keeps a checkpoint only where a flip may be re-run (a few per run), and resumes with the
/// random numbers the recording run had at that point, so later draws are coupled as in a whole
/// re-run. A flip whose draw has no checkpoint is re-run whole, by [`twin`](Self::twin).
///
/// On sample 0 each resumed flip is checked against a whole re-run, and resuming with the
/// recorded outcome against the recording run's value, bit for bit: a `resume` that does not
/// continue the program is an error, not a wrong derivative.
///
/// ```
/// use stochad::rerun::{checkpoint, Resumable};
/// use stochad::{sample::categorical, Recorder, Scalar};
///
/// /// A walk of four steps, each −1, 0 or +1 with weights (1, θ, θ²); its E[x²].
/// fn walk<S: Scalar>(t: S, mut x: S, from: usize) -> stochad::Result<S> {
///     for step in from..4 {
///         let k = categorical(&[S::one(), t, t * t])?;
///         // After the draw, before its outcome is used: all the rest needs.
///         checkpoint(|| (t, x, step));
///         x = x + k - 1.0;
///     }
///     Ok(x * x)
/// }
///
/// struct Walk;
///
/// impl Resumable<1> for Walk {
///     type Checkpoint = (Recorder, Recorder, usize);
///     fn run(&self, [t]: [Recorder; 1]) -> stochad::Result<Recorder> {
///         walk(t, Recorder::zero(), 0)
///     }
///     fn resume(&self, (t, x, step): Self::Checkpoint, k: f64) -> stochad::Result<f64> {
///         Ok(walk(t, x + k - 1.0, step + 1)?.value)
///     }
/// }
///
/// let g = stochad::rerun_resumable(Walk).at([0.5]).samples(20_000).seed(1).estimate()?;
/// let exact = stochad::exact::expectation(|[t]: [stochad::Dual; 1]| walk(t, stochad::Dual::zero(), 0), [0.5])?;
/// assert!((g.mean[0] - exact.gradient[0]).abs() < 5.0 * g.stderr[0]);
/// # Ok::<(), stochad::Error>(())
/// ```
pub trait Resumable<const N: usize>: Sync {
    /// What [`run`](Self::run) passes to [`checkpoint`] after a draw.
    type Checkpoint: Clone + Send + 'static;

    /// Whether the driver keeps checkpoints (false for [`Twin`], which never resumes).
    const RESUMES: bool = true;

    /// One run of the program with [`Recorder`] numbers.
    ///
    /// # Errors
    /// The program's.
    fn run(&self, params: [Recorder<N>; N]) -> Result<Recorder<N>>;

    /// The program's value, from the start, with `f64` numbers (the re-run of a flip without a
    /// checkpoint, and the check of the resumed ones). By default, [`run`](Self::run) again.
    ///
    /// # Errors
    /// The program's.
    fn twin(&self, params: [f64; N]) -> Result<f64> {
        self.run(std::array::from_fn(|d| Recorder::variable(params[d], d)))
            .map(|out| out.value)
    }

    /// The program's value when it goes on from `checkpoint`, taken right after a draw, with
    /// the draw's outcome `outcome` instead of the one it had.
    ///
    /// # Errors
    /// The program's, and an `outcome` the draw cannot take.
    fn resume(&self, checkpoint: Self::Checkpoint, outcome: f64) -> Result<f64>;
}

/// A checkpoint [`Twin`] never takes: it has no values.
#[derive(Clone, Copy, Debug)]
pub enum NoCheckpoint {}

/// A program and its `f64` twin as a [`Resumable`] that never resumes: every flip is re-run
/// whole by the twin. Made by [`rerun`].
pub struct Twin<F, T> {
    program: F,
    twin: T,
}

impl<F, T, O, P, const N: usize> Resumable<N> for Twin<F, T>
where
    F: Fn([Recorder<N>; N]) -> O + Sync,
    O: IntoResult<Recorder<N>>,
    T: Fn([f64; N]) -> P + Sync,
    P: IntoResult<f64>,
{
    type Checkpoint = NoCheckpoint;
    const RESUMES: bool = false;

    fn run(&self, params: [Recorder<N>; N]) -> Result<Recorder<N>> {
        (self.program)(params).into_result()
    }

    fn twin(&self, params: [f64; N]) -> Result<f64> {
        (self.twin)(params).into_result()
    }

    fn resume(&self, checkpoint: NoCheckpoint, _: f64) -> Result<f64> {
        match checkpoint {}
    }
}

/// A configured re-run estimation, made by [`rerun`] or [`rerun_resumable`].
pub struct Rerun<P, const N: usize> {
    program: P,
    at: [f64; N],
    seed: u64,
    samples: usize,
    coupling: Coupling,
    keep: KeptFlips,
    check_resumes: bool,
    score_mix: bool,
    twin_runs: usize,
}

/// The gradient of E\[f(θ)\] by re-running `program`'s `f64` twin once per kept flip (see the
/// [module docs](mod@crate::rerun)): `program` takes [`Recorder`] numbers, `twin` the same program
/// with `f64`.
pub fn rerun<F, T, O, P, const N: usize>(program: F, twin: T) -> Rerun<Twin<F, T>, N>
where
    F: Fn([Recorder<N>; N]) -> O + Sync,
    O: IntoResult<Recorder<N>>,
    T: Fn([f64; N]) -> P + Sync,
    P: IntoResult<f64>,
{
    rerun_resumable(Twin { program, twin })
}

/// As [`rerun`], for a program that can be resumed at its draws ([`Resumable`]): each kept
/// flip's alternative history is computed from its draw on.
pub fn rerun_resumable<P: Resumable<N>, const N: usize>(program: P) -> Rerun<P, N> {
    Rerun {
        program,
        at: [0.0; N],
        seed: 0,
        samples: 1000,
        coupling: Coupling::default(),
        keep: KeptFlips::PerDirection,
        check_resumes: false,
        score_mix: false,
        twin_runs: 0,
    }
}

impl<P: Resumable<N>, const N: usize> Rerun<P, N> {
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
    /// Qanti-kT ~15 per direction); [`KeptFlips::Reservoir`]`(k)` re-runs up to `k` per
    /// direction; [`KeptFlips::Joint`] draws every direction's jumps together and re-runs up
    /// to `keep` flips for all of them. [`KeptFlips::Reservoir`]`(0)`, and
    /// [`KeptFlips::Joint`] with 0 targets or 0 kept, are an [`Error::InvalidConfig`].
    pub fn keep(mut self, keep: KeptFlips) -> Self {
        self.keep = keep;
        self
    }

    /// Whether to mix each sample's estimate with the score-function estimate of its recording
    /// run, as [`Gradient::score_mix`](crate::estimate::Gradient::score_mix) does for triples:
    /// C = A + λ(B − A), λ fitted on the other half of the batch, so unbiased (default false;
    /// it acts in [`runs`](Self::runs) and [`estimate`](Self::estimate), on batches of at least
    /// 4 samples). The recording run adds each draw's score, as [`Score`](crate::Score) does.
    pub fn score_mix(mut self, on: bool) -> Self {
        self.score_mix = on;
        self
    }

    /// The program's output as control variate in [`estimate`](Self::estimate), as
    /// [`Gradient::control_variate`](crate::estimate::Gradient::control_variate) does, its mean
    /// and mean square from `twin_runs` independent runs of the twin per sample (0, the
    /// default: none). With the score mix, the score, the mix's difference and the
    /// feature-weighted score ([`baseline_feature`](crate::control::baseline_feature)) join as
    /// regressors. The twin is checked against the program on sample 0, as always.
    pub fn control_variate(mut self, twin_runs: usize) -> Self {
        self.twin_runs = twin_runs;
        self
    }

    /// Whether every resumed flip is checked against a whole re-run, as sample 0's always are
    /// (default false; it costs a whole re-run and a resume per flip: for testing a
    /// [`Resumable`]).
    pub fn check_resumes(mut self, on: bool) -> Self {
        self.check_resumes = on;
        self
    }

    fn check(&self) -> Result<()> {
        if self.keep == KeptFlips::Reservoir(0) {
            return Err(Error::config(
                "rerun: KeptFlips::Reservoir(k) keeps k flips per direction: k must be at least 1",
            ));
        }
        if let KeptFlips::Joint { targets, keep } = self.keep {
            if targets == 0 || keep == 0 {
                return Err(Error::config(format!(
                    "rerun: KeptFlips::Joint {{ targets: {targets}, keep: {keep} }}: a draw's \
                     targets and the flips kept must both be at least 1"
                )));
            }
        }
        check_batch(&self.at, self.samples)
    }

    fn context(&self, index: u64) -> RunContext {
        let mut ctx = RunContext::new(self.seed, index);
        ctx.options.default_coupling = self.coupling;
        ctx
    }

    /// One run's unbiased estimate (run `index` of the batch): the recording run, then one re-run
    /// per distinct kept flip, from the flip's checkpoint if the program took one there. (The
    /// score mix needs the batch: here the run's score is only recorded.)
    ///
    /// # Errors
    /// The program's errors; [`Error::InvalidConfig`] when the twin's re-run does not repeat the
    /// recording run's draws up to the flip, or ends before it (the two programs differ), and on
    /// sample 0 when a resumed history differs from the whole re-run's.
    pub fn run(&self, index: u64) -> Result<RunOutput<N>> {
        self.check()?;
        self.run_one(index)
    }

    fn run_one(&self, index: u64) -> Result<RunOutput<N>> {
        let mut ctx = self.context(index);
        ctx.flips = Some(Flips::new(N, self.keep, P::RESUMES));
        ctx.options.record_score = self.score_mix;
        // The feature-weighted score joins the control variate's regressors with the mix.
        ctx.options.record_feature = self.score_mix && self.twin_runs > 0;
        let (out, mut ctx) = run_in(ctx, || {
            self.program
                .run(std::array::from_fn(|d| Recorder::variable(self.at[d], d)))
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
        let jumps: Vec<(usize, u64, f64, f64)> = match &flips.every {
            Some(every) if self.keep == KeptFlips::Shared => {
                shared(every, &flips.kept, &flips.total, ctx.rng.key)
            }
            Some(every) => every.clone(),
            None if matches!(self.keep, KeptFlips::Joint { .. }) => flips.joint_flips(),
            None if matches!(self.keep, KeptFlips::Reservoir(_)) => flips
                .held
                .iter()
                .enumerate()
                .flat_map(|(d, held)| {
                    held.iter()
                        .map(move |h| (d, h.flip.at, h.flip.target, h.flip.sign * h.weight))
                })
                .collect(),
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
                    let alt = match flips.saved.iter().find(|s| s.at == at) {
                        Some(saved) => {
                            let params = flips.params[at as usize];
                            self.resumed(index, saved, target, (&path, params), out.value)?
                        }
                        None => self.whole(index, at, target, &path, flips.params[at as usize])?,
                    };
                    done.push((at, target.to_bits(), alt));
                    alt
                }
            };
            derivative[d] += w * (alt - out.value);
        }
        let (score, feature_score) = ctx.scores();
        Ok(RunOutput {
            value: out.value,
            derivative,
            pathwise: out.tangent,
            score,
            feature_score,
        })
    }

    /// The twin's whole re-run of run `index` with draw `at` forced to `target`.
    fn whole(
        &self,
        index: u64,
        at: u64,
        target: f64,
        path: &Arc<Vec<f64>>,
        params: u32,
    ) -> Result<f64> {
        let mut ctx = self.context(index);
        ctx.mode = Mode::Flip {
            at,
            outcome: target,
            params: params as usize,
            path: path.clone(),
        };
        let (alt, ctx) = run_in(ctx, || self.program.twin(self.at));
        let alt = alt?;
        // A re-run that never reached its flip would add a silent 0.
        if ctx.rng.draws <= at {
            return Err(Error::config(format!(
                "rerun: the re-run made {} draws, fewer than the recording run's {} before its \
                 flip at draw {at}: the two programs differ",
                ctx.rng.draws,
                at + 1,
            )));
        }
        Ok(alt)
    }

    /// The program resumed from `saved` with its draw's outcome `target`, on sample 0 checked
    /// against the whole re-run, and resumed with the recorded outcome against `value`.
    fn resumed(
        &self,
        index: u64,
        saved: &Saved,
        target: f64,
        (path, params): (&Arc<Vec<f64>>, u32),
        value: f64,
    ) -> Result<f64> {
        let at = saved.at;
        let Some(checkpoint) = saved.state.downcast_ref::<P::Checkpoint>() else {
            return Err(Error::config(format!(
                "rerun: the program's checkpoint at draw {at} is a {}, not its \
                 Resumable::Checkpoint ({})",
                saved.type_name,
                std::any::type_name::<P::Checkpoint>(),
            )));
        };
        let resume = |outcome: f64| {
            let mut ctx = self.context(index);
            ctx.rng = saved.rng.clone();
            run_in(ctx, || self.program.resume(checkpoint.clone(), outcome)).0
        };
        let alt = resume(target)?;
        if index == 0 || self.check_resumes {
            let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
            let primal = resume(path[at as usize])?;
            if !same(primal, value) {
                return Err(Error::config(format!(
                    "rerun: resumed at draw {at} with the recorded outcome, the program gave \
                     {primal} where its run gave {value} (sample {index}): resume does not go \
                     on from the checkpoint as the run did"
                )));
            }
            let whole = self.whole(index, at, target, path, params)?;
            if !same(whole, alt) {
                return Err(Error::config(format!(
                    "rerun: resumed at draw {at} with outcome {target}, the program gave {alt} \
                     where the whole re-run gives {whole} (sample {index}): resume does not go \
                     on as the program would with that outcome"
                )));
            }
        }
        Ok(alt)
    }

    /// Checks the twin on sample 0: run without a flip, it must return the program's primal
    /// value bit for bit.
    fn check_twin(&self, value: f64) -> Result<()> {
        let ctx = self.context(0);
        let twin = run_in(ctx, || self.program.twin(self.at)).0?;
        if twin.to_bits() != value.to_bits() {
            return Err(Error::config(format!(
                "rerun: the f64 twin returned {twin} where the program's primal value is {value} \
                 (sample 0): the two programs differ"
            )));
        }
        Ok(())
    }

    /// Every run's result, in sample order (in parallel; the same for a seed whatever the
    /// thread count), mixed with the score function if asked. The first failing sample's error
    /// (by index) is returned.
    pub fn runs(&self) -> Result<Vec<RunOutput<N>>> {
        let mut runs = self.raw_runs()?;
        if self.score_mix {
            apply_score_mix(&mut runs);
        }
        Ok(runs)
    }

    /// Every run's own result, unmixed, the twin checked on sample 0.
    fn raw_runs(&self) -> Result<Vec<RunOutput<N>>> {
        self.check()?;
        let results: Vec<Result<RunOutput<N>>> = (0..self.samples as u64)
            .into_par_iter()
            .map(|i| self.run_one(i))
            .collect();
        let runs: Vec<RunOutput<N>> = results.into_iter().collect::<Result<_>>()?;
        self.check_twin(runs[0].value)?;
        Ok(runs)
    }

    /// The batch estimate: mean, standard error and sample count per direction (with the
    /// control variate, its standard error includes the twin means' noise).
    ///
    /// # Errors
    /// As [`run`](Self::run); with the control variate, [`Error::InvalidConfig`] for fewer than
    /// 16 samples.
    pub fn estimate(&self) -> Result<GradientEstimate<N>> {
        if self.twin_runs == 0 {
            return Ok(summarize(&self.runs()?));
        }
        self.check()?;
        let total = twin_total(self.samples, self.twin_runs)?;
        let samples = self.raw_runs()?;
        let twins = independent_twins(total, |j| {
            let ctx = twin_context(self.seed, TWIN_DOMAIN, j, self.coupling);
            run_in(ctx, || self.program.twin(self.at)).0
        })?;
        let columns = Columns {
            score: self.score_mix,
            mix: self.score_mix,
            feature: self.score_mix,
        };
        Ok(controlled(&samples, &twins, columns))
    }
}
