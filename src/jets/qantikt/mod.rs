//! Qanti-kT: probabilistic anti-kT clustering (Kahawala, Krohn, Schwartz 2013), written once over
//! [`Scalar`] so one function gives samples, classical-AD, score-function and stochastic-AD
//! derivatives, and exact expectations of jet observables with respect to the jet radius R and
//! the sharpness α.
//!
//! # The algorithm
//! Start with every particle as an object. At every step, over *all* pairs (i, j) and all beam
//! entries i of the current objects, with the anti-kT distances (s = 1/pt², y the rapidity, φ the
//! azimuth, as FastJet computes them)
//!
//! > D_ij = min(s_i, s_j)·ΔR²_ij / R²,  D_iB = s_i,
//!
//! draw one entry k with probability ∝ w_k = exp(−α (D_k − D_min)/D_min); merge the pair
//! (E-scheme: add the four-momenta) or move the object to the jet list; repeat until no object is
//! left. α → ∞ is ordinary anti-kT ([`Sampling::Deterministic`] takes that limit exactly).
//! There is no ΔR < R window: pairs beyond R stay candidates (at ΔR = R a pair's distance equals
//! its harder member's beam distance), so E\[f\] is smooth in R and its derivative unbiased.
//!
//! The draw is the library's categorical sampler, so the same code is the plain program with
//! `f64`, classical AD with [`Dual`](crate::Dual), REINFORCE with [`Score`](crate::Score) and
//! stochastic AD with the triples; under [`exact`](crate::exact) it enumerates every history.
//! For the triple, a flipped choice is another merge: the alternative history lives in the same
//! slots (see [`QantiKtJets`]), is carried on coupled to the primal and pruned by the engine.
//! (Where only mH is wanted, the triples by default carry none: each world is kept or pruned
//! at its draw and the kept ones resumed from there, see [`QantiKt::mh`].)
//!
//! # Estimating derivatives
//! ```
//! use stochad::jets::qantikt::qanti_kt_mh;
//! use stochad::jets::FourMomentum;
//!
//! // Three particles: two close hard ones and a soft one in between.
//! let event = [
//!     FourMomentum::new(50.0, 0.0, 5.0, 50.3),
//!     FourMomentum::new(-30.0, 28.0, -3.0, 41.2),
//!     FourMomentum::new(3.0, 3.5, 1.0, 4.8),
//! ];
//! // dE[mH]/dR and dE[mH]/dα together, by stochastic AD (one primal run per sample).
//! let g = stochad::gradient(|[r, a]| qanti_kt_mh(&event, r, a))
//!     .at([0.8, 1.0]).samples(2000).estimate()?;
//! // The exact values, enumerating every history.
//! let exact = stochad::exact::expectation(|[r, a]| qanti_kt_mh(&event, r, a), [0.8, 1.0])?;
//! for d in 0..2 {
//!     assert!((g.mean[d] - exact.gradient[d]).abs() < 5.0 * g.stderr[d] + 1e-9);
//! }
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! # The estimator family, each a few lines
//! ```
//! use stochad::jets::qantikt::{qanti_kt_mh, MhProgram, QantiKt, Sampling};
//! use stochad::jets::FourMomentum;
//! use stochad::sample::{Categorical, Coupling, Redraw};
//! use stochad::{Dual, AllWorldsTriple, KeptFlips, Score};
//! # let event = [
//! #     FourMomentum::new(50.0, 0.0, 5.0, 50.3),
//! #     FourMomentum::new(-30.0, 28.0, -3.0, 41.2),
//! #     FourMomentum::new(3.0, 3.5, 1.0, 4.8),
//! # ];
//! let at = [0.8, 1.0]; // (R, α)
//! // Primal samples of mH: the plain program with f64, one run per (seed, sample).
//! let mh: f64 = stochad::with_run(1, 0, || qanti_kt_mh(&event, 0.8, 1.0))?;
//! // Classical AD: blind to the discrete choices, so 0 here (mH of a history has no R in it).
//! let ad = stochad::gradient_with(|[r, a]: [Dual<2>; 2]| qanti_kt_mh(&event, r, a)).at(at).estimate()?;
//! // Score function, with (default) and without the leave-one-out baseline.
//! let sf = stochad::gradient_with(|[r, a]: [Score<2>; 2]| qanti_kt_mh(&event, r, a)).at(at).estimate()?;
//! let sf0 = stochad::gradient_with(|[r, a]: [Score<2>; 2]| qanti_kt_mh(&event, r, a))
//!     .at(at).baseline(false).estimate()?;
//! // Stochastic triple (pruned; proportional coupling, maximal redraws: the default) ...
//! let st = stochad::gradient(|[r, a]| qanti_kt_mh(&event, r, a)).at(at).estimate()?;
//! // ... with another coupling ...
//! let inv = QantiKt::new().sampling(Sampling::Categorical(Categorical {
//!     coupling: Coupling::Inversion,
//!     redraw: Redraw::SameUniform,
//! }));
//! let st_inv = stochad::gradient(|[r, a]| inv.cluster(&event, r, a)?.mh()).at(at).estimate()?;
//! // ... mixed with the score function of the same runs ...
//! let mix = stochad::gradient(|[r, a]| qanti_kt_mh(&event, r, a)).at(at).score_mix(true).estimate()?;
//! // ... or with the all-worlds backend, which keeps every alternative world (small events).
//! let ex = stochad::gradient_with(|[r, a]: [AllWorldsTriple<2>; 2]| qanti_kt_mh(&event, r, a))
//!     .at(at).estimate()?;
//! // Stochastic AD by re-running the f64 clustering from each kept flip's step: with the signed
//! // coupling, both directions' jumps drawn together and 64 flips kept, the score mix and the
//! // output as control variate, the least noisy per sample on real events (README: 4.3× / 4.8×
//! // below the score function with baseline).
//! let signed = QantiKt::new().coupling(Coupling::Signed);
//! let rr = stochad::rerun_resumable(MhProgram::new(signed, &event))
//!     .at(at)
//!     .keep(KeptFlips::Joint { targets: 4, keep: 64 })
//!     .score_mix(true)
//!     .control_variate(4)
//!     .estimate()?;
//! // Finite differences with common random numbers, half step h.
//! let fd = stochad::finite_differences(|[r, a]: [f64; 2]| qanti_kt_mh(&event, r, a))
//!     .at(at).step(0.05).estimate()?;
//! // Gumbel-softmax straight-through at temperature τ: the one biased relaxation.
//! let gs = QantiKt::new().sampling(Sampling::GumbelSoftmax { tau: 0.5 });
//! let gs = stochad::gradient_with(|[r, a]: [Dual<2>; 2]| gs.cluster(&event, r, a)?.mh()).at(at).estimate()?;
//! // The exact answer, enumerating every history.
//! let exact = stochad::exact::expectation(|[r, a]| qanti_kt_mh(&event, r, a), at)?;
//! assert!(mh >= 0.0 && ad.mean == [0.0, 0.0] && exact.paths > 1);
//! # let _ = (sf, sf0, st, st_inv, mix, ex, rr, fd, gs);
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! # Speed
//! Only candidates whose weight can exceed ε = 10⁻¹⁷ of the largest in some world are looked at
//! ([`QantiKt::negligible`]); the rest are skipped without changing any result beyond rounding.
//!
//! [`qanti_kt_mh`], [`QantiKt::mh`] and [`MhProgram`] stop a clustering as soon as mH is known:
//! two jets are done and no jet the objects still active could make would have the pT of the
//! second of them (a bound on the pT of any sum of their transverse momenta), so no later jet
//! can lead. The value is the finished clustering's bit for bit. On the bench events that
//! skips about half of a primal run's steps (a primal run took 0.24 ms per event instead of
//! 0.43, a pruned triple 1.8 ms instead of 3.9, README); the score function, which no longer
//! sums the scores of draws that cannot move mH, and the re-runs and the triple, which spend no
//! flips on them, are less noisy (README). With numbers that carry alternative worlds (the
//! triples) the clustering stops where the primal history's mH is known, and each world still
//! open there goes on alone, as an `f64` history of its own, to where its mH is known (see
//! [`QantiKt::mh`]): a pruned triple carrying its worlds then costs 1.5 ms instead of 1.8. By
//! default the triples carry none: each world its draws open is kept or pruned at once,
//! and the kept ones are resumed from their draws as `f64` histories once the primal's mH is
//! known (see [`QantiKt::mh`]): 0.71 ms, 2.9× the primal. On large events a world
//! that has drifted far from the primal goes on as a clustering of its own, in step with the
//! primal, before that (see [`QantiKt::mh`]). [`QantiKt::cluster`] always runs to the end (it
//! returns every jet). A clustering of mH resumed by [`rerun_resumable`](crate::rerun_resumable)
//! ([`MhProgram`], [`QantiKt::resume_mh`]) also stops where it comes back to the recorded one,
//! every slot as recorded bit for bit: its mH is then the recorded one (18–40 % of the resumes
//! on the variance study's events).

