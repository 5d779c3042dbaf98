//! The exact oracle: `E\[f\]` and its exact gradient by enumerating every outcome path of a
//! program's discrete draws.
//!
//! The program runs with [`Dual`] inputs, once per path of its tree of draws: a run replays a
//! forced prefix of outcomes, then takes the first outcome of every further draw and records that
//! draw's support, so the next run can branch there (depth first, each leaf once). Along a path
//! every draw multiplies the path probability `P` (value and tangents) by `p(k)`, so
//! `E\[f\] = Σ P·f` and `∇E[f] = Σ (∇P·f + P·∇f)`. Infinite supports are cut where their remaining
//! tail mass is below [`Options::tail`]; the mass left out is reported.
//!
//! Meant for tests and small programs: the number of paths grows exponentially with the number
//! of draws. The program must be deterministic given its draws' outcomes. Only outcomes of
//! non-zero probability are enumerated, so at a boundary of the parameter domain (e.g.
//! Bernoulli at `p = 0`) the one-sided derivative from outcomes that only start to gain mass
//! there is not seen.
//!
//! ```
//! use stochad::{exact, sample::bernoulli, Scalar};
//! // E[3·B + p²] with B ~ Bernoulli(p) is 3p + p², derivative 3 + 2p.
//! let r = exact::derivative(|p| Ok::<_, stochad::Error>(bernoulli(p)? * 3.0 + p * p), 0.25).unwrap();
//! assert!((r.value - (0.75 + 0.0625)).abs() < 1e-15);
//! assert!((r.gradient[0] - 3.5).abs() < 1e-15);
//! assert_eq!(r.paths, 2);
//! ```

use smallvec::smallvec;

use crate::context::{run_in, EnumState, Mode, RunContext};
use crate::dual::Dual;
use crate::error::{Error, Result};
use crate::scalars::IntoResult;

/// Settings of the enumeration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Infinite supports (Poisson, geometric) are cut where the remaining tail mass is below
    /// this (default `1e-12`).
    pub tail: f64,
    /// Enumerating more paths than this fails with [`Error::SupportTooLarge`] (default `10⁶`).
    pub max_paths: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tail: 1e-12,
            max_paths: 1_000_000,
        }
    }
}

/// The former name of [`Expectation`].
#[deprecated(since = "0.2.0", note = "renamed Expectation")]
pub type Exact<const N: usize> = Expectation<N>;

/// The result of the exact oracle: E\[f\] and its gradient, from every path of the program.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Expectation<const N: usize> {
    /// `E\[f\]` over the enumerated paths.
    pub value: f64,
    /// `∂E\[f\]/∂x_i` for each input.
    pub gradient: [f64; N],
    /// Number of paths enumerated.
    pub paths: usize,
    /// Probability mass of the paths left out by truncating infinite supports (`1 − Σ P`;
    /// rounding-level for finite supports).
    pub truncated: f64,
}

/// `E[f(x)]` and its gradient at `x = at`, with default [`Options`].
///
/// # Errors
/// Any error of the program; [`Error::SupportTooLarge`] when it has more paths than the limit;
/// [`Error::InvalidConfig`] when the program is not deterministic given its draws.
///
/// ```
/// use stochad::{exact, sample::binomial, Dual, Scalar};
/// // E[B·x₁] with B ~ Binomial(4, x₀) is 4 x₀ x₁.
/// let r = exact::expectation(|[p, y]: [Dual<2>; 2]| Ok(binomial(4, p)? * y), [0.5, 3.0]).unwrap();
/// assert!((r.value - 6.0).abs() < 1e-12);
/// assert!((r.gradient[0] - 12.0).abs() < 1e-12 && (r.gradient[1] - 2.0).abs() < 1e-12);
/// ```
pub fn expectation<const N: usize, O: IntoResult<Dual<N>>>(
    f: impl Fn([Dual<N>; N]) -> O,
    at: [f64; N],
) -> Result<Expectation<N>> {
    expectation_with(f, at, Options::default())
}

