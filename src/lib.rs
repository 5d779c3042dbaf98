//! # stochad: derivatives of programs with discrete randomness
//!
//! `stochad` differentiates the *expectation* of programs that make discrete random choices —
//! coin flips, categorical picks, Poisson counts, which two particles a jet algorithm merges —
//! with forward-mode *stochastic automatic differentiation* (Arya, Schauer, Schäfer, Rackauckas,
//! "Automatic Differentiation of Programs with Discrete Randomness", NeurIPS 2022). Each run
//! carries, besides its value, a tangent δ and a weighted alternative path; one run's
//! `δ + β·(alternative − value)` is an unbiased estimate of dE\[f\]/dθ.
//!
//! ## Tutorial: write the program once, run it five ways
//!
//! Write the program generic over [`Scalar`]; draw with the samplers in [`sample`]:
//!
//! ```
//! use stochad::{sample::bernoulli, Scalar};
//!
//! /// x² + Bernoulli(sin²(2x)): d/dx E = 2x + 4 sin 2x cos 2x.
//! fn program<S: Scalar>(x: S) -> stochad::Result<S> {
//!     let p = (x * 2.0).sin().powi(2);
//!     Ok(x * x + bernoulli(p)?)
//! }
//! let exact = 2.0 * 0.3 + 4.0 * 0.6f64.sin() * 0.6f64.cos();
//!
//! // 1. With f64 it is the plain program (inside a run, which provides the random stream).
//! let y: f64 = stochad::with_run(42, 0, || program(0.3))?;
//! assert!(y == 0.09 || y == 1.09);
//!
//! // 2. With the stochastic triple: unbiased derivative estimates (the default estimator).
//! let st = stochad::derivative(|x| program(x)).at(0.3).samples(10_000).seed(1).estimate()?;
//! assert!((st.mean - exact).abs() < 5.0 * st.stderr);
//!
//! // 3. With the score function (REINFORCE, leave-one-out baseline): unbiased, noisier.
//! use stochad::Score;
//! let sf = stochad::derivative_with(|x: Score| program(x)).at(0.3).samples(10_000).estimate()?;
//! assert!((sf.mean - exact).abs() < 5.0 * sf.stderr);
//!
//! // 4. With dual numbers: classical AD, blind to the coin flip, so biased.
//! use stochad::Dual;
//! let du = stochad::derivative_with(|x: Dual| program(x)).at(0.3).samples(100).estimate()?;
//! assert!((du.mean - 2.0 * 0.3).abs() < 1e-12 && (du.mean - exact).abs() > 1.0);
//!
//! // 5. By re-running: a recording run keeps a flipped draw, and the program runs again with
//! //    f64 from there (the triple's kind of estimate without carrying alternative worlds).
//! let rr = stochad::rerun(|[x]| program(x), |[x]: [f64; 1]| program(x))
//!     .at([0.3]).samples(10_000).seed(1).estimate()?;
//! assert!((rr.mean[0] - exact).abs() < 5.0 * rr.stderr[0]);
//! # Ok::<(), stochad::Error>(())
//! ```
//!
//! Several parameters at once share one primal run: [`gradient`]. Small programs can be checked
//! against the exact oracle in [`exact`], which enumerates every outcome.
//!
//! ## Rules of the road
//! - **Never branch on `.value()` outside [`propagate`].** `x.value()` is the primal value only;
//!   `if k.value() == 1.0 { … }` follows the primal's branch in every alternative world, and the
//!   estimate is silently biased — no error, a wrong number. Branch inside [`propagate`] (or use
//!   [`select`]/[`index`]), where the function sees plain values one world at a time and
//!   `.value()` is exactly right. Turn on the drivers' [`strict`](estimate::Gradient::strict)
//!   mode while developing: a `.value()` read of a perturbed number outside `propagate` then
//!   fails the run, naming the file and line of the read.
//! - Comparisons act on the primal value. If an alternative world would take the other branch,
//!   the driver returns [`Error::PerturbedComparison`] naming the operator: write the branch
//!   arithmetically or route it through `propagate`.
//! - A draw inside a branch: draw what every branch needs *before* the branch, unconditionally,
//!   then pick with [`select`]; `propagate`'s function must not draw (see
//!   [`propagate`](propagate#a-draw-inside-a-branch)).
//! - A large state through `propagate` with numbers that carry many worlds (keep-K triples):
//!   write the function once over the number type ([`PlainFn`]) and call [`propagate_plain`],
//!   which runs each alternative world in `f64` instead of on a copy of the perturbed state.
//! - Arithmetic, `min` and `max` work with `Self` and with `f64` on the right; in generic code
//!   write `x * 2.0` rather than `2.0 * x` (Rust's coherence rules forbid the generic `f64 * S`).
//! - Samplers draw from the run context the drivers set up per sample (seeded by the seed and the
//!   sample index); the same seed gives bit-identical results whatever the thread count.
//! - Categorical draws that name no [`Coupling`](sample::Coupling) use the run's default, set on
//!   the driver with [`.coupling(…)`](estimate::Gradient::coupling) (default proportional).
//! - Helpers generic over the estimator bound on [`Estimator`] (`S: Estimator<1>` for
//!   [`derivative_with`], `S: Estimator<N>` for [`gradient_with`]).
//! - [`SmoothedTriple`] is unbiased only for programs linear in their draws; use it for speed
//!   where that holds, the pruned [`Triple`] otherwise.
//! - On a boundary of a parameter's domain (p = 0 or 1, λ = 0, a zero categorical weight) the
//!   triples and the exact oracle take the one-sided derivative from inside; the score function
//!   never draws the outcomes that gain probability there, so it fails with
//!   [`Error::ScoreAtBoundary`] rather than return a biased number.
//!
//! ## Layout
//! [`Scalar`] (the trait), [`Dual`], [`Score`], [`triple`] (the stochastic triple and its pruned,
//! keep-K, all-worlds and smoothed backends), [`sample`] (samplers and couplings), [`estimate`] (drivers),
//! [`rerun`](mod@rerun) (stochastic AD by re-running the `f64` program from kept flips), [`control`]
//! (control variates for the drivers), [`exact`] (enumeration oracle), [`jets`] (four-momenta,
//! event files, jet clustering).
#![warn(missing_docs)]

extern crate self as stochad;

pub mod context;
pub mod control;
mod dual;
mod error;
pub mod estimate;
pub mod exact;
pub mod jets;
mod propagate;
pub mod rerun;
pub mod sample;
mod scalar;
pub mod scalars;
mod score;
pub mod toys;
pub mod triple;

pub use context::with_run;
pub use dual::{DrawRule, Dual, DualNumber, Pathwise};
pub use error::{Error, Result};
pub use estimate::{
    derivative, derivative_with, finite_difference, finite_differences, gradient, gradient_with,
    Estimate, Estimator, GradientEstimate, FEW_NONZERO,
};
pub use propagate::{couple, index, propagate, propagate_plain, select, PlainFn};
pub use rerun::{rerun, rerun_resumable, KeptFlips, Recorder, Resumable};
pub use scalar::{Scalar, World};
pub use scalars::{IntoResult, Scalars};
pub use score::{Score, ScoreFunction};
pub use stochad_macros::Scalars;
#[allow(deprecated)]
pub use triple::ExactTriple;
pub use triple::{AllWorldsTriple, KeepTriple, SmoothedTriple, StochasticTriple, Triple};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The Qanti-kT studies' examples (`docs/qantikt_studies.md`), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/qantikt_studies.md")]
pub struct StudiesDoctests;
