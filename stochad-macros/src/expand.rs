//! Generation of the `Scalars` impl.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{parse_quote, Data, DeriveInput, Fields, GenericParam, Ident, Type, WherePredicate};

use crate::attr::{reject_inner_attrs, scalar_param};
use crate::fields::{boxed, mentions, mentions_any, unmappable};

/// The support module of the generated code.
const PRIVATE: Private = Private;

struct Private;

impl ToTokens for Private {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote!(::stochad::scalars::__private));
    }
}

/// One struct, or one variant of an enum: how to name it in patterns and expressions.
struct Variant<'a> {
    /// `Name` or `Name::Variant`.
    path: TokenStream,
    /// The variant's index, recorded in the shape signature (enums only).
    index: Option<usize>,
    fields: &'a Fields,
}

/// One field of a variant.
struct Field<'a> {
    /// The identifier a pattern binds the field to.
    binding: Ident,
    ty: &'a Type,
    kind: Kind,
}

/// How the derive treats a field.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Its type mentions the scalar parameter: mapped and visited through its `Scalars` impl.
    Scalars,
    /// `Box<T>` with `T` mentioning the scalar parameter: mapped and visited through `T`.
    Boxed,
    /// No scalars inside: cloned by `map_scalars`, skipped by the visitors.
    Cloned,
}

