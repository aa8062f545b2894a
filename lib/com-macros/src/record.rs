//! `#[derive(Record)]`: marks a `#[repr(C)]` struct of plain fields as a
//! value that may cross the ABI by copy, with its signature (name, layout,
//! fields) for IPC and the C bindings.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput};

pub fn expand(item: TokenStream) -> syn::Result<TokenStream> {
    let item: DeriveInput = syn::parse2(item)?;
    let repr_c = crate::has_repr(&item.attrs, "C");
    if !repr_c {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a Record must be `#[repr(C)]`",
        ));
    }
    let Data::Struct(data) = &item.data else {
        return Err(syn::Error::new_spanned(&item.ident, "a Record is a struct"));
    };
    let syn::Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a Record has named fields (its signature and C struct name them)",
        ));
    };
    let name = &item.ident;
    let name_text = name.to_string();
    let field_names = fields
        .named
        .iter()
        .filter_map(|field| field.ident.as_ref())
        .map(ToString::to_string);
    let field_types = fields.named.iter().map(|field| &field.ty);
    Ok(quote! {
        // SAFETY: `#[repr(C)]`, every field is plain data (its `PlainData`
        // kind is named below), and the signature lists the fields in order.
        #[allow(unsafe_code)]
        unsafe impl ::com::Record for #name {
            const SIGNATURE: &'static ::com::RecordSignature = &::com::RecordSignature {
                name: #name_text,
                size: ::core::mem::size_of::<#name>(),
                align: ::core::mem::align_of::<#name>(),
                fields: &[#(::com::FieldSignature {
                    name: #field_names,
                    kind: <#field_types as ::com::PlainData>::KIND,
                }),*],
            };
        }
    })
}
