//! The generic scalar interface user programs are written against, and its `f64` implementation.
//!
//! A program written once over `S: Scalar` runs as the plain primal program with `f64`, as
//! classical forward AD with [`Dual`](crate::Dual), as REINFORCE with [`Score`](crate::Score) and
//! as stochastic AD with [`Triple`](crate::Triple).
//!
//! Every number type implements two chain-rule hooks, [`Scalar::map1`] and [`Scalar::map2`]; the
//! elementary functions are written once on top of them, so a new number type is a small file.
//!
//! # Writing constants on the left
//! Generic code cannot write `2.0 * x` for every `S: Scalar`: Rust's coherence rules forbid
//! `impl<S: Scalar> Mul<S> for f64`. Write `x * 2.0` or `S::from(2.0) * x` in generic code; the
//! concrete number types do implement `f64 * T`.

use std::fmt::Debug;
use std::iter::{Product, Sum};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::error::Result;
use crate::sample::Family;

/// An alternative world of a run: the world `id` along derivative direction `dir`. Worlds are
/// created by discrete draws whose distribution depends on θ (see [`Scalar::worlds`]); they are
/// meaningful only inside the run that created them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct World {
    /// The direction (parameter) whose perturbation opened the world.
    pub dir: u32,
    /// The world's id within the run.
    pub id: u32,
}

