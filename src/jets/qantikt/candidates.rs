//! The candidates of one step — every pair (merge) and every object (move to the jet list) — which
//! of them can matter in some world, and their weights.
//!
//! Distances are kept multiplied by R², as FastJet keeps them: a pair has D̃ = min(s_a, s_b)·ΔR²,
//! a beam entry D̃ = s_a·R², with s = 1/pt² (so the α → ∞ limit takes FastJet's decisions). The
//! weight w = exp(−α (D̃ − D̃min)/D̃min) does not change under the common factor R².
//!
//! Which candidates are looked at is the [`search`](super::search)'s job.

use smallvec::SmallVec;

use crate::error::{Error, Result};
use crate::jets::error::invalid_input;
use crate::jets::momentum::delta_r2_from;
use crate::scalar::{Scalar, World};

use super::state::State;

/// One candidate: merge slots `a < b`, or, for `a == b`, move slot `a` to the jet list.
/// Candidates are laid out in the order (a, b): each slot's beam entry, then its pairs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Candidate {
    /// The lower slot.
    pub a: u32,
    /// The higher slot (equal to `a` for a beam entry).
    pub b: u32,
}

impl Candidate {
    /// Slot `a` moves to the jet list.
    #[inline]
    pub(super) fn beam(a: usize) -> Self {
        Candidate {
            a: a as u32,
            b: a as u32,
        }
    }

    /// Merge slots `a` and `b` (any order).
    #[inline]
    pub(super) fn pair(a: usize, b: usize) -> Self {
        Candidate {
            a: a.min(b) as u32,
            b: a.max(b) as u32,
        }
    }

    /// The layout order as one integer.
    #[inline]
    pub(super) fn key(&self) -> u64 {
        ((self.a as u64) << 32) | self.b as u64
    }

    /// The candidate of a [`Candidate::key`].
    #[inline]
    pub(super) fn from_key(k: u64) -> Self {
        Candidate {
            a: (k >> 32) as u32,
            b: k as u32,
        }
    }

    /// Whether this is a beam entry (the object becomes a jet).
    #[inline]
    pub fn is_beam(&self) -> bool {
        self.a == self.b
    }
}

/// The distances D̃ of the candidates in the number type and their activity flags (1 where
/// both slots are active, per world). In a world where a candidate is inactive its distance is
/// meaningless (cleared slots hold neutral kinematics) and its weight will be 0.
///
/// `known` is empty or holds beside each candidate the distance the search computed for a pair
/// of members (NaN for the others): the same operations on the same `f64` values, taken as they
/// are where both slots are plain.
///
/// `worldwise`: the numbers without their worlds (value and tangents only), for a draw that
/// takes each world's parameters as values ([`world_weights`]); a slot whose kinematics carry
/// no tangent is then read in `f64` whatever worlds it differs in.
pub(super) fn distances<S: Scalar>(
    st: &State<S>,
    cands: &[Candidate],
    known: &[f64],
    r2: S,
    worldwise: bool,
    d: &mut Vec<S>,
    on: &mut Vec<S>,
) {
    d.clear();
    on.clear();
    // Every candidate a member's beam entry or a pair of members whose distance the search
    // computed, and R² a constant (runs in `f64`): the same numbers without a branch per
    // candidate on how to get them.
    if r2.is_constant()
        && known.len() == cands.len()
        && st.search.varying().is_empty()
        // (A fold, not `all`: without the early exit it vectorises.)
        && st.plain.iter().fold(true, |all, &p| all & p)
    {
        let r2 = r2.primal_value();
        d.extend(cands.iter().zip(known).map(|(c, &x)| {
            let beam = st.kin[c.a as usize][2].primal_value() * r2;
            debug_assert!(c.is_beam() || !x.is_nan());
            S::from(if c.is_beam() { beam } else { x })
        }));
        on.extend(cands.iter().map(|c| {
            S::from(if c.is_beam() {
                st.active[c.a as usize].primal_value()
            } else {
                1.0
            })
        }));
        return;
    }
    d.reserve(cands.len());
    on.reserve(cands.len());
    let plain = if worldwise { &st.flat } else { &st.plain };
    let strip = |x: S| if worldwise { x.without_worlds() } else { x };
    let kin = |i: usize| st.kin[i].map(strip);
    let active = |i: usize| strip(st.active[i]);
    // A plain slot's numbers as f64 (its primal values: a flat slot may carry worlds).
    let kin_f64 = |i: usize| st.primal_kin(i);
    let active_f64 = |i: usize| st.active[i].primal_value();
    for (i, c) in cands.iter().enumerate() {
        let (a, b) = (c.a as usize, c.b as usize);
        if let Some(&x) = known.get(i).filter(|x| !x.is_nan()) {
            if st.plain[a] && st.plain[b] {
                debug_assert_eq!(x, pair_distance_f64(kin_f64(a), kin_f64(b)));
                d.push(S::from(x));
                // Members: active in every world.
                on.push(S::one());
                continue;
            }
        }
        if c.is_beam() {
            d.push(strip(st.kin[a][2]) * r2);
            // A plain slot's flag is the constant it was read as (it may carry a relaxation's
            // tangent that later steps are not to see, see `State::apply_relaxed`).
            on.push(if plain[a] {
                S::from(active_f64(a))
            } else {
                active(a)
            });
        } else if plain[a] && plain[b] {
            // Constants: the same operations in f64.
            d.push(S::from(pair_distance_f64(kin_f64(a), kin_f64(b))));
            on.push(S::from(active_f64(a) * active_f64(b)));
        } else if plain[a] || plain[b] {
            // One side (c) constant: its numbers enter as f64 (a third of the arithmetic).
            let (v, c) = if plain[b] { (a, b) } else { (b, a) };
            d.push(pair_distance_to(kin(v), kin_f64(c)));
            on.push(active(v) * active_f64(c));
        } else {
            let ([ya, pa, sa], [yb, pb, sb]) = (kin(a), kin(b));
            d.push(pair_distance([ya, pa, sa, yb, pb, sb]));
            on.push(active(a) * active(b));
        }
    }
}

