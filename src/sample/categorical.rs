//! Categorical(p₁, …, p_K) and its couplings.

use super::family::{Family, Jump, Jumps};
use super::Draw;
use crate::context::Stream;
use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// How a categorical draw turns the tangents `δ_i = dp_i/dθ` of its probabilities into jumps to
/// other categories. All are unbiased; they differ in variance.
///
/// Any flow `c_kj` between categories with `Σ_k (c_kj − c_jk) = δ_j` gives an unbiased
/// estimator: given the draw `k`, jump to `j` with weight `c_kj / p_k` (inversion and
/// proportional use flows `c ≥ 0`; [`Signed`](Coupling::Signed) uses `c_kj = p_k δ_j`, of
/// either sign).
///
/// # Which one
/// Choose per run on the driver ([`Gradient::coupling`](crate::estimate::Gradient::coupling),
/// used by every draw that names none) or per draw ([`categorical_with`](super::categorical_with),
/// [`categorical_logits_with`](super::categorical_logits_with)). Inversion jumps only to layout
/// neighbours, so it wins when neighbouring categories give similar outcomes (ordered
/// categories: counts, bins, positions); proportional ignores the layout and has the smallest
/// total jump rate, so it wins when neighbours are unrelated. Measured per-sample standard
/// deviation of d/dθ E\[f(K)\], K ~ Categorical(softmax(θ·s)), s = (0, 1, …, 7), θ = 0.2,
/// 10⁵ samples (`tests/sharp_edges.rs`, `inversion_wins_on_smooth_layouts_proportional_on_scattered_ones`):
///
/// | outcomes f along the layout | inversion | proportional |
/// |---|---|---|
/// | smooth, f = s = (0, 1, …, 7) | 3.08 | 8.26 |
/// | scattered, s = f = (0, 7, 2, 5, 4, 3, 6, 1) | 9.33 | 8.29 |
///
/// Inversion is 63 % below proportional on the smooth layout and 13 % above it on the
/// scattered one. Proportional is the default: on the project's jet clustering, where a
/// category is a pair of particles and the layout carries no meaning, it had the lower variance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Coupling {
    /// What inversion itself does: the boundaries of `k`'s interval `[F(k−1), F(k))` move with
    /// `L = Σ_{i<k} δ_i` and `R = Σ_{i≤k} δ_i`; for `L > 0` the draw moves left, for `R < 0`
    /// right, into the categories that take over the uncovered stretch (the nearest one with
    /// `p > 0`, and zero-probability ones in between that gain mass). At most two jumps, between
    /// layout neighbours: good when neighbouring categories give similar outcomes (see the table
    /// above).
    Inversion,
    /// A draw `k` with `δ_k < 0` jumps at rate `−δ_k / p_k` to a category `j` drawn with
    /// probability ∝ `max(δ_j, 0)`: the smallest possible total jump rate (½ Σ|δ|), and blind to
    /// the layout. The default: on the project's clustering measurements it had the lower
    /// variance (reference notes §1); it also wins when neighbouring categories are unrelated.
    #[default]
    Proportional,
    /// The proportional coupling's jump spread over `m` targets: the same total rate −δ_k/p_k,
    /// cut into `m` equal parts, each sent to a category drawn ∝ max(δ_j, 0) by systematic
    /// sampling (one uniform, `m` evenly spaced points on the cumulative gains; parts that land
    /// on the same category make one jump). The same expected jumps as
    /// [`Proportional`](Coupling::Proportional) (which `ProportionalFan(1)` is, draw for draw);
    /// a category with a share of at least 1/m of the gain is always among the targets. Up to
    /// `m` new worlds per draw, so it pays only with backends that keep that many: the pruned
    /// backend prunes them back to one, and a keep-8 one has little room. On Qanti-kT, a
    /// [`KeepTriple<32, 2>`](crate::KeepTriple) with `m = 8`, the score mix and the output
    /// control variate estimates dE\[mH\]/dR with a per-sample std 3.05× below the score
    /// function with baseline (median over 60 event × (R, α) cells) where keep-8 reaches 2.45×,
    /// at 3.5× its time (`docs/qantikt_studies.md`). `m` must be at least 1.
    ProportionalFan(u8),
    /// Every draw jumps, whatever its category `k`: once to a category `j ≠ k` that gains mass,
    /// drawn ∝ `δ_j` among those, with weight `G = Σ_{i≠k} max(δ_i, 0)`, and once to one that
    /// loses mass, drawn ∝ `−δ_j`, with weight `−L`, `L = Σ_{i≠k} max(−δ_i, 0)`. Given `k`, the
    /// two jumps' expected effect is `Σ_{j≠k} δ_j (f(j) − f(k)) = Σ_j δ_j f(j)`: the draw's whole
    /// derivative, whichever category the primal took. The proportional coupling instead jumps
    /// only from a category that loses mass, with weight `−δ_k / p_k`, largest exactly where
    /// the primal took an unlikely category — and then its jumps' effect `f(j) − f(k)` is
    /// largest too, so its estimate leans on which history the primal happened to take. Up to
    /// two new worlds per draw (negative weights included), so it pays with backends that keep
    /// several, and costs: on Qanti-kT a [`KeepTriple<8, 2>`](crate::KeepTriple) with the score
    /// mix and the output control variate estimates dE\[mH\]/dR and dE\[mH\]/dα with a
    /// per-sample std 2.87× and 2.68× below the score function with baseline (median of 60
    /// event × (R, α) cells, worst cell 1.90× and 1.34×) where the proportional coupling gives
    /// 2.56× and 2.48× (worst 1.04×, 1.07×), but at about 4× its time (13.5 ms per sample
    /// instead of 3.5 ms: the worlds stay full). See `docs/qantikt_studies.md`.
    Signed,
    /// The signed coupling's two jumps each spread over `m` targets: per side one uniform and
    /// `m` evenly spaced points on that side's cumulative mass over the categories `j ≠ k`
    /// (systematic sampling), each point a part of weight `G/m` (gaining side) or `−L/m`
    /// (losing side); parts that land on the same category make one jump. The same expected
    /// jumps as [`Signed`](Coupling::Signed) (which `SignedFan(1)` is, draw for draw: the
    /// same uniforms, the same jumps), and a category carrying at least 1/m of its side's mass
    /// is always among the targets. It is for the noise the signed coupling leaves within a
    /// history — which targets its two jumps happened to pick — as
    /// [`ProportionalFan`](Coupling::ProportionalFan) is for the proportional one's. Up to `2m`
    /// new worlds per draw, so it needs a backend with room for them (keep-32 rather than
    /// keep-8). On Qanti-kT, a [`KeepTriple<32, 2>`](crate::KeepTriple) with `m = 4`, the score
    /// mix and the output control variate estimates dE\[mH\]/dR and dE\[mH\]/dα with a
    /// per-sample std 4.75× and 5.21× below the score function with baseline (median of 60
    /// event × (R, α) cells, 500 samples; worst cell 2.95× and 2.66×) where keep-8 with
    /// `Signed` reaches 2.87× and 2.68×, at 76 ms per sample instead of 13.5 ms
    /// (`docs/qantikt_studies.md`).
    /// `m` must be at least 1.
    SignedFan(u8),
}

