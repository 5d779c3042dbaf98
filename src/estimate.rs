//! Estimator drivers: run a program many times, each in a fresh run context seeded per sample, in
//! parallel, and reduce the per-sample derivative estimates in index order (bit-identical for a
//! seed whatever the thread count).

use std::marker::PhantomData;

use rayon::prelude::*;

use crate::context::{run_in, with_ctx, RunContext, StrictGuard};
use crate::control::Controlled;
use crate::dual::Dual;
use crate::error::{Error, Result};
use crate::sample::Coupling;
use crate::scalar::Scalar;
use crate::scalars::IntoResult;
use crate::score::Score;
use crate::triple::{Backend, StochasticTriple, Triple};

/// The former name of [`RunOutput`].
#[deprecated(
    since = "0.2.0",
    note = "renamed RunOutput (beside the sample module it misled)"
)]
pub type Sample<const N: usize> = RunOutput<N>;

/// One run's raw result: the output value, the derivative estimate of each direction (for the
/// score function, without baseline: δ + f·s), the pathwise derivative δ, and the score s of the
/// run's draws (score function, and triples when the score mix is on; 0 otherwise), and that
/// score weighted draw by draw by the program's state feature (see
/// [`baseline_feature`](crate::control::baseline_feature)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunOutput<const N: usize> {
    /// The program's output value.
    pub value: f64,
    /// The derivative estimate of each direction from this run alone.
    pub derivative: [f64; N],
    /// The pathwise (almost-sure) derivative δ of each direction.
    pub pathwise: [f64; N],
    /// The score ∂θ log p of the run's draws.
    pub score: [f64; N],
    /// Σ over the run's draws of each draw's score times the state feature φ the program set
    /// before it ([`baseline_feature`](crate::control::baseline_feature)); 0 unless a control
    /// variate asked for the feature. Its mean is 0 whatever φ is: a state-dependent baseline.
    pub feature_score: [f64; N],
}

/// The run's score per direction and its feature-weighted version, from the run context.
fn run_score<const N: usize>() -> Result<([f64; N], [f64; N])> {
    with_ctx("reading an output", |ctx| ctx.scores())
}

/// A number type the drivers can differentiate with: it builds the input variables and reads one
/// run's estimate off the output. Implemented by [`Dual`], [`Score`] and every
/// [`StochasticTriple`] backend; re-exported as `stochad::Estimator`.
///
/// Bound on it to write helpers generic over the estimator (`S: Estimator<1>` for
/// [`derivative_with`], `S: Estimator<N>` for [`gradient_with`]):
///
/// ```
/// use stochad::{sample::bernoulli, Estimate, Estimator, AllWorldsTriple, Score, Triple};
///
/// /// d/dp E[3·Bernoulli(p)] (= 3) with the estimator `S`.
/// fn coin<S: Estimator<1>>(p: f64) -> stochad::Result<Estimate> {
///     stochad::derivative_with(|p: S| Ok::<_, stochad::Error>(bernoulli(p)? * 3.0))
///         .at(p).samples(10_000).seed(7).estimate()
/// }
/// for (name, e) in [
///     ("pruned", coin::<Triple>(0.3)?),
///     ("all-worlds", coin::<AllWorldsTriple>(0.3)?),
///     ("score", coin::<Score>(0.3)?),
/// ] {
///     assert!((e.mean - 3.0).abs() < 5.0 * e.stderr, "{name}: {e}");
/// }
/// # Ok::<(), stochad::Error>(())
/// ```
pub trait Estimator<const N: usize>: Scalar {
    /// Name for reports, e.g. `"triple(pruned)"`.
    const NAME: &'static str;
    /// The input variable of direction `dir` at `value`.
    fn input(value: f64, dir: usize) -> Self;
    /// Reads the estimate off the output, inside the run that produced it.
    fn read(out: &Self) -> Result<RunOutput<N>>;
    /// Whether the run can also record the score of its draws, for [`Gradient::score_mix`].
    fn supports_score_mix() -> bool {
        false
    }
    /// Whether every run records the score of its draws (the score function).
    fn records_score() -> bool {
        false
    }
}

impl<const N: usize> Estimator<N> for Dual<N> {
    const NAME: &'static str = "dual";
    fn input(value: f64, dir: usize) -> Self {
        Dual::variable(value, dir)
    }
    fn read(out: &Self) -> Result<RunOutput<N>> {
        Ok(RunOutput {
            value: out.value,
            derivative: out.tangent,
            pathwise: out.tangent,
            score: [0.0; N],
            feature_score: [0.0; N],
        })
    }
}

impl<const N: usize> Estimator<N> for Score<N> {
    const NAME: &'static str = "score";
    fn input(value: f64, dir: usize) -> Self {
        Score::variable(value, dir)
    }
    fn records_score() -> bool {
        true
    }
    fn read(out: &Self) -> Result<RunOutput<N>> {
        let (score, feature_score) = run_score::<N>()?;
        let mut derivative = out.tangent;
        for (d, s) in derivative.iter_mut().zip(&score) {
            *d += out.value * s;
        }
        Ok(RunOutput {
            value: out.value,
            derivative,
            pathwise: out.tangent,
            score,
            feature_score,
        })
    }
}

