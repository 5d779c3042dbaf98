//! Control variates for the gradient drivers: the program's own output as a regressor, its mean
//! estimated by independent runs of an `f64` twin of the program.
//!
//! A run's derivative estimate A often moves with the run's output value v (on Qanti-kT, with the
//! mH of the history the run took). With E\[v\] known, A − c·(v − E\[v\]) keeps A's mean and can
//! have far less variance. E\[v\] is not known, and centring on the batch's own mean of v leaves the
//! batch mean unchanged while the adjusted samples look less noisy (an overconfident standard
//! error). So the mean of v (and of v²) comes from independent runs of a *twin*: the same program
//! written with `f64`, about as cheap as one primal run. The twin is checked: with the random
//! numbers of each sample it must return the program's primal value bit for bit
//! ([`Error::TwinMismatch`] otherwise).
//!
//! Unbiased by construction (cross-fitting): the batch splits into 8 folds (sample i in fold
//! i mod 8); each fold's coefficients are fitted on the other seven, and the twin's runs are
//! independent of all of them, so E\[correction\] = 0 exactly. The standard error counts both
//! the batch's spread and the twin means' own noise. When the run records its score (the score
//! function with baseline, a triple with the score mix) the score — and, for the mix, the
//! score-function estimate's difference to the triple's — join the regressors; their means are
//! zero, so they need no twin. A program can also name a *state feature* before its draws
//! ([`baseline_feature`]: what its state so far predicts the output to be); the score weighted
//! draw by draw by that feature, Σ_t s_t·φ_t, has mean zero too and joins as a regressor — a
//! baseline for the score that follows the program's state instead of one constant.
//!
//! The output's columns are fitted only when at least 16 of the fitting runs lie off the most
//! common output (outputs within 10⁻⁹ relative count as one: the same history summed in
//! another order). Otherwise a few runs would decide the coefficients — an output constant to
//! the last few bits but for one run got coefficients of 10³ on real events, which the other
//! folds' rare runs then paid for — and those columns are left out. The score mix's difference
//! δ + v·s − A enters with a coefficient in [−1, 0], a mix weight in [0, 1] as the score mix's
//! own: beside the score, with v constant but for a few runs, that column holds A itself, and
//! its free fit on those runs took a coefficient of −13 on a real event (a 6-fold std).

use rayon::prelude::*;

use crate::context::{run_in, RunContext};
use crate::error::{Error, Result};
use crate::estimate::{mean_stderr, Estimator, Gradient, GradientEstimate, Program, RunOutput};
use crate::sample::Coupling;

/// Sets the program's *state feature* φ for the draws that follow: a number the program can
/// compute from its state before a draw that predicts its output (for Qanti-kT, the mass of the
/// two leading objects so far). Each draw's score s_t is then also summed weighted by the φ_t set
/// before it, Σ_t s_t·φ_t, which has mean 0 whatever φ is (E\[s_t\] = 0 given everything before
/// draw t), and the [control variate](Gradient::control_variate) uses it as a regressor: the
/// score function with a baseline β₀ + β₁·φ_t that follows the state instead of one constant,
/// fitted like the other coefficients. It needs the score, so it joins for the score function
/// and for triples under the score mix.
///
/// `feature` is called only when a control variate will use it (otherwise, and outside a run,
/// nothing happens), so a costly feature costs nothing elsewhere. The feature must not depend
/// on the draw it precedes, nor on any later one (it is read at the call); anything computed
/// from the state so far is fine, and a poor predictor only fits a coefficient near 0. A
/// non-finite feature counts as 0.
///
/// ```
/// use stochad::{sample::bernoulli, Scalar, Score};
/// // Two coins; the output is their sum squared. Before the second draw, the first coin's value
/// // predicts the output.
/// fn program<S: Scalar>(p: S) -> stochad::Result<S> {
///     let a = bernoulli(p)?;
///     stochad::control::baseline_feature(|| a.value());
///     let b = bernoulli(p)?;
///     Ok((a + b) * (a + b))
/// }
/// // E[(A + B)²] = 2p + 2p²: derivative 2 + 4p = 3.6 at p = 0.4.
/// let g = stochad::derivative_with(|p: Score| program(p))
///     .at(0.4).samples(4000)
///     .control_variate(|p: f64| program(p))
///     .estimate()?;
/// assert!((g.mean[0] - 3.6).abs() < 5.0 * g.stderr[0]);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn baseline_feature(feature: impl FnOnce() -> f64) {
    crate::context::set_feature(feature);
}

