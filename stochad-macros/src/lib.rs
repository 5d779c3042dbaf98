//! `#[derive(Scalars)]` for [stochad](https://docs.rs/stochad): map and visit every scalar field
//! of your own types, so stochad can lift `f64` data into any number type, read primal values
//! back and carry structured outputs through `stochad::propagate`.
//!
//! Use it through `stochad`, which re-exports it next to the trait of the same name (as serde does
//! with `Serialize`): `use stochad::Scalars;` brings both into scope.
//!
//! # What it accepts
//! Structs (named, tuple or unit fields) and enums with a type parameter for the scalar type. With
//! one type parameter, that is the scalar; with several, name it: `#[scalars(scalar = S)]`.
//! Lifetime and const parameters may appear freely.
//!
//! Fields whose type mentions the scalar parameter (`px: S`, `p: FourMomentum<S>`,
//! `parts: Vec<Jet<S>>`, `xs: [S; 4]`, `o: Option<S>`, `pair: (S, S)`) are mapped and visited
//! through their own `Scalars` impl; their types must implement `Scalars` with scalar type `S`.
//! A field of type `Box<T>` is mapped through `T` (`Box` itself cannot implement `Scalars` next to
//! the blanket impl for every `Scalar`), so recursive types work:
//! `enum Tree<S> { Leaf(S), Node(Box<Tree<S>>, Box<Tree<S>>) }`.
//! Other fields (`usize`, `String`, an `i32` particle id) hold no scalars: `map_scalars` clones
//! them, so they must implement `Clone`, and the visitors and `shape` skip them. The test is
//! syntactic: a `weights: Vec<f64>` field of `Jet<S>` is data, cloned, even when `S` is `f64`.
//!
//! A field may not hold the scalar type behind a reference, a raw pointer, in a function pointer
//! or a trait object (`&'a S`, `*const S`, `fn(S) -> S`, `Box<dyn Fn(S)>`): the derive reports it
//! at the field. The scalar parameter may carry no bounds beyond `stochad::Scalar` and its
//! supertraits, since `With<T>` must exist for every scalar type `T`; bounds on other parameters go
//! in the type's `where` clause.
//!
//! # What it generates
//! For `struct Jet<S> { p: FourMomentum<S>, parts: Vec<S>, id: i32 }`:
//!
//! ```text
//! impl<S> stochad::Scalars for Jet<S> where S: stochad::Scalar {
//!     type Scalar = S;
//!     type With<T: stochad::Scalar> = Jet<T>;
//!     fn map_scalars(&self, f) -> Jet<T> {
//!         Jet { p: self.p.map_scalars(f), parts: self.parts.map_scalars(f), id: self.id.clone() }
//!     }
//!     fn for_each_scalar(&self, f) { self.p.for_each_scalar(f); self.parts.for_each_scalar(f); }
//!     fn for_each_scalar_mut(&mut self, f) { /* the same, mutably */ }
//!     fn shape(&self, out) { self.p.shape(out); self.parts.shape(out); }
//! }
//! ```
//!
//! Fields are visited in declaration order. For an enum, `shape` first records the index of the
//! variant, so two values holding different variants never look alike. Fields cloned by
//! `map_scalars` whose type involves a type parameter get a `Clone` bound on the impl. The real
//! code calls the field impls through a hidden helper trait with the scalar type fixed, so a
//! field type without a `Scalars` impl, or a cloned field without `Clone`, is reported at the
//! field.
//!
//! # Example
//! ```
//! use stochad::scalars::{collect_scalars, lift, primal};
//! use stochad::{Dual, Scalars};
//!
//! #[derive(Scalars, Clone, Debug, PartialEq)]
//! struct FourMomentum<S> {
//!     px: S,
//!     py: S,
//!     pz: S,
//!     e: S,
//! }
//!
//! #[derive(Scalars, Debug, PartialEq)]
//! struct Jet<S> {
//!     p: FourMomentum<S>,
//!     constituent_pt: Vec<S>,
//!     id: i32,
//! }
//!
//! #[derive(Scalars, Debug, PartialEq)]
//! #[scalars(scalar = S)]
//! enum Reco<S, Tag: Clone> {
//!     Jets(Vec<Jet<S>>, Tag),
//!     Missing { met: S },
//! }
//!
//! let event: Reco<f64, &str> = Reco::Jets(
//!     vec![Jet {
//!         p: FourMomentum { px: 3.0, py: 4.0, pz: 0.0, e: 5.0 },
//!         constituent_pt: vec![2.0, 3.0],
//!         id: 7,
//!     }],
//!     "central",
//! );
//! let lifted: Reco<Dual<2>, &str> = lift(&event);
//! assert_eq!(primal(&lifted), event);
//! assert_eq!(collect_scalars(&event), [3.0, 4.0, 0.0, 5.0, 2.0, 3.0]);
//! ```

mod attr;
mod expand;
mod fields;

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

/// Derives `stochad::Scalars`: see the [crate documentation](crate) for what it accepts and
/// generates.
#[proc_macro_derive(Scalars, attributes(scalars))]
pub fn derive_scalars(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