/// One-dimensional [`expectation`]: `E[f(x)]` and `dE/dx` (in `gradient[0]`) at `x = at`.
///
/// # Errors
/// As [`expectation`].
///
/// ```
/// use stochad::{exact, sample::poisson, Scalar};
/// // E[K²] with K ~ Poisson(λ) is λ + λ², derivative 1 + 2λ.
/// let r = exact::derivative(|l| poisson(l).map(|k| k * k), 2.0).unwrap();
/// assert!((r.value - 6.0).abs() < 1e-9 && (r.gradient[0] - 5.0).abs() < 1e-9);
/// assert!(r.truncated < 1e-12);
/// ```
pub fn derivative<O: IntoResult<Dual<1>>>(
    f: impl Fn(Dual<1>) -> O,
    at: f64,
) -> Result<Expectation<1>> {
    expectation(|[x]: [Dual<1>; 1]| f(x), [at])
}

/// [`expectation`] with explicit [`Options`].
///
/// # Errors
/// As [`expectation`]; also [`Error::InvalidConfig`] for a negative or NaN `tail`.
pub fn expectation_with<const N: usize, O: IntoResult<Dual<N>>>(
    f: impl Fn([Dual<N>; N]) -> O,
    at: [f64; N],
    options: Options,
) -> Result<Expectation<N>> {
    if options.tail.is_nan() || options.tail < 0.0 {
        return Err(Error::config(format!(
            "exact oracle: tail = {} must be ≥ 0",
            options.tail
        )));
    }
    let inputs: [Dual<N>; N] = std::array::from_fn(|i| Dual::variable(at[i], i));
    let mut acc = Expectation {
        value: 0.0,
        gradient: [0.0; N],
        paths: 0,
        truncated: 0.0,
    };
    let mut mass = 0.0;
    // The branching points of the current path: each draw's support and the chosen index.
    let mut stack: Vec<(Vec<f64>, usize)> = Vec::new();
    loop {
        let prefix: Vec<f64> = stack.iter().map(|(s, i)| s[*i]).collect();
        let (out, e) = run_path(&f, inputs, prefix, options.tail)?;
        acc.value += e.weight * out.value;
        for i in 0..N {
            acc.gradient[i] += e.weight_tangent[i] * out.value + e.weight * out.tangent[i];
        }
        mass += e.weight;
        acc.paths += 1;
        // A lower bound on the paths still to come: the product of the fresh supports' sizes.
        let fresh = e
            .supports
            .iter()
            .fold(1usize, |n, s| n.saturating_mul(s.len()));
        let at_least = acc.paths.saturating_add(fresh - 1);
        if at_least > options.max_paths {
            return Err(Error::SupportTooLarge {
                paths: at_least,
                limit: options.max_paths,
            });
        }
        stack.extend(e.supports.into_iter().map(|s| (s, 0)));
        if !advance(&mut stack) {
            break;
        }
    }
    acc.truncated = (1.0 - mass).max(0.0);
    Ok(acc)
}

/// Moves `stack` to the next leaf in depth-first order; false when every leaf was visited.
fn advance(stack: &mut Vec<(Vec<f64>, usize)>) -> bool {
    while let Some((support, i)) = stack.last_mut() {
        if *i + 1 < support.len() {
            *i += 1;
            return true;
        }
        stack.pop();
    }
    false
}

/// Runs the program once along `prefix` (then first outcomes); returns its output and the
/// path's enumeration state.
fn run_path<const N: usize, O: IntoResult<Dual<N>>>(
    f: &impl Fn([Dual<N>; N]) -> O,
    inputs: [Dual<N>; N],
    prefix: Vec<f64>,
    tail: f64,
) -> Result<(Dual<N>, EnumState)> {
    let forced = prefix.len();
    let mut ctx = RunContext::new(0, 0);
    ctx.mode = Mode::Enumerate(EnumState {
        path: prefix,
        prefix: forced,
        pos: 0,
        supports: Vec::new(),
        weight: 1.0,
        weight_tangent: smallvec![0.0; N],
        tail,
    });
    let (out, ctx) = run_in(ctx, || f(inputs).into_result());
    let out = out?;
    let Mode::Enumerate(e) = ctx.mode else {
        return Err(Error::config(
            "exact oracle: the program changed the run's mode",
        ));
    };
    if e.pos < e.prefix {
        return Err(Error::config(
            "exact oracle: the program made fewer draws when replayed; it must be deterministic \
             given the outcomes of its draws",
        ));
    }
    Ok((out, e))
}
