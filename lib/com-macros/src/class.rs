//! `#[class(I, ...)]`: lays out one vtable slot per interface.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{ItemStruct, Path, Token};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let interfaces =
        syn::parse::Parser::parse2(Punctuated::<Path, Token![,]>::parse_terminated, attr)?;
    let item: ItemStruct = syn::parse2(item)?;
    if interfaces.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "#[class] needs at least one interface",
        ));
    }
    if !item.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &item.generics,
            "#[class] types cannot be generic",
        ));
    }
    let name = &item.ident;
    let count = interfaces.len();
    let slots = 0..count;
    let interfaces: Vec<&Path> = interfaces.iter().collect();
    let has_interface = interfaces.iter().enumerate().map(|(slot, interface)| {
        quote! {
            // SAFETY: `vtables()` puts this interface's vtable in this slot.
            #[allow(unsafe_code)]
            unsafe impl ::com::HasInterface<#interface> for #name {
                const SLOT: usize = #slot;
            }
        }
    });
    Ok(quote! {
        #item

        // SAFETY: slot k holds the vtable `Implement<Self, k>` built for slot k.
        #[allow(unsafe_code)]
        unsafe impl ::com::Class for #name {
            type Vtables = [::core::sync::atomic::AtomicPtr<::core::ffi::c_void>; #count];
            const IIDS: &'static [::com::Guid] = &[#(<#interfaces as ::com::Interface>::IID),*];
            fn vtables() -> Self::Vtables {
                [#(::core::sync::atomic::AtomicPtr::new(
                    (<#interfaces as ::com::Implement<#name, #slots>>::VTBL
                        as *const <#interfaces as ::com::Interface>::Vtbl)
                        .cast_mut()
                        .cast(),
                )),*]
            }
        }

        #(#has_interface)*
    })
}