/// How an alternative world redraws a categorical whose weights it sees differently from the
/// primal (a world carried in by perturbed weights). Both are unbiased; they differ in how often
/// the world repeats the primal's choice, i.e. how long alternative histories stay close.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Redraw {
    /// Invert the primal's uniform under the world's weights, as every family does. Cheap, but a
    /// change of any weight shifts every later category's interval, so the world often picks a
    /// different category even where its probabilities barely moved.
    #[default]
    SameUniform,
    /// Maximal coupling: keep the primal's category k with probability min(1, p'_k / p_k), else
    /// draw from the excess (p' − p)⁺ (coupling-stream uniforms). The world repeats the primal's
    /// choice with probability 1 − TV(p, p'), the most any coupling allows, and the layout of
    /// the categories no longer matters.
    Maximal,
}

/// Categorical with probabilities `p_k = w_k / Σw`, parameters = the non-negative weights `w`
/// (normalised or not; zeros allowed); outcomes are the indices `0..K` as `f64`.
///
/// The normalisation happens inside, in `f64` (tangents `dp_k = (dw_k − p_k Σdw) / Σw`), so a
/// draw over thousands of weights carrying perturbations costs no per-category arithmetic of the
/// number type; alternative worlds renormalise their own weights.
///
/// Sampled by inversion: the smallest `k` with `w₀ + … + w_k > u · Σw`, so a zero-weight
/// category is never drawn and the search never runs past the last non-zero one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Categorical {
    /// The coupling used for new perturbations.
    pub coupling: Coupling,
    /// How alternative worlds carried in by the weights redraw.
    pub redraw: Redraw,
}