mod births;
mod candidates;
mod fork;
mod jets;
mod rejoin;
mod search;
mod state;

pub use candidates::Candidate;
pub use jets::{mh_loss, QantiKtJets};

use crate::context::run_on_own_streams;
use crate::error::Result;
use crate::jets::cluster::{MAX_RADIUS, MIN_RADIUS};
use crate::jets::error::invalid_input;
use crate::jets::momentum::FourMomentum;
use crate::jets::JetError;
use crate::rerun::{Recorder, Resumable};
use crate::sample::{categorical_by, gumbel_softmax, Categorical, Coupling, Redraw};
use crate::scalar::Scalar;
use rejoin::{Recording, Rejoin, SharedTrail, Track};

use births::{can_resume, Births};
use candidates::{distances, smallest, weights, world_weights, WorldScratch};
use fork::{fork_worlds, Fork};
use state::State;

/// How each step picks its candidate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Draw with the categorical sampler configured as given: how stochastic triples open
    /// alternative worlds ([`Coupling`]) and how those worlds redraw later steps
    /// ([`Redraw`]).
    Categorical(Categorical),
    /// Take the smallest distance (first in layout order on a tie): deterministic anti-kT, the
    /// α → ∞ limit. Nothing is drawn; derivatives are pathwise only (where R or α carries
    /// alternative worlds, from a program that draws them, each world takes its own smallest).
    Deterministic,
    /// Gumbel-softmax straight through at temperature `tau` ([`gumbel_softmax`]): the forward
    /// pass draws from the same distribution, and the state moves by Σ_k z_k·(merge_k − state)
    /// with z the relaxed one-hot, so tangents flow from every candidate. A biased relaxation,
    /// for comparison (seed talk); with [`Dual`](crate::Dual) numbers only.
    GumbelSoftmax {
        /// The temperature τ > 0 (lower: less bias, more variance).
        tau: f64,
    },
}

/// The redraw rule of [`Sampling::default`], and of [`QantiKt::coupling`] where no categorical
/// sampling was set.
const DEFAULT_REDRAW: Redraw = Redraw::Maximal;

impl Default for Sampling {
    fn default() -> Self {
        Sampling::Categorical(Categorical {
            coupling: Coupling::Proportional,
            redraw: DEFAULT_REDRAW,
        })
    }
}

/// The largest α accepted: beyond it every step is deterministic to double precision; use
/// [`Sampling::Deterministic`].
pub const MAX_ALPHA: f64 = 1e6;

/// A Qanti-kT configuration: how steps sample, and which candidates may be skipped.
///
/// ```
/// use stochad::jets::qantikt::{QantiKt, Sampling};
/// use stochad::jets::FourMomentum;
/// let event = [FourMomentum::new(10.0, 0.0, 0.0, 10.0), FourMomentum::new(0.0, 12.0, 1.0, 12.1)];
/// let jets = stochad::with_run(7, 0, || QantiKt::new().cluster(&event, 0.4, 1.0))?;
/// assert!(!jets.jets().is_empty());
/// let det = QantiKt::new().sampling(Sampling::Deterministic).cluster(&event, 0.4_f64, 1.0)?;
/// assert_eq!(det.jets().len(), 2); // far apart: two jets
/// # Ok::<(), stochad::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QantiKt {
    sampling: Sampling,
    negligible: f64,
    /// Where an alternative world goes on as a clustering of its own: from this many slots
    /// that differ from the primal's in it (see `fork`).
    fork_at: usize,
    /// Whether [`QantiKt::mh`] carries a pruned triple's worlds in its numbers instead of
    /// resuming them from their draws (see `births`).
    carry_worlds: bool,
}

/// [`QantiKt`]'s `fork_at`: a world that differs from the primal in this many slots goes on
/// as a clustering of its own (see `fork`). On the bench events (~120 particles, R = 0.8,
/// α = 1) a world reaches it in ~0.15 % of runs (29 forks in 20 000 runs), on the variance
/// study's events (particles above 1 GeV) in none of 60 000; on pile-up events
/// (5 800 particles) worlds reach it within a few hundred steps, and a pruned-triple sample
/// took 2.4–3.2 s instead of 5.6–8.6 s (forking from 32, 128 or 256 slots: 2.7–3.5 s).
const FORK_AT: usize = 64;

impl Default for QantiKt {
    fn default() -> Self {
        QantiKt {
            sampling: Sampling::default(),
            negligible: 1e-17,
            fork_at: FORK_AT,
            carry_worlds: false,
        }
    }
}

impl QantiKt {
    /// The default: categorical sampling with the default coupling, candidates below 10⁻¹⁷ of
    /// the largest weight skipped.
    pub fn new() -> Self {
        Self::default()
    }

    /// How steps pick their candidate.
    pub fn sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// Categorical sampling with `coupling`: shorthand for
    /// [`sampling`](QantiKt::sampling)`(Sampling::Categorical(..))` that keeps the redraw rule
    /// of a categorical sampling already set, and otherwise takes [`QantiKt::new`]'s,
    /// [`Redraw::Maximal`] (a deterministic or Gumbel-softmax sampling is replaced).
    ///
    /// ```
    /// use stochad::jets::qantikt::{QantiKt, Sampling};
    /// use stochad::sample::{Categorical, Coupling, Redraw};
    /// let signed = QantiKt::new().coupling(Coupling::Signed);
    /// let spelled_out = QantiKt::new().sampling(Sampling::Categorical(Categorical {
    ///     coupling: Coupling::Signed,
    ///     redraw: Redraw::Maximal,
    /// }));
    /// assert_eq!(signed, spelled_out);
    /// ```
    pub fn coupling(self, coupling: Coupling) -> Self {
        let redraw = match self.sampling {
            Sampling::Categorical(c) => c.redraw,
            Sampling::Deterministic | Sampling::GumbelSoftmax { .. } => DEFAULT_REDRAW,
        };
        self.sampling(Sampling::Categorical(Categorical { coupling, redraw }))
    }