/// The domain of the twin's independent runs (domain 0 is the drivers' samples).
pub(crate) const TWIN_DOMAIN: u64 = 1;

/// Most regressors per direction: v, v², the score, the score mix's difference, the
/// feature-weighted score.
const MAX_FEATURES: usize = 5;

/// Cross-fitting folds (sample i is in fold i mod FOLDS).
const FOLDS: usize = 8;

/// Fewest fitting runs off the most common output for the output's columns to be fitted.
const MIN_SUPPORT: usize = 16;

/// A gradient estimation with the program's output as control variate. Made by
/// [`Gradient::control_variate`] (see there).
#[must_use = "configure, then call .estimate()"]
pub struct Controlled<S, P, T, const N: usize> {
    inner: Gradient<S, P, N>,
    twin: T,
    twin_runs: usize,
}

impl<S, P, T, const N: usize> Controlled<S, P, T, N>
where
    S: Estimator<N>,
    P: Program<S, N>,
    T: Program<f64, N>,
{
    pub(crate) fn new(inner: Gradient<S, P, N>, twin: T) -> Self {
        Controlled {
            inner,
            twin,
            twin_runs: 4,
        }
    }

    /// Independent twin runs per sample (default 4): they estimate E\[v\] and E\[v²\]; their noise
    /// adds about (explained variance)/`runs` to the per-sample variance. Twin runs cost about
    /// one primal run each.
    pub fn twin_runs(mut self, runs: usize) -> Self {
        self.twin_runs = runs;
        self
    }

    /// The controlled batch estimate. Its `stderr` includes the twin means' noise; `value` and
    /// `value_stderr` are the program's runs' own, as without the control variate.
    ///
    /// # Errors
    /// The driver's errors; [`Error::InvalidConfig`] for fewer than 16 samples or zero twin runs;
    /// [`Error::TwinMismatch`] when the twin is not the program.
    pub fn estimate(&self) -> Result<GradientEstimate<N>> {
        let g = &self.inner;
        let total = twin_total(g.samples, self.twin_runs)?;
        // The score is recorded by the score function and by triples under the score mix; then
        // the state feature's column can join (and programs are asked for the feature).
        let recorded = g.score_mix || S::records_score();
        let samples = g.raw_runs_with(recorded)?;
        let (seed, at, coupling) = (g.seed, g.at, g.coupling);
        let twin_run = |domain: u64, index: u64| {
            run_in(twin_context(seed, domain, index, coupling), || {
                self.twin.call(at)
            })
            .0
        };
        // The twin must be the program: same random numbers, same primal value.
        let checks: Vec<Result<f64>> = (0..samples.len() as u64)
            .into_par_iter()
            .map(|i| twin_run(0, i))
            .collect();
        for (i, (twin, s)) in checks.into_iter().zip(&samples).enumerate() {
            let twin = twin?;
            if twin.to_bits() != s.value.to_bits() && !(twin.is_nan() && s.value.is_nan()) {
                return Err(Error::TwinMismatch {
                    sample: i as u64,
                    program: s.value,
                    twin,
                });
            }
        }
        let twins = independent_twins(total, |j| twin_run(TWIN_DOMAIN, j))?;
        let columns = Columns {
            score: g.score_mix || g.baseline,
            mix: g.score_mix,
            feature: recorded,
        };
        Ok(controlled(&samples, &twins, columns))
    }
}

/// How many independent twin runs a control variate takes for `samples` samples with
/// `twin_runs` per sample, or the error for a batch it cannot fit.
pub(crate) fn twin_total(samples: usize, twin_runs: usize) -> Result<usize> {
    if samples < 16 {
        return Err(Error::config(format!(
            "a control variate needs at least 16 samples (each of its 8 folds is fitted on the \
             others), got {samples}"
        )));
    }
    samples
        .checked_mul(twin_runs)
        .filter(|_| twin_runs > 0)
        .ok_or_else(|| {
            Error::config(format!(
                "a control variate needs at least 1 twin run per sample, and samples × twin runs \
                 must fit in usize; got {twin_runs} twin runs"
            ))
        })
}

