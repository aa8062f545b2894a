//! Procedural macros of Tessera's object model: `#[interface]` declares an interface once, `#[class]` implements interfaces on a Rust type, `#[derive(Record)]` lets a struct cross the ABI, `#[published_state]` lets another module read an object's state.
//!
//! Used through the `com` crate, which re-exports both; nothing else depends
//! on this crate directly. Depends on `syn`, `quote` and `proc-macro2`.

mod class;
mod interface;
mod record;
mod state;

use proc_macro::TokenStream;
use syn::Attribute;

/// Declares an interface from a trait, identified by the IID given as a UUID
/// string.
///
/// Every method takes `&self` and returns `Result<T>`; arguments and `T` must
/// implement `com::Param` and `com::Ret`. A method declared with a body
/// keeps it as the default of `IFooImpl`, so an implementation may leave
/// it out. For `trait IFoo` it generates:
/// - `IFoo`: the interface as C sees it (one vtable pointer), with a client
///   method per trait method, so `ComPtr<IFoo>` can call them;
/// - `IFooVtbl`: the `#[repr(C)]` vtable, `IUnknown`'s three slots first;
/// - `IFooImpl`: the trait an implementation writes in safe Rust;
/// - the `com::Interface` impl with the IID and the signature table, and the
///   `com::Implement` impl that builds vtables for `#[class]`.
#[proc_macro_attribute]
pub fn interface(attr: TokenStream, item: TokenStream) -> TokenStream {
    interface::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Implements the listed interfaces on a struct: `#[class(IFoo, IBar)]`.
///
/// With `mutable` among them (`#[class(IFoo, mutable)]`) the objects can be
/// mutated live: the struct needs a field `gate: com::Gate`, every method
/// call counts itself into that gate, the class gets held vtables that a
/// mutator installs to hold new calls back (`com::Class::HELD`), and it
/// also implements `com::IMutable`. With `mutable(S)` the struct is a
/// `#[repr(transparent)]` wrapper of `S`, a `#[published_state]`, and its
/// objects say so: another module's transition can then read their state
/// as an `S`, or take them over keeping it (`com::Takeover`).
///
/// The struct must also implement `IFooImpl` and `IBarImpl`, and be
/// `Send + Sync`. Create objects with `com::ComObject::create`.
#[proc_macro_attribute]
pub fn class(attr: TokenStream, item: TokenStream) -> TokenStream {
    class::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Lets a `#[repr(C)]` struct of integers, GUIDs and other records be
/// returned by value from interface methods.
#[proc_macro_derive(Record)]
pub fn derive_record(item: TokenStream) -> TokenStream {
    record::expand(item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Publishes a state layout: `#[published_state("uuid")]` on a
/// `#[repr(C)]` struct whose first field is a `com::Gate` and that owns
/// nothing to drop. Objects of a class declared `mutable(ThatStruct)`
/// carry the UUID, so a transition in another module (a new version, a
/// driver taking a device over) can read their state (`com::Takeover`).
/// A changed layout is a new layout: give it a new UUID.
#[proc_macro_attribute]
pub fn published_state(attr: TokenStream, item: TokenStream) -> TokenStream {
    state::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// True when `attrs` hold `#[repr(kind)]`.
fn has_repr(attrs: &[Attribute], kind: &str) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("repr")
            && attr
                .parse_nested_meta(|meta| {
                    if meta.path.is_ident(kind) {
                        Ok(())
                    } else {
                        Err(meta.error(""))
                    }
                })
                .is_ok()
    })
}