    /// Skip candidates whose weight is below `ratio` times the largest in every world the state
    /// carries (default 10⁻¹⁷, below double-precision rounding of the sum). `0` looks at every
    /// candidate (the dense reference, O(n³) per event). Up to 10⁻¹⁷ the runs are those of the
    /// dense reference to rounding, with every coupling; above it, runs with the signed
    /// couplings (which let categories down to 10⁻¹⁷ open jumps) become other samples.
    pub fn negligible(mut self, ratio: f64) -> Self {
        self.negligible = ratio;
        self
    }

    /// Whether [`QantiKt::mh`] (and [`qanti_kt_mh`], [`MhProgram`]) carries a triple's
    /// alternative worlds through the clustering's numbers (`true`) or resumes each from its
    /// draw (`false`, the default; see [`QantiKt::mh`]). Carried worlds stay out of pruning
    /// where their history comes back to the primal's and redraw by the categorical's
    /// [`Redraw`] rule: per sample less noisy (on the variance study's events the pruned
    /// triple's std 0.97× / 0.86× the resumed worlds', dE/dR / dE/dα, median per event and
    /// point, the keep-K triples' 0.91–0.98× / 0.78–0.89×) at 1.8× the time (2.0× on the bench
    /// events; keep-K 1.8–4.3×). The smoothed triple and [`QantiKt::cluster`] always carry
    /// their worlds.
    ///
    /// ```
    /// use stochad::jets::qantikt::QantiKt;
    /// use stochad::jets::FourMomentum;
    /// let event = [
    ///     FourMomentum::new(50.0, 0.0, 5.0, 50.3),
    ///     FourMomentum::new(-30.0, 28.0, -3.0, 41.2),
    ///     FourMomentum::new(3.0, 3.5, 1.0, 4.8),
    /// ];
    /// let carried = QantiKt::new().carry_worlds(true);
    /// let g = stochad::gradient(|[r, a]| carried.mh(&event, r, a)).at([0.8, 1.0]).samples(100);
    /// let resumed = stochad::gradient(|[r, a]| QantiKt::new().mh(&event, r, a)).at([0.8, 1.0]);
    /// // The same primal histories, other alternative ones: both unbiased.
    /// assert_eq!(g.estimate()?.value, resumed.samples(100).estimate()?.value);
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn carry_worlds(mut self, carry: bool) -> Self {
        self.carry_worlds = carry;
        self
    }

    /// Clusters `particles` with radius `r` and sharpness `alpha`, inside a run (a driver,
    /// [`with_run`](crate::with_run) or the exact oracle), unless the sampling is deterministic.
    ///
    /// # Errors
    /// Input errors are [`JetError`]s, as [`Error::Jets`](crate::Error::Jets):
    /// - [`JetError::InvalidParameter`] for R outside [10⁻⁵, 10⁵], α outside (0, 10⁶], NaN or
    ///   infinite values (in any world), a negligibility ratio outside [0, 1), or a particle with
    ///   a non-finite component;
    /// - [`JetError::InvalidInput`] for a particle with pt = 0 (it lies on the beam axis: drop
    ///   such particles, e.g. with a [`Selection`](crate::jets::io::Selection)) or with pt² beyond
    ///   the largest `f64` (|px| or |py| above ~10¹⁵⁴), and when two objects coincide (ΔR = 0)
    ///   in some world, which leaves the weights undefined. (A merged object may have pt = 0:
    ///   it takes FastJet's scale 10³⁰⁰, as in anti-kT. Where R or α carry worlds of their own —
    ///   a program that draws them, run with a triple — a slot that holds such an object in the
    ///   primal and another in some world reads as coincident there: a number keeps a world's
    ///   value as a difference to its primal, and 10³⁰⁰ leaves no room for it.)
    ///
    /// Engine errors pass through:
    /// - [`Error::NoRunContext`](crate::Error::NoRunContext) when a draw is needed outside a run.
    ///
    /// An event without particles gives no jets.
    ///
    /// With the pruned triple, on large events, a world that differs from the primal in 64
    /// slots or more goes on as a clustering of its own in step with the primal, as in
    /// [`QantiKt::mh`], and joins the numbers again at the end.
    pub fn cluster<S: Scalar>(
        &self,
        particles: &[FourMomentum<f64>],
        r: S,
        alpha: S,
    ) -> Result<QantiKtJets<S>> {
        self.check(particles, r, alpha)?;
        let st = State::<S>::new(particles)?;
        let history = Vec::with_capacity(st.len());
        self.go_on(st, (r, alpha), history, 0, Until::End)
    }

    /// The reconstructed Higgs mass of one clustering ([`QantiKtJets::mh`]), the clustering
    /// stopped as soon as mH is known: once two objects are jets and no jet the objects still
    /// active could make would have the pT of the second of them (their summed pT, or where
    /// that is not enough, a bound on the pT of any sum of their transverse momenta over
    /// directions in φ), no later jet can lead, and the steps left would not change mH. On the
    /// default events that skips about half of the steps; the value is
    /// the finished clustering's bit for bit, and every estimator stays unbiased (the skipped
    /// draws' jumps would leave mH as it is, and their scores have mean zero given the history
    /// so far: the score function just loses their noise). Checked after each step that makes
    /// a jet in the primal history.
    ///
    /// With the triples ([`Triple`](crate::Triple), the default of
    /// [`gradient`](crate::gradient), and the keep-K and all-worlds ones) no number carries an
    /// alternative world by default: each draw's new worlds meet the ones kept so far at once,
    /// by the number type's composition rule (the pruned triple keeps one per direction), and
    /// where one survives the clustering is saved right after its draw; once the primal's mH
    /// is known, each kept world's history goes on from its draw in `f64`, on the primal's
    /// uniforms (then its own past the primal's last draw), stopping where it comes back to
    /// the primal's history. Unbiased, and for the pruned triple on the bench events 2.9× the
    /// primal's time instead of 5.9× with the worlds carried; on the variance study's events
    /// its std is 1.03× (dE/dR) and 1.17× (dE/dα) the carried worlds' (median per event and
    /// point: every world competes for the kept one, also those whose history comes back to
    /// the primal's, and later draws are coupled by the same uniform) at 0.55× their time
    /// ([`QantiKt::carry_worlds`] to carry them).
    ///
    /// With numbers that carry alternative worlds (the smoothed triple, and the others with
    /// [`QantiKt::carry_worlds`]), the clustering stops there too, and each world still open
    /// then goes on alone: its state as an `f64` clustering,
    /// with random numbers of its own, to where its mH is known (a world whose mH is known
    /// already keeps it). Unbiased: a world's history has the same law either way (carried
    /// along, its draws are coupled to the primal's, but each follows its own weights), and
    /// with the primal's mH settled, how the two were coupled no longer changes the variance
    /// of their difference. The primal's later draws would open worlds whose mH is the
    /// primal's (their contribution is 0, and they could only have pruned the open ones), so
    /// none are opened. A pruned-triple sample costs ~20 % less than carrying the worlds to
    /// where their mH is known (callgrind on the bench events). On large events, a world that
    /// differs from the primal in 64 slots or more goes on as a clustering of its own before
    /// that, still in step with the primal: its draws coupled to the primal's and pruned as
    /// those of the worlds the slots carry, only no longer meeting them in a slot. On the first
    /// `mu50` pile-up event (5 783 particles) a pruned-triple sample then takes ~3 s instead of
    /// 6–9 s. [`qanti_kt_mh`] and [`MhProgram`] use it.
    ///
    /// ```
    /// use stochad::jets::qantikt::QantiKt;
    /// use stochad::jets::FourMomentum;
    /// let event = [
    ///     FourMomentum::new(50.0, 0.0, 5.0, 50.3),
    ///     FourMomentum::new(-30.0, 28.0, -3.0, 41.2),
    ///     FourMomentum::new(3.0, 3.5, 1.0, 4.8),
    /// ];
    /// let q = QantiKt::new();
    /// for i in 0..20 {
    ///     let early: f64 = stochad::with_run(1, i, || q.mh(&event, 0.8, 1.0))?;
    ///     let whole: f64 = stochad::with_run(1, i, || q.cluster(&event, 0.8, 1.0)?.mh())?;
    ///     assert_eq!(early.to_bits(), whole.to_bits());
    /// }
    /// # Ok::<(), stochad::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`QantiKt::cluster`].
    pub fn mh<S: Scalar>(&self, particles: &[FourMomentum<f64>], r: S, alpha: S) -> Result<S> {
        self.check(particles, r, alpha)?;
        let st = State::<S>::new(particles)?;
        let history = Vec::with_capacity(st.len());
        // A pruned triple's worlds resumed from their draws (`births`), unless asked to carry
        // them.
        let mut births = (!self.carry_worlds
            && matches!(self.sampling, Sampling::Categorical(_))
            && can_resume(r, alpha))
        .then(Births::default);
        // A recording run of `rerun_resumable`, and a run that resumes its worlds, keep the
        // trail their resumes compare with.
        let mut recording = (births.is_some()
            || (!S::CARRIES_WORLDS && crate::rerun::records_checkpoints()))
        .then(Recording::default);
        let track = match (&mut recording, &mut births) {
            (Some(rec), Some(births)) => Track::Births(rec, births),
            (Some(rec), None) => Track::Record(rec),
            _ => Track::Nothing,
        };
        let mh = self
            .go_on_tracked(st, (r, alpha), history, 0, Until::MhWorldsAlone, track)?
            .mh()?;
        if let Some(rec) = recording {
            rec.finish(mh.primal_value());
        }
        match births {
            // (Right after the clustering: its draws so far are where the worlds' own start.)
            Some(births) => Ok(mh.with_worlds(&births.resolve::<S>(self)?)),
            None => Ok(mh),
        }
    }