/// The candidates' weights in each of `worlds` (live, coupled: [`State::live_worlds`]) as
/// `f64`, world-major into `out`: the same formulas as [`distances`], [`smallest`] and
/// [`weights`] on each world's values, where `d`, `on`, `w` and `dmin` are those of the
/// numbers without worlds (`distances(.., worldwise = true, ..)`) and R² and α are the same in
/// every world (the clusterer draws world-wise only then). `scratch` is room (see
/// [`WorldScratch`]). A candidate whose slots are the same in every world keeps its primal
/// distance; where also the world's smallest distance is the primal's, its primal weight, and
/// where it is an earlier world's, that world's weight (the same formula on the same numbers).
/// A weight the formula computes below `negligible` (the clusterer's ε, of the world's largest
/// weight, 1) is 0 instead, without its `exp`: the candidate is there for another world, and
/// in this one it is as negligible as the candidates the search skipped (keep-16 computed 63 %
/// of its world weights so; the runs came out the same bit for bit).
///
/// # Errors
/// As [`smallest`], for a world whose smallest distance is not above 10⁻⁹⁰.
pub(super) fn world_weights<S: Scalar>(
    st: &State<S>,
    cands: &[Candidate],
    (d, on, w): (&[S], &[S], &[S]),
    (dmin, r2, alpha, negligible): (S, f64, f64, f64),
    worlds: &[World],
    out: &mut Vec<f64>,
    WorldScratch {
        rows: scratch,
        geo,
        moving,
        moves,
        varies,
    }: &mut WorldScratch,
) -> Result<()> {
    let n = cands.len();
    out.clear();
    out.resize(worlds.len() * n, 0.0);
    // −∞ for ε = 0 (the dense reference): no weight is dropped.
    let ln_negligible = negligible.ln();
    let m0 = dmin.primal_value();
    let varying = st.search.varying();
    // Which slots differ between worlds: a table, not a look at each slot's views per
    // candidate.
    varies.clear();
    varies.resize(st.len(), false);
    for &v in varying {
        varies[v as usize] = true;
    }
    // Every slot's geometry and flag as the world at hand sees it, for the slots of candidates
    // that differ between worlds (`moving`) only: the primal's, the varying slots' overwritten
    // world by world (read straight from this table, a candidate costs a fraction of looking
    // its slots' views up). Entries of other slots are stale and never read.
    if geo.len() < st.len() {
        geo.resize(st.len(), (0.0, 0.0, 0.0, false));
    }
    let primal_geo = |i: usize| {
        let [y, phi, s] = st.primal_kin(i);
        (y, phi, s, st.active[i].primal_value() == 1.0)
    };
    // A candidate of slots the same in every world has its primal distance and flag in every
    // world; only those of varying slots (`moving`) are looked at world by world.
    let primal = |k: usize| {
        let a = if on[k].primal_value() == 1.0 {
            1.0
        } else {
            0.0
        };
        (d[k].primal_value(), a)
    };
    moving.clear();
    moves.clear();
    let mut still_min = f64::INFINITY;
    for (k, c) in cands.iter().enumerate() {
        let (a, b) = (c.a as usize, c.b as usize);
        let (va, vb) = (varies[a], varies[b]);
        let m = va || vb;
        moves.push(m);
        if m {
            moving.push(k as u32);
            if !va {
                geo[a] = primal_geo(a);
            }
            if !vb {
                geo[b] = primal_geo(b);
            }
        } else {
            let (x, a) = primal(k);
            still_min = if a == 1.0 && x < still_min {
                x
            } else {
                still_min
            };
        }
    }
    let nm = moving.len();
    scratch.clear();
    // Per smallest distance other than the primal's, the first world with it: a later world
    // with the same one takes that world's weights wherever it sees the candidate alike (with
    // keep-16, 27 worlds a step had 17 distinct smallest distances on the bench events).
    let mut firsts: SmallVec<[(f64, usize); 8]> = SmallVec::new();
    for (i, &world) in worlds.iter().enumerate() {
        // Each varying slot's view of this world (once per world, not per candidate: with
        // many worlds a slot has many views).
        for &v in varying {
            let x = st.search.views(v as usize)[st.varying_view_index(v as usize, world)];
            geo[v as usize] = (x.y, x.phi, x.s, x.on);
        }
        let geo = &geo[..];
        // A moving candidate's distance and flag (1 or 0) in this world: the same operations as
        // the primal's.
        let moving_in = |k: usize| {
            let c = cands[k];
            let (a, b) = (c.a as usize, c.b as usize);
            let (ya, pa, sa, oa) = geo[a];
            let (x, act) = if c.is_beam() {
                (sa * r2, oa)
            } else {
                let (yb, pb, sb, ob) = geo[b];
                (pair_distance_f64([ya, pa, sa], [yb, pb, sb]), oa && ob)
            };
            (x, if act { 1.0 } else { 0.0 })
        };
        // The smallest active distance (`smallest` raises the inactive ones above it).
        let mut m = still_min;
        for &k in moving.iter() {
            let (x, a) = moving_in(k as usize);
            m = if a == 1.0 && x < m { x } else { m };
            scratch.push((x, a));
        }
        if !(m > 1e-90 && m < f64::INFINITY) {
            let seen_in = |k: usize| {
                if moves[k] {
                    moving_in(k)
                } else {
                    primal(k)
                }
            };
            let k = (0..n).find(|&k| seen_in(k) == (m, 1.0));
            return Err(coincident(m, k.map(|k| cands[k]), true));
        }
        let (before, this) = scratch.split_at(i * nm);
        let (done, row) = out.split_at_mut(i * n);
        let row = &mut row[..n];
        // a·exp(e) for a flag a of 0 or 1: 0 without the exponent where a = 0 (e ≤ 0, so the
        // product is +0 either way).
        let weight = |(x, a): (f64, f64)| {
            if a != 1.0 {
                return 0.0;
            }
            let e = ((x - m) * (-alpha / m)).min(0.0);
            if e < ln_negligible {
                0.0
            } else {
                e.exp()
            }
        };
        if m == m0 {
            // The primal's weights, but where the world sees a candidate otherwise.
            for (o, wk) in row.iter_mut().zip(w) {
                *o = wk.primal_value();
            }
            for (&k, &xa) in moving.iter().zip(this) {
                if xa != primal(k as usize) {
                    row[k as usize] = weight(xa);
                }
            }
        } else if let Some(&(_, j)) = firsts.iter().find(|f| f.0 == m) {
            // World j's weights, but where this world sees a candidate otherwise.
            row.copy_from_slice(&done[j * n..][..n]);
            let seen = &before[j * nm..][..nm];
            for ((&k, &xa), &xa_j) in moving.iter().zip(this).zip(seen) {
                if xa != xa_j {
                    row[k as usize] = weight(xa);
                }
            }
        } else {
            firsts.push((m, i));
            for (k, (o, &mv)) in row.iter_mut().zip(moves.iter()).enumerate() {
                if !mv {
                    *o = weight(primal(k));
                }
            }
            for (&k, &xa) in moving.iter().zip(this) {
                row[k as usize] = weight(xa);
            }
        }
    }
    Ok(())
}