impl<B: Backend, const N: usize> Estimator<N> for StochasticTriple<B, N> {
    const NAME: &'static str = B::NAME;
    fn input(value: f64, dir: usize) -> Self {
        StochasticTriple::variable(value, dir)
    }
    fn read(out: &Self) -> Result<RunOutput<N>> {
        // A strict-mode read names its call site: report it before the comparison it may explain.
        let (read, flip) = with_ctx("reading an output", |ctx| {
            (ctx.found.value_read.take(), ctx.found.flip.take())
        })?;
        if let Some(e) = read.or(flip) {
            return Err(e);
        }
        let (score, feature_score) = run_score::<N>()?;
        Ok(RunOutput {
            value: out.value,
            derivative: std::array::from_fn(|i| out.derivative_contribution(i)),
            pathwise: out.delta,
            score,
            feature_score,
        })
    }
    fn supports_score_mix() -> bool {
        true
    }
}

/// A program of `N` parameters the drivers can run: a closure taking `[S; N]` ([`Multi`]) or, for
/// one parameter, `S` ([`Unary`]).
pub trait Program<S, const N: usize>: Sync {
    /// Runs the program once at the given inputs.
    fn call(&self, inputs: [S; N]) -> Result<S>;
}

/// A closure of an array of `N` parameters, as a [`Program`].
pub struct Multi<F>(F);

/// A closure of one parameter, as a [`Program`].
pub struct Unary<F>(F);

impl<S, F, O, const N: usize> Program<S, N> for Multi<F>
where
    F: Fn([S; N]) -> O + Sync,
    O: IntoResult<S>,
{
    fn call(&self, inputs: [S; N]) -> Result<S> {
        (self.0)(inputs).into_result()
    }
}

impl<S, F, O> Program<S, 1> for Unary<F>
where
    F: Fn(S) -> O + Sync,
    O: IntoResult<S>,
{
    fn call(&self, [x]: [S; 1]) -> Result<S> {
        (self.0)(x).into_result()
    }
}

/// What a driver sets in each run's context.
#[derive(Clone, Copy, Debug, Default)]
struct RunOptions {
    /// Triples also record the score of their draws (score mix).
    record_score: bool,
    /// Coupling of categorical draws that name none.
    coupling: Coupling,
    /// `.value()` of a number with live worlds is an error.
    strict: bool,
    /// Programs evaluate their [`baseline_feature`](crate::control::baseline_feature).
    record_feature: bool,
}

/// Runs sample `index` of `p` at `at` under `seed` and reads its estimate.
fn run_sample<S, P, const N: usize>(
    p: &P,
    at: [f64; N],
    seed: u64,
    index: u64,
    options: RunOptions,
) -> Result<RunOutput<N>>
where
    S: Estimator<N>,
    P: Program<S, N>,
{
    let mut ctx = RunContext::new(seed, index);
    ctx.options.record_score = options.record_score;
    ctx.options.default_coupling = options.coupling;
    ctx.options.strict = options.strict;
    ctx.options.record_feature = options.record_feature;
    run_in(ctx, || {
        let out = p.call(std::array::from_fn(|d| S::input(at[d], d)))?;
        S::read(&out)
    })
    .0
}

/// A batch estimate of the gradient of E\[f\] along `N` directions.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GradientEstimate<const N: usize> {
    /// Mean of the per-sample estimates, per direction.
    #[serde(with = "crate::dual::serde_arrays")]
    pub mean: [f64; N],
    /// Standard error of the mean, per direction.
    #[serde(with = "crate::dual::serde_arrays")]
    pub stderr: [f64; N],
    /// Number of samples.
    pub samples: usize,
    /// Mean of the program's output (an estimate of E\[f\]).
    pub value: f64,
    /// Standard error of `value`.
    pub value_stderr: f64,
    /// Per direction, how many runs' own estimates were not exactly 0 (before a control
    /// variate's adjustment). Where fewer than [`FEW_NONZERO`] were, the mean rests on a few
    /// rare runs and the standard error cannot be trusted: a rare history the batch did not
    /// meet would move the mean by more than it says (0 ± 0 where none was met). `Display`
    /// says so; more samples are the remedy.
    #[serde(with = "crate::dual::serde_arrays")]
    pub nonzero: [usize; N],
}

/// Below this many runs with a nonzero estimate, a direction's standard error is flagged as
/// unreliable ([`GradientEstimate::nonzero`]).
pub const FEW_NONZERO: usize = 10;

impl<const N: usize> GradientEstimate<N> {
    /// The per-sample standard deviation of each direction's estimate (stderr·√n): the number to
    /// compare estimators by.
    pub fn std_dev(&self) -> [f64; N] {
        self.stderr.map(|s| s * (self.samples as f64).sqrt())
    }

