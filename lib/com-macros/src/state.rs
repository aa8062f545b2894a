//! `#[published_state("uuid")]`: names a state layout that other modules'
//! transitions may read, after checking what reading it relies on.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Fields, ItemStruct, LitStr, Type};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let id = crate::interface::parse_iid(&syn::parse2::<LitStr>(attr)?)?;
    let item: ItemStruct = syn::parse2(item)?;
    if !crate::has_repr(&item.attrs, "C") {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a published state must be `#[repr(C)]`",
        ));
    }
    let first = match &item.fields {
        Fields::Named(fields) => fields.named.first(),
        Fields::Unnamed(fields) => fields.unnamed.first(),
        Fields::Unit => None,
    };
    let Some(first) = first.filter(|field| is_gate(&field.ty)) else {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a published state's first field is its object's `Gate`",
        ));
    };
    let gate_field = match &first.ident {
        Some(ident) => quote!(#ident),
        None => quote!(0),
    };
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "a published state cannot be generic",
        ));
    }
    let name = &item.ident;
    Ok(quote! {
        #item

        // SAFETY: checked above: `#[repr(C)]`, the gate first; and below:
        // nothing to drop.
        #[allow(unsafe_code)]
        unsafe impl ::com::PublishedState for #name {
            const ID: ::com::Guid = ::com::Guid::from_u128(#id);
        }

        // The first field is `com::Gate` itself, not a look-alike.
        const _: fn(&#name) -> &::com::Gate = |state| &state.#gate_field;

        const _: () = ::core::assert!(
            !::core::mem::needs_drop::<#name>(),
            "a published state owns nothing that needs dropping"
        );
    })
}

/// True for the type `Gate` (`com::Gate`, `::com::Gate`).
fn is_gate(ty: &Type) -> bool {
    let Type::Path(path) = ty else { return false };
    path.qself.is_none()
        && path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == "Gate" && segment.arguments.is_empty())
}