/// Room for [`world_weights`]: every world's distances and flags of the candidates that differ
/// between worlds (`moving`, and per candidate whether it is one), every slot's geometry and
/// flag in the world at hand, and per slot whether it is varying.
#[derive(Debug, Default)]
pub(super) struct WorldScratch {
    rows: Vec<(f64, f64)>,
    geo: Vec<(f64, f64, f64, bool)>,
    moving: Vec<u32>,
    moves: Vec<bool>,
    varies: Vec<bool>,
}

/// The error for a smallest distance `dmin` not above 10⁻⁹⁰ at candidate `c` (where known), in
/// the primal history or in an alternative world.
fn coincident(dmin: f64, c: Option<Candidate>, in_world: bool) -> Error {
    let at = c.map_or(String::new(), |c| {
        format!(" (candidate slots {} and {})", c.a, c.b)
    });
    let (place, more) = if in_world {
        (
            "in an alternative world, ",
            "; where R or α carry worlds of their own (a program that draws them), this is also \
             how a slot reads beside a merged object with pt = 0 in the primal, whose scale \
             10³⁰⁰ leaves a number no room for another world's value",
        )
    } else {
        ("", "")
    };
    invalid_input(format!(
        "Qanti-kT: {place}the smallest distance is {dmin}{at}: coincident particles (ΔR = 0) \
         make the weights exp(−α (D − Dmin)/Dmin) undefined; merge exact duplicates before \
         clustering{more}"
    ))
}