impl Categorical {
    /// The family with the given coupling and the default redraw.
    pub fn with_coupling(coupling: Coupling) -> Self {
        Categorical {
            coupling,
            ..Self::default()
        }
    }
}

/// Checks categorical weights: non-empty, finite, non-negative, not all zero. Returns their sum.
pub(crate) fn check_weights(w: &[f64]) -> Result<f64> {
    if w.is_empty() {
        return Err(Error::InvalidWeights {
            reason: "no categories".into(),
        });
    }
    // One pass (the check runs at every draw): the sum and the smallest weight, both
    // vectorised. NaN or +∞ make the sum non-finite, −∞ or a negative weight the smallest
    // negative; only then does a second pass find the first bad weight for the message.
    let (total, least) = sum_min4(w);
    if !(least >= 0.0 && total.is_finite()) {
        let ok = |x: f64| (0.0..f64::INFINITY).contains(&x);
        if let Some(i) = w.iter().position(|&x| !ok(x)) {
            return Err(Error::InvalidWeights {
                reason: format!(
                    "weight {i} is {}; weights must be finite and non-negative",
                    w[i]
                ),
            });
        }
    }
    if !(total > 0.0 && total.is_finite()) {
        return Err(Error::InvalidWeights {
            reason: format!("the weights sum to {total}"),
        });
    }
    Ok(total)
}

/// A sum over four independent accumulators: a long left-to-right sum waits on every addition's
/// latency, four chains run about four times faster (the rounding differs slightly).
fn sum4(xs: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let chunks = xs.chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + rest
}

/// [`sum4`] (the same bits) and the smallest element (NaN never taken; ∞ for none).
fn sum_min4(xs: &[f64]) -> (f64, f64) {
    let mut acc = [0.0; 4];
    let mut least = [f64::INFINITY; 4];
    let chunks = xs.chunks_exact(4);
    let rest: f64 = chunks.remainder().iter().sum();
    let rest_least = chunks
        .remainder()
        .iter()
        .fold(f64::INFINITY, |m, &x| if x < m { x } else { m });
    for c in chunks {
        for ((a, l), &x) in acc.iter_mut().zip(&mut least).zip(c) {
            *a += x;
            *l = if x < *l { x } else { *l };
        }
    }
    let least = least
        .into_iter()
        .fold(rest_least, |m, x| if x < m { x } else { m });
    ((acc[0] + acc[1]) + (acc[2] + acc[3]) + rest, least)
}

/// Probabilities and their tangents from weights and theirs.
fn normalise(w: &[f64], dw: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let (total, dtotal) = (sum4(w), sum4(dw));
    let p: Vec<f64> = w.iter().map(|x| x / total).collect();
    let dp = dw
        .iter()
        .zip(&p)
        .map(|(d, p)| (d - p * dtotal) / total)
        .collect();
    (p, dp)
}

