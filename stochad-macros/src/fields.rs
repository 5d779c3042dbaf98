//! Which fields hold scalars, and field types the derive cannot map.

use syn::visit::{self, Visit};
use syn::{Ident, Type};

/// Whether `ty` mentions the type parameter `param` anywhere (as `S`, in `Vec<S>`, `[S; 4]`, …).
pub fn mentions(ty: &Type, param: &Ident) -> bool {
    struct Finder<'a> {
        param: &'a Ident,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_type_path(&mut self, tp: &'ast syn::TypePath) {
            // `S` or `S::Assoc`; a path starting with `::` or a qualified self is not the parameter.
            if tp.qself.is_none()
                && tp.path.leading_colon.is_none()
                && tp
                    .path
                    .segments
                    .first()
                    .is_some_and(|s| s.ident == *self.param)
            {
                self.found = true;
            }
            visit::visit_type_path(self, tp);
        }
    }
    let mut finder = Finder {
        param,
        found: false,
    };
    finder.visit_type(ty);
    finder.found
}

/// Any type parameter of `params` mentioned in `ty`.
pub fn mentions_any<'a>(ty: &Type, mut params: impl Iterator<Item = &'a Ident>) -> bool {
    params.any(|p| mentions(ty, p))
}

/// Errors for every part of `ty` that holds the scalar `param` in a way that cannot be mapped to
/// a new owned value: behind a reference or raw pointer, in a function pointer or trait object.
pub fn unmappable(ty: &Type, param: &Ident) -> Option<syn::Error> {
    struct Checker<'a> {
        param: &'a Ident,
        errors: Option<syn::Error>,
    }
    impl<'ast> Visit<'ast> for Checker<'_> {
        fn visit_type(&mut self, ty: &'ast Type) {
            let what = match ty {
                Type::Reference(_) => "behind a reference",
                Type::Ptr(_) => "behind a raw pointer",
                Type::BareFn(_) => "in a function pointer type",
                Type::TraitObject(_) | Type::ImplTrait(_) => "in a trait object type",
                _ => return visit::visit_type(self, ty),
            };
            if mentions(ty, self.param) {
                let p = self.param;
                let e = syn::Error::new_spanned(
                    ty,
                    format!(
                        "`#[derive(Scalars)]` cannot map the scalar type `{p}` {what}: \
                         `map_scalars` builds a new value that owns its scalars; store them by \
                         value (`{p}`, `Vec<{p}>`, `Box<{p}>`, …)"
                    ),
                );
                match &mut self.errors {
                    Some(all) => all.combine(e),
                    None => self.errors = Some(e),
                }
            }
        }
    }
    let mut checker = Checker {
        param,
        errors: None,
    };
    checker.visit_type(ty);
    checker.errors
}

/// The `T` of a field type `Box<T>` (also spelled `std::boxed::Box<T>` or `alloc::boxed::Box<T>`).
///
/// `Box<X>` cannot implement `Scalars` next to the blanket impl for every `Scalar` (`Box` is a
/// fundamental type, so another crate could make a `Box` a `Scalar`); the derive maps through a
/// boxed field itself instead, which is what recursive types (`Box<Tree<S>>`) need.
pub fn boxed(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    let names: Vec<String> = tp
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    let is_box = tp.qself.is_none()
        && matches!(
            names
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["Box"] | ["std" | "alloc", "boxed", "Box"]
        );
    let last = tp.path.segments.last()?;
    match (&last.arguments, is_box) {
        (syn::PathArguments::AngleBracketed(args), true) if args.args.len() == 1 => {
            match args.args.first() {
                Some(syn::GenericArgument::Type(inner)) => Some(inner),
                _ => None,
            }
        }
        _ => None,
    }
}