/// min(s_a, s_b)·ΔR²_ab of two objects' [y, φ, s] in `f64`: the operations every distance of a
/// pair is computed with, whatever the number type (so a constant pair, a world's row and the
/// number type's value agree bit for bit).
#[inline]
fn pair_distance_f64([ya, pa, sa]: [f64; 3], [yb, pb, sb]: [f64; 3]) -> f64 {
    sa.min(sb) * delta_r2_from(ya, pa, yb, pb)
}

/// min(s_a, s_b)·ΔR²_ab from [y_a, φ_a, s_a, y_b, φ_b, s_b] (each slot's kinematics as stored)
/// as one step of the number type, with the operations of FastJet (Δφ folded into [0, π] in each
/// world).
fn pair_distance<S: Scalar>(x: [S; 6]) -> S {
    S::map_n(
        x,
        |[ya, pa, sa, yb, pb, sb]| pair_distance_f64([ya, pa, sa], [yb, pb, sb]),
        |x, _| pair_gradient(x),
    )
}

/// [`pair_distance`] with the second object constant: `[y, φ, s]` of each, the second in f64.
/// The same operations, so the same values (min and ΔR² are symmetric in the two objects).
fn pair_distance_to<S: Scalar>(x: [S; 3], c: [f64; 3]) -> S {
    let [yc, pc, sc] = c;
    S::map_n(
        x,
        |[y, p, s]| pair_distance_f64([y, p, s], c),
        |[y, p, s], _| {
            let g = pair_gradient([y, p, s, yc, pc, sc]);
            [g[0], g[1], g[2]]
        },
    )
}

/// The gradient of min(s_a, s_b)·ΔR²_ab in [y_a, φ_a, s_a, y_b, φ_b, s_b].
fn pair_gradient([ya, pa, sa, yb, pb, sb]: [f64; 6]) -> [f64; 6] {
    let dp = pa - pb;
    let mut dphi = dp.abs();
    // d fold(φa − φb)/dφa: the sign of the difference, reversed where it folds.
    let mut sign = dp.signum();
    if dphi > std::f64::consts::PI {
        dphi = std::f64::consts::TAU - dphi;
        sign = -sign;
    }
    let dy = ya - yb;
    let dr2 = dphi * dphi + dy * dy;
    let m = sa.min(sb);
    let (gsa, gsb) = if sa <= sb { (dr2, 0.0) } else { (0.0, dr2) };
    let (gy, gp) = (2.0 * m * dy, 2.0 * m * dphi * sign);
    [gy, gp, gsa, -gy, -gp, gsb]
}

