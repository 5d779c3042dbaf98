//! Discrete samplers, generic over the number type, and the families behind them.
//!
//! Every sampler draws by inversion from the run's primal random stream: one uniform `u` per
//! draw, outcome = the smallest `k` with `F(k) > u`. So the `f64`, [`Dual`](crate::Dual),
//! [`Score`](crate::Score) and [`Triple`](crate::Triple) runs of a program with one seed take the
//! same primal path. Each number type then adds what it carries (see [`Scalar::draw`]).
//!
//! Samplers must be called inside a run: an estimator driver, the exact oracle or
//! [`with_run`](crate::with_run).

mod bernoulli;
mod binomial;
mod categorical;
mod family;
mod geometric;
mod logpmf;
mod poisson;
mod relaxed;
mod table;

pub use bernoulli::Bernoulli;
pub use binomial::{Binomial, BinomialN};
pub use categorical::{Categorical, Coupling, Redraw};
pub(crate) use family::{jump_rates_inward, jumps_inward, score_of};
pub use family::{Family, Jump, Jumps};
pub use geometric::Geometric;
pub use poisson::Poisson;
pub use relaxed::{gumbel_softmax, Relaxed};

use smallvec::SmallVec;

use crate::context::{with_ctx, Mode, RunContext};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// The primal outcome of a sampled draw and the uniform that produced it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// The outcome (an integer, as `f64`).
    pub outcome: f64,
    /// The uniform in [0, 1) it was drawn with.
    pub u: f64,
}

/// How the primal outcome of a draw came about: sampled in a run, or forced by the exact
/// oracle's enumeration (which has no uniform, so nothing can be coupled to it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Drawn {
    /// Sampled by inversion of a uniform of the run's primal stream.
    Sampled(Draw),
    /// Forced by the exact oracle ([`exact`](crate::exact)), which visits every outcome.
    Enumerated {
        /// The outcome (an integer, as `f64`).
        outcome: f64,
    },
}

impl Drawn {
    /// The outcome, however it came about.
    pub fn outcome(&self) -> f64 {
        match self {
            Drawn::Sampled(d) => d.outcome,
            Drawn::Enumerated { outcome } => *outcome,
        }
    }
}

/// Validates `params` and draws the primal outcome from the current run: by inversion of one
/// uniform of the primal stream, or, under the exact oracle, the outcome its enumeration forces.
pub fn draw_primal<F: Family>(family: &F, params: &[f64]) -> Result<Drawn> {
    draw_primal_moving(family, params, |_| false)
}

/// [`draw_primal`] for number types that carry derivatives: under the exact oracle, boundary
/// outcomes (zero probability, see [`Family::boundary_outcomes`]) for which `moves(k)` says the
/// probability has a non-zero derivative join the support, so their terms of the derivative are
/// not dropped (at p = 0, d/dp E[f(Bernoulli(p))] = f(1) − f(0) needs the outcome 1).
pub(crate) fn draw_primal_moving<F: Family>(
    family: &F,
    params: &[f64],
    moves: impl Fn(f64) -> bool,
) -> Result<Drawn> {
    family.validate(params)?;
    with_ctx("a discrete draw", |ctx| {
        draw_moving(ctx, family, params, &moves)
    })?
}

/// [`draw_primal`] in a given run context, for parameters already validated.
pub(crate) fn draw_in<F: Family>(
    ctx: &mut RunContext,
    family: &F,
    params: &[f64],
) -> Result<Drawn> {
    draw_moving(ctx, family, params, &|_| false)
}

fn draw_moving<F: Family>(
    ctx: &mut RunContext,
    family: &F,
    params: &[f64],
    moves: &dyn Fn(f64) -> bool,
) -> Result<Drawn> {
    match &mut ctx.mode {
        Mode::Sample => {
            let u = ctx.primal_uniform();
            Ok(Drawn::Sampled(Draw {
                outcome: family.quantile(params, u),
                u,
            }))
        }
        Mode::Flip {
            at,
            outcome,
            params: count,
            path,
        } => {
            let (at, forced, count, path) = (*at, *outcome, *count, path.clone());
            let u = ctx.primal_uniform();
            let i = ctx.rng.draws - 1;
            let outcome = if i == at {
                if params.len() != count {
                    return Err(Error::config(format!(
                        "rerun: draw {i} of the re-run has {} parameters where the recording run \
                         had {count}: the two programs differ",
                        params.len()
                    )));
                }
                forced
            } else {
                let k = family.quantile(params, u);
                if let Some(&want) = path.get(i as usize).filter(|w| i < at && !w.is_nan()) {
                    if k.to_bits() != want.to_bits() {
                        return Err(Error::config(format!(
                            "rerun: draw {i} of the re-run took {k} where the recording run took \
                             {want} (before the flip the re-run must repeat it: the two programs \
                             differ)"
                        )));
                    }
                }
                k
            };
            Ok(Drawn::Sampled(Draw { outcome, u }))
        }
        Mode::Enumerate(e) => {
            let k = if e.pos < e.path.len() {
                e.path[e.pos]
            } else {
                let mut support = family.support(params, e.tail);
                let extra: Vec<f64> = family
                    .boundary_outcomes(params)
                    .into_iter()
                    .filter(|&k| !support.contains(&k) && moves(k))
                    .collect();
                if !extra.is_empty() {
                    support.extend(extra);
                    support.sort_by(f64::total_cmp);
                }
                let first = *support
                    .first()
                    .ok_or_else(|| Error::config(format!("{}: empty support", family.name())))?;
                e.path.push(first);
                e.supports.push(support);
                first
            };
            e.pos += 1;
            ctx.rng.draws += 1;
            Ok(Drawn::Enumerated { outcome: k })
        }
    }
}

