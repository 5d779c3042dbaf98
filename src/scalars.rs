//! Structures of scalars: map, visit, flatten and rebuild every scalar inside a user type.
//!
//! [`Scalars`] is implemented by every [`Scalar`] itself, by `Vec`, arrays, `Option`,
//! `PhantomData` and tuples (2–4 elements) of `Scalars` types, and by user types through
//! `#[derive(Scalars)]`. It lets the library see the numbers inside a value without knowing its
//! type: [`lift`] turns `f64` data into any number type, [`primal`] reads the primal values back,
//! and [`propagate`](crate::propagate) flattens the outputs of the primal and the alternative
//! worlds ([`collect_scalars`]), checks that they have the same shape ([`check_same_shape`]) and
//! reassembles the result ([`rebuild`]).
//!
//! `Box<X>` has no impl: `Box` is a fundamental type, so another crate could make some `Box` a
//! [`Scalar`], which would clash with the blanket impl for every `Scalar`. The derive maps through
//! a field of type `Box<T>` itself, which covers recursive types such as
//! `enum Tree<S> { Leaf(S), Node(Box<Tree<S>>, Box<Tree<S>>) }`.
//!
//! # Order and shape
//! Scalars are visited depth first in declaration order: struct fields top to bottom, `Vec` and
//! array elements by index, tuple elements left to right. Containers whose size is not fixed by
//! the type record it in [`Scalars::shape`]: a `Vec` its length, an `Option` and an enum which
//! variant they hold. Two values with equal shape signatures have their scalars at the same flat
//! positions, so their flat lists can be compared element by element.
//!
//! ```
//! use stochad::{Dual, Scalars};
//! use stochad::scalars::{collect_scalars, lift, primal, rebuild};
//!
//! #[derive(Scalars, Debug, PartialEq)]
//! struct Jet<S> {
//!     pt: S,
//!     constituents: Vec<[S; 2]>,
//!     label: String, // no scalar inside: cloned by `map_scalars`, skipped by the visitors
//! }
//!
//! let data = Jet { pt: 40.0, constituents: vec![[1.0, 2.0], [3.0, 4.0]], label: "j1".into() };
//! let dual: Jet<Dual<2>> = lift(&data);
//! assert_eq!(dual.constituents[1][0], Dual::new(3.0, [0.0, 0.0]));
//! assert_eq!(primal(&dual), data);
//!
//! assert_eq!(collect_scalars(&data), [40.0, 1.0, 2.0, 3.0, 4.0]);
//! let doubled = rebuild(&data, &[80.0, 2.0, 4.0, 6.0, 8.0]).unwrap();
//! assert_eq!(doubled.constituents[1], [6.0, 8.0]);
//! assert_eq!(doubled.label, "j1");
//! ```

use std::marker::PhantomData;

use crate::error::{Error, Result};
use crate::scalar::Scalar;

/// What a program or a function given to [`propagate`](crate::propagate) may return: a value
/// (a number or any [`Scalars`] structure) or a `Result` of one. The drivers, `propagate` and the
/// exact oracle all accept either.
pub trait IntoResult<T> {
    /// The value, or the program's error.
    fn into_result(self) -> Result<T>;
}

impl<T: Scalars> IntoResult<T> for T {
    fn into_result(self) -> Result<T> {
        Ok(self)
    }
}

impl<T: Scalars> IntoResult<T> for Result<T> {
    fn into_result(self) -> Result<T> {
        self
    }
}