    /// Goes on with a clustering from `checkpoint`, taken right after a step's draw, with the
    /// draw's outcome `outcome` (an index into that step's candidates) instead of the one it
    /// had: the rest of the clustering, for [`rerun_resumable`](crate::rerun_resumable) (see
    /// [`MhProgram`]). The clusterer must be configured as the one that took the checkpoint.
    ///
    /// # Errors
    /// [`JetError::InvalidInput`] for an `outcome` that is not one of the step's candidates;
    /// the errors of [`QantiKt::cluster`] in the steps that follow.
    pub fn resume(&self, checkpoint: Checkpoint, outcome: f64) -> Result<QantiKtJets<f64>> {
        self.resume_until(checkpoint, outcome, false, None)
    }

    /// The reconstructed Higgs mass of [`QantiKt::resume`]'s clustering, stopped as soon as mH
    /// is known, as [`QantiKt::mh`] stops: what a [`Resumable`] program of mH (or of a function
    /// of it) resumes with ([`MhProgram`] does).
    ///
    /// A checkpoint of [`QantiKt::mh`]'s recording run (in
    /// [`rerun_resumable`](crate::rerun_resumable)) also stops where the resumed clustering
    /// comes back to the recorded one: where, after a step, every slot's momentum and flags are
    /// the recorded history's after that step, bit for bit (the flipped step often only swaps
    /// the order of two merges that both happen). From there on its draws, on the recorded
    /// run's uniforms, would take the recorded history's steps, so its mH is the recorded one:
    /// that is returned, the same number the rest of the clustering would give.
    ///
    /// # Errors
    /// As [`QantiKt::resume`].
    pub fn resume_mh(&self, checkpoint: Checkpoint, outcome: f64) -> Result<f64> {
        let mut rejoin = checkpoint
            .trail
            .as_ref()
            .and_then(|trail| Rejoin::new(trail, &checkpoint.st));
        let jets = self.resume_until(checkpoint, outcome, true, rejoin.as_mut())?;
        match rejoin.and_then(|r| r.mh) {
            Some(mh) => Ok(mh),
            None => jets.mh(),
        }
    }

    /// [`QantiKt::resume`], stopped as soon as mH is known where `mh_only` (as [`QantiKt::mh`])
    /// or, with `rejoin`, as soon as it comes back to the recorded history (then
    /// [`Rejoin::mh`] is set and the jets are those of the clustering so far).
    fn resume_until(
        &self,
        checkpoint: Checkpoint,
        outcome: f64,
        mh_only: bool,
        rejoin: Option<&mut Rejoin>,
    ) -> Result<QantiKtJets<f64>> {
        let Checkpoint {
            mut st,
            r,
            alpha,
            mut history,
            step,
            cands,
            trail: _,
        } = checkpoint;
        if !(outcome >= 0.0 && outcome.fract() == 0.0 && outcome < cands.len() as f64) {
            return Err(invalid_input(format!(
                "Qanti-kT: cannot resume step {step} with outcome {outcome}: it had {} \
                 candidates",
                cands.len()
            )));
        }
        st.go_on(&history);
        let c = cands[outcome as usize];
        history.push(c);
        st.apply(&cands, outcome)?;
        let track = match rejoin {
            Some(rejoin) => {
                if rejoin.rejoined(&st, step, c) {
                    return Ok(st.into_jets(history));
                }
                Track::Rejoin(rejoin)
            }
            None => Track::Nothing,
        };
        if mh_only && st.mh_known_after(c) {
            return Ok(st.into_jets(history));
        }
        let until = if mh_only { Until::MhKnown } else { Until::End };
        self.go_on_tracked(st, (r, alpha), history, step + 1, until, track)
    }

    /// The clustering of `st` from step `first` on, `history` its steps so far.
    fn go_on<S: Scalar>(
        &self,
        st: State<S>,
        at: (S, S),
        history: Vec<Candidate>,
        first: usize,
        until: Until,
    ) -> Result<QantiKtJets<S>> {
        self.go_on_tracked(st, at, history, first, until, Track::Nothing)
    }

