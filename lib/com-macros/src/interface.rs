//! `#[interface("uuid")]`: one trait declaration becomes the vtable, the
//! client methods, the implementation trait and the signature table.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::visit_mut::VisitMut;
use syn::{
    Attribute, FnArg, GenericArgument, Ident, ItemTrait, LitStr, Pat, PathArguments, ReturnType,
    TraitItem, TraitItemFn, Type,
};

/// One method, reduced to what code generation needs.
struct Method {
    docs: Vec<Attribute>,
    name: Ident,
    args: Vec<(Ident, Type)>,
    /// The success type `T` of `Result<T>`; `None` for `Result<()>`.
    ok: Option<Type>,
}

pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let (iid, gated) = parse_attribute(attr)?;
    let item: ItemTrait = syn::parse2(item)?;
    let methods = item
        .items
        .iter()
        .map(|trait_item| match trait_item {
            TraitItem::Fn(function) => parse_method(function),
            other => Err(syn::Error::new_spanned(
                other,
                "interfaces contain only methods",
            )),
        })
        .collect::<syn::Result<Vec<_>>>()?;

    let interface = &item.ident;
    let vtbl = format_ident!("{}Vtbl", interface);
    let implementation = format_ident!("{}Impl", interface);
    let vis = &item.vis;
    let docs = doc_attributes(&item.attrs);
    let impl_items = item.items.iter().map(implementation_item);
    let vtbl_fields = methods.iter().map(vtable_field);
    let client_methods = methods.iter().map(client_method);
    let thunks = methods
        .iter()
        .map(|method| thunk(interface, &implementation, method, gated));
    let thunk_names: Vec<_> = methods.iter().map(|method| &method.name).collect();
    let reissue_names = methods
        .iter()
        .map(|method| format_ident!("{}_reissue", method.name));
    let signatures = methods.iter().map(method_signature);
    let name = interface.to_string();

    Ok(quote! {
        #(#docs)*
        ///
        /// This is the interface as the ABI sees it: call its methods through a
        /// `ComPtr`, implement it with the matching `…Impl` trait.
        #[repr(C)]
        #vis struct #interface {
            vtbl: ::core::sync::atomic::AtomicPtr<#vtbl>,
        }

        #[doc = concat!("The `#[repr(C)]` vtable of [`", #name, "`].")]
        #[repr(C)]
        #vis struct #vtbl {
            /// `QueryInterface`, `AddRef` and `Release`.
            pub base: ::com::IUnknownVtbl,
            #(#vtbl_fields)*
        }

        #[doc = concat!("The methods of [`", #name, "`], implemented in safe Rust.")]
        #vis trait #implementation {
            #(#impl_items)*
        }

        // SAFETY: the interface is `#[repr(C)]` around one vtable pointer, and
        // its vtable starts with `IUnknownVtbl`.
        #[allow(unsafe_code)]
        unsafe impl ::com::Interface for #interface {
            type Vtbl = #vtbl;
            const IID: ::com::Guid = ::com::Guid::from_u128(#iid);
            const SIGNATURE: &'static ::com::InterfaceSignature = &::com::InterfaceSignature {
                name: #name,
                iid: ::com::Guid::from_u128(#iid),
                methods: &[#(#signatures),*],
            };
        }

        #[allow(unsafe_code)]
        impl #interface {
            fn vtbl(&self) -> &#vtbl {
                // SAFETY: a live object's vtable pointer always points to a
                // valid vtable that outlives the object.
                unsafe { &*self.vtbl.load(::core::sync::atomic::Ordering::Relaxed) }
            }

            #(#client_methods)*
        }

        #[allow(unsafe_code)]
        impl #vtbl {
            /// The vtable of class `T` installed in slot `SLOT` of its objects.
            pub const fn new<T: ::com::Class + #implementation, const SLOT: usize>() -> #vtbl {
                Self::build::<T, SLOT>(false)
            }

            /// The held vtable of class `T` for slot `SLOT` (see
            /// `com::Class::HELD`): its methods wait until a mutator lets
            /// calls in again, then issue the call through the vtable the
            /// object has then.
            pub const fn held<T: ::com::Class + #implementation, const SLOT: usize>() -> #vtbl {
                Self::build::<T, SLOT>(#gated)
            }

            const fn build<T: ::com::Class + #implementation, const SLOT: usize>(__held: bool) -> #vtbl {
                #(#thunks)*
                if __held {
                    #vtbl {
                        base: ::com::IUnknownVtbl::new::<T, SLOT>(),
                        #(#thunk_names: #reissue_names::<T, SLOT>,)*
                    }
                } else {
                    #vtbl {
                        base: ::com::IUnknownVtbl::new::<T, SLOT>(),
                        #(#thunk_names: #thunk_names::<T, SLOT>,)*
                    }
                }
            }
        }

        // SAFETY: `new::<T, SLOT>` and `held::<T, SLOT>` build thunks that
        // find the object from slot `SLOT`.
        #[allow(unsafe_code)]
        unsafe impl<T: ::com::Class + #implementation, const SLOT: usize> ::com::Implement<T, SLOT>
            for #interface
        {
            const VTBL: &'static #vtbl = &#vtbl::new::<T, SLOT>();
            const HELD: &'static #vtbl = &#vtbl::held::<T, SLOT>();
        }
    })
}

