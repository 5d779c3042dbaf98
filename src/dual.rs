//! Forward-mode dual numbers with `N` tangent directions, and the two rules for what a discrete
//! draw adds to them: nothing ([`Dual`], classical AD) or its score ([`Score`](crate::Score)).
//!
//! A classical dual number sees only the pathwise derivative of the sampled path, so on programs
//! whose discrete choices depend on θ it is *biased*. It is the "classical AD" baseline, and the
//! exact oracle's arithmetic.

use std::cmp::Ordering;
use std::fmt::Debug;
use std::marker::PhantomData;

use crate::context::{with_ctx, Mode};
use crate::error::Result;
use crate::sample::{draw_primal_moving, values, Drawn, Family};
use crate::scalar::{impl_scalar_ops, Scalar};

/// What a discrete draw adds to a dual number besides its primal outcome.
pub trait DrawRule: Copy + Default + Debug + PartialEq + Send + Sync + 'static {
    /// Called after the primal draw `draw` of `family` (sampled in a run, or forced by the exact
    /// oracle's enumeration) with parameter values `values` and the parameters `params`.
    fn after_draw<F: Family, const N: usize>(
        family: &F,
        params: &[DualNumber<Self, N>],
        values: &[f64],
        draw: Drawn,
    ) -> Result<()>;
}

/// Classical AD: a draw adds nothing (under the exact oracle, the path's probability picks up
/// p(k) with its derivative).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pathwise;

impl DrawRule for Pathwise {
    fn after_draw<F: Family, const N: usize>(
        family: &F,
        params: &[DualNumber<Self, N>],
        _values: &[f64],
        draw: Drawn,
    ) -> Result<()> {
        let Drawn::Enumerated { outcome } = draw else {
            return Ok(());
        };
        let p = family.pmf(params, outcome);
        with_ctx("a discrete draw", |ctx| {
            if let Mode::Enumerate(e) = &mut ctx.mode {
                if e.weight_tangent.len() < N {
                    e.weight_tangent.resize(N, 0.0);
                }
                for i in 0..N {
                    e.weight_tangent[i] = e.weight_tangent[i] * p.value + e.weight * p.tangent[i];
                }
                e.weight *= p.value;
            }
        })
    }
}

/// A value with derivatives along `N` directions; `R` says what discrete draws add.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(bound = "")]
pub struct DualNumber<R: DrawRule, const N: usize> {
    /// The primal value.
    pub value: f64,
    /// The derivative along each direction.
    #[serde(with = "serde_arrays")]
    pub tangent: [f64; N],
    #[serde(skip)]
    rule: PhantomData<R>,
}

/// A classical dual number: a value and its derivatives along `N` directions.
///
/// ```
/// use stochad::{Dual, Scalar};
/// let x = Dual::<1>::variable(2.0, 0);
/// let y = x * x + x.sin();
/// assert_eq!(y.value, 4.0 + 2f64.sin());
/// assert_eq!(y.tangent[0], 4.0 + 2f64.cos());
/// ```
pub type Dual<const N: usize = 1> = DualNumber<Pathwise, N>;

impl<R: DrawRule, const N: usize> DualNumber<R, N> {
    /// A dual number with the given value and tangents.
    #[inline]
    pub const fn new(value: f64, tangent: [f64; N]) -> Self {
        DualNumber {
            value,
            tangent,
            rule: PhantomData,
        }
    }

    /// The input variable of direction `dir`: tangent 1 along `dir`, 0 elsewhere.
    ///
    /// # Panics
    /// If `dir >= N` (a programming error, not bad data).
    pub fn variable(value: f64, dir: usize) -> Self {
        assert!(dir < N, "direction {dir} out of range for {N} directions");
        let mut tangent = [0.0; N];
        tangent[dir] = 1.0;
        Self::new(value, tangent)
    }
}

impl<R: DrawRule, const N: usize> Default for DualNumber<R, N> {
    fn default() -> Self {
        Self::new(0.0, [0.0; N])
    }
}

impl<R: DrawRule, const N: usize> From<f64> for DualNumber<R, N> {
    #[inline]
    fn from(value: f64) -> Self {
        Self::new(value, [0.0; N])
    }
}

