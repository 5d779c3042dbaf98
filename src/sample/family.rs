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
