//! The interface every discrete distribution implements: inversion, probability mass, and the
//! couplings that turn a parameter's tangent into jumps to alternative outcomes.

use smallvec::SmallVec;

use crate::context::Stream;
use crate::dual::Dual;
use crate::error::Result;
use crate::sample::Draw;
use crate::scalar::Scalar;

/// A jump of a draw to an alternative outcome: the outcome `target` in the alternative world,
/// entered at rate `weight` per unit of the parameter direction (β in the paper).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jump {
    /// The alternative outcome.
    pub target: f64,
    /// Its weight β (may be negative).
    pub weight: f64,
}

/// The jumps one draw emits along one tangent direction (at most two for every coupling here).
pub type Jumps = SmallVec<[Jump; 2]>;

/// A discrete distribution sampled by inversion, parameterised by a slice of numbers.
///
/// Implementations give the quantile function (inversion), the probability mass (generic over the
/// scalar, so the exact oracle and the score function get its derivative for free), the jumps of
/// a coupling for a parameter tangent, and the support for enumeration.
pub trait Family: Sync {
    /// Name used in error messages, e.g. `"bernoulli"`.
    fn name(&self) -> &'static str;

    /// Checks the parameters; an error names the distribution and the parameter.
    fn validate(&self, params: &[f64]) -> Result<()>;

    /// Inversion: the smallest outcome `k` with `F(k) > u`, for `u` in [0, 1).
    fn quantile(&self, params: &[f64], u: f64) -> f64;

    /// Probability of outcome `k`, computed in the scalar arithmetic of `S`.
    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S;

    /// The *expected* jumps of the coupling for the primal outcome `k` when the parameters move
    /// with `tangents` (dθ of each parameter): every possible alternative outcome `j` with its
    /// rate `c_kj / p_k ≥ 0`. The coupling is unbiased when
    /// `Σ_k p_k Σ_j rate_kj (f(j) − f(k)) = d/dθ Σ_k p_k f(k)` for every `f`.
    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump>;

    /// Jumps to alternative outcomes for the primal outcome `k` when the parameters move with
    /// `tangents` (dθ of each parameter). Random choices of the coupling (targets) draw from
    /// `coupling`, never from the primal stream.
    ///
    /// The default returns [`Family::jump_rates`] as they are: right for couplings with at most
    /// two deterministic targets. Randomised couplings override it to sample a target ∝ its rate
    /// and give it the total rate as weight (same expectation).
    fn jumps(&self, params: &[f64], tangents: &[f64], k: f64, coupling: &mut Stream) -> Jumps {
        let _ = coupling;
        self.jump_rates(params, tangents, k).into_iter().collect()
    }

    /// The outcome of this draw in an alternative world whose parameters are `alt` (the primal
    /// drew `draw` with parameters `params`, both already validated): any coupling whose outcome
    /// has the distribution of `alt` given everything before is unbiased. The default inverts the
    /// primal's uniform under `alt` (`quantile(alt, draw.u)`); extra randomness, if a family
    /// needs it, comes from `coupling` (a stream of this redraw's own), never from the primal
    /// stream.
    fn redraw(&self, params: &[f64], alt: &[f64], draw: Draw, coupling: &mut Stream) -> f64 {
        let _ = (params, coupling);
        self.quantile(alt, draw.u)
    }

    /// The outcomes with non-zero probability, in increasing order; for infinite supports, the
    /// outcomes up to where the remaining tail mass is below `tail`.
    fn support(&self, params: &[f64], tail: f64) -> Vec<f64>;

    /// Outcomes of zero probability at `params` whose probability may still have a non-zero
    /// derivative: at a boundary such as p = 0 they gain mass as soon as the parameters move
    /// inward. The exact oracle adds those whose probability does move to the support, so the
    /// (one-sided) derivative there keeps their terms. Default: none.
    fn boundary_outcomes(&self, _params: &[f64]) -> Vec<f64> {
        Vec::new()
    }

    /// Whether moving the parameters along `tangents` leaves their domain: an outcome of
    /// probability 0 would get a negative one (p = 1 moving up, a zero weight moving down). No
    /// coupling exists in that direction, so a stochastic triple's draw takes the opposite one
    /// and negates the jumps' weights (the one-sided derivative from inside). The default asks
    /// the probability of each [`Family::boundary_outcomes`] outcome for its derivative.
    fn leaves_domain(&self, params: &[f64], tangents: &[f64]) -> bool {
        boundary_tangents(self, params, tangents)
            .into_iter()
            .any(|t| t < 0.0)
    }