    /// Per direction, whether fewer than [`FEW_NONZERO`] runs had a nonzero estimate, so that
    /// the standard error cannot be trusted (see [`GradientEstimate::nonzero`]).
    pub fn rests_on_few_runs(&self) -> [bool; N] {
        self.nonzero.map(|k| k < FEW_NONZERO)
    }
}

/// A batch estimate of dE\[f\]/dθ.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// Mean of the per-sample derivative estimates.
    pub mean: f64,
    /// Its standard error.
    pub stderr: f64,
    /// Number of samples.
    pub samples: usize,
    /// Mean of the program's output (an estimate of E\[f\]).
    pub value: f64,
    /// Standard error of `value`.
    pub value_stderr: f64,
    /// How many runs' own estimates were not exactly 0; below [`FEW_NONZERO`] the standard
    /// error cannot be trusted (see [`GradientEstimate::nonzero`]).
    pub nonzero: usize,
}

impl Estimate {
    /// The per-sample standard deviation of the estimate (stderr·√n).
    pub fn std_dev(&self) -> f64 {
        self.stderr * (self.samples as f64).sqrt()
    }

    /// Whether fewer than [`FEW_NONZERO`] runs had a nonzero estimate, so that the standard
    /// error cannot be trusted (see [`GradientEstimate::nonzero`]).
    pub fn rests_on_few_runs(&self) -> bool {
        self.nonzero < FEW_NONZERO
    }
}

/// `mean ± stderr (n = samples)`, with the precision the caller asks for (default 4 digits),
/// and a warning where fewer than [`FEW_NONZERO`] runs had a nonzero estimate.
///
/// ```
/// let e = stochad::Estimate { mean: 2.5, stderr: 0.01, samples: 100, value: 1.0, value_stderr: 0.1, nonzero: 100 };
/// assert_eq!(e.to_string(), "2.5000 ± 0.0100 (n = 100)");
/// assert_eq!(format!("{e:.2}"), "2.50 ± 0.01 (n = 100)");
/// let rare = stochad::Estimate { mean: 0.0, stderr: 0.0, nonzero: 0, ..e };
/// assert_eq!(
///     format!("{rare:.2}"),
///     "0.00 ± 0.00 (n = 100; only 0 runs nonzero: the standard error is unreliable)"
/// );
/// ```
impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(4);
        write!(
            f,
            "{:.p$} ± {:.p$} (n = {}",
            self.mean, self.stderr, self.samples
        )?;
        if self.rests_on_few_runs() {
            write!(
                f,
                "; only {} runs nonzero: the standard error is unreliable",
                self.nonzero
            )?;
        }
        write!(f, ")")
    }
}

/// One `mean ± stderr` per direction, then the sample count, and a warning for the directions
/// where fewer than [`FEW_NONZERO`] runs had a nonzero estimate.
///
/// ```
/// let g = stochad::GradientEstimate { mean: [1.0, -2.0], stderr: [0.1, 0.2], samples: 10, value: 0.0, value_stderr: 0.0, nonzero: [10, 10] };
/// assert_eq!(format!("{g:.1}"), "[1.0 ± 0.1, -2.0 ± 0.2] (n = 10)");
/// let rare = stochad::GradientEstimate { nonzero: [10, 3], ..g };
/// assert_eq!(
///     format!("{rare:.1}"),
///     "[1.0 ± 0.1, -2.0 ± 0.2] (n = 10; direction 1: only 3 runs nonzero, its standard error \
///      is unreliable)"
/// );
/// ```
impl<const N: usize> std::fmt::Display for GradientEstimate<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(4);
        write!(f, "[")?;
        for d in 0..N {
            if d > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{:.p$} ± {:.p$}", self.mean[d], self.stderr[d])?;
        }
        write!(f, "] (n = {}", self.samples)?;
        for (d, few) in self.rests_on_few_runs().into_iter().enumerate() {
            if few {
                write!(
                    f,
                    "; direction {d}: only {} runs nonzero, its standard error is unreliable",
                    self.nonzero[d]
                )?;
            }
        }
        write!(f, ")")
    }
}

impl From<GradientEstimate<1>> for Estimate {
    fn from(g: GradientEstimate<1>) -> Self {
        Estimate {
            mean: g.mean[0],
            stderr: g.stderr[0],
            samples: g.samples,
            value: g.value,
            value_stderr: g.value_stderr,
            nonzero: g.nonzero[0],
        }
    }
}

/// Per direction, how many runs' estimates are not exactly 0.
pub(crate) fn nonzero<const N: usize>(samples: &[RunOutput<N>]) -> [usize; N] {
    std::array::from_fn(|d| samples.iter().filter(|s| s.derivative[d] != 0.0).count())
}

/// Mean and standard error of the mean, summed in index order.
pub(crate) fn mean_stderr(xs: impl Iterator<Item = f64> + Clone, n: usize) -> (f64, f64) {
    let nf = n as f64;
    let mean = xs.clone().sum::<f64>() / nf;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = xs.map(|x| (x - mean) * (x - mean)).sum::<f64>() / (nf - 1.0);
    (mean, (var / nf).sqrt())
}