impl<R: DrawRule, const N: usize> Scalar for DualNumber<R, N> {
    #[inline]
    fn value(&self) -> f64 {
        self.value
    }

    #[inline]
    fn map1<F, D>(self, f: F, df: D) -> Self
    where
        F: Fn(f64) -> f64,
        D: Fn(f64, f64) -> f64,
    {
        let v = f(self.value);
        let d = df(self.value, v);
        Self::new(v, self.tangent.map(|t| d * t))
    }

    #[inline]
    fn map2<F, Dx, Dy>(self, other: Self, f: F, dfdx: Dx, dfdy: Dy) -> Self
    where
        F: Fn(f64, f64) -> f64,
        Dx: Fn(f64, f64, f64) -> f64,
        Dy: Fn(f64, f64, f64) -> f64,
    {
        let (x, y) = (self.value, other.value);
        let v = f(x, y);
        let (dx, dy) = (dfdx(x, y, v), dfdy(x, y, v));
        let mut tangent = self.tangent;
        for (t, o) in tangent.iter_mut().zip(&other.tangent) {
            *t = dx * *t + dy * o;
        }
        Self::new(v, tangent)
    }

    #[inline]
    fn map_n<const K: usize, F, G>(xs: [Self; K], f: F, grad: G) -> Self
    where
        F: Fn([f64; K]) -> f64,
        G: Fn([f64; K], f64) -> [f64; K],
    {
        let x = xs.map(|t| t.value);
        let v = f(x);
        let g = grad(x, v);
        let mut tangent = [0.0; N];
        for (j, xj) in xs.iter().enumerate() {
            if g[j] != 0.0 {
                for (t, o) in tangent.iter_mut().zip(&xj.tangent) {
                    *t += g[j] * o;
                }
            }
        }
        Self::new(v, tangent)
    }

    #[inline]
    fn is_constant(&self) -> bool {
        self.tangent.iter().all(|&t| t == 0.0)
    }

    fn draw<F: Family>(family: &F, params: &[Self]) -> Result<Self> {
        let vals = values(params);
        // Under the exact oracle, zero-probability outcomes whose probability moves join the
        // support (one-sided derivatives at p = 0 or 1 keep their terms).
        let draw = draw_primal_moving(family, &vals, |k| {
            family
                .pmf(params, k)
                .tangent
                .iter()
                .any(|&t| t != 0.0 && !t.is_nan())
        })?;
        R::after_draw(family, params, &vals, draw)?;
        Ok(Self::from(draw.outcome()))
    }
}

impl_scalar_ops!([R: DrawRule, const N: usize] DualNumber<R, N>);

impl<R: DrawRule, const N: usize> PartialEq<f64> for DualNumber<R, N> {
    fn eq(&self, other: &f64) -> bool {
        self.value == *other
    }
}

impl<R: DrawRule, const N: usize> PartialOrd for DualNumber<R, N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<R: DrawRule, const N: usize> PartialOrd<f64> for DualNumber<R, N> {
    fn partial_cmp(&self, other: &f64) -> Option<Ordering> {
        self.value.partial_cmp(other)
    }
}

/// Serde support for `[f64; N]` with any `N` (serde implements arrays only up to 32 by value).
pub(crate) mod serde_arrays {
    use std::marker::PhantomData;

    use serde::de::{Error as _, SeqAccess, Visitor};
    use serde::ser::SerializeTuple;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(N)?;
        for x in a {
            t.serialize_element(x)?;
        }
        t.end()
    }

    pub fn deserialize<'de, D, T, const N: usize>(d: D) -> Result<[T; N], D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + Copy + Default,
    {
        struct V<T, const N: usize>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + Copy + Default, const N: usize> Visitor<'de> for V<T, N> {
            type Value = [T; N];
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "an array of {N} numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<[T; N], A::Error> {
                let mut a = [T::default(); N];
                for (i, x) in a.iter_mut().enumerate() {
                    *x = seq
                        .next_element()?
                        .ok_or_else(|| A::Error::invalid_length(i, &self))?;
                }
                Ok(a)
            }
        }
        d.deserialize_tuple(N, V::<T, N>(PhantomData))
    }
}