impl Categorical {
    /// Inversion coupling: the rates into the categories that take over the stretches of `k`'s
    /// interval uncovered by its moving boundaries.
    ///
    /// With `R_j = Σ_{i≤j} δ_i`, category `j`'s new interval is `[F(j−1) + εR_{j−1}, F(j) + εR_j)`;
    /// the rate to `j` is `d/dε |old_k ∩ new_j| / p_k`. Left of `k` these are computed from prefix
    /// sums (`R_{−1} = 0` exactly), right of `k` from suffix sums (`R_{K−1} = 0` exactly), so
    /// rounding can never make the first category jump left or the last jump right.
    fn inversion_rates(p: &[f64], d: &[f64], k: usize) -> (Vec<Jump>, Vec<Jump>) {
        // pre[j] = R_j for j < k, summed from the left.
        let mut acc = 0.0;
        let pre: Vec<f64> = d[..k]
            .iter()
            .map(|&x| {
                acc += x;
                acc
            })
            .collect();
        let mut left = Vec::new();
        for j in (0..k).rev() {
            let (lo, hi) = (if j > 0 { pre[j - 1] } else { 0.0 }, pre[j]);
            if p[j] > 0.0 {
                push(&mut left, j, hi.max(0.0));
                break;
            }
            push(&mut left, j, hi - lo.max(0.0));
        }
        // suf[j − k] = R_j for j ≥ k, as −Σ_{i>j} δ_i summed from the right.
        let mut acc = 0.0;
        let mut suf: Vec<f64> = d[k..]
            .iter()
            .rev()
            .map(|&x| {
                let r = -acc;
                acc += x;
                r
            })
            .collect();
        suf.reverse();
        let mut right = Vec::new();
        for j in k + 1..p.len() {
            let (lo, hi) = (suf[j - 1 - k], suf[j - k]);
            if p[j] > 0.0 {
                push(&mut right, j, -lo);
                break;
            }
            push(&mut right, j, hi.min(0.0) - lo);
        }
        for r in left.iter_mut().chain(right.iter_mut()) {
            r.weight /= p[k];
        }
        (left, right)
    }

    /// Proportional coupling: from `k` with `δ_k < 0` to each `j` with `δ_j > 0` at rate
    /// `(−δ_k / p_k) · δ_j / Σ max(δ, 0)`.
    fn proportional_rates(p: &[f64], d: &[f64], k: usize) -> Vec<Jump> {
        if d[k].is_nan() || d[k] >= 0.0 {
            return Vec::new();
        }
        let gain: f64 = d.iter().map(|&x| x.max(0.0)).sum();
        let out = -d[k] / p[k];
        let mut v = Vec::new();
        for (j, &x) in d.iter().enumerate() {
            push(&mut v, j, out * x.max(0.0) / gain);
        }
        v
    }
}

/// The proportional coupling's jumps from `k`, sampled without building the rate table (draws
/// over thousands of categories are a hot path): if δ_k < 0, total rate −δ_k/p_k split over `m`
/// targets drawn ∝ max(δ_j, 0) by systematic sampling (points (u + i)/m of the cumulative gain,
/// i < m), parts on the same category merged. For `m = 1` the law of
/// [`Categorical::proportional_rates`] followed by `pick`, with the same uniform.
fn proportional_jumps(
    w: &[f64],
    dw: &[f64],
    k: usize,
    m: usize,
    stream: &mut Stream,
    out: &mut Jumps,
) {
    let (total, dtotal) = (sum4(w), sum4(dw));
    let dp = |j: usize| (dw[j] - w[j] / total * dtotal) / total;
    let dk = dp(k);
    if dk.is_nan() || dk >= 0.0 {
        return;
    }
    let gain: f64 = (0..w.len()).map(|j| dp(j).max(0.0)).sum();
    // NaN or 0: nothing gains mass.
    if gain.is_nan() || gain <= 0.0 {
        return;
    }
    let part = -dk / (w[k] / total) / m as f64;
    let u = stream.uniform();
    systematic(
        (0..w.len()).map(|j| (j, dp(j).max(0.0))),
        gain,
        m,
        u,
        part,
        out,
    );
}