/// The smallest distance among active candidates, in each world: the plain minimum of the
/// distances raised by `lift` where inactive. `lift` must exceed the smallest active distance of
/// every world (the search's bound U does) and stay moderate: an alternative value is stored as
/// a difference to the primal, so a huge lift would cost the world its precision.
///
/// # Errors
/// [`JetError::InvalidInput`](crate::jets::JetError::InvalidInput) when it is not above 10⁻⁹⁰ in some world (coincident objects, ΔR = 0:
/// the weights are undefined).
pub(super) fn smallest<S: Scalar>(d: &[S], on: &[S], lift: f64, cands: &[Candidate]) -> Result<S> {
    // A constant carries no worlds: its primal value is its only value.
    let sure = |a: &S| a.is_constant() && a.primal_value() == 1.0;
    // The same number either way: `min_of_slice` saves the triples building a number per step
    // of the fold, where the other number types run the plain fold faster (the zipped
    // iterators, without indexing through closures: ~2 % of an `f64` run).
    let dmin = if S::CARRIES_WORLDS {
        S::min_of_slice(d, |k| sure(&on[k]), |k| d[k] + (-on[k] + 1.0) * lift)
    } else {
        S::min_of(
            d.iter()
                .zip(on)
                .map(|(&x, a)| if sure(a) { x } else { x + (-*a + 1.0) * lift }),
        )
    }
    .ok_or_else(|| Error::config("Qanti-kT: no candidates while objects remain"))?;
    // Every world's (NaN included), so a world in which objects coincide is caught too.
    let worlds = dmin.world_values();
    if let Some(at) = worlds.iter().position(|&v| !(v > 1e-90 && v < lift)) {
        // The primal's candidate where the primal is at fault (a world's is not known here).
        let k = (at == 0)
            .then(|| {
                (0..d.len()).find(|&k| {
                    on[k].primal_value() == 1.0 && d[k].primal_value() == dmin.primal_value()
                })
            })
            .flatten();
        return Err(coincident(worlds[at], k.map(|k| cands[k]), at > 0));
    }
    Ok(dmin)
}

/// The weights on·exp(−α (D̃ − D̃min)/D̃min) of candidates with distances `d` and activity `on`,
/// each as one step of the number type, into `out`. The exponent is capped at 0 so an inactive
/// candidate's meaningless distance cannot overflow (an active one's exponent is ≤ 0 anyway).
pub(super) fn weights<S: Scalar>(d: &[S], on: &[S], dmin: S, alpha: S, out: &mut Vec<S>) {
    out.clear();
    // Most candidates (pairs of members) have a constant distance and flag: the same formulas
    // with those as f64, so the number type combines two inputs, not four (the same numbers: a
    // constant's tangents are 0), and the two inputs are shared by all of them.
    let general = |k: usize| {
        S::map_n(
            [d[k], on[k], dmin, alpha],
            |[x, a, m, al]| weight(x, a, m, al),
            |[x, a, m, al], v| weight_gradient(x, a, m, al, v),
        )
    };
    if S::CARRIES_WORLDS {
        // The triples read [Dmin, α] once for all (`map_n_shared`) and skip an inactive
        // candidate's exps; for the other number types the plain loop is faster (~3 % of an
        // `f64` run: the skip is a branch that never pays there, and the closures index).
        let constant = |k: usize| d[k].is_constant() && on[k].is_constant();
        S::map_n_shared(
            [dmin, alpha],
            d.len(),
            constant,
            |k, [m, al]| weight_or_skip(d[k].primal_value(), on[k].primal_value(), m, al),
            |k, [m, al], v| weight_partials(d[k].primal_value(), on[k].primal_value(), m, al, v),
            general,
            out,
        );
        return;
    }
    out.extend(d.iter().zip(on).enumerate().map(|(k, (&x, &a))| {
        if x.is_constant() && a.is_constant() {
            let (x, a) = (x.primal_value(), a.primal_value());
            S::map_n(
                [dmin, alpha],
                |[m, al]| weight(x, a, m, al),
                |[m, al], v| {
                    let [_, _, gm, gal] = weight_gradient(x, a, m, al, v);
                    [gm, gal]
                },
            )
        } else {
            general(k)
        }
    }));
}

/// The weight a·exp(−α (D̃ − D̃min)/D̃min) of a candidate with distance `x` and flag `a`, the
/// smallest distance `m` and sharpness `al`.
#[inline(always)]
fn weight(x: f64, a: f64, m: f64, al: f64) -> f64 {
    a * ((x - m) * (-al / m)).min(0.0).exp()
}

/// [`weight`], the same number, with an inactive candidate (a = +0, ~1 in 6 with the triples)
/// +0 without the exp, as 0·exp(min(e, 0)) is (the exponent is never NaN after the min, so its
/// exp is in [0, 1]).
#[inline(always)]
fn weight_or_skip(x: f64, a: f64, m: f64, al: f64) -> f64 {
    if a.to_bits() == 0 {
        return 0.0;
    }
    weight(x, a, m, al)
}