/// A value containing scalars of one type, [`Scalars::Scalar`], that can be mapped to the same
/// shape with another scalar type and visited one scalar at a time.
///
/// Derive it for your own types with `#[derive(Scalars)]` (see the
/// [`stochad_macros`] crate for what the derive generates and accepts).
///
/// Implementations must visit the same scalars in the same order in all three methods, and
/// record in [`shape`](Scalars::shape) everything about the layout that the type does not fix.
///
/// ```
/// use stochad::Scalars;
/// let mut v = vec![(1.0, [2.0, 3.0]), (4.0, [5.0, 6.0])];
/// let mut sum = 0.0;
/// v.for_each_scalar(&mut |x| sum += *x);
/// assert_eq!(sum, 21.0);
/// v.for_each_scalar_mut(&mut |x| *x *= 2.0);
/// assert_eq!(v[1], (8.0, [10.0, 12.0]));
/// let squares = v.map_scalars(&mut |x: f64| x * x);
/// assert_eq!(squares[0], (4.0, [16.0, 36.0]));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `stochad::Scalars`",
    label = "no `Scalars` impl for this type",
    note = "`Scalars` is implemented for every `Scalar`, for `Vec`, arrays, `Option`, \
            `PhantomData` and tuples of up to 4 `Scalars` types with the same scalar type, and by \
            `#[derive(Scalars)]` on your own types (which also maps through `Box<T>` fields)"
)]
pub trait Scalars {
    /// The scalar type inside.
    type Scalar: Scalar;

    /// The same shape with scalar type `T`.
    type With<T: Scalar>: Scalars<Scalar = T>;

    /// The same shape with every scalar `x` replaced by `f(x)`, in visiting order.
    fn map_scalars<T: Scalar, F: FnMut(Self::Scalar) -> T>(&self, f: &mut F) -> Self::With<T>;

    /// Calls `f` on every scalar, in visiting order.
    fn for_each_scalar<F: FnMut(&Self::Scalar)>(&self, f: &mut F);

    /// Calls `f` on every scalar mutably, in visiting order.
    fn for_each_scalar_mut<F: FnMut(&mut Self::Scalar)>(&mut self, f: &mut F);

    /// Appends the shape signature: whatever about the layout the type does not fix (a `Vec`'s
    /// length, the variant an `Option` or enum holds), depth first in visiting order. A
    /// fixed-layout type appends nothing of its own.
    fn shape(&self, out: &mut Vec<usize>);
}

impl<S: Scalar> Scalars for S {
    type Scalar = S;
    type With<T: Scalar> = T;

    #[inline]
    fn map_scalars<T: Scalar, F: FnMut(S) -> T>(&self, f: &mut F) -> T {
        f(*self)
    }

    #[inline]
    fn for_each_scalar<F: FnMut(&S)>(&self, f: &mut F) {
        f(self)
    }

    #[inline]
    fn for_each_scalar_mut<F: FnMut(&mut S)>(&mut self, f: &mut F) {
        f(self)
    }

    #[inline]
    fn shape(&self, _out: &mut Vec<usize>) {}
}

impl<X: Scalars> Scalars for Vec<X> {
    type Scalar = X::Scalar;
    type With<T: Scalar> = Vec<X::With<T>>;

    fn map_scalars<T: Scalar, F: FnMut(X::Scalar) -> T>(&self, f: &mut F) -> Self::With<T> {
        self.iter().map(|x| x.map_scalars(f)).collect()
    }

    fn for_each_scalar<F: FnMut(&X::Scalar)>(&self, f: &mut F) {
        self.iter().for_each(|x| x.for_each_scalar(f))
    }

    fn for_each_scalar_mut<F: FnMut(&mut X::Scalar)>(&mut self, f: &mut F) {
        self.iter_mut().for_each(|x| x.for_each_scalar_mut(f))
    }

    fn shape(&self, out: &mut Vec<usize>) {
        out.push(self.len());
        self.iter().for_each(|x| x.shape(out))
    }
}

impl<X: Scalars, const N: usize> Scalars for [X; N] {
    type Scalar = X::Scalar;
    type With<T: Scalar> = [X::With<T>; N];

    fn map_scalars<T: Scalar, F: FnMut(X::Scalar) -> T>(&self, f: &mut F) -> Self::With<T> {
        std::array::from_fn(|i| self[i].map_scalars(f))
    }

