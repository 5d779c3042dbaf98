//! The smoothed backend: instead of alternative values, each value carries the linearised
//! expected contribution δ̃ = Σ β·Δ of the jumps behind it, propagated by the chain rule.
//! Cheapest of all; unbiased for programs linear in the draws, biased in general.

use smallvec::SmallVec;

use super::backend::Backend;
use crate::context::RunContext;
use crate::error::Result;
use crate::sample::{Draw, Family};

/// Smoothed backend: the payload is the smoothed tangent δ̃.
#[derive(Clone, Copy, Debug, Default)]
pub struct Smoothed;

impl Backend for Smoothed {
    type Pert = f64;
    const NAME: &'static str = "smoothed";

    fn is_empty(p: &f64) -> bool {
        *p == 0.0
    }

    #[inline]
    fn map1(p: f64, _x: f64, _fx: f64, dfx: f64, _f: &impl Fn(f64) -> f64) -> f64 {
        if p == 0.0 {
            0.0
        } else {
            dfx * p
        }
    }

    #[inline]
    fn map2(
        a: f64,
        b: f64,
        _x: f64,
        _y: f64,
        _fxy: f64,
        dfx: f64,
        dfy: f64,
        _f: &impl Fn(f64, f64) -> f64,
    ) -> f64 {
        let mut s = 0.0;
        if a != 0.0 {
            s += dfx * a;
        }
        if b != 0.0 {
            s += dfy * b;
        }
        s
    }

    #[inline]
    fn map_n<const K: usize>(
        perts: [f64; K],
        _x: [f64; K],
        _fx: f64,
        grad: &[f64; K],
        _f: &impl Fn([f64; K]) -> f64,
    ) -> f64 {
        perts
            .iter()
            .zip(grad)
            .filter(|(p, _)| **p != 0.0)
            .map(|(p, g)| g * p)
            .sum()
    }

    fn draw<F: Family>(
        ctx: &mut RunContext,
        family: &F,
        values: &[f64],
        tangents: &[f64],
        perts: &[f64],
        draw: Draw,
    ) -> Result<f64> {
        // The parameters move with their pathwise and smoothed tangents together.
        let total: SmallVec<[f64; 8]> = tangents.iter().zip(perts).map(|(t, p)| t + p).collect();
        if total.iter().all(|&t| t == 0.0) {
            return Ok(0.0);
        }
        let k = draw.outcome;
        Ok(family
            .jumps(values, &total, k, &mut ctx.coupling)
            .iter()
            .map(|j| j.weight * (j.target - k))
            .sum())
    }

    fn contribution(p: &f64) -> f64 {
        *p
    }

    fn flips(_: &f64, _: &f64, _: f64, _: f64, _: fn(f64, f64) -> bool) -> bool {
        false
    }

    fn alternatives(_: &f64) -> SmallVec<[(u32, f64); 4]> {
        SmallVec::new()
    }

    fn from_alternatives(_: &[(u32, f64)]) -> f64 {
        0.0
    }

    fn couple(_: &[f64]) -> SmallVec<[u32; 4]> {
        SmallVec::new()
    }
}
