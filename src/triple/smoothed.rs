//! The smoothed backend: instead of alternative values, each value carries the linearised
//! expected contribution δ̃ = Σ β·Δ of the jumps behind it, propagated by the chain rule.
//! Cheap; unbiased for programs linear in the draws, biased in general.
//!
//! Arithmetic cannot see a discontinuous function of a discrete value (its derivative is 0
//! almost everywhere), so a smoothed value also keeps the jumps behind it as alternative worlds
//! (up to two per direction, pruned unbiasedly beyond, like [`KeepTriple`](crate::KeepTriple)). [`propagate`](crate::propagate), [`select`](crate::select)
//! and [`index`](crate::index) evaluate their function in each of those worlds: for a jump of
//! weight β from `y` to `y'`, the output's smoothed tangent gains `β·(f(y') − f(y))`, the finite
//! difference along the jump. The estimate is read off δ̃ alone, so programs that never call
//! `propagate` get exactly the numbers they got before the worlds existed.
//!
//! Why the worlds: δ̃ alone says how much the value moves on average, not where to, so a function
//! given only δ̃ can apply nothing but its derivative, which is 0 for a step function; that is how
//! `propagate` used to return a silent zero. StochasticAD.jl's smoothed backend (`SmoothedFIs`)
//! also stores only δ and maps it with a derivative rule (`map_Δs(…; deriv)`), so its `propagate`
//! has no finite difference to take either.

use smallvec::SmallVec;

use super::backend::Backend;
use super::keep::{fit, pack, Buf, Keep, KeepPert};
use crate::context::{with_live_ctx, RunContext};
use crate::error::Result;
use crate::sample::{jumps_inward, Draw, Family};

/// How many alternative worlds (jumps) a smoothed value keeps per direction for `propagate`:
/// two hold every jump of one draw (the inversion coupling of a categorical jumps left or right).
pub(crate) const SMOOTHED_WORLDS: usize = 2;

type Worlds = Keep<SMOOTHED_WORLDS, SMOOTHED_WORLDS>;

/// Smoothed backend: the payload is the smoothed tangent δ̃, plus the jumps behind it as worlds
/// for `propagate`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smoothed;

/// The payload of a smoothed value along one direction: the smoothed tangent δ̃ (the estimate's
/// part from jumps) and the jumps' alternative worlds, which only `propagate` reads.
///
/// ```
/// use stochad::triple::SmoothedPert;
/// let p = SmoothedPert::from(0.5);
/// assert_eq!(p.tangent(), 0.5);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SmoothedPert {
    tangent: f64,
    worlds: KeepPert<SMOOTHED_WORLDS, SMOOTHED_WORLDS>,
}

impl SmoothedPert {
    /// The smoothed tangent δ̃: what this value adds to the derivative estimate.
    pub fn tangent(&self) -> f64 {
        self.tangent
    }
}

/// A payload with smoothed tangent `tangent` and no worlds.
impl From<f64> for SmoothedPert {
    fn from(tangent: f64) -> Self {
        SmoothedPert {
            tangent,
            worlds: KeepPert::default(),
        }
    }
}

impl Backend for Smoothed {
    type Pert = SmoothedPert;
    const NAME: &'static str = "smoothed";

    #[inline]
    fn is_empty(p: &SmoothedPert) -> bool {
        p.tangent == 0.0 && Worlds::is_empty(&p.worlds)
    }

    #[inline]
    fn map1(p: SmoothedPert, x: f64, fx: f64, dfx: f64, f: &impl Fn(f64) -> f64) -> SmoothedPert {
        SmoothedPert {
            tangent: if p.tangent == 0.0 {
                0.0
            } else {
                dfx * p.tangent
            },
            worlds: Worlds::map1(p.worlds, x, fx, dfx, f),
        }
    }

    #[inline]
    fn map2(
        a: SmoothedPert,
        b: SmoothedPert,
        x: f64,
        y: f64,
        fxy: f64,
        dfx: f64,
        dfy: f64,
        f: &impl Fn(f64, f64) -> f64,
    ) -> SmoothedPert {
        let mut s = 0.0;
        if a.tangent != 0.0 {
            s += dfx * a.tangent;
        }
        if b.tangent != 0.0 {
            s += dfy * b.tangent;
        }
        SmoothedPert {
            tangent: s,
            worlds: Worlds::map2(a.worlds, b.worlds, x, y, fxy, dfx, dfy, f),
        }
    }