    /// Whether the support changes when the parameters move along `tangents`: an outcome of
    /// probability 0 gets a non-zero derivative (a parameter on the boundary of its domain
    /// that moves). The score function is biased there: it never draws those outcomes. The
    /// default asks [`Family::boundary_outcomes`].
    fn support_moves(&self, params: &[f64], tangents: &[f64]) -> bool {
        boundary_tangents(self, params, tangents)
            .into_iter()
            .any(|t| t != 0.0 && !t.is_nan())
    }

    /// The score ∂θ log p(k) for parameter tangents `tangents`.
    fn score(&self, params: &[f64], tangents: &[f64], k: f64) -> f64 {
        let duals: SmallVec<[Dual<1>; 8]> = params
            .iter()
            .zip(tangents)
            .map(|(&p, &t)| Dual::new(p, [t]))
            .collect();
        let p = self.pmf(&duals, k);
        p.tangent[0] / p.value
    }
}

/// [`Family::jumps`], right at a boundary of the parameters' domain too. Where `tangents` lead
/// out of the domain ([`Family::leaves_domain`]: p = 1 moving up, say) no coupling exists in
/// that direction, and the derivative is the one-sided one from inside, as the exact oracle takes
/// it: the expectation is a polynomial (or analytic) in the parameters, so its derivative along
/// `tangents` is minus the one along `−tangents`, and the jumps are those of `−tangents` with
/// their weights negated. Without this, a draw at p = 1 with a rising p would open no world and
/// add a silent 0.
pub(crate) fn jumps_inward<F: Family + ?Sized>(
    family: &F,
    params: &[f64],
    tangents: &[f64],
    k: f64,
    coupling: &mut Stream,
) -> Jumps {
    if !family.leaves_domain(params, tangents) {
        return family.jumps(params, tangents, k, coupling);
    }
    let back: SmallVec<[f64; 8]> = tangents.iter().map(|t| -t).collect();
    let mut jumps = family.jumps(params, &back, k, coupling);
    for j in jumps.iter_mut() {
        j.weight = -j.weight;
    }
    jumps
}

/// [`Family::jump_rates`], right at a boundary of the parameters' domain too: where `tangents`
/// lead out of it, the rates of `−tangents` with their weights negated (as [`jumps_inward`]).
pub(crate) fn jump_rates_inward<F: Family + ?Sized>(
    family: &F,
    params: &[f64],
    tangents: &[f64],
    k: f64,
) -> Vec<Jump> {
    if !family.leaves_domain(params, tangents) {
        return family.jump_rates(params, tangents, k);
    }
    let back: SmallVec<[f64; 8]> = tangents.iter().map(|t| -t).collect();
    let mut rates = family.jump_rates(params, &back, k);
    for j in rates.iter_mut() {
        j.weight = -j.weight;
    }
    rates
}

/// The score ∂θ log p(k) of a sampled draw, or the typed error where the score function would be
/// silently biased ([`Family::support_moves`]).
pub(crate) fn score_of<F: Family + ?Sized>(
    family: &F,
    params: &[f64],
    tangents: &[f64],
    k: f64,
) -> Result<f64> {
    if family.support_moves(params, tangents) {
        return Err(crate::Error::ScoreAtBoundary {
            family: family.name(),
        });
    }
    Ok(family.score(params, tangents, k))
}

/// The derivative along `tangents` of the probability of each of `family`'s
/// [`Family::boundary_outcomes`] (none, without computing anything, inside the domain).
fn boundary_tangents<F: Family + ?Sized>(
    family: &F,
    params: &[f64],
    tangents: &[f64],
) -> SmallVec<[f64; 4]> {
    let boundary = family.boundary_outcomes(params);
    if boundary.is_empty() {
        return SmallVec::new();
    }
    let duals: SmallVec<[Dual<1>; 8]> = params
        .iter()
        .zip(tangents)
        .map(|(&p, &t)| Dual::new(p, [t]))
        .collect();
    boundary
        .iter()
        .map(|&k| family.pmf(&duals, k).tangent[0])
        .collect()
}
