//! The Gumbel-softmax straight-through relaxation (Jang, Gu, Poole 2017, arXiv:1611.01144): the
//! one *biased* way to give a categorical draw a derivative, offered for comparison.

use smallvec::SmallVec;

use super::categorical::check_weights;
use crate::context::{with_ctx, Mode};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// A straight-through Gumbel-softmax draw: the category `k` and the relaxed one-hot vector `z`.
#[derive(Clone, Debug)]
pub struct Relaxed<S> {
    /// The category drawn, `argmax_k (ln w_k + g_k)` with Gumbel noise g (the categorical law).
    pub k: usize,
    /// Per category: value 1 at `k` and 0 elsewhere, tangent that of
    /// `softmax((ln w + g)/τ)` (straight through: the forward pass stays discrete).
    pub z: Vec<S>,
}

/// Draws a category with probability ∝ `weights` by the Gumbel-max trick and returns it with its
/// straight-through Gumbel-softmax relaxation at temperature `tau`.
///
/// The tangent of `z` is not that of E\[z\]: the estimator is biased (less so, and noisier, as
/// τ → 0). It consumes one primal uniform per category, so its runs do not follow the same
/// primal path as the inversion samplers for a seed.
///
/// # Errors
/// [`Error::InvalidWeights`] as for [`categorical`](super::categorical);
/// [`Error::InvalidParameter`] for τ not in (0, ∞); [`Error::InvalidConfig`] for number types
/// with alternative worlds (a relaxation opens none: use [`Dual`](crate::Dual)) and under the
/// exact oracle (which enumerates categories instead).
///
/// ```
/// use stochad::{sample::gumbel_softmax, Dual, Scalar};
/// let w = [Dual::<1>::variable(1.0, 0), Dual::from(2.0)];
/// let r = stochad::with_run(3, 0, || gumbel_softmax(&w, 0.5)).unwrap();
/// assert_eq!(r.z[r.k].value, 1.0);
/// assert_eq!(r.z[1 - r.k].value, 0.0);
/// // The two tangents sum to 0: the relaxation stays on the simplex.
/// assert!((r.z[0].tangent[0] + r.z[1].tangent[0]).abs() < 1e-12);
/// ```
pub fn gumbel_softmax<S: Scalar>(weights: &[S], tau: f64) -> Result<Relaxed<S>> {
    if S::CARRIES_WORLDS {
        return Err(Error::config(
            "gumbel_softmax is a pathwise relaxation: run it with Dual numbers, not triples",
        ));
    }
    if !(tau > 0.0 && tau.is_finite()) {
        return Err(Error::InvalidParameter {
            what: "gumbel_softmax: temperature τ",
            value: tau,
            expected: "(0, ∞)",
        });
    }
    let vals: SmallVec<[f64; 16]> = weights.iter().map(|w| w.primal_value()).collect();
    check_weights(&vals)?;
    let mut g: Vec<f64> = Vec::with_capacity(weights.len());
    with_ctx("a Gumbel-softmax draw", |ctx| {
        if matches!(ctx.mode, Mode::Enumerate(_)) {
            return Err(Error::config(
                "gumbel_softmax draws continuous noise; the exact oracle cannot enumerate it",
            ));
        }
        for _ in 0..weights.len() {
            // −ln(−ln u) with u in (0, 1): 1 − [0, 1) never gives ln 0.
            g.push(-(-(1.0 - ctx.primal_uniform()).ln()).ln());
        }
        Ok(())
    })??;
    let mut k = usize::MAX;
    let mut best = f64::NEG_INFINITY;
    for (i, (&w, gi)) in vals.iter().zip(&g).enumerate() {
        if w > 0.0 && w.ln() + gi > best {
            (k, best) = (i, w.ln() + gi);
        }
    }
    // softmax((ln w + g)/τ) in the number type, shifted by the primal maximum for stability.
    let logits: Vec<Option<S>> = weights
        .iter()
        .zip(&g)
        .map(|(&w, &gi)| (w.primal_value() > 0.0).then(|| (w.ln() + gi - best) / tau))
        .collect();
    let exps: Vec<S> = logits
        .iter()
        .map(|l| l.map_or(S::zero(), |l| l.exp()))
        .collect();
    let total: S = exps.iter().copied().sum();
    let z = exps
        .iter()
        .enumerate()
        .map(|(i, &e)| {
            let soft = e / total;
            let hard = if i == k { 1.0 } else { 0.0 };
            soft + (hard - soft.primal_value())
        })
        .collect();
    Ok(Relaxed { k, z })
}