/// The outputs of `total` independent twin runs, `twin_run(j)` being run `j` of the twins'
/// domain (in parallel; the first failing run's error, by index).
pub(crate) fn independent_twins(
    total: usize,
    twin_run: impl Fn(u64) -> Result<f64> + Sync,
) -> Result<Vec<f64>> {
    let twins: Vec<Result<f64>> = (0..total as u64).into_par_iter().map(&twin_run).collect();
    twins.into_iter().collect()
}

/// The context of a twin's run `index` of `domain` (0: the samples' own random numbers,
/// [`TWIN_DOMAIN`]: independent ones) for a batch seeded with `seed` whose categorical draws
/// take `coupling` by default.
pub(crate) fn twin_context(seed: u64, domain: u64, index: u64, coupling: Coupling) -> RunContext {
    let mut ctx = RunContext::in_domain(seed, index, domain);
    // As the program's runs (the primal draws do not depend on it, but a twin may ask).
    ctx.options.default_coupling = coupling;
    ctx
}

/// Which zero-mean regressors join v and v².
#[derive(Clone, Copy, Debug)]
pub(crate) struct Columns {
    /// The run's score s (the score function's baseline).
    pub score: bool,
    /// The score-function estimate minus the run's own: δ + v·s − A (the score mix).
    pub mix: bool,
    /// The feature-weighted score Σ_t s_t·φ_t (see [`baseline_feature`]).
    pub feature: bool,
}

impl Columns {
    /// Where [`features`] puts the score mix's difference, if it is a column.
    fn mix_column(self) -> Option<usize> {
        self.mix.then_some(2 + usize::from(self.score))
    }
}

/// The regressors of sample `s` in direction `d`, v centred on `k`.
fn features<const N: usize>(
    s: &RunOutput<N>,
    d: usize,
    k: f64,
    cols: Columns,
) -> ([f64; MAX_FEATURES], usize) {
    let mut x = [0.0; MAX_FEATURES];
    let y = s.value - k;
    x[0] = y;
    x[1] = y * y;
    let mut m = 2;
    if cols.score {
        x[m] = s.score[d];
        m += 1;
    }
    if cols.mix {
        x[m] = s.pathwise[d] + s.value * s.score[d] - s.derivative[d];
        m += 1;
    }
    if cols.feature {
        x[m] = s.feature_score[d];
        m += 1;
    }
    (x, m)
}

