//! `#[derive(Record)]`: marks a `#[repr(C)]` struct of plain fields as a
//! value that may cross the ABI by copy.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

pub fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let item: DeriveInput = syn::parse2(item)?;
    let repr_c = item.attrs.iter().any(|attr| {
        attr.path().is_ident("repr")
            && attr
                .parse_nested_meta(|meta| {
                    if meta.path.is_ident("C") {
                        Ok(())
                    } else {
                        Err(meta.error(""))
                    }
                })
                .is_ok()
    });
    if !repr_c {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a Record must be `#[repr(C)]`",
        ));
    }
    let Data::Struct(data) = &item.data else {
        return Err(syn::Error::new_spanned(&item.ident, "a Record is a struct"));
    };
    let name = &item.ident;
    let field_types = data.fields.iter().map(|field| &field.ty);
    Ok(quote! {
        // SAFETY: `#[repr(C)]`, and every field is plain data (checked below).
        #[allow(unsafe_code)]
        unsafe impl ::com::Record for #name {}

        const _: () = {
            const fn field_is_plain_data<T: ::com::PlainData>() {}
            #(field_is_plain_data::<#field_types>();)*
        };
    })
}
