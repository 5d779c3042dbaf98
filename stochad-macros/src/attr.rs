//! The `#[scalars(...)]` attribute and the choice of the scalar type parameter.

use syn::{Attribute, Data, DeriveInput, Fields, GenericParam, Ident};

/// The name of the helper attribute.
const ATTR: &str = "scalars";

/// The scalar type parameter of `input`: the one named by `#[scalars(scalar = S)]`, else the only
/// type parameter.
pub fn scalar_param(input: &DeriveInput) -> syn::Result<Ident> {
    let named = scalar_attr(&input.attrs)?;
    let params: Vec<&Ident> = input
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(&t.ident),
            _ => None,
        })
        .collect();
    let name = &input.ident;
    match (named, params.as_slice()) {
        (Some(s), _) if params.contains(&&s) => Ok(s),
        (Some(s), _) => Err(syn::Error::new_spanned(
            &s,
            format!("`{s}` is not a type parameter of `{name}`; name the scalar type parameter"),
        )),
        (None, [only]) => Ok((*only).clone()),
        (None, []) => Err(syn::Error::new_spanned(
            name,
            format!(
                "`#[derive(Scalars)]` needs a type parameter for the scalar type, as in \
                 `{name}<S>`; `{name}` has none"
            ),
        )),
        (None, several) => {
            let list = several
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ");
            Err(syn::Error::new_spanned(
                &input.generics,
                format!(
                    "`{name}` has several type parameters ({list}): name the one that is the \
                     scalar type with `#[scalars(scalar = ...)]`"
                ),
            ))
        }
    }
}

/// Parses the container attributes `#[scalars(scalar = S)]`; any other key is an error.
fn scalar_attr(attrs: &[Attribute]) -> syn::Result<Option<Ident>> {
    let mut scalar: Option<Ident> = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident(ATTR)) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("scalar") {
                let ident: Ident = meta.value()?.parse()?;
                if scalar.is_some() {
                    return Err(syn::Error::new_spanned(
                        &meta.path,
                        "`scalar` is given twice in `#[scalars(...)]`",
                    ));
                }
                scalar = Some(ident);
                Ok(())
            } else {
                Err(meta.error(
                    "unknown key in `#[scalars(...)]`: the only key is `scalar`, as in \
                     `#[scalars(scalar = S)]`",
                ))
            }
        })?;
    }
    Ok(scalar)
}

/// Rejects `#[scalars(...)]` on fields and variants, where it has no meaning.
pub fn reject_inner_attrs(input: &DeriveInput) -> syn::Result<()> {
    fn field_attrs(fields: &Fields) -> Vec<&Attribute> {
        fields.iter().flat_map(|f| &f.attrs).collect()
    }
    let attrs: Vec<&Attribute> = match &input.data {
        Data::Struct(s) => field_attrs(&s.fields),
        Data::Enum(e) => e
            .variants
            .iter()
            .flat_map(|v| v.attrs.iter().chain(field_attrs(&v.fields)))
            .collect(),
        Data::Union(_) => Vec::new(),
    };
    match attrs.into_iter().find(|a| a.path().is_ident(ATTR)) {
        Some(a) => Err(syn::Error::new_spanned(
            a,
            "`#[scalars(...)]` goes on the type itself, not on a field or variant",
        )),
        None => Ok(()),
    }
}