/// Applies the leave-one-out baseline to score-function samples: estimate_i − b_i·s_i with
/// b_i the mean output of the other samples (independent of sample i, so no bias).
pub fn apply_baseline<const N: usize>(samples: &mut [RunOutput<N>]) {
    let n = samples.len();
    if n < 2 {
        return;
    }
    let total: f64 = samples.iter().map(|s| s.value).sum();
    for s in samples.iter_mut() {
        let b = (total - s.value) / (n - 1) as f64;
        for d in 0..N {
            s.derivative[d] -= b * s.score[d];
        }
    }
}

/// Mixes each sample's own estimate A (the triple's) with the score-function estimate
/// B = δ + (f − b)·s of the same run (leave-one-out baseline b): C = A + λ (B − A), with the
/// variance-optimal λ estimated on the *other* half of the batch (odd samples for even ones and
/// vice versa, with baselines taken within that half), so λ is a function of samples other than
/// the one it weighs and C stays unbiased (E[B − A | the others] = 0).
///
/// λ is clamped to [0, 1], so C is a convex combination of A and B. On a small batch the fit is
/// a ratio of two noisy sums (with 4 samples, a line through 2 points), whose mean need not
/// exist: `jet_radius_opt`'s 4 runs per gradient had a standard error 8.5× larger at R = 0.2
/// unclamped. On the variance study's 500-sample batches the clamp left the median std as it
/// was and lowered the worst cells' by up to 39 %.
pub fn apply_score_mix<const N: usize>(samples: &mut [RunOutput<N>]) {
    let n = samples.len();
    if n < 4 {
        return;
    }
    // (A, B − A) of sample `s` with baseline `b`, direction `d`.
    let pair = |s: &RunOutput<N>, b: f64, d: usize| {
        let a = s.derivative[d];
        (a, s.pathwise[d] + (s.value - b) * s.score[d] - a)
    };
    let half = |parity: usize| samples.iter().skip(parity).step_by(2);
    let mut lambda = [[0.0; N]; 2];
    for (parity, lambda) in lambda.iter_mut().enumerate() {
        let m = half(parity).count() as f64;
        let total: f64 = half(parity).map(|s| s.value).sum();
        for (d, lam) in lambda.iter_mut().enumerate() {
            // λ = −Cov(A, D) / Var(D) over this half, baselines from this half only.
            let pairs: Vec<(f64, f64)> = half(parity)
                .map(|s| pair(s, (total - s.value) / (m - 1.0), d))
                .collect();
            let (ma, md) = pairs
                .iter()
                .fold((0.0, 0.0), |(x, y), (a, e)| (x + a, y + e));
            let (ma, md) = (ma / m, md / m);
            let (cov, var) = pairs.iter().fold((0.0, 0.0), |(c, v), (a, e)| {
                (c + (a - ma) * (e - md), v + (e - md) * (e - md))
            });
            // Clamped: see above.
            *lam = if var > 0.0 {
                (-cov / var).clamp(0.0, 1.0)
            } else {
                0.0
            };
        }
    }
    let total: f64 = samples.iter().map(|s| s.value).sum();
    for (i, s) in samples.iter_mut().enumerate() {
        let b = (total - s.value) / (n - 1) as f64;
        let lam = lambda[1 - i % 2];
        for (d, l) in lam.iter().enumerate() {
            let (a, e) = pair(s, b, d);
            s.derivative[d] = a + l * e;
        }
    }
}

/// What every driver asks of its batch: a finite point θ and at least one sample.
pub(crate) fn check_batch(at: &[f64], samples: usize) -> Result<()> {
    if let Some(x) = at.iter().find(|x| !x.is_finite()) {
        return Err(Error::config(format!(
            "the point θ must be finite, got {x}"
        )));
    }
    if samples == 0 {
        return Err(Error::config("samples must be at least 1"));
    }
    Ok(())
}

/// Reduces per-sample results to a [`GradientEstimate`].
pub fn summarize<const N: usize>(samples: &[RunOutput<N>]) -> GradientEstimate<N> {
    let n = samples.len();
    let mut mean = [0.0; N];
    let mut stderr = [0.0; N];
    for d in 0..N {
        (mean[d], stderr[d]) = mean_stderr(samples.iter().map(|s| s.derivative[d]), n);
    }
    let (value, value_stderr) = mean_stderr(samples.iter().map(|s| s.value), n);
    GradientEstimate {
        mean,
        stderr,
        samples: n,
        value,
        value_stderr,
        nonzero: nonzero(samples),
    }
}

