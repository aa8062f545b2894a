//! `#[class(I, ...)]`: lays out one vtable slot per interface.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{ItemStruct, Path, Token};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let interfaces =
        syn::parse::Parser::parse2(Punctuated::<Path, Token![,]>::parse_terminated, attr)?;
    let item: ItemStruct = syn::parse2(item)?;
    let mutable = interfaces.iter().any(|path| path.is_ident("mutable"));
    let mut interfaces: Vec<Path> = interfaces
        .into_iter()
        .filter(|path| !path.is_ident("mutable"))
        .collect();
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
    if mutable {
        interfaces.push(syn::parse_quote!(::com::IMutable));
    }
    let user_slots = 0..interfaces.len() - usize::from(mutable);
    let user_interfaces = &interfaces[..user_slots.len()];
    let gate = mutable.then(|| {
        quote! {
            // `IMutable`'s slot, the last, is never held: a mutator calls it.
            const HELD: &'static [*const ::core::ffi::c_void] = &[
                #((<#user_interfaces as ::com::Implement<#name, #user_slots>>::HELD
                    as *const <#user_interfaces as ::com::Interface>::Vtbl)
                    .cast(),)*
                ::core::ptr::null(),
            ];
            #[inline(always)]
            fn gate(&self) -> ::core::option::Option<&::com::Gate> {
                ::core::option::Option::Some(&self.gate)
            }
        }
    });
    let describe = mutable.then(|| {
        quote! {
            impl ::com::IMutableImpl for #name {
                fn layout(&self) -> ::com::Result<::com::ObjectLayout> {
                    Ok(::com::ObjectLayout::of(self))
                }

                fn disown(&self) -> ::com::Result<()> {
                    self.gate.disown_object()
                }
            }
        }
    });
    let count = interfaces.len();
    let slots = 0..count;
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
            #gate
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
        #describe
    })
}