    fn for_each_scalar<F: FnMut(&X::Scalar)>(&self, f: &mut F) {
        self.iter().for_each(|x| x.for_each_scalar(f))
    }

    fn for_each_scalar_mut<F: FnMut(&mut X::Scalar)>(&mut self, f: &mut F) {
        self.iter_mut().for_each(|x| x.for_each_scalar_mut(f))
    }

    // The length is fixed by the type; only the elements can vary.
    fn shape(&self, out: &mut Vec<usize>) {
        self.iter().for_each(|x| x.shape(out))
    }
}

impl<X: Scalars> Scalars for Option<X> {
    type Scalar = X::Scalar;
    type With<T: Scalar> = Option<X::With<T>>;

    fn map_scalars<T: Scalar, F: FnMut(X::Scalar) -> T>(&self, f: &mut F) -> Self::With<T> {
        self.as_ref().map(|x| x.map_scalars(f))
    }

    fn for_each_scalar<F: FnMut(&X::Scalar)>(&self, f: &mut F) {
        if let Some(x) = self {
            x.for_each_scalar(f)
        }
    }

    fn for_each_scalar_mut<F: FnMut(&mut X::Scalar)>(&mut self, f: &mut F) {
        if let Some(x) = self {
            x.for_each_scalar_mut(f)
        }
    }

    fn shape(&self, out: &mut Vec<usize>) {
        match self {
            None => out.push(0),
            Some(x) => {
                out.push(1);
                x.shape(out)
            }
        }
    }
}

/// No scalars: lets a type carry its scalar parameter as a marker.
impl<X: Scalars> Scalars for PhantomData<X> {
    type Scalar = X::Scalar;
    type With<T: Scalar> = PhantomData<X::With<T>>;

    fn map_scalars<T: Scalar, F: FnMut(X::Scalar) -> T>(&self, _f: &mut F) -> Self::With<T> {
        PhantomData
    }

    fn for_each_scalar<F: FnMut(&X::Scalar)>(&self, _f: &mut F) {}

    fn for_each_scalar_mut<F: FnMut(&mut X::Scalar)>(&mut self, _f: &mut F) {}

    fn shape(&self, _out: &mut Vec<usize>) {}
}

/// Implements `Scalars` for a tuple whose elements share the first element's scalar type.
macro_rules! impl_tuple {
    ($first:ident $(, $rest:ident)*; $($idx:tt),+) => {
        impl<$first: Scalars $(, $rest: Scalars<Scalar = $first::Scalar>)*> Scalars
            for ($first, $($rest),*)
        {
            type Scalar = $first::Scalar;
            type With<T: Scalar> = ($first::With<T>, $($rest::With<T>),*);

            fn map_scalars<T: Scalar, F: FnMut(Self::Scalar) -> T>(
                &self,
                f: &mut F,
            ) -> Self::With<T> {
                ($(self.$idx.map_scalars(f)),+)
            }

            fn for_each_scalar<F: FnMut(&Self::Scalar)>(&self, f: &mut F) {
                $(self.$idx.for_each_scalar(f);)+
            }

            fn for_each_scalar_mut<F: FnMut(&mut Self::Scalar)>(&mut self, f: &mut F) {
                $(self.$idx.for_each_scalar_mut(f);)+
            }

            fn shape(&self, out: &mut Vec<usize>) {
                $(self.$idx.shape(out);)+
            }
        }
    };
}

impl_tuple!(A, B; 0, 1);
impl_tuple!(A, B, C; 0, 1, 2);
impl_tuple!(A, B, C, D; 0, 1, 2, 3);

