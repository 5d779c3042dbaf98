//! What the nearest-neighbour searches share: the per-object record and the ΔR² formula.

use std::f64::consts::{PI, TAU};

/// Marks "no neighbour within R".
pub(super) const NONE: u32 = u32::MAX;

/// The geometry the search needs for one object: rapidity, azimuth in [0, 2π) and the
/// algorithm's scale s = pt^{2p}.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geometry {
    pub rap: f64,
    pub phi: f64,
    pub scale: f64,
}

/// What the search reports, and where merged objects come from.
pub(super) trait Recorder {
    /// Merge objects `a` and `b` (indices into the recorder's object list) at distance `d`
    /// (normalised by R²); returns the new object's index and geometry.
    fn merge(&mut self, a: usize, b: usize, d: f64) -> (usize, Geometry);
    /// Object `a` becomes a final jet at beam distance `d`.
    fn beam(&mut self, a: usize, d: f64);
}

/// An active object as the search sees it (FastJet's `BriefJet`): geometry, nearest neighbour
/// (a slot of the search's array, or [`NONE`]) with its ΔR², and the recorder's object index.
#[derive(Clone, Copy, Debug)]
pub(super) struct Brief {
    pub rap: f64,
    pub phi: f64,
    pub scale: f64,
    pub nn_dist: f64,
    pub nn: u32,
    pub index: u32,
}

impl Brief {
    /// A fresh record: no neighbour yet, search radius² `r2`.
    #[inline]
    pub fn new(g: Geometry, index: usize, r2: f64) -> Self {
        Brief {
            rap: g.rap,
            phi: g.phi,
            scale: g.scale,
            nn_dist: r2,
            nn: NONE,
            index: index as u32,
        }
    }

    /// ΔR², with the same operations as FastJet's `_bj_dist` (so bit-identical distances).
    #[inline(always)]
    pub fn dist(&self, o: &Brief) -> f64 {
        let mut dphi = (self.phi - o.phi).abs();
        let deta = self.rap - o.rap;
        if dphi > PI {
            dphi = TAU - dphi;
        }
        dphi * dphi + deta * deta
    }
}

/// d_iJ·R² of slot `i`: its neighbour distance times the smaller scale (FastJet's `_bj_diJ`).
#[inline]
pub(super) fn dij(bj: &[Brief], i: usize) -> f64 {
    let j = &bj[i];
    let mut s = j.scale;
    if j.nn != NONE {
        let t = bj[j.nn as usize].scale;
        if t < s {
            s = t;
        }
    }
    j.nn_dist * s
}

/// The position and value of the smallest entry of a non-empty slice, the first on a tie —
/// what a scan with strict `<` from the front returns — found with four running minima (which
/// the compiler vectorises) and a second pass for the position. Entries are never NaN.
#[inline]
pub(super) fn argmin(d: &[f64]) -> (usize, f64) {
    let mut m = [f64::INFINITY; 4];
    let chunks = d.chunks_exact(4);
    let rest = chunks.remainder();
    for c in chunks {
        for l in 0..4 {
            m[l] = if c[l] < m[l] { c[l] } else { m[l] };
        }
    }
    let mut min = m[0].min(m[1]).min(m[2].min(m[3]));
    for &x in rest {
        min = if x < min { x } else { min };
    }
    let k = d.iter().position(|&x| x == min).unwrap_or(0);
    (k, d[k])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain scan argmin replaces.
    fn scan(d: &[f64]) -> (usize, f64) {
        let (mut k, mut m) = (0, d[0]);
        for (i, &x) in d.iter().enumerate().skip(1) {
            if x < m {
                k = i;
                m = x;
            }
        }
        (k, m)
    }

    #[test]
    fn argmin_matches_the_strict_scan() {
        // Ties (repeated values), infinities, every length up to 40, minimum at every position.
        let mut x = 12345u64;
        for len in 1..40 {
            for _ in 0..50 {
                let d: Vec<f64> = (0..len)
                    .map(|_| {
                        x = x
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        match x >> 60 {
                            0 => f64::INFINITY,
                            v => (v % 5) as f64 * 0.5,
                        }
                    })
                    .collect();
                assert_eq!(argmin(&d), scan(&d), "{d:?}");
            }
        }
        assert_eq!(argmin(&[f64::INFINITY; 5]), (0, f64::INFINITY));
    }
}