/// Parses `"uuid"` or `"uuid", ungated`: the IID, and whether the thunks
/// of mutable classes enter the gate (all but `com`'s own `IMutable` do,
/// which a mutator calls while it holds the gate).
fn parse_attribute(attr: TokenStream) -> syn::Result<(u128, bool)> {
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    let parts = syn::parse::Parser::parse2(parser, attr)?;
    let mut parts = parts.iter();
    let iid = match parts.next() {
        Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        })) => parse_iid(literal)?,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "expected the interface's UUID as a string",
            ));
        }
    };
    match parts.next() {
        None => Ok((iid, true)),
        Some(syn::Expr::Path(path)) if path.path.is_ident("ungated") && parts.next().is_none() => {
            Ok((iid, false))
        }
        Some(other) => Err(syn::Error::new_spanned(
            other,
            "the only option after the UUID is `ungated`",
        )),
    }
}

/// Parses `"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"` into its 128-bit value.
pub(crate) fn parse_iid(literal: &LitStr) -> syn::Result<u128> {
    let text = literal.value();
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let well_formed = text.len() == 36
        && hex.len() == 32
        && [8, 13, 18, 23]
            .iter()
            .all(|&i| text.as_bytes().get(i) == Some(&b'-'));
    match u128::from_str_radix(&hex, 16) {
        Ok(value) if well_formed => Ok(value),
        _ => Err(syn::Error::new_spanned(
            literal,
            "expected a UUID like \"0a1b2c3d-0000-4000-8000-00112233aabb\"",
        )),
    }
}

fn doc_attributes(attrs: &[Attribute]) -> Vec<Attribute> {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .cloned()
        .collect()
}

fn parse_method(function: &TraitItemFn) -> syn::Result<Method> {
    let signature = &function.sig;
    if !signature.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            signature,
            "interface methods are not generic",
        ));
    }
    let mut inputs = signature.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver))
            if receiver.reference.is_some() && receiver.mutability.is_none() => {}
        _ => {
            return Err(syn::Error::new_spanned(
                signature,
                "interface methods take `&self` first",
            ));
        }
    }
    let args = inputs
        .map(parse_argument)
        .collect::<syn::Result<Vec<_>>>()?;
    Ok(Method {
        docs: doc_attributes(&function.attrs),
        name: signature.ident.clone(),
        args,
        ok: parse_result_type(&signature.output)?,
    })
}