/// Lifts `f64` data into the number type `T`: every scalar becomes the constant `T::from(x)`.
///
/// ```
/// use stochad::{scalars::lift, Dual};
/// let p: [Dual<2>; 2] = lift(&[1.5, -2.0]);
/// assert_eq!(p[1], Dual::new(-2.0, [0.0, 0.0]));
/// ```
pub fn lift<T: Scalar, X: Scalars<Scalar = f64>>(x: &X) -> X::With<T> {
    x.map_scalars(&mut T::from)
}

/// The primal values: the same shape with every scalar replaced by [`Scalar::value`].
///
/// For output and logging: the drivers' [`strict`](crate::estimate::Gradient::strict) mode lets
/// these reads pass (branching on them outside [`propagate`](crate::propagate) is as biased as
/// branching on `.value()`).
///
/// ```
/// use stochad::{scalars::primal, Dual};
/// let v = vec![Some(Dual::<1>::variable(3.0, 0)), None];
/// assert_eq!(primal(&v), vec![Some(3.0), None]);
/// ```
pub fn primal<X: Scalars>(x: &X) -> X::With<f64> {
    x.map_scalars(&mut |s: X::Scalar| s.primal_value())
}

/// The number of scalars inside `x`.
///
/// ```
/// use stochad::scalars::count_scalars;
/// assert_eq!(count_scalars(&(1.0, vec![[2.0, 3.0]; 4], None::<f64>)), 9);
/// ```
pub fn count_scalars<X: Scalars>(x: &X) -> usize {
    let mut n = 0;
    x.for_each_scalar(&mut |_| n += 1);
    n
}

/// Every scalar inside `x`, in visiting order.
///
/// ```
/// use stochad::scalars::collect_scalars;
/// assert_eq!(collect_scalars(&vec![(1.0, 2.0), (3.0, 4.0)]), [1.0, 2.0, 3.0, 4.0]);
/// ```
pub fn collect_scalars<X: Scalars>(x: &X) -> Vec<X::Scalar> {
    let mut out = Vec::with_capacity(count_scalars(x));
    x.for_each_scalar(&mut |s| out.push(*s));
    out
}

/// The shape signature of `x` (see [`Scalars::shape`]).
///
/// ```
/// use stochad::scalars::shape;
/// // Vec length 2, then the first element's variant (Some), then the second's (None).
/// assert_eq!(shape(&vec![Some(1.0), None]), [2, 1, 0]);
/// ```
pub fn shape<X: Scalars>(x: &X) -> Vec<usize> {
    let mut out = Vec::new();
    x.shape(&mut out);
    out
}

/// Checks that `alternative` has the same shape as `primal` (possibly with another scalar type),
/// so that their flat scalar lists line up position by position.
///
/// Comparing the number of scalars alone is not enough: `(Some(a), None)` and `(None, Some(b))`
/// both hold one scalar, in different places.
///
/// # Errors
/// [`Error::ShapeMismatch`] with both scalar counts (which may be equal when only the layout
/// differs).
///
/// ```
/// use stochad::scalars::check_same_shape;
/// assert!(check_same_shape(&vec![1.0, 2.0], &vec![3.0, 4.0]).is_ok());
/// assert!(check_same_shape(&vec![1.0, 2.0], &vec![3.0]).is_err());
/// assert!(check_same_shape(&(Some(1.0), None::<f64>), &(None::<f64>, Some(1.0))).is_err());
/// ```
pub fn check_same_shape<X: Scalars, Y: Scalars>(primal: &X, alternative: &Y) -> Result<()> {
    Layout::of(primal).check(alternative, count_scalars(alternative))
}

/// A value's layout (its number of scalars and its [`shape`]), read once to check many others
/// against, as [`check_same_shape`] checks one.
pub(crate) struct Layout {
    n: usize,
    shape: Vec<usize>,
    scratch: Vec<usize>,
}

impl Layout {
    /// The layout of `primal`.
    pub(crate) fn of<X: Scalars>(primal: &X) -> Self {
        Layout {
            n: count_scalars(primal),
            shape: shape(primal),
            scratch: Vec::new(),
        }
    }

