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
mod family;

pub use bernoulli::Bernoulli;
pub use family::{Family, Jump, Jumps};

use crate::context::{with_ctx, Mode};
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// The primal outcome of a draw and the uniform that produced it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Draw {
    /// The outcome (an integer, as `f64`).
    pub outcome: f64,
    /// The uniform in [0, 1) it was drawn with (`NaN` when the exact oracle forced the outcome).
    pub u: f64,
}

/// Validates `params` and draws the primal outcome from the current run: by inversion of one
/// uniform of the primal stream, or, under the exact oracle, the outcome its enumeration forces.
pub fn draw_primal<F: Family>(family: &F, params: &[f64]) -> Result<Draw> {
    family.validate(params)?;
    with_ctx("a discrete draw", |ctx| match &mut ctx.mode {
        Mode::Sample => {
            let u = ctx.primal_uniform();
            Ok(Draw { outcome: family.quantile(params, u), u })
        }
        Mode::Enumerate(e) => {
            let k = if e.pos < e.path.len() {
                e.path[e.pos]
            } else {
                let support = family.support(params, e.tail);
                let first = *support.first().ok_or_else(|| {
                    Error::config(format!("{}: empty support", family.name()))
                })?;
                e.path.push(first);
                e.supports.push(support);
                first
            };
            e.pos += 1;
            ctx.draws += 1;
            Ok(Draw { outcome: k, u: f64::NAN })
        }
    })?
}

/// The primal values of a slice of scalars.
pub(crate) fn values<S: Scalar>(params: &[S]) -> smallvec::SmallVec<[f64; 8]> {
    params.iter().map(|p| p.value()).collect()
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