/// A number a stochastic program computes with: `f64`, [`Dual`](crate::Dual),
/// [`Score`](crate::Score) or [`Triple`](crate::Triple).
///
/// Arithmetic works with `Self` and with `f64` on the right; comparisons act on the primal value
/// ([`Scalar::value`]). For the stochastic triple a comparison whose outcome a perturbation would
/// flip is recorded and reported by the estimator driver as
/// [`Error::PerturbedComparison`](crate::Error::PerturbedComparison).
pub trait Scalar:
    Copy
    + Default
    + Debug
    + Send
    + Sync
    + 'static
    + From<f64>
    + PartialEq
    + PartialOrd
    + PartialEq<f64>
    + PartialOrd<f64>
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + AddAssign<f64>
    + SubAssign<f64>
    + MulAssign<f64>
    + DivAssign<f64>
    + Sum
    + Product
{
    /// The primal value.
    ///
    /// **Do not branch on it outside [`propagate`](crate::propagate).** For a stochastic triple
    /// the primal is one of several worlds the number carries; `if x.value() < c { … }` follows
    /// the primal's branch in every world, and the derivative estimate is silently biased (the
    /// comparison operators report such a branch, a plain `f64` cannot). Inside `propagate`, the
    /// function receives plain values, one world at a time, and `.value()` is exactly right.
    /// Reading it for output or logging is harmless. The drivers'
    /// [`strict`](crate::estimate::Gradient::strict) mode turns a read of a number with live
    /// worlds into [`Error::PerturbedValueRead`](crate::Error::PerturbedValueRead) naming this
    /// call's location.
    ///
    /// ```
    /// use stochad::{propagate, sample::bernoulli, Error, Scalar};
    /// // Biased: the branch on the primal coin is taken in every world. Strict mode says where.
    /// let bad = stochad::derivative(|p| {
    ///     let k = bernoulli(p)?;
    ///     Ok::<_, Error>(if k.value() == 1.0 { p * 3.0 } else { p })
    /// });
    /// let e = bad.at(0.3).samples(100).strict(true).estimate();
    /// assert!(matches!(e, Err(Error::PerturbedValueRead { .. })), "{e:?}");
    /// // Right: the same branch inside propagate.
    /// let good = stochad::derivative(|p| {
    ///     let k = bernoulli(p)?;
    ///     propagate(|k| if k.value() == 1.0 { p * 3.0 } else { p }, k)
    /// });
    /// assert!(good.at(0.3).samples(100).strict(true).estimate().is_ok());
    /// ```
    #[track_caller]
    fn value(&self) -> f64;

    /// The primal value without strict mode's check, for library code that reads every world.
    #[doc(hidden)]
    #[inline]
    fn primal_value(&self) -> f64 {
        self.value()
    }

    /// Applies a scalar function `f` with derivative `df(x, f(x))`.
    ///
    /// Number types carry the tangent by the chain rule and evaluate `f` again in every
    /// alternative world; `f` may be discontinuous (the tangent is then `df` where it exists).
    fn map1<F, D>(self, f: F, df: D) -> Self
    where
        F: Fn(f64) -> f64,
        D: Fn(f64, f64) -> f64;

    /// Applies a function of two arguments `f(x, y)` with partial derivatives
    /// `dfdx(x, y, f(x, y))` and `dfdy(x, y, f(x, y))`.
    fn map2<F, Dx, Dy>(self, other: Self, f: F, dfdx: Dx, dfdy: Dy) -> Self
    where
        F: Fn(f64, f64) -> f64,
        Dx: Fn(f64, f64, f64) -> f64,
        Dy: Fn(f64, f64, f64) -> f64;

    /// Applies a function of `K` arguments `f(x)` with gradient `grad(x, f(x))`: one chain-rule
    /// step for a whole formula. Number types carry the tangent by the gradient and evaluate `f`
    /// again in every alternative world on that world's arguments, so `f` may branch freely (it
    /// sees plain values) and a formula costs one operation of the number type instead of one
    /// per arithmetic step.
    ///
    /// ```
    /// use stochad::{Dual, Scalar};
    /// // x·y + sin z as one step.
    /// let [x, y, z] = [0, 1, 2].map(|i| Dual::<3>::variable([2.0, 3.0, 0.5][i], i));
    /// let v = Dual::map_n([x, y, z], |[x, y, z]| x * y + z.sin(), |[x, y, z], _| [y, x, z.cos()]);
    /// assert_eq!(v.value, 6.0 + 0.5f64.sin());
    /// assert_eq!(v.tangent, [3.0, 2.0, 0.5f64.cos()]);
    /// ```
    fn map_n<const K: usize, F, G>(xs: [Self; K], f: F, grad: G) -> Self
    where
        F: Fn([f64; K]) -> f64,
        G: Fn([f64; K], f64) -> [f64; K];

    /// Draws from a discrete distribution `family` with parameters `params`, by inversion with
    /// the run's primal random stream. Each number type adds what it carries: nothing (`f64`,
    /// `Dual`), the score ∂θ log p (`Score`), or new and coupled perturbations (`Triple`).
    ///
    /// Users call the samplers in [`sample`](crate::sample) instead.
    fn draw<F: Family>(family: &F, params: &[Self]) -> Result<Self>;

    /// Whether values of this type can carry alternative worlds (only the stochastic triples).
    /// Types without worlds take fast paths: [`propagate`](crate::propagate) is then just a call.
    #[doc(hidden)]
    const CARRIES_WORLDS: bool = false;

    /// Whether [`Scalar::draw_in_worlds`] takes the parameters' alternative values as plain
    /// values, world by world: the triples whose backend redraws the worlds its parameters
    /// carry (pruned, keep-K, all worlds; not the smoothed backend, which summarises them by
    /// tangents).
    #[doc(hidden)]
    const DRAWS_IN_WORLDS: bool = false;

    /// Whether [`Scalar::reissue_world`] can reissue worlds (the pruned triple).
    #[doc(hidden)]
    const REISSUES_WORLDS: bool = false;

    /// [`Scalar::draw`] with the parameters' alternative worlds given as values: `params` carry
    /// values and tangents only (no worlds), and row j of `alt` (`params.len()` values, rows in
    /// the order of `worlds`) holds the parameters in `worlds[j]`: live worlds, coupled as
    /// [`Scalar::couple_worlds`] couples them. The same draw as [`Scalar::draw`] of parameters
    /// carrying those worlds, with each world's parameters as computed by the caller (no
    /// rounding through stored differences); a program computes a world's parameters in `f64`
    /// from its inputs' values there, without a payload per parameter.
    ///
    /// # Errors
    /// As [`Scalar::draw`]; [`Error::InvalidConfig`](crate::Error::InvalidConfig) when `worlds`
    /// is not empty and the type cannot take them ([`Scalar::DRAWS_IN_WORLDS`] false), when a
    /// parameter carries worlds, or when `alt` does not hold one row per world.
    #[doc(hidden)]
    fn draw_in_worlds<F: Family>(
        family: &F,
        params: &[Self],
        worlds: &[World],
        alt: &[f64],
    ) -> Result<Self> {
        if !worlds.is_empty() || !alt.is_empty() {
            return Err(crate::Error::config(
                "draw_in_worlds: this number type takes no worlds given as values",
            ));
        }
        Self::draw(family, params)
    }

    /// The live alternative worlds this number carries (for numbers without worlds, none).
    ///
    /// Together with [`Scalar::value_in`] this lets a program look at each world without
    /// branching on the primal, e.g. to bound a value in every world before skipping work that is
    /// negligible in all of them. The pruned triple carries at most one world per direction, the
    /// exact triple every world that reached the value.
    fn worlds(&self) -> smallvec::SmallVec<[World; 4]> {
        smallvec::SmallVec::new()
    }

    /// The value in `world`: the primal value if this number does not carry that world (it then
    /// equals the primal there).
    fn value_in(&self, _world: World) -> f64 {
        self.primal_value()
    }

    /// [`Scalar::value_in`] for a world the caller knows to be alive (one [`Scalar::worlds`]
    /// or [`Scalar::couple_worlds`] just returned): the same value, without a liveness check
    /// where the number type can skip it.
    #[doc(hidden)]
    fn value_in_live(&self, world: World) -> f64 {
        self.value_in(world)
    }

    /// [`Scalar::value_in_live`] of each of `worlds` into `out` (as long as `worlds`), with
    /// one read of the payload where the number type can.
    #[doc(hidden)]
    fn values_in_live(&self, worlds: &[World], out: &mut [f64]) {
        for (o, &w) in out.iter_mut().zip(worlds) {
            *o = self.value_in_live(w);
        }
    }

    /// The smallest of `xs` as `xs[0].min(xs[1]).min(xs[2])…` gives it (`None` when empty):
    /// the primal value and tangent of that fold and, in each world the numbers carry, the
    /// smallest value there. Numbers with many worlds take each world's minimum over plain
    /// values instead of building a payload per step of the fold (then coupling the worlds
    /// first, so pruning may decide elsewhere than the fold would; the values agree to rounding).
    #[doc(hidden)]
    fn min_of(xs: impl Iterator<Item = Self>) -> Option<Self> {
        xs.reduce(|a, b| a.min(b))
    }

    /// [`Scalar::min_of`] of `xs` where some are replaced: of `xs[j]` where `keep(j)`, `raise(j)`
    /// elsewhere, in order. The same number as `min_of` over them (the default); a number type
    /// may then fold values and tangents in place (the pruned triples, at each step of the fold
    /// where neither side carries a payload) instead of building a number per step.
    #[doc(hidden)]
    fn min_of_slice<P, R>(xs: &[Self], keep: P, raise: R) -> Option<Self>
    where
        P: Fn(usize) -> bool,
        R: Fn(usize) -> Self,
    {
        Self::min_of((0..xs.len()).map(|j| if keep(j) { xs[j] } else { raise(j) }))
    }

    /// `n` numbers pushed onto `out` in order, most of them functions of the same inputs `xs`:
    /// number `j` is `map_n(xs, |x| f(j, x), |x, v| grad(j, x, v))` where `shared(j)`, and
    /// `other(j)` elsewhere. The same numbers as that loop (which is the default); a number type
    /// may read the inputs once for all of them (the triples, where no input carries a payload).
    ///
    /// ```
    /// use stochad::{Dual, Scalar};
    /// // x·c_j for constants c = [1, 2, 3], but y for j = 1.
    /// let (x, y) = (Dual::<1>::variable(2.0, 0), Dual::<1>::from(5.0));
    /// let c = [1.0, 2.0, 3.0];
    /// let mut out = Vec::new();
    /// Dual::map_n_shared([x], 3, |j| j != 1, |j, [x]| x * c[j], |j, _, _| [c[j]], |_| y, &mut out);
    /// assert_eq!(out, [Dual::new(2.0, [1.0]), y, Dual::new(6.0, [3.0])]);
    /// ```
    #[doc(hidden)]
    #[inline]
    fn map_n_shared<const K: usize, P, F, G, O>(
        xs: [Self; K],
        n: usize,
        shared: P,
        f: F,
        grad: G,
        other: O,
        out: &mut Vec<Self>,
    ) where
        P: Fn(usize) -> bool,
        F: Fn(usize, [f64; K]) -> f64,
        G: Fn(usize, [f64; K], f64) -> [f64; K],
        O: FnMut(usize) -> Self,
    {
        map_n_each(xs, n, shared, f, grad, other, out);
    }

    /// The values this number takes: the primal value first, then its value in each live
    /// alternative world it carries ([`Scalar::worlds`]). Numbers without alternative worlds
    /// return only the primal value.
    ///
    /// This is how a program asks, without branching on the primal, which outcomes a discrete
    /// number can have across worlds, e.g. to find every slot a categorical choice may touch.
    ///
    /// ```
    /// use stochad::{sample::bernoulli, Scalar, Triple};
    /// // Outside a run nothing is perturbed: just the primal value.
    /// assert_eq!(Triple::<1>::from(2.5).world_values().as_slice(), &[2.5]);
    /// // Inside a run a coin whose probability depends on θ may carry the flipped outcome.
    /// let v = stochad::derivative(|p: Triple| {
    ///     let k = bernoulli(p)?;
    ///     let vals = k.world_values();
    ///     assert!(vals.len() <= 2 && vals.iter().all(|&x| x == 0.0 || x == 1.0));
    ///     Ok::<_, stochad::Error>(k)
    /// }).at(0.5).samples(10).estimate();
    /// assert!(v.is_ok());
    /// ```
    fn world_values(&self) -> smallvec::SmallVec<[f64; 4]> {
        let mut v = smallvec::smallvec![self.primal_value()];
        v.extend(self.worlds().into_iter().map(|w| self.value_in_live(w)));
        v
    }

    /// The smallest and largest value of [`Scalar::world_values`]: bounds on this number over the
    /// primal and every live alternative world. Bounds taken while a world is alive stay valid
    /// (if loose) after pruning kills it, so they may be cached.
    fn world_range(&self) -> (f64, f64) {
        let vals = self.world_values();
        vals.iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            })
    }

    /// The alternative worlds that the values `xs` carry, coupled as the number type requires
    /// (the pruned triple prunes them to one per direction). Used by
    /// [`propagate`](crate::propagate); numbers without alternative worlds return none.
    #[doc(hidden)]
    fn couple_worlds(_xs: &[Self]) -> smallvec::SmallVec<[World; 4]> {
        smallvec::SmallVec::new()
    }

    /// Those of `worlds` that are no longer alive (lost a pruning decision): a number that
    /// carried one no longer does. Numbers without alternative worlds have none.
    #[doc(hidden)]
    fn dead_worlds(_worlds: &[World]) -> smallvec::SmallVec<[World; 4]> {
        smallvec::SmallVec::new()
    }

    /// The same number without alternative worlds (value and tangents kept).
    #[doc(hidden)]
    fn without_worlds(self) -> Self {
        self
    }

    /// The same number without world `w` (its value there becomes the primal's).
    #[doc(hidden)]
    fn without_world(self, _w: World) -> Self {
        self
    }

    /// A new world that stands for the live world `w` from here on, with its direction and
    /// weight, `w` itself dying (every number that carried it no longer does): for a program
    /// that takes `w`'s history out of its numbers to go on with it apart, and attaches what
    /// that history gives to the new world ([`Scalar::with_world`]). `None` where the number
    /// type cannot (the default: [`Scalar::REISSUES_WORLDS`] is false), for a dead world, or
    /// outside a run.
    #[doc(hidden)]
    fn reissue_world(_w: World) -> Option<World> {
        None
    }

    /// Adds `world`, in which this number has value `alt`.
    #[doc(hidden)]
    fn with_world(self, _world: World, _alt: f64) -> Self {
        self
    }

    /// Adds each `(world, alt)` of `worlds` (distinct worlds), as [`Scalar::with_world`] one
    /// after the other would: how [`propagate`](crate::propagate) attaches its outputs, one
    /// payload rebuild per number where the number type can.
    #[doc(hidden)]
    fn with_worlds(self, worlds: &[(World, f64)]) -> Self {
        with_worlds_in_turn(self, worlds)
    }

    /// A constant (zero tangent, no perturbations).
    #[inline]
    fn constant(x: f64) -> Self {
        Self::from(x)
    }

    /// Zero.
    #[inline]
    fn zero() -> Self {
        Self::from(0.0)
    }

    /// One.
    #[inline]
    fn one() -> Self {
        Self::from(1.0)
    }

    /// `e^x`.
    #[inline]
    fn exp(self) -> Self {
        self.map1(f64::exp, |_, fx| fx)
    }
    /// `e^x − 1`, accurate near zero.
    #[inline]
    fn exp_m1(self) -> Self {
        self.map1(f64::exp_m1, |_, fx| fx + 1.0)
    }
    /// Natural logarithm.
    #[inline]
    fn ln(self) -> Self {
        self.map1(f64::ln, |x, _| 1.0 / x)
    }
    /// `ln(1 + x)`, accurate near zero.
    #[inline]
    fn ln_1p(self) -> Self {
        self.map1(f64::ln_1p, |x, _| 1.0 / (1.0 + x))
    }
    /// Base-10 logarithm.
    #[inline]
    fn log10(self) -> Self {
        self.map1(f64::log10, |x, _| 1.0 / (x * std::f64::consts::LN_10))
    }
    /// Square root.
    #[inline]
    fn sqrt(self) -> Self {
        self.map1(f64::sqrt, |_, fx| 0.5 / fx)
    }
    /// Cube root.
    #[inline]
    fn cbrt(self) -> Self {
        self.map1(f64::cbrt, |_, fx| 1.0 / (3.0 * fx * fx))
    }
    /// `1 / x`.
    #[inline]
    fn recip(self) -> Self {
        self.map1(f64::recip, |_, fx| -fx * fx)
    }
    /// Integer power.
    #[inline]
    fn powi(self, n: i32) -> Self {
        self.map1(
            move |x| x.powi(n),
            move |x, _| {
                if n == 0 {
                    0.0
                } else {
                    n as f64 * x.powi(n - 1)
                }
            },
        )
    }
    /// Real power `x^n` with both base and exponent differentiable.
    #[inline]
    fn powf(self, n: Self) -> Self {
        self.map2(
            n,
            f64::powf,
            |x, y, _| if y == 0.0 { 0.0 } else { y * x.powf(y - 1.0) },
            |x, _, f| if x == 0.0 { 0.0 } else { f * x.ln() },
        )
    }
    /// Sine.
    #[inline]
    fn sin(self) -> Self {
        self.map1(f64::sin, |x, _| x.cos())
    }
    /// Cosine.
    #[inline]
    fn cos(self) -> Self {
        self.map1(f64::cos, |x, _| -x.sin())
    }
    /// Tangent.
    #[inline]
    fn tan(self) -> Self {
        self.map1(f64::tan, |_, fx| 1.0 + fx * fx)
    }
    /// Arcsine.
    #[inline]
    fn asin(self) -> Self {
        self.map1(f64::asin, |x, _| 1.0 / (1.0 - x * x).sqrt())
    }
    /// Arccosine.
    #[inline]
    fn acos(self) -> Self {
        self.map1(f64::acos, |x, _| -1.0 / (1.0 - x * x).sqrt())
    }
    /// Arctangent.
    #[inline]
    fn atan(self) -> Self {
        self.map1(f64::atan, |x, _| 1.0 / (1.0 + x * x))
    }
    /// Four-quadrant arctangent of `self / other` (`self` is y, `other` is x).
    #[inline]
    fn atan2(self, other: Self) -> Self {
        self.map2(
            other,
            f64::atan2,
            |y, x, _| x / (x * x + y * y),
            |y, x, _| -y / (x * x + y * y),
        )
    }
    /// Hyperbolic sine.
    #[inline]
    fn sinh(self) -> Self {
        self.map1(f64::sinh, |x, _| x.cosh())
    }
    /// Hyperbolic cosine.
    #[inline]
    fn cosh(self) -> Self {
        self.map1(f64::cosh, |x, _| x.sinh())
    }
    /// Hyperbolic tangent.
    #[inline]
    fn tanh(self) -> Self {
        self.map1(f64::tanh, |_, fx| 1.0 - fx * fx)
    }
    /// The logistic function `1 / (1 + e^−x)`.
    #[inline]
    fn sigmoid(self) -> Self {
        self.map1(
            |x| {
                if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (1.0 + e)
                }
            },
            |_, fx| fx * (1.0 - fx),
        )
    }
    /// `sqrt(x² + y²)` without undue overflow.
    #[inline]
    fn hypot(self, other: Self) -> Self {
        self.map2(
            other,
            f64::hypot,
            |x, _, f| if f == 0.0 { 0.0 } else { x / f },
            |_, y, f| if f == 0.0 { 0.0 } else { y / f },
        )
    }
    /// Absolute value (derivative 0 at 0).
    #[inline]
    fn abs(self) -> Self {
        self.map1(f64::abs, |x, _| {
            if x > 0.0 {
                1.0
            } else if x < 0.0 {
                -1.0
            } else {
                0.0
            }
        })
    }
    /// The larger of two numbers (derivative of the larger; of `self` on a tie). Continuous, so
    /// safe for perturbed values. `other` may be a number of the same type or an `f64`, like the
    /// right operand of the arithmetic operators.
    ///
    /// ```
    /// use stochad::{Dual, Scalar};
    /// let x = Dual::<1>::variable(-2.0, 0);
    /// assert_eq!(Scalar::max(x, 0.0), Dual::new(0.0, [0.0]));
    /// assert_eq!(Scalar::max(x, Dual::from(-3.0)), x);
    /// ```
    #[inline]
    fn max(self, other: impl Into<Self>) -> Self {
        self.map2(
            other.into(),
            f64::max,
            |x, y, _| if x >= y { 1.0 } else { 0.0 },
            |x, y, _| if x >= y { 0.0 } else { 1.0 },
        )
    }
    /// The smaller of two numbers (derivative of the smaller; of `self` on a tie). `other` may be
    /// a number of the same type or an `f64`.
    ///
    /// ```
    /// use stochad::{Dual, Scalar};
    /// let x = Dual::<1>::variable(2.0, 0);
    /// assert_eq!(Scalar::min(x, 1.0), Dual::new(1.0, [0.0]));
    /// assert_eq!(Scalar::min(x, Dual::from(3.0)), x);
    /// ```
    #[inline]
    fn min(self, other: impl Into<Self>) -> Self {
        self.map2(
            other.into(),
            f64::min,
            |x, y, _| if x <= y { 1.0 } else { 0.0 },
            |x, y, _| if x <= y { 0.0 } else { 1.0 },
        )
    }
    /// Largest integer ≤ x (derivative 0; alternative worlds evaluate it exactly).
    #[inline]
    fn floor(self) -> Self {
        self.map1(f64::floor, |_, _| 0.0)
    }
    /// Smallest integer ≥ x (derivative 0).
    #[inline]
    fn ceil(self) -> Self {
        self.map1(f64::ceil, |_, _| 0.0)
    }
    /// Nearest integer, half away from zero (derivative 0).
    #[inline]
    fn round(self) -> Self {
        self.map1(f64::round, |_, _| 0.0)
    }
    /// Sign: −1, 0 or +1 (derivative 0).
    #[inline]
    fn signum(self) -> Self {
        self.map1(
            |x| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            },
            |_, _| 0.0,
        )
    }
    /// Whether this number carries no derivative information: zero tangents and no alternative
    /// worlds (always true for `f64`). Code may then compute with its plain value and convert
    /// back with `S::from`, which gives the same number.
    #[inline]
    fn is_constant(&self) -> bool {
        true
    }

    /// Whether the primal value is finite.
    #[inline]
    fn is_finite(&self) -> bool {
        self.primal_value().is_finite()
    }
}