/// The last two entries of [`weight_gradient`] (in m and al), the same numbers, for a flag
/// without tangent: where a = +0 and the exponent is not NaN they are products of 0·exp(e),
/// the same for any exp(e) in [0, 1], so the exp is left out.
#[inline(always)]
fn weight_partials(x: f64, a: f64, m: f64, al: f64, v: f64) -> [f64; 2] {
    let e = (x - m) * (-al / m);
    if e > 0.0 {
        return [0.0, 0.0];
    }
    let w = if a == 1.0 {
        v
    } else if a.to_bits() == 0 && !e.is_nan() {
        0.0
    } else {
        e.exp()
    };
    [a * w * al * x / (m * m), -a * w * (x - m) / m]
}

/// The gradient of [`weight`] in (x, a, m, al), given its value `v`.
#[inline(always)]
fn weight_gradient(x: f64, a: f64, m: f64, al: f64, v: f64) -> [f64; 4] {
    let e = (x - m) * (-al / m);
    if e > 0.0 {
        return [0.0, 1.0, 0.0, 0.0];
    }
    // exp(e), without a second exp where the value already holds it.
    let w = if a == 1.0 { v } else { e.exp() };
    [
        -a * w * al / m,
        w,
        a * w * al * x / (m * m),
        -a * w * (x - m) / m,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dual;

    /// The weight and its partials in m and α without the exp where a = +0 are the formulas'
    /// numbers bit for bit, for flags of either zero, NaN and infinite distances, and exponents
    /// of either sign.
    #[test]
    fn inactive_shortcuts_are_the_formulas() {
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for x in [
            0.3,
            2.0,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -0.0,
            0.5,
        ] {
            for a in [0.0, -0.0, 1.0, 0.25] {
                for (m, al) in [
                    (0.5, 1.0),
                    (0.5, 0.0),
                    (2.0, 30.0),
                    (1e-80, 3.0),
                    (0.5, f64::INFINITY),
                ] {
                    let v = weight_or_skip(x, a, m, al);
                    let formula = a * ((x - m) * (-al / m)).min(0.0).exp();
                    assert_eq!(v.to_bits(), formula.to_bits(), "{x} {a} {m} {al}");
                    let [_, _, gm, gal] = weight_gradient(x, a, m, al, v);
                    assert_eq!(
                        bits(&weight_partials(x, a, m, al, v)),
                        bits(&[gm, gal]),
                        "{x} {a} {m} {al}"
                    );
                }
            }
        }
    }

    /// The pair distance's gradient (used wherever kinematics carry tangents, e.g. a relaxed
    /// clustering) against central differences, on both sides of the min and of the Δφ fold.
    #[test]
    fn pair_distance_gradients_match_finite_differences() {
        let f = |x: [f64; 6]| pair_distance(x);
        // [y_a, φ_a, s_a, y_b, φ_b, s_b]
        let points = [
            [0.3, 1.0, 0.5, -0.2, 1.4, 0.8], // s_a < s_b
            [0.3, 1.0, 0.9, -0.2, 1.4, 0.2], // s_a > s_b
            [1.1, 0.2, 0.4, 0.7, 6.0, 0.6],  // Δφ folds (|φ_a − φ_b| > π)
            [-0.5, 5.9, 0.7, 0.1, 0.4, 0.3], // folds, the other sign
        ];
        for x in points {
            let duals: [Dual<6>; 6] = std::array::from_fn(|i| Dual::variable(x[i], i));
            let d = pair_distance(duals);
            assert_eq!(d.value, f(x));
            for i in 0..6 {
                let h = 1e-6;
                let (mut up, mut down) = (x, x);
                up[i] += h;
                down[i] -= h;
                let fd = (f(up) - f(down)) / (2.0 * h);
                assert!(
                    (d.tangent[i] - fd).abs() < 1e-6 * (1.0 + fd.abs()),
                    "point {x:?}, coordinate {i}: gradient {} vs finite difference {fd}",
                    d.tangent[i]
                );
            }
            // The constant-side variant: the first object's three coordinates.
            let c = [x[3], x[4], x[5]];
            let v: [Dual<6>; 3] = std::array::from_fn(|i| Dual::variable(x[i], i));
            let dc = pair_distance_to(v, c);
            assert_eq!(dc.value, d.value);
            assert_eq!(&dc.tangent[..3], &d.tangent[..3]);
        }
    }
}