/// Coefficients minimising the controlled estimate's variance: least squares of `ys` on the
/// rows `xs` (first `m` columns, intercept included), with the v-columns' (the first two) block
/// of the Gram matrix scaled by 1 + 1/`twin_runs` — the noise their twin-estimated means add
/// (c_vᵀ Σ_vv c_v / twin runs per sample), which plain least squares would ignore and which can
/// outweigh what they remove. Columns that are constant or depend on earlier ones get
/// coefficient 0.
fn fit(
    xs: &[[f64; MAX_FEATURES]],
    ys: &[f64],
    m: usize,
    twin_runs: f64,
    centre: f64,
    mix: Option<usize>,
) -> [f64; MAX_FEATURES] {
    // Too few runs off the most common output: its columns would fit those few exactly and
    // extrapolate to other values (and the twin's rare ones); leave them out.
    let sparse = output_support(xs, centre) < MIN_SUPPORT;
    let xs: Vec<[f64; MAX_FEATURES]> = xs
        .iter()
        .map(|x| {
            let mut x = *x;
            if sparse {
                (x[0], x[1]) = (0.0, 0.0);
            }
            x
        })
        .collect();
    let n = ys.len() as f64;
    let mut mx = [0.0; MAX_FEATURES];
    for x in &xs {
        for (a, b) in mx.iter_mut().zip(x) {
            *a += b / n;
        }
    }
    let my = ys.iter().sum::<f64>() / n;
    let mut gram = [[0.0; MAX_FEATURES]; MAX_FEATURES];
    let mut rhs = [0.0; MAX_FEATURES];
    for (x, y) in xs.iter().zip(ys) {
        for i in 0..m {
            let xi = x[i] - mx[i];
            rhs[i] += xi * (y - my);
            for j in 0..=i {
                gram[i][j] += xi * (x[j] - mx[j]);
            }
        }
    }
    let inflate = 1.0 + 1.0 / twin_runs;
    for row in gram.iter_mut().take(2) {
        for g in row.iter_mut().take(2) {
            *g *= inflate;
        }
    }
    let c = solve_skipping(&gram, &rhs, m);
    // The score mix's difference B − A with coefficient c mixes A and B with weight λ = −c:
    // kept in [0, 1], as the score mix's own λ, and the other columns fitted again with it
    // fixed. Beside the score, where v is constant but for a few runs, that column holds A
    // itself, and the free fit took c ≈ −13 from those runs (on a real event, a 6-fold std).
    let Some(j) = mix.filter(|&j| j < m && !(-1.0..=0.0).contains(&c[j])) else {
        return c;
    };
    let cj = if c[j].is_nan() {
        0.0
    } else {
        c[j].clamp(-1.0, 0.0)
    };
    let sym = |a: usize, b: usize| if a >= b { gram[a][b] } else { gram[b][a] };
    let mut rest = rhs;
    for (i, r) in rest.iter_mut().enumerate().take(m) {
        *r -= sym(i, j) * cj;
    }
    rest[j] = 0.0;
    let mut without = gram;
    for (i, row) in without.iter_mut().enumerate().take(m) {
        row[j] = 0.0;
        if i == j {
            *row = [0.0; MAX_FEATURES];
        }
    }
    let mut c = solve_skipping(&without, &rest, m);
    c[j] = cj;
    c
}

/// How many rows' output (column 0) differs from the most common output value by more than
/// rounding (10⁻⁹ relative: the same history summed in another order is the same output).
fn output_support(xs: &[[f64; MAX_FEATURES]], centre: f64) -> usize {
    let mut v: Vec<f64> = xs.iter().map(|x| x[0]).collect();
    v.sort_by(f64::total_cmp);
    let tol = 1e-9 * centre.abs().max(f64::MIN_POSITIVE);
    // The most rows within one tolerance window.
    let (mut mode, mut lo) = (0, 0);
    for hi in 0..v.len() {
        while v[hi] - v[lo] > tol {
            lo += 1;
        }
        mode = mode.max(hi + 1 - lo);
    }
    v.len() - mode
}

/// Solves G c = b for the symmetric positive semi-definite G (lower triangle given) by Cholesky,
/// skipping columns whose remaining pivot is below 1e-10 of their diagonal (dependent or
/// constant regressors: coefficient 0).
fn solve_skipping(
    g: &[[f64; MAX_FEATURES]; MAX_FEATURES],
    b: &[f64; MAX_FEATURES],
    m: usize,
) -> [f64; MAX_FEATURES] {
    let mut l = [[0.0; MAX_FEATURES]; MAX_FEATURES];
    let mut active = [false; MAX_FEATURES];
    for j in 0..m {
        let on = active;
        let dot = |r: &[f64; MAX_FEATURES], s: &[f64; MAX_FEATURES]| -> f64 {
            (0..j).filter(|&k| on[k]).map(|k| r[k] * s[k]).sum()
        };
        let pivot = g[j][j] - dot(&l[j], &l[j]);
        if !(g[j][j] > 0.0 && pivot > 1e-10 * g[j][j]) {
            l[j] = [0.0; MAX_FEATURES];
            continue;
        }
        active[j] = true;
        l[j][j] = pivot.sqrt();
        for i in j + 1..m {
            l[i][j] = (g[i][j] - dot(&l[i], &l[j])) / l[j][j];
        }
    }
    // L z = b, then Lᵀ c = z, over the active columns.
    let mut z = [0.0; MAX_FEATURES];
    for i in (0..m).filter(|&i| active[i]) {
        let s: f64 = (0..i).filter(|&k| active[k]).map(|k| l[i][k] * z[k]).sum();
        z[i] = (b[i] - s) / l[i][i];
    }
    let mut c = [0.0; MAX_FEATURES];
    for i in (0..m).rev().filter(|&i| active[i]) {
        let s: f64 = (i + 1..m)
            .filter(|&k| active[k])
            .map(|k| l[k][i] * c[k])
            .sum();
        c[i] = (z[i] - s) / l[i][i];
    }
    c
}