impl Scalar for f64 {
    #[inline]
    fn value(&self) -> f64 {
        *self
    }

    #[inline]
    fn map1<F, D>(self, f: F, _df: D) -> Self
    where
        F: Fn(f64) -> f64,
        D: Fn(f64, f64) -> f64,
    {
        f(self)
    }

    #[inline]
    fn map2<F, Dx, Dy>(self, other: Self, f: F, _dfdx: Dx, _dfdy: Dy) -> Self
    where
        F: Fn(f64, f64) -> f64,
        Dx: Fn(f64, f64, f64) -> f64,
        Dy: Fn(f64, f64, f64) -> f64,
    {
        f(self, other)
    }

    #[inline]
    fn map_n<const K: usize, F, G>(xs: [Self; K], f: F, _grad: G) -> Self
    where
        F: Fn([f64; K]) -> f64,
        G: Fn([f64; K], f64) -> [f64; K],
    {
        f(xs)
    }

    fn draw<F: Family>(family: &F, params: &[Self]) -> Result<Self> {
        crate::sample::draw_primal(family, params).map(|d| d.outcome())
    }
}

/// [`Scalar::map_n_shared`] as its definition says: `map_n` per shared number, `other`
/// elsewhere, in order (its default, and where an override's shortcut does not apply).
#[inline]
pub(crate) fn map_n_each<S: Scalar, const K: usize, P, F, G, O>(
    xs: [S; K],
    n: usize,
    shared: P,
    f: F,
    grad: G,
    mut other: O,
    out: &mut Vec<S>,
) where
    P: Fn(usize) -> bool,
    F: Fn(usize, [f64; K]) -> f64,
    G: Fn(usize, [f64; K], f64) -> [f64; K],
    O: FnMut(usize) -> S,
{
    out.reserve(n);
    for j in 0..n {
        out.push(if shared(j) {
            S::map_n(xs, |x| f(j, x), |x, v| grad(j, x, v))
        } else {
            other(j)
        });
    }
}