    /// [`QantiKt::go_on`], keeping `track` of the recorded history (a recording run's trail, or
    /// a resumed run's place against it: then it stops where it came back to it).
    fn go_on_tracked<S: Scalar>(
        &self,
        mut st: State<S>,
        (r, alpha): (S, S),
        mut history: Vec<Candidate>,
        first: usize,
        until: Until,
        mut track: Track<'_>,
    ) -> Result<QantiKtJets<S>> {
        // Worlds go on alone only where they all come from the draws: one that R or α carry
        // would need them in its own history.
        let alone = until == Until::MhWorldsAlone
            && S::CARRIES_WORLDS
            && r.worlds().is_empty()
            && alpha.worlds().is_empty();
        let r2 = r * r;
        let r2_range = r2.world_range();
        let factor = cutoff_factor(self.negligible, alpha.world_range().0);
        let (mut buf, mut known) = (Vec::new(), Vec::new());
        let (mut d, mut on, mut w) = (Vec::new(), Vec::new(), Vec::new());
        let (mut alt, mut scratch) = (Vec::new(), WorldScratch::default());
        // Numbers that take a draw's worlds as values (the triples that redraw worlds) compute
        // each step's weights without worlds, and in each world in f64 (`world_weights`): a
        // payload per candidate would cost far more than the few slots that differ. The worlds
        // are those in which slots differ, so R and α must carry none (a program may draw them:
        // then every step takes the number type's arithmetic).
        let worldwise = S::DRAWS_IN_WORLDS
            && matches!(
                self.sampling,
                Sampling::Categorical(_) | Sampling::Deterministic
            )
            && r.worlds().is_empty()
            && alpha.worlds().is_empty();
        // Worlds that differ from the primal in many slots go on as clusterings of their own,
        // in step with the primal (`fork`): where they go on alone at the primal's stop, or
        // run to the end with it.
        let may_fork = (alone || until == Until::End)
            && !matches!(track, Track::Births(..))
            && worldwise
            && S::REISSUES_WORLDS
            && matches!(self.sampling, Sampling::Categorical(_));
        let mut forks: Vec<Fork> = Vec::new();
        let (mut joined, mut mine) = (Vec::new(), Vec::new());
        let mut last = first;
        for step in first..st.len() {
            last = step;
            st.couple();
            if may_fork {
                fork_worlds(&mut st, &mut forks, self.fork_at)?;
            }
            let (bound, n) = if self.negligible > 0.0 {
                st.search.live(r2_range, factor, &mut buf, &mut known)
            } else {
                known.clear();
                (f64::INFINITY, st.search.dense(&mut buf))
            };
            let cands = &buf[..n];
            distances(
                &st,
                cands,
                &known[..n.min(known.len())],
                r2,
                worldwise,
                &mut d,
                &mut on,
            );
            let lift = lift(bound, &d);
            let joined_now = !forks.is_empty();
            let k = match self.sampling {
                Sampling::Categorical(family) => {
                    let dmin = smallest(&d, &on, lift, cands)?;
                    weights(&d, &on, dmin, alpha, &mut w);
                    // What the history so far predicts mH to be: a state-dependent baseline for
                    // the control variate (computed only when one asks for it).
                    crate::control::baseline_feature(|| st.leading_pair_mass());
                    let mut worlds = if worldwise {
                        st.live_worlds()
                    } else {
                        Default::default()
                    };
                    if !worlds.is_empty() {
                        world_weights(
                            &st,
                            cands,
                            (&d, &on, &w),
                            (
                                dmin,
                                r2.primal_value(),
                                alpha.primal_value(),
                                self.negligible,
                            ),
                            &worlds,
                            &mut alt,
                            &mut scratch,
                        )?;
                    }
                    if !forks.is_empty() {
                        // The forks' candidates join the primal's: the draw is over all of
                        // them, the primal's and the carried worlds' weights 0 at those only
                        // forks brought (see `fork`).
                        let at = (
                            r2.primal_value(),
                            alpha.primal_value(),
                            factor,
                            self.negligible,
                        );
                        fork::join(&mut forks, at, cands, &mut joined, &mut mine)?;
                        fork::spread(&mine, &mut w, &mut alt, worlds.len(), S::zero());
                        fork::rows(&forks, &joined, &mut worlds, &mut alt);
                        let k = S::draw_in_worlds(&family, &w, &worlds, &alt)?;
                        fork::step(&mut forks, &joined, k)?
                    } else if worlds.is_empty() {
                        categorical_by(&w, &family)?
                    } else {
                        S::draw_in_worlds(&family, &w, &worlds, &alt)?
                    }
                }
                Sampling::Deterministic => deterministic_choice(&d, &on),
                Sampling::GumbelSoftmax { tau } => {
                    let dmin = smallest(&d, &on, lift, cands)?;
                    weights(&d, &on, dmin, alpha, &mut w);
                    let relaxed = gumbel_softmax(&w, tau)?;
                    history.push(cands[relaxed.k]);
                    st.apply_relaxed(cands, &relaxed.z, relaxed.k)?;
                    continue;
                }
            };
            let checkpoint = |trail: Option<SharedTrail>| Checkpoint {
                st: st.paused(),
                r: r.primal_value(),
                alpha: alpha.primal_value(),
                history: history.clone(),
                step,
                cands: cands.to_vec(),
                trail,
            };
            let k = match &mut track {
                // The worlds the draw opened, kept to be resumed or pruned (no number carries
                // them on).
                Track::Births(rec, births) => {
                    births.after_draw(k, || checkpoint(Some(rec.shared.clone())))
                }
                // Where `rerun_resumable` may go on with another outcome (a no-op elsewhere; a
                // number that carries worlds is never in a recording run).
                Track::Record(rec) => {
                    crate::rerun::checkpoint(|| checkpoint(Some(rec.shared.clone())));
                    k
                }
                _ => {
                    if !S::CARRIES_WORLDS {
                        crate::rerun::checkpoint(|| checkpoint(None));
                    }
                    k
                }
            };
            // (The forks' candidates joined the primal's where there were forks at the draw.)
            let cands = if joined_now { &joined[..] } else { cands };
            let c = cands[k.primal_value() as usize];
            history.push(c);
            st.apply(cands, k)?;
            match &mut track {
                Track::Nothing => {}
                Track::Record(rec) | Track::Births(rec, _) => rec.step(&st, c),
                Track::Rejoin(rejoin) => {
                    if rejoin.rejoined(&st, step, c) {
                        break;
                    }
                }
            }
            let stop = match until {
                Until::End => false,
                _ if alone => {
                    let known = c.is_beam() && st.mh_known();
                    if known {
                        self.finish_worlds(
                            &mut st,
                            (r.primal_value(), alpha.primal_value()),
                            step,
                        )?;
                    }
                    known
                }
                _ => st.mh_known_after(c),
            };
            if stop {
                break;
            }
        }
        // The forks end as the worlds still open at the primal's stop do (or as they are, where
        // the clustering ran to its end); where it returns every jet, their slots join the
        // numbers again.
        for f in forks {
            if until == Until::End {
                st.rejoin(f.world, &f.st);
                continue;
            }
            let mh = if f.st.mh_known() {
                f.st.into_jets(Vec::new()).mh()?
            } else {
                let at = (r.primal_value(), alpha.primal_value());
                self.alone_to_mh(f.st, at, last + 1)?
            };
            st.ended.push((f.world, mh));
        }
        Ok(st.into_jets(history))
    }

    /// Ends the worlds `st` carries once the primal history's mH is known (after step `step`),
    /// each with its own mH (into `State::ended`): where it is known already, its value; else
    /// that of the world's history gone on alone, in `f64`, to where its mH is known (why that
    /// is unbiased: [`QantiKt::mh`]). The worlds are first coupled (pruned) as at a step's
    /// start. All draw from the same streams of their own
    /// ([`run_on_own_streams`](crate::context::run_on_own_streams)): common random numbers,
    /// so that worlds of one direction whose contributions cancel (the signed coupling's two
    /// sides) stay correlated, as they were carried along (each coupled to the primal's
    /// draws).
    fn finish_worlds<S: Scalar>(
        &self,
        st: &mut State<S>,
        (r, alpha): (f64, f64),
        step: usize,
    ) -> Result<()> {
        st.couple();
        for w in st.carried_worlds() {
            let mh = if st.mh_known_in_world(w) {
                st.mh_in(w)
            } else {
                self.alone_to_mh(st.in_world(w), (r, alpha), step + 1)?
            };
            st.ended.push((w, mh));
        }
        Ok(())
    }