/// Appends `m` parts of weight `part` spread over the categories by systematic sampling from
/// the uniform `u`: points (u + i)/m, i < m, of the running sum of `mass` (pairs (category,
/// mass ≥ 0), total `total`); the parts on one category make one jump. Rounding can leave
/// points past the running sum's end: those go to the last category with mass.
fn systematic(
    mass: impl Iterator<Item = (usize, f64)>,
    total: f64,
    m: usize,
    u: f64,
    part: f64,
    out: &mut Jumps,
) {
    let (first, mut placed, mut acc, mut last) = (out.len(), 0, 0.0, None);
    for (j, x) in mass {
        if x <= 0.0 {
            continue;
        }
        last = Some(j);
        acc += x;
        let before = placed;
        while placed < m && acc > (u + placed as f64) / m as f64 * total {
            placed += 1;
        }
        if placed > before {
            out.push(Jump {
                target: j as f64,
                weight: part * (placed - before) as f64,
            });
        }
        if placed == m {
            return;
        }
    }
    if let Some(j) = last {
        let rest = part * (m - placed) as f64;
        // Merged only with a jump of these parts, not one that was in `out` before.
        let own = out.len() > first;
        match out.last_mut() {
            Some(jump) if own && jump.target == j as f64 => jump.weight += rest,
            _ => out.push(Jump {
                target: j as f64,
                weight: rest,
            }),
        }
    }
}

/// The signed coupling's jumps from `k`, sampled without building the rate table: for the
/// categories other than `k` that gain mass, jumps to `m` targets among them drawn ∝ δ_j by
/// systematic sampling (points (u + i)/m of their cumulative gain, i < m), each part weighing
/// their total gain / m, parts on the same category merged; the same for those that lose mass,
/// with the total loss as a negative weight (a side with nothing on it emits no jump and draws
/// no uniform; NaN tangents emit none; categories of negligible weight count for nothing, see
/// [`NEGLIGIBLE`]). For `m = 1` one jump per side to a target drawn ∝ δ_j carrying the whole
/// side.
fn signed_jumps(w: &[f64], dw: &[f64], k: usize, m: usize, stream: &mut Stream, out: &mut Jumps) {
    let signed = Signed::new(w, dw);
    let (mut gain, mut loss) = (0.0, 0.0);
    for j in (0..w.len()).filter(|&j| j != k && signed.counts(j)) {
        let d = signed.dp(j);
        gain += d.max(0.0);
        loss += (-d).max(0.0);
    }
    for (side, sign) in [(gain, 1.0), (loss, -1.0)] {
        // NaN or 0: nothing on this side, and no uniform drawn (as where no category counts or
        // the draw has no tangent and no jumps are asked for at all).
        if !(side > 0.0 && side.is_finite()) {
            continue;
        }
        let part = sign * side / m as f64;
        let u = stream.uniform();
        let mass = (0..w.len())
            .filter(|&j| j != k && signed.counts(j))
            .map(|j| (j, (sign * signed.dp(j)).max(0.0)));
        systematic(mass, side, m, u, part, out);
    }
}

/// Categories whose weight is positive but at most this fraction of the largest count for
/// nothing in the signed couplings (neither as targets nor in the normalisation's tangent):
/// otherwise their tangents, however small, give every other category a derivative of that size
/// through Σδ, and a draw opens jumps of weight ~10⁻¹¹⁸ where they are listed and none where a
/// program skips them, as Qanti-kT's search does below its default ratio 10⁻¹⁷ — the two runs
/// would then be different samples. What they leave out is below double-precision rounding of
/// the weights' sum.
const NEGLIGIBLE: f64 = 1e-17;

/// The signed couplings' view of a draw's weights `w` and tangents `dw`: the normalised
/// derivative of each category that counts (see [`NEGLIGIBLE`]), with sums in category order
/// over those alone (so a list with more negligible categories gives the same numbers).
struct Signed<'a> {
    w: &'a [f64],
    dw: &'a [f64],
    floor: f64,
    total: f64,
    dtotal: f64,
}

impl<'a> Signed<'a> {
    fn new(w: &'a [f64], dw: &'a [f64]) -> Self {
        let floor = NEGLIGIBLE * w.iter().fold(0.0, |m: f64, &x| m.max(x));
        let mut s = Signed {
            w,
            dw,
            floor,
            total: 0.0,
            dtotal: 0.0,
        };
        for j in 0..w.len() {
            if s.counts(j) {
                s.total += w[j];
                s.dtotal += dw[j];
            }
        }
        s
    }