/// A configured gradient estimation: a program, a point, a seed and a number of samples.
/// Made by [`gradient`] or [`gradient_with`].
#[must_use = "configure, then call .estimate()"]
pub struct Gradient<S, P, const N: usize> {
    f: P,
    pub(crate) at: [f64; N],
    pub(crate) seed: u64,
    pub(crate) samples: usize,
    pub(crate) baseline: bool,
    pub(crate) score_mix: bool,
    pub(crate) coupling: Coupling,
    strict: bool,
    _s: PhantomData<fn() -> S>,
}

impl<S, P, const N: usize> Gradient<S, P, N>
where
    S: Estimator<N>,
    P: Program<S, N>,
{
    fn new(f: P) -> Self {
        Gradient {
            f,
            at: [0.0; N],
            seed: 0,
            samples: 1000,
            baseline: true,
            score_mix: false,
            coupling: Coupling::default(),
            strict: false,
            _s: PhantomData,
        }
    }

    /// The point θ to differentiate at (default 0).
    pub fn at(mut self, at: [f64; N]) -> Self {
        self.at = at;
        self
    }

    /// The seed (default 0). Sample `i` draws from streams determined by (seed, i) alone.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of samples of [`estimate`](Self::estimate) (default 1000).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    /// Whether score-function batches subtract the leave-one-out baseline (default true; no
    /// effect on other estimators).
    pub fn baseline(mut self, baseline: bool) -> Self {
        self.baseline = baseline;
        self
    }

    /// Mix the stochastic triple's estimate with the score-function estimate of the same runs
    /// (default false): both are unbiased and often nearly uncorrelated, so their
    /// variance-optimal combination beats either. The mixing weight of each sample is estimated
    /// on the other half of the batch, so the mix stays unbiased. Triples only.
    pub fn score_mix(mut self, on: bool) -> Self {
        self.score_mix = on;
        self
    }

    /// The coupling of every categorical draw of the run that names none
    /// ([`categorical`](crate::sample::categorical),
    /// [`categorical_logits`](crate::sample::categorical_logits)); draws with an explicit
    /// coupling or family keep theirs. Default [`Coupling::Proportional`]. See [`Coupling`] for
    /// when each has the lower variance. (The exact oracle needs no coupling: its value does not
    /// depend on one.)
    ///
    /// ```
    /// use stochad::sample::{categorical, Coupling};
    /// // E[K] for K ~ Categorical(1 − θ, θ/2, θ/2): derivative 1.5.
    /// let g = stochad::gradient(|[t]| categorical(&[-t + 1.0, t * 0.5, t * 0.5]))
    ///     .at([0.4]).samples(20_000).coupling(Coupling::Inversion).estimate()?;
    /// assert!((g.mean[0] - 1.5).abs() < 5.0 * g.stderr[0]);
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn coupling(mut self, coupling: Coupling) -> Self {
        self.coupling = coupling;
        self
    }

    /// Strict mode (default off): a `.value()` read, outside [`propagate`](crate::propagate), of a
    /// number that carries live alternative worlds fails the run with
    /// [`Error::PerturbedValueRead`] naming the call's file, line and column — the silent bias
    /// of a branch on the primal value made loud. Every such read counts, also harmless ones
    /// (logging: read those with [`scalars::primal`](crate::scalars::primal)). Stochastic triples
    /// only; other number types carry no worlds. The library's own reads of primal values are
    /// audited and do not count, so Qanti-kT clustering and its mH run under strict mode (tested).
    /// Off, it costs a triple's `.value()` one relaxed atomic load and a never-taken branch.
    ///
    /// ```
    /// use stochad::{sample::bernoulli, Error, Scalar};
    /// let branchy = stochad::derivative(|p| {
    ///     let k = bernoulli(p)?;
    ///     Ok::<_, Error>(if k.value() > 0.5 { p.sin() } else { p.cos() })
    /// });
    /// match branchy.at(0.5).samples(100).strict(true).estimate() {
    ///     Err(Error::PerturbedValueRead { file, line, .. }) => assert!(line > 0 && !file.is_empty()),
    ///     other => panic!("{other:?}"),
    /// }
    /// ```
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    fn options(&self, record_score: bool) -> RunOptions {
        RunOptions {
            record_score,
            coupling: self.coupling,
            strict: self.strict,
            record_feature: false,
        }
    }

    fn check(&self) -> Result<()> {
        if self.score_mix && !S::supports_score_mix() {
            return Err(Error::config(format!(
                "score_mix needs a stochastic triple, not {}",
                S::NAME
            )));
        }
        check_batch(&self.at, self.samples)
    }

    /// One run's unbiased estimate (run `index` of the batch; score function without baseline).
    pub fn run(&self, index: u64) -> Result<RunOutput<N>> {
        self.check()?;
        let _strict = StrictGuard::new(self.strict);
        run_sample(&self.f, self.at, self.seed, index, self.options(false))
    }

    /// The former name of [`Gradient::run`].
    #[deprecated(
        since = "0.2.0",
        note = "renamed run (one run; .samples(n) sets how many)"
    )]
    pub fn sample(&self, index: u64) -> Result<RunOutput<N>> {
        self.run(index)
    }

    /// Every run's result, in sample order, with the baseline applied when configured. The first
    /// failing sample's error (by index) is returned.
    pub fn runs(&self) -> Result<Vec<RunOutput<N>>> {
        let mut samples = self.raw_runs()?;
        if self.score_mix {
            apply_score_mix(&mut samples);
        } else if self.baseline {
            apply_baseline(&mut samples);
        }
        Ok(samples)
    }

    /// Every run's own result, in sample order, recording the score when the mix is on, with
    /// neither baseline nor mix applied.
    pub(crate) fn raw_runs(&self) -> Result<Vec<RunOutput<N>>> {
        self.raw_runs_with(false)
    }

    /// [`Gradient::raw_runs`], the programs asked for their state feature when `feature`.
    pub(crate) fn raw_runs_with(&self, feature: bool) -> Result<Vec<RunOutput<N>>> {
        self.check()?;
        let (f, at, seed, mix) = (&self.f, self.at, self.seed, self.score_mix);
        let options = RunOptions {
            record_feature: feature,
            ..self.options(mix)
        };
        let _strict = StrictGuard::new(self.strict);
        let results: Vec<Result<RunOutput<N>>> = (0..self.samples as u64)
            .into_par_iter()
            .map(|i| run_sample(f, at, seed, i, options))
            .collect();
        results.into_iter().collect()
    }

    /// The batch estimate: mean, standard error and sample count per direction.
    pub fn estimate(&self) -> Result<GradientEstimate<N>> {
        Ok(summarize(&self.runs()?))
    }

    /// Uses the program's output v as a control variate, its mean estimated by independent runs
    /// of `twin`: the same program written with `f64` (checked run by run: with each sample's
    /// random numbers it must return the program's primal value bit for bit). Each sample's
    /// estimate A becomes A − c·(v − E\[v\], v² − E\[v²\]) (plus, when the run records its
    /// score — score function with baseline, triple with score mix — the score and the mix's
    /// difference, whose means are 0), with c fitted on the rest of the batch (8 folds, each
    /// fitted on the other seven): unbiased,
    /// and the standard error counts the twin means' noise. It pays where the derivative
    /// estimate moves with the output — on Qanti-kT the keep-K triples' does with the mH of the
    /// history taken. See [`crate::control`].
    ///
    /// Use a few hundred samples or more: the coefficients are estimates, and a small batch pays
    /// for their noise. The output's columns are left out when fewer than 16 fitting runs lie off
    /// its most common value (by more than 10⁻⁹ relative), so a few rare runs cannot decide them.
    ///
    /// ```
    /// use stochad::{sample::bernoulli, KeepTriple, Scalar};
    /// // E[(1 + B₁ + B₂)²] = 1 + 6θ + 2θ², B ~ Bernoulli(θ) independent: derivative 8.4 at 0.6.
    /// fn program<S: Scalar>(t: S) -> stochad::Result<S> {
    ///     let n = bernoulli(t)? + bernoulli(t)? + 1.0;
    ///     Ok(n * n)
    /// }
    /// let g = stochad::gradient_with(|[t]: [KeepTriple<4, 1>; 1]| program(t))
    ///     .at([0.6]).samples(4000)
    ///     .control_variate(|[t]: [f64; 1]| program(t))
    ///     .estimate()?;
    /// assert!((g.mean[0] - 8.4).abs() < 5.0 * g.stderr[0]);
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn control_variate<T, O>(self, twin: T) -> Controlled<S, P, Multi<T>, N>
    where
        T: Fn([f64; N]) -> O + Sync,
        O: IntoResult<f64>,
    {
        Controlled::new(self, Multi(twin))
    }
}

