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
//! Unbiased by construction (cross-fitting): the batch splits into even and odd samples; each
//! half's coefficients are fitted on the other half, and the twin's runs are independent of both,
//! so E\[correction\] = 0 exactly. The standard error counts both the batch's spread and the twin
//! means' own noise. When the run records its score (the score function with baseline, a triple
//! with the score mix) the score — and, for the mix, the score-function estimate's difference to
//! the triple's — join the regressors; their means are zero, so they need no twin.

use rayon::prelude::*;

use crate::context::{run_in, RunContext};
use crate::error::{Error, Result};
use crate::estimate::{mean_stderr, Estimator, Gradient, GradientEstimate, Program, RunOutput};

/// The domain of the twin's independent runs (domain 0 is the drivers' samples).
const TWIN_DOMAIN: u64 = 1;

/// Most regressors per direction: v, v², the score, the score mix's difference.
const MAX_FEATURES: usize = 4;

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
        if g.samples < 16 {
            return Err(Error::config(format!(
                "a control variate needs at least 16 samples (each half fits the other's \
                 coefficients), got {}",
                g.samples
            )));
        }
        let total = g.samples.checked_mul(self.twin_runs);
        let Some(total) = total.filter(|_| self.twin_runs > 0) else {
            return Err(Error::config(format!(
                "a control variate needs at least 1 twin run per sample, and samples × twin \
                 runs must fit in usize; got {} twin runs",
                self.twin_runs
            )));
        };
        let samples = g.raw_runs()?;
        let (seed, at, coupling) = (g.seed, g.at, g.coupling);
        let twin_run = |domain: u64, index: u64| {
            let mut ctx = RunContext::in_domain(seed, index, domain);
            // As the program's runs (the primal draws do not depend on it, but a twin may ask).
            ctx.options.default_coupling = coupling;
            run_in(ctx, || self.twin.call(at)).0
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
        let twins: Vec<Result<f64>> = (0..total as u64)
            .into_par_iter()
            .map(|j| twin_run(TWIN_DOMAIN, j))
            .collect();
        let twins = twins.into_iter().collect::<Result<Vec<f64>>>()?;
        let columns = Columns {
            score: g.score_mix || g.baseline,
            mix: g.score_mix,
        };
        Ok(controlled(&samples, &twins, columns))
    }
}

/// Which zero-mean regressors join v and v².
#[derive(Clone, Copy, Debug)]
pub(crate) struct Columns {
    /// The run's score s (the score function's baseline).
    pub score: bool,
    /// The score-function estimate minus the run's own: δ + v·s − A (the score mix).
    pub mix: bool,
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
    (x, m)
}