/// The cross-fitted controlled estimate from the program's raw runs (no baseline, no mix
/// applied) and the twin's independent outputs.
pub(crate) fn controlled<const N: usize>(
    samples: &[RunOutput<N>],
    twins: &[f64],
    cols: Columns,
) -> GradientEstimate<N> {
    let n = samples.len();
    // Twin runs per sample (the twin's independent runs are a multiple of the batch).
    let twin_runs = twins.len() as f64 / n as f64;
    let folds = FOLDS.min(n / 2).max(2);
    let fold = |p: usize| samples.iter().skip(p).step_by(folds);
    // Fold p's coefficients and centre come from every other fold.
    let rest = |p: usize| {
        samples
            .iter()
            .enumerate()
            .filter(move |(i, _)| i % folds != p)
            .map(|e| e.1)
    };
    let size: Vec<f64> = (0..folds).map(|p| fold(p).count() as f64).collect();
    let centre: Vec<f64> = (0..folds)
        .map(|p| rest(p).map(|s| s.value).sum::<f64>() / (n as f64 - size[p]))
        .collect();
    let mut mean = [0.0; N];
    let mut stderr = [0.0; N];
    for d in 0..N {
        let coef: Vec<[f64; MAX_FEATURES]> = (0..folds)
            .map(|p| {
                let (mut xs, mut ys, mut m) = (Vec::new(), Vec::new(), 0);
                for s in rest(p) {
                    let (x, mm) = features(s, d, centre[p], cols);
                    xs.push(x);
                    ys.push(s.derivative[d]);
                    m = mm;
                }
                fit(&xs, &ys, m, twin_runs, centre[p], cols.mix_column())
            })
            .collect();
        // Adjusted samples Z = A − c·x of each fold, and their mean and variance per fold.
        let mut var_part = 0.0;
        let mut total = 0.0;
        for p in 0..folds {
            let (c, k) = (coef[p], centre[p]);
            let z: Vec<f64> = fold(p)
                .map(|s| {
                    let (x, m) = features(s, d, k, cols);
                    s.derivative[d] - (0..m).map(|i| c[i] * x[i]).sum::<f64>()
                })
                .collect();
            let zm = z.iter().sum::<f64>() / size[p];
            let zv = z.iter().map(|v| (v - zm) * (v - zm)).sum::<f64>() / (size[p] - 1.0);
            total += z.iter().sum::<f64>();
            var_part += size[p] * zv;
        }
        // The twin's part: + (n_p/n)·c_p·(twin mean of v-features around the same centre), one
        // term per twin run so its own spread gives its standard error.
        let t: Vec<f64> = twins
            .iter()
            .map(|&w| {
                (0..folds)
                    .map(|p| {
                        let (c, k) = (coef[p], centre[p]);
                        let y = w - k;
                        size[p] / n as f64 * (c[0] * y + c[1] * y * y)
                    })
                    .sum::<f64>()
            })
            .collect();
        let nt = t.len() as f64;
        let tm = t.iter().sum::<f64>() / nt;
        let tv = if t.len() > 1 {
            t.iter().map(|v| (v - tm) * (v - tm)).sum::<f64>() / (nt - 1.0)
        } else {
            0.0
        };
        mean[d] = total / n as f64 + tm;
        stderr[d] = (var_part / (n * n) as f64 + tv / nt).sqrt();
    }
    let (value, value_stderr) = mean_stderr(samples.iter().map(|s| s.value), n);
    GradientEstimate {
        mean,
        stderr,
        samples: n,
        value,
        value_stderr,
        nonzero: crate::estimate::nonzero(samples),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(value: f64, derivative: f64, score: f64) -> RunOutput<1> {
        RunOutput {
            value,
            derivative: [derivative],
            pathwise: [0.0],
            score: [score],
            feature_score: [0.0],
        }
    }

    #[test]
    fn the_controlled_estimate_counts_the_runs_own_nonzero_estimates() {
        // 5 of 64 runs have a nonzero derivative; the adjusted samples are all nonzero (the
        // score column moves each), but what is counted is the runs' own.
        let samples: Vec<RunOutput<1>> = (0..64)
            .map(|i| {
                let a = if i % 13 == 0 { 3.0 } else { 0.0 };
                out(10.0 + (i % 3) as f64, a, (i as f64 * 0.7).sin())
            })
            .collect();
        let twins = vec![10.5; 256];
        let cols = Columns {
            score: true,
            mix: false,
            feature: false,
        };
        let g = controlled(&samples, &twins, cols);
        assert_eq!(g.nonzero, [5]);
        assert!(g.rests_on_few_runs()[0]);
    }

    #[test]
    fn the_mix_column_mixes_with_a_weight_in_0_1() {
        // Real event 7 (pT > 1 GeV) at R = 0.4, α = 4 in miniature: the output is 110 but for 3
        // of 200 runs, the run's own estimate A is 0 but on those, where it is close to the
        // score estimator's (v − 110)·s. Columns [y, y², s, δ + v·s − A]. The mix column holds
        // A (mix = 110·s − A on every common run) and the free fit to the 3 rare runs takes
        // its coefficient to ~−13 (held-out rare runs then pay it 13-fold). Kept in [−1, 0] (a
        // mix weight in [0, 1]), at −1 here: the score estimator, its baseline the score's fit.
        let rows: Vec<([f64; MAX_FEATURES], f64)> = (0..200)
            .map(|i| {
                let s = 50.0 * (i as f64 * 0.77).sin();
                let (v, a) = match i {
                    17 => (107.9, 1.08 * -2.1 * s),
                    101 => (108.1, 1.07 * -1.9 * s),
                    150 => (107.8, 0.99 * -2.2 * s),
                    _ => (110.0, 0.0),
                };
                let y = v - 110.0;
                ([y, y * y, s, v * s - a, 0.0], a)
            })
            .collect();
        let (xs, ys): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
        let c = fit(&xs, &ys, 4, 4.0, 110.0, Some(3));
        assert_eq!((c[0], c[1], c[3]), (0.0, 0.0, -1.0), "{c:?}");
        // With c₃ = −1 the adjusted run is A + (mix) − c₂·s = (v − c₂)·s: the score's
        // coefficient is the baseline, near the common output.
        assert!((c[2] - 110.0).abs() < 1.0, "{c:?}");
        // Without the mix column named, the fit is free (the clamp is what holds it).
        let c = fit(&xs, &ys, 4, 4.0, 110.0, None);
        assert!(c[3] < -2.0, "{c:?}");
    }

    #[test]
    fn fit_recovers_exact_linear_relation_and_skips_dependent_columns() {
        // y = 3 + 2·x0 − 0.5·x1 exactly; x2 = 2·x0 (dependent): coefficient 0.
        let xs: Vec<[f64; MAX_FEATURES]> = (0..20)
            .map(|i| {
                let a = i as f64 * 0.37 - 2.0;
                let b = (i as f64).sin() * 3.0;
                [a, b, 2.0 * a, 0.0, 0.0]
            })
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 + 2.0 * x[0] - 0.5 * x[1]).collect();
        let c = fit(&xs, &ys, 4, f64::INFINITY, 0.0, None);
        assert!(
            (c[0] - 2.0).abs() < 1e-9 && (c[1] + 0.5).abs() < 1e-9,
            "{c:?}"
        );
        assert_eq!((c[2], c[3]), (0.0, 0.0));
    }

    #[test]
    fn correction_uses_the_twin_mean_and_the_other_folds_coefficients() {
        // 64 samples in 8 folds (i mod 8); v = 9 or 11 in blocks of 8 (each fold: 4 of each,
        // every fitting set centred on 10); A = 5 + 2·(v − 10), but 5 + 10·(v − 10) in fold 0;
        // 4 twin runs per sample say E[v] = 10.5. Least squares shrunk by 1 + 1/4 for the twin
        // means' noise (v² − its mean is constant here: no coefficient): fold 0's coefficient,
        // fitted on the other folds, is 2/1.25 = 1.6; the others', whose fitting sets hold fold
        // 0, (48·2 + 8·10)/56/1.25 = 176/70. Z = 5 + (10 − 1.6)·y in fold 0 and
        // 5 + (2 − 176/70)·y elsewhere (y = v − 10 = ±1, mean 5); the twin term
        // (1/8)·(1.6 + 7·176/70)·(w − 10) = 2.4·(w − 10) has mean 1.2: mean 6.2.
        let samples: Vec<RunOutput<1>> = (0..64)
            .map(|i| {
                let v = if (i / 8) % 2 == 0 { 9.0 } else { 11.0 };
                let slope = if i % 8 == 0 { 10.0 } else { 2.0 };
                out(v, 5.0 + slope * (v - 10.0), 0.0)
            })
            .collect();
        let twins: Vec<f64> = (0..256).map(|j| 10.0 + (j % 2) as f64).collect();
        let cols = Columns {
            score: false,
            mix: false,
            feature: false,
        };
        let g = controlled(&samples, &twins, cols);
        assert!((g.mean[0] - 6.2).abs() < 1e-9, "{}", g.mean[0]);
        // Per fold of 8: Z = 5 ± 8.4 (fold 0), 5 ± (176/70 − 2) (the others); twin terms 0, 2.4.
        let var = |dev: f64| 8.0 * dev * dev / 7.0;
        let main = 8.0 * (var(8.4) + 7.0 * var(176.0 / 70.0 - 2.0)) / (64.0 * 64.0);
        let twin = 256.0 * 1.2 * 1.2 / 255.0 / 256.0;
        let se = (main + twin).sqrt();
        assert!((g.stderr[0] - se).abs() < 1e-9, "{} vs {se}", g.stderr[0]);
    }

    #[test]
    fn output_off_its_mode_by_rounding_only_gets_no_coefficient() {
        // The same history summed in another order: v = 110.11 up to a few ulps, but for one
        // run; A = noise. Fitted, the v columns would pin that run and the ulps (coefficients of
        // 1e3 and more, applied to other runs); with fewer than 16 runs off the mode they are
        // left out, and with enough they are fitted.
        let noise = |i: usize| ((i * 7919) % 101) as f64 / 101.0 - 0.5;
        let rows = |off: usize| -> (Vec<[f64; MAX_FEATURES]>, Vec<f64>) {
            (0..200)
                .map(|i| {
                    let v = if i < off {
                        107.85 + i as f64 * 0.01
                    } else {
                        110.11 * (1.0 + (i % 5) as f64 * f64::EPSILON)
                    };
                    let y = v - 110.0;
                    (
                        [y, y * y, 0.0, 0.0, 0.0],
                        noise(i) + if i < off { 3.0 } else { 0.0 },
                    )
                })
                .unzip()
        };
        let (xs, ys) = rows(15);
        assert_eq!(output_support(&xs, 110.0), 15);
        assert_eq!(&fit(&xs, &ys, 2, 4.0, 110.0, None)[..2], &[0.0, 0.0]);
        let (xs, ys) = rows(16);
        assert_eq!(output_support(&xs, 110.0), 16);
        let c = fit(&xs, &ys, 2, 4.0, 110.0, None);
        assert!(c[0] != 0.0 && c[0].abs() < 10.0, "{c:?}");
    }

    #[test]
    fn score_column_acts_as_a_baseline() {
        // A = v·s with s = ±1 and v ≈ 100: regressing on s removes the 100·s part.
        let samples: Vec<RunOutput<1>> = (0..40)
            .map(|i| {
                let s = if i % 3 == 0 { 1.0 } else { -1.0 };
                let v = 100.0 + (i % 5) as f64 * 0.1;
                out(v, v * s, s)
            })
            .collect();
        let twins: Vec<f64> = samples.iter().map(|s| s.value).collect();
        let plain = controlled(
            &samples,
            &twins,
            Columns {
                score: false,
                mix: false,
                feature: false,
            },
        );
        let with = controlled(
            &samples,
            &twins,
            Columns {
                score: true,
                mix: false,
                feature: false,
            },
        );
        assert!(with.stderr[0] < plain.stderr[0] / 50.0, "{with} vs {plain}");
    }
}