/// Generates, for a number type with `map1`/`map2`, the operators with itself, with `f64` on
/// either side, the compound assignments, `Neg`, `Sum`, `Product`, `From<f64>` is left to the
/// type. Comparisons are written per type: they differ in what they check.
macro_rules! impl_scalar_ops {
    ([$($gen:tt)*] $t:ty) => {
        impl<$($gen)*> ::std::ops::Add for $t {
            type Output = Self;
            #[inline]
            fn add(self, rhs: Self) -> Self {
                $crate::Scalar::map2(self, rhs, |a, b| a + b, |_, _, _| 1.0, |_, _, _| 1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Sub for $t {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: Self) -> Self {
                $crate::Scalar::map2(self, rhs, |a, b| a - b, |_, _, _| 1.0, |_, _, _| -1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Mul for $t {
            type Output = Self;
            #[inline]
            fn mul(self, rhs: Self) -> Self {
                $crate::Scalar::map2(self, rhs, |a, b| a * b, |_, b, _| b, |a, _, _| a)
            }
        }
        impl<$($gen)*> ::std::ops::Div for $t {
            type Output = Self;
            #[inline]
            fn div(self, rhs: Self) -> Self {
                $crate::Scalar::map2(self, rhs, |a, b| a / b, |_, b, _| 1.0 / b, |_, b, f| -f / b)
            }
        }
        impl<$($gen)*> ::std::ops::Neg for $t {
            type Output = Self;
            #[inline]
            fn neg(self) -> Self {
                $crate::Scalar::map1(self, |a| -a, |_, _| -1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Add<f64> for $t {
            type Output = Self;
            #[inline]
            fn add(self, c: f64) -> Self {
                $crate::Scalar::map1(self, move |a| a + c, |_, _| 1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Sub<f64> for $t {
            type Output = Self;
            #[inline]
            fn sub(self, c: f64) -> Self {
                $crate::Scalar::map1(self, move |a| a - c, |_, _| 1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Mul<f64> for $t {
            type Output = Self;
            #[inline]
            fn mul(self, c: f64) -> Self {
                $crate::Scalar::map1(self, move |a| a * c, move |_, _| c)
            }
        }
        impl<$($gen)*> ::std::ops::Div<f64> for $t {
            type Output = Self;
            #[inline]
            fn div(self, c: f64) -> Self {
                $crate::Scalar::map1(self, move |a| a / c, move |_, _| 1.0 / c)
            }
        }
        impl<$($gen)*> ::std::ops::Add<$t> for f64 {
            type Output = $t;
            #[inline]
            fn add(self, x: $t) -> $t {
                x + self
            }
        }
        impl<$($gen)*> ::std::ops::Sub<$t> for f64 {
            type Output = $t;
            #[inline]
            fn sub(self, x: $t) -> $t {
                let c = self;
                $crate::Scalar::map1(x, move |a| c - a, |_, _| -1.0)
            }
        }
        impl<$($gen)*> ::std::ops::Mul<$t> for f64 {
            type Output = $t;
            #[inline]
            fn mul(self, x: $t) -> $t {
                x * self
            }
        }
        impl<$($gen)*> ::std::ops::Div<$t> for f64 {
            type Output = $t;
            #[inline]
            fn div(self, x: $t) -> $t {
                let c = self;
                $crate::Scalar::map1(x, move |a| c / a, |_, f| -f * f / c)
            }
        }
        impl<$($gen)*> ::std::ops::AddAssign for $t {
            #[inline]
            fn add_assign(&mut self, rhs: Self) {
                *self = *self + rhs;
            }
        }
        impl<$($gen)*> ::std::ops::SubAssign for $t {
            #[inline]
            fn sub_assign(&mut self, rhs: Self) {
                *self = *self - rhs;
            }
        }
        impl<$($gen)*> ::std::ops::MulAssign for $t {
            #[inline]
            fn mul_assign(&mut self, rhs: Self) {
                *self = *self * rhs;
            }
        }
        impl<$($gen)*> ::std::ops::DivAssign for $t {
            #[inline]
            fn div_assign(&mut self, rhs: Self) {
                *self = *self / rhs;
            }
        }
        impl<$($gen)*> ::std::ops::AddAssign<f64> for $t {
            #[inline]
            fn add_assign(&mut self, rhs: f64) {
                *self = *self + rhs;
            }
        }
        impl<$($gen)*> ::std::ops::SubAssign<f64> for $t {
            #[inline]
            fn sub_assign(&mut self, rhs: f64) {
                *self = *self - rhs;
            }
        }
        impl<$($gen)*> ::std::ops::MulAssign<f64> for $t {
            #[inline]
            fn mul_assign(&mut self, rhs: f64) {
                *self = *self * rhs;
            }
        }
        impl<$($gen)*> ::std::ops::DivAssign<f64> for $t {
            #[inline]
            fn div_assign(&mut self, rhs: f64) {
                *self = *self / rhs;
            }
        }
        impl<$($gen)*> ::std::iter::Sum for $t {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                iter.fold(<$t as ::std::convert::From<f64>>::from(0.0), |a, b| a + b)
            }
        }
        impl<$($gen)*> ::std::iter::Product for $t {
            fn product<I: Iterator<Item = Self>>(iter: I) -> Self {
                iter.fold(<$t as ::std::convert::From<f64>>::from(1.0), |a, b| a * b)
            }
        }
    };
}
pub(crate) use impl_scalar_ops;

/// [`Scalar::with_worlds`]'s default: [`Scalar::with_world`] for each world in turn.
pub(crate) fn with_worlds_in_turn<S: Scalar>(x: S, worlds: &[(World, f64)]) -> S {
    worlds.iter().fold(x, |x, &(w, alt)| x.with_world(w, alt))
}