    /// The mH of a world's history `apart` gone on alone from step `first`, in `f64`, to where
    /// its mH is known, with random numbers of its own (see [`QantiKt::finish_worlds`]).
    fn alone_to_mh(&self, apart: State<f64>, at: (f64, f64), first: usize) -> Result<f64> {
        run_on_own_streams(0, || {
            self.go_on(apart, at, Vec::new(), first, Until::MhKnown)?
                .mh()
        })?
    }

    fn check<S: Scalar>(&self, particles: &[FourMomentum<f64>], r: S, alpha: S) -> Result<()> {
        // Every world's value, so NaN (which min/max would skip) is caught too.
        if let Some(&v) = r
            .world_values()
            .iter()
            .find(|v| !(MIN_RADIUS..=MAX_RADIUS).contains(*v))
        {
            return Err(JetError::InvalidParameter {
                what: "Qanti-kT: radius R",
                value: v,
                expected: "[1e-5, 1e5]",
            }
            .into());
        }
        if let Some(&v) = alpha
            .world_values()
            .iter()
            .find(|v| !(**v > 0.0 && **v <= MAX_ALPHA))
        {
            return Err(JetError::InvalidParameter {
                what: "Qanti-kT: sharpness α",
                value: v,
                expected: "(0, 1e6] (use Sampling::Deterministic for α → ∞)",
            }
            .into());
        }
        if !(0.0..1.0).contains(&self.negligible) {
            return Err(JetError::InvalidParameter {
                what: "Qanti-kT: negligible weight ratio",
                value: self.negligible,
                expected: "[0, 1)",
            }
            .into());
        }
        if particles.len() >= (u32::MAX / 2) as usize {
            return Err(invalid_input(format!(
                "Qanti-kT: cannot cluster {} particles (too many)",
                particles.len()
            )));
        }
        for (i, p) in particles.iter().enumerate() {
            if let Some(v) = [p.px, p.py, p.pz, p.e].into_iter().find(|v| !v.is_finite()) {
                return Err(JetError::InvalidParameter {
                    what: "Qanti-kT: particle four-momentum component",
                    value: v,
                    expected: "finite",
                }
                .into());
            }
            if p.pt2() == 0.0 {
                return Err(invalid_input(format!(
                    "Qanti-kT: particle {i} has pt = 0 (it lies on the beam axis, where anti-kT's \
                     1/pt² scale is infinite); drop such particles before clustering"
                )));
            }
            // Finite components whose squares overflow: the scale 1/pt² would be 0, every
            // distance of the particle 0 (reported as coincident particles, which they are not).
            if p.pt2().is_infinite() {
                return Err(invalid_input(format!(
                    "Qanti-kT: particle {i} has pt² = px² + py² beyond the largest f64 \
                     (px = {:e}, py = {:e}), so anti-kT's 1/pt² scale is 0; use units in \
                     which momenta are below ~1e150",
                    p.px, p.py
                )));
            }
        }
        Ok(())
    }
}

/// A Qanti-kT clustering paused right after a step's draw, before its merge (see
/// [`QantiKt::resume`]): the primal history's state in `f64`, the step's candidates and the
/// history so far.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    st: State<f64>,
    r: f64,
    alpha: f64,
    history: Vec<Candidate>,
    step: usize,
    cands: Vec<Candidate>,
    /// The recording run's trail (for [`QantiKt::resume_mh`]: where a resumed clustering
    /// comes back to the recorded one).
    trail: Option<SharedTrail>,
}

/// The reconstructed Higgs mass of a Qanti-kT clustering as a program
/// [`rerun_resumable`](crate::rerun_resumable) resumes at each step's draw: its parameters are
/// (R, α), and an alternative history is clustered from its flipped step on.
///
/// ```
/// use stochad::jets::qantikt::{MhProgram, QantiKt};
/// use stochad::jets::FourMomentum;
/// let event = [
///     FourMomentum::new(50.0, 0.0, 5.0, 50.3),
///     FourMomentum::new(-30.0, 28.0, -3.0, 41.2),
///     FourMomentum::new(3.0, 3.5, 1.0, 4.8),
/// ];
/// let program = MhProgram::new(QantiKt::new(), &event);
/// let g = stochad::rerun_resumable(program).at([0.8, 1.0]).samples(40_000).estimate()?;
/// let exact = stochad::exact::expectation(
///     |[r, a]| stochad::jets::qantikt::qanti_kt_mh(&event, r, a),
///     [0.8, 1.0],
/// )?;
/// for d in 0..2 {
///     assert!((g.mean[d] - exact.gradient[d]).abs() < 5.0 * g.stderr[d] + 1e-9);
/// }
/// # Ok::<(), stochad::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MhProgram<'a> {
    clusterer: QantiKt,
    particles: &'a [FourMomentum<f64>],
}

impl<'a> MhProgram<'a> {
    /// mH of `clusterer`'s clustering of `particles`.
    pub fn new(clusterer: QantiKt, particles: &'a [FourMomentum<f64>]) -> Self {
        MhProgram {
            clusterer,
            particles,
        }
    }
}

impl Resumable<2> for MhProgram<'_> {
    type Checkpoint = Checkpoint;

    fn run(&self, [r, alpha]: [Recorder<2>; 2]) -> Result<Recorder<2>> {
        self.clusterer.mh(self.particles, r, alpha)
    }

    fn twin(&self, [r, alpha]: [f64; 2]) -> Result<f64> {
        self.clusterer.mh(self.particles, r, alpha)
    }

    fn resume(&self, checkpoint: Self::Checkpoint, outcome: f64) -> Result<f64> {
        self.clusterer.resume_mh(checkpoint, outcome)
    }
}

/// Where a clustering stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Until {
    /// When every object is a jet ([`QantiKt::cluster`]).
    End,
    /// As soon as mH is known in the primal history and in every world the numbers carry
    /// (checked after each step that makes a jet in the primal history).
    MhKnown,
    /// As soon as mH is known in the primal history, each world the numbers still carry ended
    /// there with its own mH ([`QantiKt::finish_worlds`]), where the worlds come from the draws
    /// alone (else as [`Until::MhKnown`]): [`QantiKt::mh`].
    MhWorldsAlone,
}

/// How far above the smallest distance a candidate can still weigh more than `negligible` of
/// the largest weight, for the smallest α over worlds: 1 + ln(1/ε)/α, with slack far above the
/// rounding between the search's `f64` distances and the weights' (~1e-15).
fn cutoff_factor(negligible: f64, alpha_min: f64) -> f64 {
    (1.0 - negligible.ln() / alpha_min) * (1.0 + 1e-9)
}

/// What inactive candidates are raised by in [`smallest`]: above every world's smallest
/// distance (twice the search's bound, or with no bound twice the largest distance, plus 1).
fn lift<S: Scalar>(bound: f64, d: &[S]) -> f64 {
    if bound.is_finite() {
        2.0 * bound
    } else {
        2.0 * d.iter().map(|x| x.world_range().1).fold(0.0, f64::max) + 1.0
    }
}

/// Position of the smallest primal distance among active candidates, the first on a tie.
fn first_smallest<S: Scalar>(d: &[S], on: &[S]) -> usize {
    first_smallest_by(d.len(), |i| (d[i].primal_value(), on[i].primal_value()))
}

