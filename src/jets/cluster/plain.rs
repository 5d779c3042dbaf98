//! FastJet's `N2Plain` nearest-neighbour clustering on primal values: the reference semantics.
//!
//! Each active object keeps its nearest neighbour (searched within ΔR² < R², strict) and its
//! distance d_iJ = min(s_i, s_J) ΔR²_iJ (distances are kept multiplied by R², as in FastJet);
//! a step takes the smallest d_iJ (strict <: the lowest array position wins a tie), merges or
//! removes, moves the last object into the freed slot, and updates only the objects whose
//! neighbour changed. This mirrors FastJet's `_simple_N2_cluster` step by step, so ties and
//! array compaction resolve exactly as there. O(N²) overall.

use super::nn::{argmin, dij, Brief, Geometry, Recorder, NONE};

/// Sets `bj[i]`'s nearest neighbour among `bj[..n]` (without touching the others).
#[inline]
fn set_nn_nocross(bj: &mut [Brief], i: usize, n: usize, r2: f64) {
    let me = bj[i];
    let (mut best, mut nn) = (r2, NONE);
    // Before and after i; selects instead of branches (the outcome is hard to predict).
    for (k, o) in bj[..i]
        .iter()
        .enumerate()
        .chain(bj[..n].iter().enumerate().skip(i + 1))
    {
        let d = me.dist(o);
        let closer = d < best;
        best = if closer { d } else { best };
        nn = if closer { k as u32 } else { nn };
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
        let (mut best, mut nn) = (me.nn_dist, me.nn);
        for (k, o) in head.iter_mut().enumerate() {
            let d = me.dist(o);
            let closer = d < best;
            best = if closer { d } else { best };
            nn = if closer { k as u32 } else { nn };
            let closer = d < o.nn_dist;
            o.nn_dist = if closer { d } else { o.nn_dist };
            o.nn = if closer { a as u32 } else { o.nn };
        }
        me.nn_dist = best;
        me.nn = nn;
    }
    let mut dist: Vec<f64> = (0..n).map(|i| dij(&bj, i)).collect();

    while n > 0 {
        let (best, dmin) = argmin(&dist[..n]);

        let mut a = best;
        let d_step = dmin * inv_r2;
        let merged = bj[a].nn != NONE;
        let mut b = NONE as usize;
        if merged {
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

        if !merged {
            // FastJet recomputes the objects without neighbour here (its jetB is NULL); they
            // cannot gain one after a beam step, so only the relabelling of the tail remains.
            for o in &mut bj[..n] {
                o.nn = if o.nn as usize == tail {
                    a as u32
                } else {
                    o.nn
                };
            }
            continue;
        }
        // b's neighbour is only read at the end of the pass (at i = b it can only point below
        // b), so it is accumulated here.
        let new = bj[b];
        let (mut best_b, mut nn_b) = (r2, NONE);
        for i in 0..n {
            let nn = bj[i].nn;
            if nn != NONE && (nn as usize == a || nn as usize == b) {
                set_nn_nocross(&mut bj, i, n, r2);
                dist[i] = dij(&bj, i);
            }
            let d = bj[i].dist(&new);
            let other = i != b;
            if (d < bj[i].nn_dist) & other {
                bj[i].nn_dist = d;
                bj[i].nn = b as u32;
                dist[i] = dij(&bj, i);
            }
            let closer = (d < best_b) & other;
            best_b = if closer { d } else { best_b };
            nn_b = if closer { i as u32 } else { nn_b };
            let o = &mut bj[i];
            o.nn = if o.nn as usize == tail {
                a as u32
            } else {
                o.nn
            };
        }
        bj[b].nn_dist = best_b;
        bj[b].nn = nn_b;
        dist[b] = dij(&bj, b);
    }
}
