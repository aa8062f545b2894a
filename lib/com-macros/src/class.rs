//! `#[class(I, ...)]`: lays out one vtable slot per interface.

use proc_macro2::TokenStream;
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{Fields, ItemStruct, Meta, Path, Token, Type};

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let options =
        syn::parse::Parser::parse2(Punctuated::<Meta, Token![,]>::parse_terminated, attr)?;
    let item: ItemStruct = syn::parse2(item)?;
    let mut mutable = false;
    let mut published = None;
    let mut query = None;
    let mut interfaces: Vec<Path> = Vec::new();
    for option in options {
        match option {
            Meta::Path(path) if path.is_ident("mutable") => mutable = true,
            Meta::Path(path) => interfaces.push(path),
            Meta::List(list) if list.path.is_ident("query") => {
                query = Some(syn::parse2::<syn::Expr>(list.tokens)?);
            }
            Meta::List(list) if list.path.is_ident("mutable") => {
                mutable = true;
                published = Some(published_state(&item, syn::parse2(list.tokens)?)?);
            }
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "expected an interface, `mutable`, `mutable(PublishedState)` or `query(function)`",
                ));
            }
        }
    }
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
    let published_id = published.as_ref().map(|(state, _)| {
        quote! {
            const STATE_LAYOUT: ::com::Guid = <#state as ::com::PublishedState>::ID;
        }
    });
    let published_check = published.map(|(_, check)| check);
    let gate = mutable.then(|| {
        quote! {
            // `IMutable`'s slot, the last, is never held: a mutator calls it.
            const HELD: &'static [*const ::core::ffi::c_void] = &[
                #((<#user_interfaces as ::com::Implement<#name, #user_slots>>::HELD
                    as *const <#user_interfaces as ::com::Interface>::Vtbl)
                    .cast(),)*
                ::core::ptr::null(),
            ];
            #published_id
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
                    // SAFETY: the thunks pass the state of a live object.
                    #[allow(unsafe_code)]
                    Ok(unsafe { ::com::ObjectLayout::of(self) })
                }

                fn disown(&self) -> ::com::Result<()> {
                    self.gate.disown_object()
                }
            }
        }
    });
    let query = query.map(|function| {
        quote! {
            fn query_other(
                &self,
                iid: &::com::Guid,
            ) -> ::core::option::Option<::com::ComPtr<::com::IUnknown>> {
                (#function)(self, iid)
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
            #query
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
        #published_check
    })
}

/// For `mutable(State)`: checks that the struct is a `#[repr(transparent)]`
/// wrapper of `State` alone, so its objects' state *is* a `State`; returns
/// the type and the compile-time check of the field's type.
fn published_state(item: &ItemStruct, state: Type) -> syn::Result<(Type, TokenStream)> {
    let wraps_one = matches!(&item.fields, Fields::Unnamed(fields) if fields.unnamed.len() == 1);
    if !wraps_one || !crate::has_repr(&item.attrs, "transparent") {
        return Err(syn::Error::new_spanned(
            &item.ident,
            "a class with a published state is `#[repr(transparent)] struct Name(State);`",
        ));
    }
    let name = &item.ident;
    let check = quote! {
        // The one field is the published state itself.
        const _: fn(&#name) -> &#state = |object| &object.0;
    };
    Ok((state, check))
}