impl Field<'_> {
    fn has_scalars(&self) -> bool {
        self.kind != Kind::Cloned
    }

    /// The type whose `Scalars` impl handles the field: the box's content for a boxed field.
    fn content(&self) -> &Type {
        match self.kind {
            Kind::Boxed => boxed(self.ty).unwrap_or(self.ty),
            _ => self.ty,
        }
    }

    /// The bound field, or the box's content for a boxed field.
    fn inner(&self, mutable: bool) -> TokenStream {
        let b = &self.binding;
        match (self.kind, mutable) {
            (Kind::Boxed, false) => quote!(&**#b),
            (Kind::Boxed, true) => quote!(&mut **#b),
            _ => quote!(#b),
        }
    }

    /// `<T as ScalarField<S>>::method(field, __stochad_f)`, spanned at the field's type so that a
    /// field type without a `Scalars` impl is reported there.
    fn call(&self, scalar: &Ident, method: &str, mutable: bool) -> TokenStream {
        let (x, ty) = (self.inner(mutable), self.content());
        let method = Ident::new(method, Span::call_site());
        quote_spanned!(self.ty.span()=>
            <#ty as #PRIVATE::ScalarField<#scalar>>::#method(#x, __stochad_f)
        )
    }
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let variants: Vec<Variant> = match &input.data {
        Data::Struct(s) => vec![Variant {
            path: quote!(#name),
            index: None,
            fields: &s.fields,
        }],
        Data::Enum(e) => e
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ident = &v.ident;
                Variant {
                    path: quote!(#name::#ident),
                    index: Some(i),
                    fields: &v.fields,
                }
            })
            .collect(),
        Data::Union(u) => return Err(union_error(u)),
    };
    reject_inner_attrs(input)?;
    let scalar = scalar_param(input)?;
    check_fields(&variants, &scalar)?;

    let t = Ident::new("__StochadT", Span::call_site());
    let with_args = input.generics.params.iter().map(|p| match p {
        GenericParam::Lifetime(l) => {
            let l = &l.lifetime;
            quote!(#l)
        }
        GenericParam::Type(ty) if ty.ident == scalar => quote!(#t),
        GenericParam::Type(ty) => ty.ident.to_token_stream(),
        GenericParam::Const(c) => c.ident.to_token_stream(),
    });
    let generics = with_bounds(input, &variants, &scalar);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();

    let map_arms = variants.iter().map(map_arm(&scalar));
    let visit_arms = variants
        .iter()
        .map(visit_arm(&scalar, "for_each_field", false));
    let visit_mut_arms = variants
        .iter()
        .map(visit_arm(&scalar, "for_each_field_mut", true));
    let shape_arms = variants
        .iter()
        .map(visit_arm(&scalar, "shape_field", false));
    // `match *self {}` is the only exhaustive match on an enum without variants.
    let scrutinee = if variants.is_empty() {
        quote!(*self)
    } else {
        quote!(self)
    };

    Ok(quote! {
        #[automatically_derived]
        #[allow(private_bounds)]
        impl #impl_generics ::stochad::Scalars for #name #ty_generics #where_clause {
            type Scalar = #scalar;
            type With<#t: ::stochad::Scalar> = #name<#(#with_args),*>;

            #[inline]
            fn map_scalars<#t, __StochadF>(
                &self,
                __stochad_f: &mut __StochadF,
            ) -> <Self as ::stochad::Scalars>::With<#t>
            where
                #t: ::stochad::Scalar,
                __StochadF: ::core::ops::FnMut(#scalar) -> #t,
            {
                match #scrutinee { #(#map_arms)* }
            }

            #[inline]
            fn for_each_scalar<__StochadF: ::core::ops::FnMut(&#scalar)>(
                &self,
                __stochad_f: &mut __StochadF,
            ) {
                match #scrutinee { #(#visit_arms)* }
            }

            #[inline]
            fn for_each_scalar_mut<__StochadF: ::core::ops::FnMut(&mut #scalar)>(
                &mut self,
                __stochad_f: &mut __StochadF,
            ) {
                match #scrutinee { #(#visit_mut_arms)* }
            }

            #[inline]
            fn shape(&self, __stochad_f: &mut ::std::vec::Vec<usize>) {
                match #scrutinee { #(#shape_arms)* }
            }
        }
    })
}

fn union_error(u: &syn::DataUnion) -> syn::Error {
    syn::Error::new_spanned(
        u.union_token,
        "`#[derive(Scalars)]` does not support unions: which field holds the scalars is not known \
         at run time; use a struct or an enum",
    )
}

/// Rejects field types that hold the scalar where a new owned value cannot be built from them.
fn check_fields(variants: &[Variant], scalar: &Ident) -> syn::Result<()> {
    let errors = variants
        .iter()
        .flat_map(|v| v.fields.iter())
        .filter_map(|f| unmappable(&f.ty, scalar))
        .reduce(|mut all, e| {
            all.combine(e);
            all
        });
    errors.map_or(Ok(()), Err)
}

/// The type's generics with the bounds the impl needs: the scalar parameter is a `Scalar`, and
/// every field cloned by `map_scalars` whose type involves a type parameter is `Clone`. (Cloned
/// fields never mention the scalar parameter, so these bounds hold for every `With<T>` too.)
fn with_bounds(input: &DeriveInput, variants: &[Variant], scalar: &Ident) -> syn::Generics {
    let mut generics = input.generics.clone();
    let params: Vec<Ident> = generics.type_params().map(|p| p.ident.clone()).collect();
    let mut preds: Vec<WherePredicate> = vec![parse_quote!(#scalar: ::stochad::Scalar)];
    for f in variants.iter().flat_map(|v| v.fields.iter()) {
        let ty = &f.ty;
        if !mentions(ty, scalar) && mentions_any(ty, params.iter()) {
            let p: WherePredicate = parse_quote!(#ty: ::core::clone::Clone);
            // Equal field types would repeat the same bound.
            let key = p.to_token_stream().to_string();
            if !preds.iter().any(|q| q.to_token_stream().to_string() == key) {
                preds.push(p);
            }
        }
    }
    generics.make_where_clause().predicates.extend(preds);
    generics
}

/// The fields of `v` with their bindings `__stochad_0, …`.
fn fields<'a>(v: &Variant<'a>, scalar: &Ident) -> Vec<Field<'a>> {
    v.fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            binding: format_ident!("__stochad_{}", i),
            ty: &f.ty,
            kind: match boxed(&f.ty) {
                Some(inner) if mentions(inner, scalar) => Kind::Boxed,
                _ if mentions(&f.ty, scalar) => Kind::Scalars,
                _ => Kind::Cloned,
            },
        })
        .collect()
}

/// A pattern for `v` binding every field (`all`) or only those with scalars.
fn pattern(v: &Variant, fields: &[Field], all: bool) -> TokenStream {
    let path = &v.path;
    let bound = fields.iter().map(|f| {
        if all || f.has_scalars() {
            f.binding.to_token_stream()
        } else {
            quote!(_)
        }
    });
    build(v, path, bound)
}

/// `path { a: x, b: y }`, `path(x, y)` or `path`, from one token stream per field.
fn build(v: &Variant, path: &TokenStream, parts: impl Iterator<Item = TokenStream>) -> TokenStream {
    match v.fields {
        Fields::Named(named) => {
            let names = named.named.iter().map(|f| &f.ident);
            quote!(#path { #(#names: #parts),* })
        }
        Fields::Unnamed(_) => quote!(#path(#(#parts),*)),
        Fields::Unit => quote!(#path),
    }
}

fn map_arm(scalar: &Ident) -> impl Fn(&Variant) -> TokenStream + '_ {
    move |v| {
        let fields = fields(v, scalar);
        let pat = pattern(v, &fields, true);
        let values = fields.iter().map(|f| {
            let (b, ty) = (&f.binding, f.ty);
            match f.kind {
                Kind::Scalars => f.call(scalar, "map_field", false),
                Kind::Boxed => {
                    let call = f.call(scalar, "map_field", false);
                    quote!(::std::boxed::Box::new(#call))
                }
                // Spanned at the field, where a missing `Clone` is reported.
                Kind::Cloned => {
                    quote_spanned!(ty.span()=> <#ty as #PRIVATE::CloneField>::clone_field(#b))
                }
            }
        });
        let value = build(v, &v.path, values);
        quote!(#pat => #value,)
    }
}

/// An arm calling `method` (`for_each_field`, `for_each_field_mut` or `shape_field`) on every
/// field with scalars; for `shape` of an enum, after recording the variant's index.
fn visit_arm<'a>(
    scalar: &'a Ident,
    method: &'a str,
    mutable: bool,
) -> impl Fn(&Variant) -> TokenStream + 'a {
    move |v| {
        let fields = fields(v, scalar);
        let pat = pattern(v, &fields, false);
        let index = match (method == "shape_field", v.index) {
            (true, Some(i)) => Some(quote!(__stochad_f.push(#i);)),
            _ => None,
        };
        let calls = fields
            .iter()
            .filter(|f| f.has_scalars())
            .map(|f| f.call(scalar, method, mutable));
        quote!(#pat => { #index #(#calls;)* })
    }
}