/// The primal values of a slice of scalars.
pub(crate) fn values<S: Scalar>(params: &[S]) -> smallvec::SmallVec<[f64; 8]> {
    params.iter().map(|p| p.primal_value()).collect()
}

/// Bernoulli(p): 1 with probability `p`, else 0.
///
/// # Errors
/// [`Error::InvalidParameter`] when `p` is NaN or outside [0, 1];
/// [`Error::NoRunContext`] outside a run.
///
/// ```
/// use stochad::{sample::bernoulli, with_run};
/// let k: f64 = with_run(7, 0, || bernoulli(0.5)).unwrap();
/// assert!(k == 0.0 || k == 1.0);
/// assert!(with_run(7, 0, || bernoulli(1.5_f64)).is_err());
/// ```
pub fn bernoulli<S: Scalar>(p: S) -> Result<S> {
    S::draw(&Bernoulli, &[p])
}

/// Binomial(n, p): the number of successes in `n` independent trials of probability `p`.
///
/// # Errors
/// [`Error::InvalidParameter`] when `p` is NaN or outside [0, 1], or `n` exceeds
/// [`Binomial::MAX_N`]; [`Error::NoRunContext`] outside a run.
///
/// ```
/// use stochad::{sample::binomial, with_run};
/// let k: f64 = with_run(7, 0, || binomial(10, 0.3)).unwrap();
/// assert!((0.0..=10.0).contains(&k) && k.fract() == 0.0);
/// ```
pub fn binomial<S: Scalar>(n: u64, p: S) -> Result<S> {
    S::draw(&Binomial { n }, &[p])
}

/// Binomial(n, p) with a number of trials `n` that is itself a (discrete) number of the program,
/// e.g. an earlier draw: its alternative worlds give coupled alternative counts. `n` must be a
/// non-negative integer; its tangent is ignored.
///
/// # Errors
/// [`Error::InvalidParameter`] when `n` is not an integer in [0, 10⁷] or `p` is outside [0, 1].
///
/// ```
/// use stochad::{sample::{binomial, binomial_n}, with_run};
/// // E[Binomial(Binomial(10, p), p)] = 10 p².
/// let k: f64 = with_run(3, 0, || binomial_n(binomial(10, 0.5)?, 0.5)).unwrap();
/// assert!((0.0..=10.0).contains(&k));
/// ```
pub fn binomial_n<S: Scalar>(n: S, p: S) -> Result<S> {
    S::draw(&BinomialN, &[n, p])
}

/// Geometric(p): the number of failures before the first success, `P(k) = p (1 − p)^k`.
///
/// # Errors
/// [`Error::InvalidParameter`] when `p` is NaN or outside (0, 1]; [`Error::NoRunContext`]
/// outside a run.
///
/// ```
/// use stochad::{sample::geometric, with_run};
/// let k: f64 = with_run(7, 0, || geometric(0.25)).unwrap();
/// assert!(k >= 0.0 && k.fract() == 0.0);
/// assert_eq!(with_run(7, 0, || geometric(1.0_f64)).unwrap(), 0.0);
/// ```
pub fn geometric<S: Scalar>(p: S) -> Result<S> {
    S::draw(&Geometric, &[p])
}

/// Poisson(λ).
///
/// # Errors
/// [`Error::InvalidParameter`] when `lambda` is NaN, negative or above [`Poisson::MAX_LAMBDA`];
/// [`Error::NoRunContext`] outside a run.
///
/// ```
/// use stochad::{sample::poisson, with_run};
/// let k: f64 = with_run(7, 0, || poisson(3.5)).unwrap();
/// assert!(k >= 0.0 && k.fract() == 0.0);
/// assert!(with_run(7, 0, || poisson(-1.0_f64)).is_err());
/// ```
pub fn poisson<S: Scalar>(lambda: S) -> Result<S> {
    S::draw(&Poisson, &[lambda])
}

/// A category index `0..K` drawn with probability `w_k / Σw` from non-negative, unnormalised
/// weights, with the default [`Coupling`].
///
/// The weights' tangents and alternative worlds flow into the probabilities; the normalisation
/// itself happens inside the draw, in `f64`, so a draw over many weights stays cheap.
///
/// # Errors
/// [`Error::InvalidWeights`] when the weights are empty, all zero, negative or not finite;
/// [`Error::NoRunContext`] outside a run.
///
/// ```
/// use stochad::{sample::categorical, with_run};
/// let k: f64 = with_run(7, 0, || categorical(&[1.0, 0.0, 3.0])).unwrap();
/// assert!(k == 0.0 || k == 2.0);
/// assert!(with_run(7, 0, || categorical(&[0.0_f64, 0.0])).is_err());
/// ```
pub fn categorical<S: Scalar>(weights: &[S]) -> Result<S> {
    categorical_with(weights, run_coupling())
}