/// Coefficients minimising the controlled estimate's variance: least squares of `ys` on the
/// rows `xs` (first `m` columns, intercept included), with the v-columns' (the first two) block
/// of the Gram matrix scaled by 1 + 1/`twin_runs` — the noise their twin-estimated means add
/// (c_vᵀ Σ_vv c_v / twin runs per sample), which plain least squares would ignore and which can
/// outweigh what they remove. Columns that are constant or depend on earlier ones get
/// coefficient 0.
fn fit(xs: &[[f64; MAX_FEATURES]], ys: &[f64], m: usize, twin_runs: f64) -> [f64; MAX_FEATURES] {
    let n = ys.len() as f64;
    let mut mx = [0.0; MAX_FEATURES];
    for x in xs {
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
    solve_skipping(&gram, &rhs, m)
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
    let half = |p: usize| samples.iter().skip(p).step_by(2);
    let size = [half(0).count() as f64, half(1).count() as f64];
    // Each half's centre for v (the other half's coefficients are applied around it).
    let centre = [0, 1].map(|p| half(p).map(|s| s.value).sum::<f64>() / size[p]);
    let mut mean = [0.0; N];
    let mut stderr = [0.0; N];
    for d in 0..N {
        // coef[p]: fitted on half p, applied to half 1 − p (around half p's centre).
        let coef = [0, 1].map(|p| {
            let (mut xs, mut ys, mut m) = (Vec::new(), Vec::new(), 0);
            for s in half(p) {
                let (x, mm) = features(s, d, centre[p], cols);
                xs.push(x);
                ys.push(s.derivative[d]);
                m = mm;
            }
            fit(&xs, &ys, m, twin_runs)
        });
        // Adjusted samples Z = A − c·x of each half, and their mean and variance per half.
        let mut var_part = 0.0;
        let mut total = 0.0;
        for p in 0..2 {
            let (c, k) = (coef[1 - p], centre[1 - p]);
            let z: Vec<f64> = half(p)
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
        // The twin's part: + (n_p/n)·c·(twin mean of v-features around the same centre), one
        // term per twin run so its own spread gives its standard error.
        let t: Vec<f64> = twins
            .iter()
            .map(|&w| {
                (0..2)
                    .map(|p| {
                        let (c, k) = (coef[1 - p], centre[1 - p]);
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
        }
    }

    #[test]
    fn fit_recovers_exact_linear_relation_and_skips_dependent_columns() {
        // y = 3 + 2·x0 − 0.5·x1 exactly; x2 = 2·x0 (dependent): coefficient 0.
        let xs: Vec<[f64; 4]> = (0..20)
            .map(|i| {
                let a = i as f64 * 0.37 - 2.0;
                let b = (i as f64).sin() * 3.0;
                [a, b, 2.0 * a, 0.0]
            })
            .collect();
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 + 2.0 * x[0] - 0.5 * x[1]).collect();
        let c = fit(&xs, &ys, 4, f64::INFINITY);
        assert!(
            (c[0] - 2.0).abs() < 1e-9 && (c[1] + 0.5).abs() < 1e-9,
            "{c:?}"
        );
        assert_eq!((c[2], c[3]), (0.0, 0.0));
    }

    #[test]
    fn correction_uses_the_twin_mean_and_the_other_half_coefficients() {
        // v alternates 9, 11 (mean 10) in each half; A = 5 + 2·(v − 10) in the even half and
        // 5 + 3·(v − 10) in the odd one; 4 twin runs per sample say E[v] = 10.5. Least squares
        // shrunk by 1 + 1/4 for the twin means' noise gives 1.6 (fitted on the even half,
        // applied to the odd) and 2.4 (the reverse): Z = 5 − 0.4·y (even), 5 + 1.4·y (odd),
        // y = v − 10 = ±1, and the twin term 0.5·(2.4 + 1.6)·(w − 10) has mean 1: mean 6.
        let samples: Vec<RunOutput<1>> = (0..16)
            .map(|i| {
                let v = if i % 4 < 2 { 9.0 } else { 11.0 };
                let slope = if i % 2 == 0 { 2.0 } else { 3.0 };
                out(v, 5.0 + slope * (v - 10.0), 0.0)
            })
            .collect();
        let twins: Vec<f64> = (0..64).map(|j| 10.0 + (j % 2) as f64).collect();
        let cols = Columns {
            score: false,
            mix: false,
        };
        let g = controlled(&samples, &twins, cols);
        assert!((g.mean[0] - 6.0).abs() < 1e-9, "{}", g.mean[0]);
        // Z = 5 ± 0.4 (even) and 5 ± 1.4 (odd), 8 each; twin terms 2·(w − 10) = 0, 2.
        let var = |dev: f64| 8.0 * dev * dev / 7.0;
        let main = 8.0 * (var(0.4) + var(1.4)) / 256.0;
        let twin = 64.0 / 63.0 / 64.0;
        let se = (main + twin).sqrt();
        assert!((g.stderr[0] - se).abs() < 1e-9, "{} vs {se}", g.stderr[0]);
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
            },
        );
        let with = controlled(
            &samples,
            &twins,
            Columns {
                score: true,
                mix: false,
            },
        );
        assert!(with.stderr[0] < plain.stderr[0] / 50.0, "{with} vs {plain}");
    }
}