    /// [`check_same_shape`] of the primal and `alternative`, which holds `n_alternative`
    /// scalars (counted by the caller, who often has them at hand).
    pub(crate) fn check<Y: Scalars>(
        &mut self,
        alternative: &Y,
        n_alternative: usize,
    ) -> Result<()> {
        if n_alternative == self.n {
            self.scratch.clear();
            alternative.shape(&mut self.scratch);
            if self.scratch == self.shape {
                return Ok(());
            }
        }
        Err(Error::ShapeMismatch {
            primal: self.n,
            alternative: n_alternative,
        })
    }
}

/// A value of the same shape as `template` holding the scalars `scalars`, in visiting order.
/// Fields without scalars are cloned from `template`.
///
/// # Errors
/// [`Error::ShapeMismatch`] if `scalars` does not hold exactly as many scalars as `template`.
///
/// ```
/// use stochad::{scalars::rebuild, Dual};
/// let template = (vec![1.0, 2.0], 3.0);
/// let d = rebuild(&template, &[Dual::<1>::from(4.0), Dual::from(5.0), Dual::from(6.0)]).unwrap();
/// assert_eq!(d.0[1], Dual::from(5.0));
/// assert!(rebuild(&template, &[1.0]).is_err());
/// ```
pub fn rebuild<T: Scalar, X: Scalars>(template: &X, scalars: &[T]) -> Result<X::With<T>> {
    rebuild_from(template, scalars.len(), |i| scalars[i])
}

/// [`rebuild`] with the `n` scalars `scalar(0), scalar(1), …` (no slice of them to gather
/// first): the same value, and the same error where `template` does not hold `n` scalars.
pub(crate) fn rebuild_from<T: Scalar, X: Scalars>(
    template: &X,
    n: usize,
    scalar: impl Fn(usize) -> T,
) -> Result<X::With<T>> {
    // Counting first would cost a second walk; running out is detected while mapping instead.
    let mut i = 0;
    let out = template.map_scalars(&mut |_| {
        let s = if i < n { scalar(i) } else { T::default() };
        i += 1;
        s
    });
    if i != n {
        return Err(Error::ShapeMismatch {
            primal: count_scalars(template),
            alternative: n,
        });
    }
    Ok(out)
}

/// Support for the code `#[derive(Scalars)]` generates; not a public API.
#[doc(hidden)]
pub mod __private {
    use super::Scalars;
    use crate::scalar::Scalar;

