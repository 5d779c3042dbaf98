//! FastJet's `N2Plain` nearest-neighbour clustering on primal values.
//!
//! Each active object keeps its nearest neighbour (searched within ΔR² < R², strict) and its
//! distance d_iJ = min(s_i, s_J) ΔR²_iJ (distances are kept multiplied by R², as in FastJet);
//! a step takes the smallest d_iJ (strict <: the lowest array position wins a tie), merges or
//! removes, moves the last object into the freed slot, and updates only the objects whose
//! neighbour changed. This mirrors FastJet's `_simple_N2_cluster` step by step, so ties and
//! array compaction resolve exactly as there. O(N²) overall.

use std::f64::consts::{PI, TAU};

/// Marks "no neighbour within R".
const NONE: u32 = u32::MAX;

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
    /// Merge objects `a` and `b` (indices into the recorder's jet list) at distance `d`
    /// (normalised by R²); returns the new object's index and geometry.
    fn merge(&mut self, a: usize, b: usize, d: f64) -> (usize, Geometry);
    /// Object `a` becomes a final jet at beam distance `d`.
    fn beam(&mut self, a: usize, d: f64);
}

#[derive(Clone, Copy, Debug)]
struct Brief {
    rap: f64,
    phi: f64,
    scale: f64,
    nn_dist: f64,
    nn: u32,
    index: u32,
}

impl Brief {
    #[inline]
    fn new(g: Geometry, index: usize, r2: f64) -> Self {
        Brief {
            rap: g.rap,
            phi: g.phi,
            scale: g.scale,
            nn_dist: r2,
            nn: NONE,
            index: index as u32,
        }
    }

    /// ΔR², with the same operations as FastJet's `_bj_dist`.
    #[inline(always)]
    fn dist(&self, o: &Brief) -> f64 {
        let mut dphi = (self.phi - o.phi).abs();
        let deta = self.rap - o.rap;
        if dphi > PI {
            dphi = TAU - dphi;
        }
        dphi * dphi + deta * deta
    }
}

/// d_iJ·R² of object `i`: its neighbour distance times the smaller scale.
#[inline]
fn dij(bj: &[Brief], i: usize) -> f64 {
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

/// Sets `bj[i]`'s nearest neighbour among `bj[..n]` (without touching the others).
#[inline]
fn set_nn_nocross(bj: &mut [Brief], i: usize, n: usize, r2: f64) {
    let me = bj[i];
    let mut best = r2;
    let mut nn = NONE;
    for (k, o) in bj[..n].iter().enumerate() {
        if k == i {
            continue;
        }
        let d = me.dist(o);
        if d < best {
            best = d;
            nn = k as u32;
        }
    }
    bj[i].nn = nn;
    bj[i].nn_dist = best;
}

/// Clusters the objects with the given geometries (their recorder indices are 0..n).
pub(super) fn cluster<R: Recorder>(initial: &[Geometry], r2: f64, rec: &mut R) {
    let mut n = initial.len();
    let inv_r2 = 1.0 / r2;
    let mut bj: Vec<Brief> = initial
        .iter()
        .enumerate()
        .map(|(i, &g)| Brief::new(g, i, r2))
        .collect();

    // Initial neighbours: each object against all earlier ones, updating both (crosscheck).
    for a in 1..n {
        let (head, rest) = bj.split_at_mut(a);
        let me = &mut rest[0];
        for (k, o) in head.iter_mut().enumerate() {
            let d = me.dist(o);
            if d < me.nn_dist {
                me.nn_dist = d;
                me.nn = k as u32;
            }
            if d < o.nn_dist {
                o.nn_dist = d;
                o.nn = a as u32;
            }
        }
    }
    let mut dist: Vec<f64> = (0..n).map(|i| dij(&bj, i)).collect();

    while n > 0 {
        let mut best = 0;
        let mut dmin = dist[0];
        for (i, &d) in dist[..n].iter().enumerate().skip(1) {
            if d < dmin {
                best = i;
                dmin = d;
            }
        }

        let mut a = best;
        let d_step = dmin * inv_r2;
        let mut b = NONE as usize;
        if bj[a].nn != NONE {
            b = bj[a].nn as usize;
            // Keep the new object at the lower slot, so the slot freed is the higher one.
            if a < b {
                std::mem::swap(&mut a, &mut b);
            }
            let (k, g) = rec.merge(bj[a].index as usize, bj[b].index as usize, d_step);
            bj[b] = Brief::new(g, k, r2);
        } else {
            rec.beam(bj[a].index as usize, d_step);
        }

        n -= 1;
        let tail = n;
        bj[a] = bj[tail];
        dist[a] = dist[tail];
        let merged = b != NONE as usize;

        for i in 0..n {
            // FastJet also recomputes objects without neighbour after a beam step (its jetB is
            // NULL); they cannot gain one then, so skipping them changes nothing.
            let nn = bj[i].nn;
            if nn != NONE && (nn as usize == a || nn as usize == b) {
                set_nn_nocross(&mut bj, i, n, r2);
                dist[i] = dij(&bj, i);
            }
            if merged && i != b {
                let d = bj[i].dist(&bj[b]);
                if d < bj[i].nn_dist {
                    bj[i].nn_dist = d;
                    bj[i].nn = b as u32;
                    dist[i] = dij(&bj, i);
                }
                if d < bj[b].nn_dist {
                    bj[b].nn_dist = d;
                    bj[b].nn = i as u32;
                }
            }
            if bj[i].nn as usize == tail {
                bj[i].nn = a as u32;
            }
        }
        if merged {
            dist[b] = dij(&bj, b);
        }
    }
}