/// A configured derivative estimation of a one-parameter program. Made by [`derivative`] or
/// [`derivative_with`].
#[must_use = "configure, then call .estimate()"]
pub struct Derivative<S, F> {
    inner: Gradient<S, Unary<F>, 1>,
}

impl<S, F, O> Derivative<S, F>
where
    S: Estimator<1>,
    F: Fn(S) -> O + Sync,
    O: IntoResult<S>,
{
    /// The point θ (default 0).
    pub fn at(mut self, at: f64) -> Self {
        self.inner = self.inner.at([at]);
        self
    }
    /// The seed (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.inner = self.inner.seed(seed);
        self
    }
    /// The number of samples (default 1000).
    pub fn samples(mut self, samples: usize) -> Self {
        self.inner = self.inner.samples(samples);
        self
    }
    /// Leave-one-out baseline for the score function (default true).
    pub fn baseline(mut self, baseline: bool) -> Self {
        self.inner = self.inner.baseline(baseline);
        self
    }
    /// Mix with the score-function estimate of the same runs (triples only; see
    /// [`Gradient::score_mix`]).
    pub fn score_mix(mut self, on: bool) -> Self {
        self.inner = self.inner.score_mix(on);
        self
    }
    /// The coupling of categorical draws that name none (see [`Gradient::coupling`]).
    pub fn coupling(mut self, coupling: Coupling) -> Self {
        self.inner = self.inner.coupling(coupling);
        self
    }
    /// Strict mode: `.value()` of a perturbed number outside `propagate` is an error naming the
    /// call site (see [`Gradient::strict`]).
    pub fn strict(mut self, on: bool) -> Self {
        self.inner = self.inner.strict(on);
        self
    }
    /// One run's unbiased derivative estimate (run `index` of the batch).
    pub fn run(&self, index: u64) -> Result<f64> {
        Ok(self.inner.run(index)?.derivative[0])
    }

    /// The former name of [`Derivative::run`].
    #[deprecated(
        since = "0.2.0",
        note = "renamed run (one run; .samples(n) sets how many)"
    )]
    pub fn sample(&self, index: u64) -> Result<f64> {
        self.run(index)
    }
    /// Every run's result in sample order.
    pub fn runs(&self) -> Result<Vec<RunOutput<1>>> {
        self.inner.runs()
    }
    /// The batch estimate: mean, standard error, sample count.
    pub fn estimate(&self) -> Result<Estimate> {
        Ok(self.inner.estimate()?.into())
    }

    /// The program's output as control variate, its mean from independent runs of `twin`, the
    /// same program written with `f64` (see [`Gradient::control_variate`]). Its `.estimate()`
    /// gives a one-direction [`GradientEstimate`]; `.into()` makes it an [`Estimate`].
    ///
    /// ```
    /// use stochad::{sample::bernoulli, Estimate, Scalar};
    /// // E[(1 + B₁ + B₂)²] = 1 + 6θ + 2θ²: derivative 8.4 at θ = 0.6.
    /// fn program<S: Scalar>(t: S) -> stochad::Result<S> {
    ///     let n = bernoulli(t)? + bernoulli(t)? + 1.0;
    ///     Ok(n * n)
    /// }
    /// let e: Estimate = stochad::derivative(|t| program(t))
    ///     .at(0.6).samples(4000)
    ///     .control_variate(|t: f64| program(t))
    ///     .estimate()?
    ///     .into();
    /// assert!((e.mean - 8.4).abs() < 5.0 * e.stderr);
    /// # Ok::<(), stochad::Error>(())
    /// ```
    pub fn control_variate<T, O2>(self, twin: T) -> Controlled<S, Unary<F>, Unary<T>, 1>
    where
        T: Fn(f64) -> O2 + Sync,
        O2: IntoResult<f64>,
    {
        Controlled::new(self.inner, Unary(twin))
    }
}