    /// A field the derive maps through its `Scalars` impl. Calling the impl through this trait,
    /// with the scalar type fixed, makes a field type without one a single clear error.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` does not implement `stochad::Scalars` with scalar type `{S}`",
        label = "this field mentions `{S}`, so `#[derive(Scalars)]` maps it through `Scalars`",
        note = "`Scalars` is implemented for every `Scalar`, for `Vec`, arrays, `Option`, \
                `PhantomData` and tuples of up to 4 `Scalars` types with the same scalar type, and \
                by `#[derive(Scalars)]` on your own types (which also maps through `Box<T>` fields)"
    )]
    pub trait ScalarField<S: Scalar> {
        /// [`Scalars::With`].
        type With<T: Scalar>;
        /// [`Scalars::map_scalars`].
        fn map_field<T: Scalar, F: FnMut(S) -> T>(&self, f: &mut F) -> Self::With<T>;
        /// [`Scalars::for_each_scalar`].
        fn for_each_field<F: FnMut(&S)>(&self, f: &mut F);
        /// [`Scalars::for_each_scalar_mut`].
        fn for_each_field_mut<F: FnMut(&mut S)>(&mut self, f: &mut F);
        /// [`Scalars::shape`].
        fn shape_field(&self, out: &mut Vec<usize>);
    }

    impl<X: Scalars> ScalarField<X::Scalar> for X {
        type With<T: Scalar> = X::With<T>;
        #[inline]
        fn map_field<T: Scalar, F: FnMut(X::Scalar) -> T>(&self, f: &mut F) -> Self::With<T> {
            self.map_scalars(f)
        }
        #[inline]
        fn for_each_field<F: FnMut(&X::Scalar)>(&self, f: &mut F) {
            self.for_each_scalar(f)
        }
        #[inline]
        fn for_each_field_mut<F: FnMut(&mut X::Scalar)>(&mut self, f: &mut F) {
            self.for_each_scalar_mut(f)
        }
        #[inline]
        fn shape_field(&self, out: &mut Vec<usize>) {
            self.shape(out)
        }
    }

    /// A field the derive clones because it holds no scalars.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` must implement `Clone`: `#[derive(Scalars)]` clones fields without \
                   scalars in `map_scalars`",
        label = "this field holds no scalars, so `map_scalars` clones it",
        note = "derive or implement `Clone` for `{Self}`"
    )]
    pub trait CloneField: Sized {
        /// Clones the field.
        fn clone_field(&self) -> Self;
    }

    impl<T: Clone> CloneField for T {
        #[inline]
        fn clone_field(&self) -> Self {
            self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dual;

    /// The derive inside the crate itself: its `::stochad::…` paths resolve through
    /// `extern crate self as stochad`.
    #[derive(crate::Scalars, Debug, PartialEq)]
    struct Local<S> {
        a: (S, Option<S>),
        b: Vec<Vec<S>>,
    }

    #[test]
    fn derive_works_inside_the_crate() {
        let x = Local {
            a: (1.0, Some(2.0)),
            b: vec![vec![3.0], vec![], vec![4.0, 5.0]],
        };
        assert_eq!(collect_scalars(&x), [1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(shape(&x), [1, 3, 1, 0, 2]);
        let d: Local<Dual<1>> = lift(&x);
        assert_eq!(primal(&d), x);
    }

    #[test]
    fn tuples_of_up_to_four() {
        let mut t = (1.0, [2.0, 3.0], vec![4.0], Some(5.0));
        assert_eq!(count_scalars(&t), 5);
        t.for_each_scalar_mut(&mut |x| *x = -*x);
        assert_eq!(collect_scalars(&t), [-1.0, -2.0, -3.0, -4.0, -5.0]);
        assert_eq!(shape(&t), [1, 1]);
        let d: (Dual<1>, [Dual<1>; 2], Vec<Dual<1>>, Option<Dual<1>>) = lift(&t);
        assert_eq!(primal(&d), t);
    }

    #[test]
    fn phantom_data_holds_no_scalars() {
        let x = (2.0, PhantomData::<f64>);
        assert_eq!(count_scalars(&x), 1);
        let d: (Dual<1>, PhantomData<Dual<1>>) = lift(&x);
        assert_eq!(d.0, Dual::from(2.0));
    }

    #[test]
    fn nested_vec_shape_distinguishes_splits() {
        let a = vec![vec![1.0], vec![2.0, 3.0]];
        let b = vec![vec![1.0, 2.0], vec![3.0]];
        assert_eq!(collect_scalars(&a), collect_scalars(&b));
        assert_ne!(shape(&a), shape(&b));
        assert!(check_same_shape(&a, &b).is_err());
        assert!(check_same_shape(&a, &a.clone()).is_ok());
    }

    #[test]
    fn rebuild_counts_both_ways() {
        let template = [Some(1.0), None, Some(2.0)];
        assert_eq!(
            rebuild(&template, &[3.0, 4.0]).unwrap(),
            [Some(3.0), None, Some(4.0)]
        );
        for bad in [&[][..], &[1.0][..], &[1.0, 2.0, 3.0][..]] {
            let err = rebuild(&template, bad).unwrap_err();
            assert!(
                matches!(err, Error::ShapeMismatch { primal: 2, alternative } if alternative == bad.len()),
                "{err:?}"
            );
        }
    }
}