    #[inline]
    fn map_n<const K: usize>(
        perts: [SmoothedPert; K],
        x: [f64; K],
        fx: f64,
        grad: &[f64; K],
        f: &impl Fn([f64; K]) -> f64,
    ) -> SmoothedPert {
        let tangent = perts
            .iter()
            .zip(grad)
            .filter(|(p, _)| p.tangent != 0.0)
            .map(|(p, g)| g * p.tangent)
            .sum();
        SmoothedPert {
            tangent,
            worlds: Worlds::map_n(perts.map(|p| p.worlds), x, fx, grad, f),
        }
    }

    fn draw<F: Family>(
        ctx: &mut RunContext,
        family: &F,
        values: &[f64],
        tangents: &[f64],
        perts: &[SmoothedPert],
        draw: Draw,
    ) -> Result<SmoothedPert> {
        // The parameters move with their pathwise and smoothed tangents together; worlds carried
        // in by the parameters are summarised by their smoothed tangents, not redrawn.
        let total: SmallVec<[f64; 8]> = tangents
            .iter()
            .zip(perts)
            .map(|(t, p)| t + p.tangent)
            .collect();
        if total.iter().all(|&t| t == 0.0) {
            return Ok(SmoothedPert::default());
        }
        let k = draw.outcome;
        let jumps = jumps_inward(family, values, &total, k, &mut ctx.rng.coupling);
        let tangent = jumps.iter().map(|j| j.weight * (j.target - k)).sum();
        // Each jump becomes a world of weight β, so `propagate` can evaluate its function there.
        let mut buf = Buf::new();
        for j in &jumps {
            if j.weight != 0.0 && j.target != k {
                buf.push((ctx.new_pert(j.weight), j.target - k));
            }
        }
        fit::<SMOOTHED_WORLDS>(ctx, &mut buf);
        Ok(SmoothedPert {
            tangent,
            worlds: pack(buf),
        })
    }

    fn contribution(p: &SmoothedPert) -> f64 {
        p.tangent
    }

    /// Never: the smoothed backend follows the primal branch by design (it is biased for
    /// programs nonlinear in their draws anyway); branches that must see the jumps go through
    /// `propagate`.
    fn flips(_: &SmoothedPert, _: &SmoothedPert, _: f64, _: f64, _: fn(f64, f64) -> bool) -> bool {
        false
    }

    fn alternatives(p: &SmoothedPert) -> SmallVec<[(u32, f64); 4]> {
        Worlds::alternatives(&p.worlds)
    }

    /// The worlds `alts`, with the smoothed tangent of exactly those jumps (Σ β·Δ).
    fn from_alternatives(alts: &[(u32, f64)]) -> SmoothedPert {
        let tangent = if alts.is_empty() {
            0.0
        } else {
            with_live_ctx(|ctx| {
                alts.iter()
                    .filter(|e| ctx.worlds.perts[e.0 as usize].alive)
                    .map(|&(id, d)| ctx.worlds.perts[id as usize].weight * d)
                    .sum()
            })
        };
        SmoothedPert {
            tangent,
            worlds: Worlds::from_alternatives(alts),
        }
    }

    fn couple(perts: &[SmoothedPert]) -> SmallVec<[u32; 4]> {
        let worlds: SmallVec<[KeepPert<SMOOTHED_WORLDS, SMOOTHED_WORLDS>; 8]> =
            perts.iter().map(|p| p.worlds).collect();
        Worlds::couple(&worlds)
    }

    /// `propagate`'s output in world `id` differs by `delta` from the primal's: the smoothed
    /// tangent gains β·(delta − what the payload already had for that world), the finite
    /// difference along the jump; the world itself is kept for later `propagate`s.
    fn with_world(p: SmoothedPert, id: u32, delta: f64) -> SmoothedPert {
        let before = p.worlds.delta_of(id);
        let weight = with_live_ctx(|ctx| {
            let s = ctx.worlds.perts[id as usize];
            if s.alive {
                s.weight
            } else {
                0.0
            }
        });
        SmoothedPert {
            tangent: p.tangent + weight * (delta - before),
            worlds: Worlds::with_world(p.worlds, id, delta),
        }
    }
}