/// Differentiates E[f(θ)] with the stochastic triple (pruned backend): the entry point.
///
/// ```
/// use stochad::{sample::bernoulli, Scalar};
///
/// // E[x² + Bernoulli(sin²(2x))] has derivative 2x + 4 sin 2x cos 2x.
/// fn program<S: Scalar>(x: S) -> stochad::Result<S> {
///     let p = (x * 2.0).sin().powi(2);
///     Ok(x * x + stochad::sample::bernoulli(p)?)
/// }
/// let est = stochad::derivative(|x| program(x)).at(0.3).samples(20_000).seed(1).estimate()?;
/// let exact = 2.0 * 0.3 + 4.0 * (0.6f64).sin() * (0.6f64).cos();
/// assert!((est.mean - exact).abs() < 5.0 * est.stderr);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn derivative<F, O>(f: F) -> Derivative<Triple, F>
where
    F: Fn(Triple) -> O + Sync,
    O: IntoResult<Triple>,
{
    derivative_with(f)
}

/// Differentiates E[f(θ)] with the estimator chosen by the closure's argument type:
/// `|x: Score| …` (REINFORCE), `|x: Dual| …` (classical AD, biased), `|x: AllWorldsTriple| …`, ….
pub fn derivative_with<S, F, O>(f: F) -> Derivative<S, F>
where
    S: Estimator<1>,
    F: Fn(S) -> O + Sync,
    O: IntoResult<S>,
{
    Derivative {
        inner: Gradient::new(Unary(f)),
    }
}

/// The gradient of E[f(θ)] for `N` parameters with the stochastic triple: one run carries all
/// directions, sharing the primal computation.
///
/// ```
/// use stochad::{sample::bernoulli, Scalar};
/// // E[a·Bernoulli(b)] = a·b: gradient (b, a).
/// let g = stochad::gradient(|[a, b]| Ok::<_, stochad::Error>(a * bernoulli(b)?))
///     .at([2.0, 0.3]).samples(20_000).estimate()?;
/// assert!((g.mean[0] - 0.3).abs() < 5.0 * g.stderr[0]);
/// assert!((g.mean[1] - 2.0).abs() < 5.0 * g.stderr[1]);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn gradient<const N: usize, F, O>(f: F) -> Gradient<Triple<N>, Multi<F>, N>
where
    F: Fn([Triple<N>; N]) -> O + Sync,
    O: IntoResult<Triple<N>>,
{
    gradient_with(f)
}