    /// Whether category `j` counts (a zero weight does: it may gain mass).
    fn counts(&self, j: usize) -> bool {
        !(self.w[j] > 0.0 && self.w[j] <= self.floor)
    }

    /// The derivative of category `j`'s probability.
    fn dp(&self, j: usize) -> f64 {
        (self.dw[j] - self.w[j] / self.total * self.dtotal) / self.total
    }
}

/// Maximal coupling of a draw `k` from weights `w` with one from weights `alt`: keep `k` with
/// probability min(1, p'_k/p_k), else a category drawn ∝ (p' − p)⁺.
fn maximal(w: &[f64], alt: &[f64], k: usize, stream: &mut Stream) -> usize {
    let (total, alt_total) = (sum4(w), sum4(alt));
    let (p, q) = (w[k] / total, alt[k] / alt_total);
    if q >= p || stream.uniform() * p < q {
        return k;
    }
    let excess = |j: usize| (alt[j] / alt_total - w[j] / total).max(0.0);
    let z: f64 = (0..w.len()).map(excess).sum();
    let target = stream.uniform() * z;
    let mut acc = 0.0;
    for j in 0..w.len() {
        acc += excess(j);
        if acc > target {
            return j;
        }
    }
    // Rounding left the target at the end: the last category with an excess.
    (0..w.len()).rev().find(|&j| excess(j) > 0.0).unwrap_or(k)
}

/// Appends a jump to category `j` if its rate is positive.
fn push(v: &mut Vec<Jump>, j: usize, rate: f64) {
    if rate > 0.0 {
        v.push(Jump {
            target: j as f64,
            weight: rate,
        });
    }
}

/// One jump for a group of targets: a target drawn ∝ its rate, carrying the group's total rate
/// (the same expected jump as the whole group).
fn pick(group: &[Jump], stream: &mut Stream) -> Option<Jump> {
    match group {
        [] => None,
        [only] => Some(*only),
        _ => {
            let total: f64 = group.iter().map(|j| j.weight).sum();
            let target = stream.uniform() * total;
            let mut acc = 0.0;
            let chosen = group
                .iter()
                .find(|j| {
                    acc += j.weight;
                    acc > target
                })
                .unwrap_or(&group[group.len() - 1]);
            Some(Jump {
                target: chosen.target,
                weight: total,
            })
        }
    }
}