/// A method of the `…Impl` trait: as declared, so a method declared with
/// a body has it as its default. A default usually ignores its arguments
/// (a stub that returns `NOT_SUPPORTED`), and their names are the ABI's,
/// which an underscore would change: the lint for unused ones is off there.
fn implementation_item(item: &TraitItem) -> TraitItem {
    let mut item = item.clone();
    if let TraitItem::Fn(function) = &mut item
        && function.default.is_some()
    {
        function
            .attrs
            .push(syn::parse_quote!(#[allow(unused_variables)]));
    }
    item
}

fn parse_argument(argument: &FnArg) -> syn::Result<(Ident, Type)> {
    match argument {
        FnArg::Typed(typed) => match &*typed.pat {
            Pat::Ident(pattern) => Ok((pattern.ident.clone(), (*typed.ty).clone())),
            other => Err(syn::Error::new_spanned(
                other,
                "name each interface argument",
            )),
        },
        FnArg::Receiver(receiver) => Err(syn::Error::new_spanned(receiver, "unexpected receiver")),
    }
}

/// `Result<T>` → `Some(T)`, `Result<()>` → `None`.
fn parse_result_type(output: &ReturnType) -> syn::Result<Option<Type>> {
    let error = || syn::Error::new_spanned(output, "interface methods return `Result<T>`");
    let ReturnType::Type(_, ty) = output else {
        return Err(error());
    };
    let Type::Path(path) = &**ty else {
        return Err(error());
    };
    let last = path.path.segments.last().ok_or_else(error)?;
    let PathArguments::AngleBracketed(generics) = &last.arguments else {
        return Err(error());
    };
    match (
        last.ident == "Result",
        generics.args.first(),
        generics.args.len(),
    ) {
        (true, Some(GenericArgument::Type(Type::Tuple(unit))), 1) if unit.elems.is_empty() => {
            Ok(None)
        }
        (true, Some(GenericArgument::Type(ok)), 1) => Ok(Some(ok.clone())),
        _ => Err(error()),
    }
}

/// Rewrites every lifetime in a type to `'static`, so the ABI type of a
/// borrowed argument can be named in a vtable field.
struct StaticLifetimes;

impl VisitMut for StaticLifetimes {
    fn visit_type_reference_mut(&mut self, reference: &mut syn::TypeReference) {
        reference.lifetime = Some(syn::Lifetime::new("'static", Span::call_site()));
        syn::visit_mut::visit_type_reference_mut(self, reference);
    }

    fn visit_lifetime_mut(&mut self, lifetime: &mut syn::Lifetime) {
        *lifetime = syn::Lifetime::new("'static", Span::call_site());
    }
}

fn with_static_lifetimes(ty: &Type) -> Type {
    let mut ty = ty.clone();
    StaticLifetimes.visit_type_mut(&mut ty);
    ty
}

/// The ABI form of an argument type.
fn param_abi(ty: &Type) -> TokenStream {
    let ty = with_static_lifetimes(ty);
    quote! { <#ty as ::com::Param>::Abi }
}

/// The out-pointer parameter type for a success value, if any.
fn out_param(method: &Method) -> Option<TokenStream> {
    method.ok.as_ref().map(|ok| {
        let ok = with_static_lifetimes(ok);
        quote! { *mut <#ok as ::com::Ret>::Abi }
    })
}

fn vtable_field(method: &Method) -> TokenStream {
    let Method {
        docs, name, args, ..
    } = method;
    let arg_names = args.iter().map(|(arg, _)| arg);
    let arg_types = args.iter().map(|(_, ty)| param_abi(ty));
    let out = out_param(method).map(|out| quote! { __out: #out, });
    quote! {
        #(#docs)*
        pub #name: unsafe extern "C" fn(
            __this: *mut ::core::ffi::c_void,
            #(#arg_names: #arg_types,)*
            #out
        ) -> ::com::Status,
    }
}

fn client_method(method: &Method) -> TokenStream {
    let Method {
        docs,
        name,
        args,
        ok,
    } = method;
    let arg_names: Vec<_> = args.iter().map(|(arg, _)| arg).collect();
    let arg_types: Vec<_> = args.iter().map(|(_, ty)| ty).collect();
    let call = |out: TokenStream| {
        quote! {
            // SAFETY: `self` is a live object of this interface, and every
            // argument is in its ABI form.
            unsafe {
                (self.vtbl().#name)(
                    ::com::Interface::as_raw(self),
                    #(<#arg_types as ::com::Param>::to_abi(#arg_names),)*
                    #out
                )
            }
        }
    };
    match ok {
        None => {
            let call = call(quote! {});
            quote! {
                #(#docs)*
                #[inline]
                pub fn #name(&self, #(#arg_names: #arg_types),*) -> ::com::Result<()> {
                    #call.check()
                }
            }
        }
        Some(ok) => {
            let call = call(quote! { __out.as_mut_ptr() });
            quote! {
                #(#docs)*
                #[inline]
                pub fn #name(&self, #(#arg_names: #arg_types),*) -> ::com::Result<#ok> {
                    let mut __out = ::core::mem::MaybeUninit::<<#ok as ::com::Ret>::Abi>::uninit();
                    #call.check()?;
                    // SAFETY: on success the callee wrote the value, by the ABI.
                    Ok(unsafe { <#ok as ::com::Ret>::from_abi(__out.assume_init()) })
                }
            }
        }
    }
}

fn thunk(interface: &Ident, implementation: &Ident, method: &Method, gated: bool) -> TokenStream {
    let Method { name, args, ok, .. } = method;
    let reissue = format_ident!("{}_reissue", name);
    let arg_names: Vec<_> = args.iter().map(|(arg, _)| arg).collect();
    let converted: Vec<_> = arg_names
        .iter()
        .map(|arg| format_ident!("__arg_{}", arg))
        .collect();
    let arg_types: Vec<_> = args.iter().map(|(_, ty)| ty).collect();
    let arg_abis: Vec<_> = args.iter().map(|(_, ty)| param_abi(ty)).collect();
    let out = out_param(method).map(|out| quote! { __out: #out, });
    let out_arg = ok.as_ref().map(|_| quote! { __out });
    let (check_out, store) = match ok {
        None => (quote! {}, quote! { Ok(()) => ::com::Status::OK, }),
        Some(ok) => (
            quote! {
                if __out.is_null() {
                    return ::com::Status::NULL_POINTER;
                }
            },
            quote! {
                Ok(value) => {
                    // SAFETY: `out` is non-null and writable, by the ABI.
                    unsafe { __out.write(<#ok as ::com::Ret>::into_abi(value)) };
                    ::com::Status::OK
                }
            },
        ),
    };
    let gate = if gated {
        quote! { ::com::Class::gate(__object.value()) }
    } else {
        quote! { ::core::option::Option::<&::com::Gate>::None }
    };
    let call_again = quote! {
        // SAFETY: the same call, with the caller's promises unchanged.
        unsafe { #reissue::<T, SLOT>(__this, #(#arg_names,)* #out_arg) }
    };
    quote! {
        unsafe extern "C" fn #name<T: ::com::Class + #implementation, const SLOT: usize>(
            __this: *mut ::core::ffi::c_void,
            #(#arg_names: #arg_abis,)*
            #out
        ) -> ::com::Status {
            #check_out
            // SAFETY: this vtable is installed only in slot `SLOT` of a `ComObject<T>`.
            let __object = unsafe { ::com::ComObject::<T>::from_slot::<SLOT>(__this) };
            // Mutable classes count the calls inside; for others the gate is
            // `None` and the gate code compiles to nothing. Nothing waits
            // here: a mutator holds new calls back with the held vtable.
            let __gate = #gate;
            let __entry = ::com::Gate::enter_optional(__gate, __this);
            #(
                // SAFETY: the caller passes arguments in their ABI form.
                let #converted = match unsafe { <#arg_types as ::com::Param>::from_abi(#arg_names) } {
                    Ok(value) => value,
                    Err(status) => return status,
                };
            )*
            let __status = match #implementation::#name(__object.value(), #(#converted),*) {
                #store
                // A failure must read as one across the ABI, or the caller
                // would trust an unwritten out-value.
                Err(status) if status.is_ok() => ::com::Status::FAILED,
                Err(status) => status,
            };
            drop(__entry);
            if __status == ::com::Status::PUSHED_OUT {
                if __gate.is_some() {
                    // Pushed out at a checkpoint by a mutation.
                    return #call_again;
                }
                // Never across a call: see `Status::PUSHED_OUT`.
                return ::com::Status::FAILED;
            }
            __status
        }

        /// A call that met a mutation — held back (this is the method of
        /// the held vtable) or pushed out at a checkpoint: waits until the
        /// mutator lets calls in again, then issues the call again through
        /// the vtable the object has now. Out of line, so the fast path
        /// saves nothing. This module stays loaded meanwhile: the mutation
        /// may have handed the object to another module and left this one
        /// idle.
        #[cold]
        #[inline(never)]
        unsafe extern "C" fn #reissue<T: ::com::Class + #implementation, const SLOT: usize>(
            __this: *mut ::core::ffi::c_void,
            #(#arg_names: #arg_abis,)*
            #out
        ) -> ::com::Status {
            let _loaded = ::com::KeepLoaded::this_module();
            // SAFETY: as in the thunk this one serves.
            let __object = unsafe { ::com::ComObject::<T>::from_slot::<SLOT>(__this) };
            if let Some(gate) = ::com::Class::gate(__object.value()) {
                gate.wait_until_open();
            }
            // SAFETY: the caller's promises for this call still hold.
            unsafe {
                ((*__this.cast::<#interface>()).vtbl().#name)(__this, #(#arg_names,)* #out_arg)
            }
        }
    }
}

fn method_signature(method: &Method) -> TokenStream {
    let name = method.name.to_string();
    let args = method.args.iter().map(|(arg, ty)| {
        let arg = arg.to_string();
        let ty = with_static_lifetimes(ty);
        quote! { ::com::ArgSignature { name: #arg, kind: <#ty as ::com::Param>::KIND } }
    });
    let ret = match &method.ok {
        Some(ok) => {
            let ok = with_static_lifetimes(ok);
            quote! { Some(<#ok as ::com::Ret>::KIND) }
        }
        None => quote! { None },
    };
    quote! { ::com::MethodSignature { name: #name, args: &[#(#args),*], ret: #ret } }
}