/// The gradient with the estimator chosen by the closure's argument type, e.g.
/// `|[a, b]: [Score<2>; 2]| …`.
pub fn gradient_with<S, const N: usize, F, O>(f: F) -> Gradient<S, Multi<F>, N>
where
    S: Estimator<N>,
    F: Fn([S; N]) -> O + Sync,
    O: IntoResult<S>,
{
    Gradient::new(Multi(f))
}

/// A configured finite-difference estimation with common random numbers. Made by
/// [`finite_difference`] or [`finite_differences`].
///
/// Sample `i` runs the `f64` program at θ + h·e_d and θ − h·e_d for each direction d, every run
/// with the random streams of sample `i` (common random numbers), and estimates
/// (f(θ + h e_d) − f(θ − h e_d)) / 2h. Biased by O(h²) for smooth E\[f\], and for programs whose
/// discrete choices flip with θ its variance grows like 1/h as h → 0: the baseline the unbiased
/// estimators are measured against.
#[must_use = "configure, then call .estimate()"]
pub struct FiniteDifference<P, const N: usize> {
    f: P,
    at: [f64; N],
    step: f64,
    seed: u64,
    samples: usize,
}

impl<P: Program<f64, N>, const N: usize> FiniteDifference<P, N> {
    fn new(f: P) -> Self {
        FiniteDifference {
            f,
            at: [0.0; N],
            step: 1e-2,
            seed: 0,
            samples: 1000,
        }
    }

    /// The point θ (default 0).
    pub fn at(mut self, at: [f64; N]) -> Self {
        self.at = at;
        self
    }

    /// The half step h of the central difference (default 0.01).
    pub fn step(mut self, h: f64) -> Self {
        self.step = h;
        self
    }

    /// The seed (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The number of samples (default 1000).
    pub fn samples(mut self, samples: usize) -> Self {
        self.samples = samples;
        self
    }

    fn check(&self) -> Result<()> {
        if !(self.step > 0.0 && self.step.is_finite()) {
            return Err(Error::config(format!(
                "finite differences: the step h must be positive and finite, got {}",
                self.step
            )));
        }
        check_batch(&self.at, self.samples)
    }

    /// One run's result (run `index` of the batch: the same random numbers on both sides).
    pub fn run(&self, index: u64) -> Result<RunOutput<N>> {
        self.check()?;
        self.run_checked(index)
    }

    /// [`FiniteDifferences::run`] for a configuration already checked.
    fn run_checked(&self, index: u64) -> Result<RunOutput<N>> {
        let eval = |x: [f64; N]| run_in(RunContext::new(self.seed, index), || self.f.call(x)).0;
        let value = eval(self.at)?;
        let mut derivative = [0.0; N];
        for (d, out) in derivative.iter_mut().enumerate() {
            let (mut hi, mut lo) = (self.at, self.at);
            hi[d] += self.step;
            lo[d] -= self.step;
            *out = (eval(hi)? - eval(lo)?) / (2.0 * self.step);
        }
        Ok(RunOutput {
            value,
            derivative,
            pathwise: derivative,
            score: [0.0; N],
            feature_score: [0.0; N],
        })
    }

    /// Every sample's result, in sample order (parallel, bit-identical for a seed).
    pub fn runs(&self) -> Result<Vec<RunOutput<N>>> {
        self.check()?;
        let results: Vec<Result<RunOutput<N>>> = (0..self.samples as u64)
            .into_par_iter()
            .map(|i| self.run_checked(i))
            .collect();
        results.into_iter().collect()
    }

    /// The batch estimate: mean, standard error and sample count per direction.
    pub fn estimate(&self) -> Result<GradientEstimate<N>> {
        Ok(summarize(&self.runs()?))
    }
}

/// Central finite differences of E\[f(θ)\] with common random numbers, for a one-parameter `f64`
/// program (see [`FiniteDifference`]).
///
/// ```
/// use stochad::sample::bernoulli;
/// // E[x² + Bernoulli(x)] = x² + x: derivative 2x + 1.
/// let fd = stochad::finite_difference(|x: f64| Ok::<_, stochad::Error>(x * x + bernoulli(x)?))
///     .at([0.3]).step(0.01).samples(20_000).estimate()?;
/// assert!((fd.mean[0] - 1.6).abs() < 5.0 * fd.stderr[0]);
/// # Ok::<(), stochad::Error>(())
/// ```
pub fn finite_difference<F, O>(f: F) -> FiniteDifference<Unary<F>, 1>
where
    F: Fn(f64) -> O + Sync,
    O: IntoResult<f64>,
{
    FiniteDifference::new(Unary(f))
}

/// Central finite differences of E\[f(θ)\] with common random numbers, for an `f64` program of
/// `N` parameters (one pair of runs per direction).
pub fn finite_differences<const N: usize, F, O>(f: F) -> FiniteDifference<Multi<F>, N>
where
    F: Fn([f64; N]) -> O + Sync,
    O: IntoResult<f64>,
{
    FiniteDifference::new(Multi(f))
}