/// Position of the smallest of `n` distances among active candidates (`at(i)` = (distance,
/// flag)), the first on a tie; 0 when none is active.
fn first_smallest_by(n: usize, at: impl Fn(usize) -> (f64, f64)) -> usize {
    let mut best: Option<(usize, f64)> = None;
    for i in 0..n {
        let (x, a) = at(i);
        if a == 1.0 && best.is_none_or(|(_, b)| x < b) {
            best = Some((i, x));
        }
    }
    best.map_or(0, |(i, _)| i)
}

/// The deterministic step's choice: the first smallest distance among active candidates, in
/// the primal and in every world the distances carry (R may carry worlds of its own, when a
/// program draws it: each world then takes its own smallest).
fn deterministic_choice<S: Scalar>(d: &[S], on: &[S]) -> S {
    let k = S::from(first_smallest(d, on) as f64);
    if !S::CARRIES_WORLDS {
        return k;
    }
    let xs: Vec<S> = d.iter().chain(on).copied().collect();
    let worlds = S::couple_worlds(&xs);
    if worlds.is_empty() {
        return k;
    }
    let entries: Vec<(crate::scalar::World, f64)> = worlds
        .iter()
        .map(|&w| {
            let at = |i: usize| (d[i].value_in_live(w), on[i].value_in_live(w));
            (w, first_smallest_by(d.len(), at) as f64)
        })
        .collect();
    k.with_worlds(&entries)
}