impl Family for Categorical {
    fn name(&self) -> &'static str {
        "categorical"
    }

    fn validate(&self, params: &[f64]) -> Result<()> {
        if self.coupling == Coupling::ProportionalFan(0) {
            return Err(Error::InvalidParameter {
                what: "categorical: Coupling::ProportionalFan targets",
                value: 0.0,
                expected: "1..=255",
            });
        }
        if self.coupling == Coupling::SignedFan(0) {
            return Err(Error::InvalidParameter {
                what: "categorical: Coupling::SignedFan targets",
                value: 0.0,
                expected: "1..=255",
            });
        }
        check_weights(params).map(|_| ())
    }

    fn quantile(&self, params: &[f64], u: f64) -> f64 {
        let target = u * sum4(params);
        let mut acc = 0.0;
        for (k, &p) in params.iter().enumerate() {
            acc += p;
            if acc > target {
                return k as f64;
            }
        }
        // The target reached the running sum's end (u · total rounded up, or the two sums rounded
        // differently): the last category that can be drawn.
        params.iter().rposition(|&p| p > 0.0).unwrap_or(0) as f64
    }

    fn redraw(&self, params: &[f64], alt: &[f64], draw: Draw, coupling: &mut Stream) -> f64 {
        match self.redraw {
            Redraw::SameUniform => self.quantile(alt, draw.u),
            Redraw::Maximal => maximal(params, alt, draw.outcome as usize, coupling) as f64,
        }
    }

    fn pmf<S: Scalar>(&self, params: &[S], k: f64) -> S {
        if k >= 0.0 && k.fract() == 0.0 && (k as usize) < params.len() {
            params[k as usize] / params.iter().copied().sum::<S>()
        } else {
            S::zero()
        }
    }

    /// ∂θ log p_k = dw_k / w_k − Σdw / Σw.
    fn score(&self, params: &[f64], tangents: &[f64], k: f64) -> f64 {
        let k = k as usize;
        tangents[k] / params[k] - sum4(tangents) / sum4(params)
    }

    fn jump_rates(&self, params: &[f64], tangents: &[f64], k: f64) -> Vec<Jump> {
        let k = k as usize;
        let (p, d) = normalise(params, tangents);
        match self.coupling {
            Coupling::Inversion => {
                let (mut left, right) = Self::inversion_rates(&p, &d, k);
                left.extend(right);
                left
            }
            // Fanning out keeps the expected jumps.
            Coupling::Proportional | Coupling::ProportionalFan(_) => {
                Self::proportional_rates(&p, &d, k)
            }
            // The expected jumps: to every other category that counts (see `NEGLIGIBLE`), its
            // own tangent (none for NaN tangents, as the sampled jumps); fanning out keeps them.
            Coupling::Signed | Coupling::SignedFan(_) => {
                let signed = Signed::new(params, tangents);
                (0..params.len())
                    .filter(|&j| j != k && signed.counts(j))
                    .map(|j| (j, signed.dp(j)))
                    .filter(|&(_, d)| d != 0.0 && !d.is_nan())
                    .map(|(j, d)| Jump {
                        target: j as f64,
                        weight: d,
                    })
                    .collect()
            }
        }
    }

    fn jumps(&self, params: &[f64], tangents: &[f64], k: f64, coupling: &mut Stream) -> Jumps {
        let k = k as usize;
        let mut out = Jumps::new();
        match self.coupling {
            Coupling::Inversion => {
                let (p, d) = normalise(params, tangents);
                let (left, right) = Self::inversion_rates(&p, &d, k);
                out.extend(pick(&left, coupling));
                out.extend(pick(&right, coupling));
            }
            Coupling::Proportional => {
                proportional_jumps(params, tangents, k, 1, coupling, &mut out)
            }
            // `validate` turned m = 0 away.
            Coupling::ProportionalFan(m) => {
                proportional_jumps(params, tangents, k, m.max(1) as usize, coupling, &mut out)
            }
            Coupling::Signed => signed_jumps(params, tangents, k, 1, coupling, &mut out),
            // `validate` turned m = 0 away.
            Coupling::SignedFan(m) => {
                signed_jumps(params, tangents, k, m.max(1) as usize, coupling, &mut out)
            }
        }
        out
    }

    /// A zero weight moving down (cheaper than the default's normalised probabilities).
    fn leaves_domain(&self, params: &[f64], tangents: &[f64]) -> bool {
        // A fold without the early exit, and `&` rather than `&&`: it vectorises (the check runs
        // at every draw with tangents, over every weight).
        params
            .iter()
            .zip(tangents)
            .fold(false, |any, (&w, &t)| any | ((w <= 0.0) & (t < 0.0)))
    }

    /// A zero weight that moves.
    fn support_moves(&self, params: &[f64], tangents: &[f64]) -> bool {
        params
            .iter()
            .zip(tangents)
            .any(|(&w, &t)| w <= 0.0 && t != 0.0)
    }

    /// Categories of weight 0 (they gain mass if their weight moves).
    fn boundary_outcomes(&self, params: &[f64]) -> Vec<f64> {
        params
            .iter()
            .enumerate()
            .filter(|(_, &p)| p <= 0.0)
            .map(|(k, _)| k as f64)
            .collect()
    }

    /// The categories with `p > 0` (`tail` is ignored: the support is finite).
    fn support(&self, params: &[f64], _tail: f64) -> Vec<f64> {
        params
            .iter()
            .enumerate()
            .filter(|(_, &p)| p > 0.0)
            .map(|(k, _)| k as f64)
            .collect()
    }
}