/// The coupling of the current run for categorical draws that name none: the driver's
/// [`coupling`](crate::estimate::Gradient::coupling), else [`Coupling::default`] (also outside a
/// run, where the draw itself then reports the missing run).
fn run_coupling() -> Coupling {
    with_ctx("", |ctx| ctx.options.default_coupling).unwrap_or_default()
}

/// [`categorical`] with an explicit [`Coupling`] for this draw (overriding the run's default).
///
/// # Errors
/// As [`categorical`].
///
/// ```
/// use stochad::{sample::{categorical_with, Coupling}, Dual, with_run};
/// let w = [Dual::<1>::variable(0.5, 0), Dual::from(1.5)];
/// let k = with_run(7, 0, || categorical_with(&w, Coupling::Inversion)).unwrap();
/// assert!(k.value == 0.0 || k.value == 1.0);
/// ```
pub fn categorical_with<S: Scalar>(weights: &[S], coupling: Coupling) -> Result<S> {
    S::draw(&Categorical::with_coupling(coupling), weights)
}

/// [`categorical`] with a fully configured family: coupling of new perturbations and redraw of
/// alternative worlds.
///
/// # Errors
/// As [`categorical`].
///
/// ```
/// use stochad::sample::{categorical_by, Categorical, Coupling, Redraw};
/// let fam = Categorical { coupling: Coupling::Proportional, redraw: Redraw::Maximal };
/// let k: f64 = stochad::with_run(7, 0, || categorical_by(&[1.0, 2.0], &fam)).unwrap();
/// assert!(k == 0.0 || k == 1.0);
/// ```
pub fn categorical_by<S: Scalar>(weights: &[S], family: &Categorical) -> Result<S> {
    S::draw(family, weights)
}

/// A category index `0..K` drawn with probability `softmax(logits)_k`, computed stably (the
/// largest primal logit is subtracted first; `−∞` logits give zero probability). The coupling is
/// the run's default, like [`categorical`]'s.
///
/// # Errors
/// [`Error::InvalidWeights`] when the logits are empty, NaN, `+∞` or all `−∞`;
/// [`Error::NoRunContext`] outside a run.
///
/// ```
/// use stochad::{sample::categorical_logits, with_run};
/// let k: f64 = with_run(7, 0, || categorical_logits(&[0.0, f64::NEG_INFINITY, 2.0])).unwrap();
/// assert!(k == 0.0 || k == 2.0);
/// ```
pub fn categorical_logits<S: Scalar>(logits: &[S]) -> Result<S> {
    categorical_logits_with(logits, run_coupling())
}

/// [`categorical_logits`] with an explicit [`Coupling`] for this draw (overriding the run's
/// default).
///
/// # Errors
/// As [`categorical_logits`].
///
/// ```
/// use stochad::{sample::{categorical_logits_with, Coupling}, Dual, with_run};
/// let l = [Dual::<1>::variable(0.5, 0), Dual::from(-1.0)];
/// let k = with_run(7, 0, || categorical_logits_with(&l, Coupling::Inversion)).unwrap();
/// assert!(k.value == 0.0 || k.value == 1.0);
/// ```
pub fn categorical_logits_with<S: Scalar>(logits: &[S], coupling: Coupling) -> Result<S> {
    categorical_logits_by(logits, &Categorical::with_coupling(coupling))
}

/// [`categorical_logits`] with a fully configured family (coupling and redraw), like
/// [`categorical_by`].
///
/// # Errors
/// As [`categorical_logits`].
///
/// ```
/// use stochad::sample::{categorical_logits_by, Categorical, Coupling, Redraw};
/// let fam = Categorical { coupling: Coupling::Inversion, redraw: Redraw::Maximal };
/// let k: f64 = stochad::with_run(7, 0, || categorical_logits_by(&[0.0, 1.0], &fam)).unwrap();
/// assert!(k == 0.0 || k == 1.0);
/// ```
pub fn categorical_logits_by<S: Scalar>(logits: &[S], family: &Categorical) -> Result<S> {
    let mut max = f64::NEG_INFINITY;
    for (i, l) in logits.iter().enumerate() {
        let v = l.primal_value();
        if v.is_nan() || v == f64::INFINITY {
            return Err(Error::InvalidWeights {
                reason: format!("logit {i} is {v}"),
            });
        }
        max = max.max(v);
    }
    if max == f64::NEG_INFINITY {
        return Err(Error::InvalidWeights {
            reason: "no logits, or all logits are −∞".into(),
        });
    }
    let weights: SmallVec<[S; 8]> = logits.iter().map(|&l| (l - max).exp()).collect();
    categorical_by(&weights, family)
}