/// The reconstructed Higgs mass of one Qanti-kT clustering of `particles` with the default
/// configuration: the invariant mass of the two leading-pT jets, 0 when the history ended with
/// fewer than two jets. See [`QantiKt::cluster`] and [`QantiKtJets::mh`].
///
/// ```
/// use stochad::jets::qantikt::qanti_kt_mh;
/// use stochad::jets::FourMomentum;
/// let event = [FourMomentum::new(40.0, 0.0, 0.0, 40.0), FourMomentum::new(-40.0, 0.0, 0.0, 40.0)];
/// // Two back-to-back particles: either two jets (mH = 80) or one merged object (mH = 0).
/// let m: f64 = stochad::with_run(3, 0, || qanti_kt_mh(&event, 0.4, 1.0))?;
/// assert!(m == 0.0 || (m - 80.0).abs() < 1e-12);
/// # Ok::<(), stochad::Error>(())
/// ```
///
/// # Errors
/// As [`QantiKt::cluster`].
pub fn qanti_kt_mh<S: Scalar>(particles: &[FourMomentum<f64>], r: S, alpha: S) -> Result<S> {
    QantiKt::new().mh(particles, r, alpha)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`QantiKt::coupling`] keeps a categorical sampling's redraw rule and replaces any other
    /// sampling by the categorical one with the default redraw rule.
    #[test]
    fn coupling_keeps_the_redraw_rule() {
        let cat = |coupling, redraw| Sampling::Categorical(Categorical { coupling, redraw });
        let same = QantiKt::new()
            .sampling(cat(Coupling::Inversion, Redraw::SameUniform))
            .coupling(Coupling::Signed);
        assert_eq!(same.sampling, cat(Coupling::Signed, Redraw::SameUniform));
        for other in [
            Sampling::Deterministic,
            Sampling::GumbelSoftmax { tau: 0.5 },
        ] {
            let q = QantiKt::new()
                .sampling(other)
                .coupling(Coupling::SignedFan(2));
            assert_eq!(q.sampling, cat(Coupling::SignedFan(2), Redraw::Maximal));
            assert_eq!(q.negligible, QantiKt::new().negligible);
        }
    }

    /// The particles of the first `n` default events.
    fn first_events(n: usize) -> Vec<Vec<FourMomentum<f64>>> {
        crate::jets::io::default_sample()
            .unwrap()
            .take(n)
            .map(|e| e.unwrap().particles.iter().map(|q| q.momentum).collect())
            .collect()
    }

    /// With numbers that carry worlds, [`QantiKt::mh`] stops where the primal history's mH is
    /// known, at the `f64` run's stop (the same history, also where every world is forked as
    /// soon as it can be), ending the worlds still open there on their own
    /// (`QantiKt::finish_worlds`); carried along to where their mH is known too, the same runs
    /// take more steps. (That the estimates stay unbiased is
    /// `estimators_agree_with_the_exact_gradient`'s, whose programs stop so.)
    #[test]
    fn worlds_go_on_alone_once_the_primal_mh_is_known() {
        let events = first_events(3);
        let q = QantiKt::new();
        let (mut runs, mut longer, mut ended, mut forks) = (0, 0, 0, 0);
        for ev in &events {
            for i in 0..10 {
                let primal = crate::with_run(3, i, || {
                    q.go_on(
                        State::<f64>::new(ev)?,
                        (0.8, 1.0),
                        Vec::new(),
                        0,
                        Until::MhKnown,
                    )
                })
                .unwrap();
                let triple = |q: QantiKt, until| {
                    crate::with_run(3, i, || {
                        let st = State::<crate::Triple<2>>::new(ev)?;
                        let (r, a) = (
                            crate::Triple::<2>::variable(0.8, 0),
                            crate::Triple::variable(1.0, 1),
                        );
                        q.go_on(st, (r, a), Vec::new(), 0, until)
                    })
                    .unwrap()
                };
                let (alone, carried) = (triple(q, Until::MhWorldsAlone), triple(q, Until::MhKnown));
                assert_eq!(alone.history, primal.history, "run {i}");
                // Worlds forked as soon as they differ in a slot (`fork`) leave the primal
                // history as it is.
                let forking = QantiKt { fork_at: 1, ..q };
                fork::FORKED.with(|n| n.set(0));
                let forked = triple(forking, Until::MhWorldsAlone);
                forks += fork::FORKED.with(|n| n.get());
                assert_eq!(forked.history, primal.history, "run {i}, forking");
                assert_eq!(carried.history[..primal.history.len()], primal.history);
                runs += 1;
                longer += usize::from(carried.history.len() > alone.history.len());
                ended += usize::from(!alone.ended.is_empty());
            }
        }
        assert!(
            2 * longer > runs,
            "carried runs longer in {longer} of {runs}"
        );
        assert!(2 * ended > runs, "worlds ended in {ended} of {runs} runs");
        assert!(forks > runs, "{forks} forks in {runs} runs");
    }

    /// The worlds a pruned triple resumes from their draws (`births`, the default) are the
    /// `f64` clusterings with that draw flipped, on the primal's uniforms: each world whose
    /// history needs no draw past the primal's last has the mH of the whole `f64` run with its
    /// draw forced (as `stochad::rerun` re-runs it), bit for bit.
    #[test]
    fn resumed_worlds_are_the_flipped_f64_histories() {
        use crate::context::{run_in, Mode, RunContext};
        let q = QantiKt::new();
        let (mut checked, mut past, mut apart) = (0, 0, 0);
        for ev in &first_events(3) {
            let g = crate::gradient(|[r, a]| q.mh(ev, r, a))
                .at([0.8, 1.0])
                .seed(4);
            // The keep-4 triple keeps up to 4 worlds per direction, resumed alike.
            let keep4 = crate::gradient_with(|[r, a]: [crate::KeepTriple<4, 2>; 2]| q.mh(ev, r, a))
                .at([0.8, 1.0])
                .seed(4);
            for i in 0..20 {
                births::RESOLVED.with(|v| v.borrow_mut().clear());
                g.run(i).unwrap();
                keep4.run(i).unwrap();
                let primal = crate::with_run(4, i, || q.mh(ev, 0.8, 1.0)).unwrap();
                for w in births::RESOLVED.with(|v| v.borrow().clone()) {
                    apart += usize::from(w.mh != primal);
                    if w.past {
                        past += 1;
                        continue;
                    }
                    let mut ctx = RunContext::new(4, i);
                    ctx.mode = Mode::Flip {
                        at: w.draw,
                        outcome: w.outcome,
                        params: w.candidates,
                        path: Default::default(),
                    };
                    let mh = run_in(ctx, || q.mh(ev, 0.8, 1.0)).0.unwrap();
                    assert_eq!(mh.to_bits(), w.mh.to_bits(), "run {i}: {w:?} vs {mh}");
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 40,
            "{checked} worlds checked ({past} drew past the primal)"
        );
        // (Most end with another mH than the primal's.)
        assert!(
            2 * apart > checked + past,
            "{apart} of {} apart",
            checked + past
        );
    }

    /// The `n` hardest particles of default event `k`.
    fn leading(k: usize, n: usize) -> Vec<FourMomentum<f64>> {
        let mut ps = first_events(k + 1).pop().unwrap();
        ps.sort_by(|a, b| b.pt2().total_cmp(&a.pt2()));
        ps.truncate(n);
        ps
    }

    /// Worlds forked at their first slot of their own (`fork`: on these events nearly every
    /// world that lives past its first step) give the pruned triple's estimates of dE[mH]/dR
    /// and dE[mH]/dα within 5σ̂ of the exact gradient (5σ̂ below 5 % of it), from `mh` and
    /// from `cluster`, whose forks join the numbers again at the end. Run by run, most
    /// estimates are those of the worlds carried in the slots bit for bit (a fork takes the
    /// same steps; it differs where it would have met another world in a slot, or a pruning
    /// coin, keyed by the worlds' ids, falls otherwise for its new id).
    #[test]
    fn forked_worlds_keep_the_triple_unbiased() {
        let carried = QantiKt::new().carry_worlds(true);
        let forking = QantiKt {
            fork_at: 1,
            ..carried
        };
        for (k, n, r, alpha) in [(2, 5, 0.8, 1.0), (1, 5, 0.4, 1.0)] {
            let event = leading(k, n);
            let ex = crate::exact::expectation(
                |[r, a]: [crate::Dual<2>; 2]| qanti_kt_mh(&event, r, a),
                [r, alpha],
            )
            .unwrap();
            // mH as `mh` stops the clustering, and from every jet of a finished one (the
            // forks' slots joined to the numbers again).
            let stopped = crate::gradient(|[r, a]| forking.mh(&event, r, a))
                .at([r, alpha])
                .samples(120_000)
                .seed(31)
                .estimate()
                .unwrap();
            let finished = crate::gradient(|[r, a]| forking.cluster(&event, r, a)?.mh())
                .at([r, alpha])
                .samples(120_000)
                .seed(32)
                .estimate()
                .unwrap();
            for (g, how) in [(stopped, "mh"), (finished, "cluster")] {
                for d in 0..2 {
                    let (mean, se, want) = (g.mean[d], g.stderr[d], ex.gradient[d]);
                    let strong = 5.0 * se < 0.05 * want.abs();
                    assert!(strong, "{how} d{d}: 5σ̂ = {} vs {want}", 5.0 * se);
                    let close = (mean - want).abs() < 5.0 * se;
                    assert!(close, "{how} d{d}: {mean} ± {se} vs {want}");
                }
            }
            let event = &event;
            let runs = |q: QantiKt| {
                let g = crate::gradient(move |[r, a]| q.mh(event, r, a)).at([r, alpha]);
                (0..200).map(move |i| g.run(i).unwrap().derivative)
            };
            fork::FORKED.with(|n| n.set(0));
            let forked: Vec<[f64; 2]> = runs(forking).collect();
            let forks = fork::FORKED.with(|n| n.get());
            let same = forked
                .iter()
                .zip(runs(carried))
                .filter(|(a, b)| a.map(f64::to_bits) == b.map(f64::to_bits))
                .count();
            assert!(forks > 100, "{forks} forks in 200 runs");
            assert!(same > 150, "{same} of 200 runs as with carried worlds");
        }
    }

    /// A resumed clustering of mH stops where it comes back to the recorded one
    /// ([`QantiKt::resume_mh`]): on whole events with the signed coupling (two jumps from every
    /// draw, many resumed per run), every resume gives the value the whole re-run gives, bit for
    /// bit (`check_resumes`), and so do the estimates, while a good share of the resumes stop
    /// early.
    #[test]
    fn resumes_that_rejoin_the_recorded_history_end_with_its_mh() {
        let signed = QantiKt::new().sampling(Sampling::Categorical(Categorical {
            coupling: Coupling::Signed,
            redraw: Redraw::Maximal,
        }));
        let keep = crate::KeptFlips::Reservoir(16);
        for (event, (r, alpha)) in first_events(2).iter().zip([(0.8, 1.0), (0.4, 4.0)]) {
            let resumed = crate::rerun_resumable(MhProgram::new(signed, event))
                .at([r, alpha])
                .seed(9)
                .keep(keep);
            let whole = crate::rerun(
                |[r, a]| signed.mh(event, r, a),
                |[r, a]| signed.mh(event, r, a),
            )
            .at([r, alpha])
            .seed(9)
            .keep(keep);
            rejoin::RESUMED.with(|n| n.set(0));
            rejoin::REJOINED.with(|n| n.set(0));
            for i in 0..6 {
                let (a, b) = (resumed.run(i).unwrap(), whole.run(i).unwrap());
                assert_eq!(
                    a.derivative.map(f64::to_bits),
                    b.derivative.map(f64::to_bits)
                );
            }
            let resumes = rejoin::RESUMED.with(|n| n.get());
            let rejoined = rejoin::REJOINED.with(|n| n.get());
            // (Measured: ~20 % at α = 1, ~35 % at α = 4, on the variance study's events.)
            assert!(
                rejoined * 10 > resumes,
                "{rejoined} of {resumes} resumes came back to the recorded history"
            );
            // Each resume against the whole re-run (and resumed with the recorded outcome, which
            // comes back at once, against the recorded value).
            resumed.check_resumes(true).run(6).unwrap();
        }
    }

    /// [`QantiKt::mh`] skips steps: on whole events at least 30 % of them (~50 % measured on
    /// these three at R = 0.8, α = 1), with `f64` numbers and with the pruned triple.
    #[test]
    fn mh_stops_before_the_end() {
        let events = first_events(3);
        let q = QantiKt::new();
        for ev in &events {
            let steps = |mh_only: bool, i: u64| {
                crate::with_run(3, i, || {
                    let st = State::<f64>::new(ev)?;
                    let until = if mh_only { Until::MhKnown } else { Until::End };
                    q.go_on(st, (0.8, 1.0), Vec::new(), 0, until)
                })
                .unwrap()
                .history
                .len()
            };
            let full: usize = (0..10).map(|i| steps(false, i)).sum();
            let early: usize = (0..10).map(|i| steps(true, i)).sum();
            assert_eq!(full, 10 * ev.len());
            assert!(10 * early < 7 * full, "{early} of {full} steps");
            let triple = crate::with_run(3, 0, || {
                let st = State::<crate::Triple<2>>::new(ev)?;
                let (r, a) = (
                    crate::Triple::<2>::variable(0.8, 0),
                    crate::Triple::variable(1.0, 1),
                );
                q.go_on(st, (r, a), Vec::new(), 0, Until::MhWorldsAlone)
            })
            .unwrap();
            assert!(triple.history.len() < ev.len());
        }
    }
}
