//! Plain functions a module exports by name and imports from other modules,
//! as its `.def` file lists them: [`export!`](crate::export) and
//! [`import!`](crate::import).
//!
//! Both carry the one `unsafe_code` allowance such linkage needs, so a
//! component stays `#![deny(unsafe_code)]` without allowances of its own.
//! Components reach them as `component::export!` and `component::import!`.

/// Defines functions that other modules call by name: each becomes a
/// `#[unsafe(no_mangle)] extern "C" fn`, which the module's `.def` file
/// lists in an `export` table.
///
/// ```
/// com::export! {
///     /// How many greetings this module has given (export 1).
///     pub fn doc_greetings() -> u32 {
///         7
///     }
/// }
/// assert_eq!(doc_greetings(), 7);
/// ```
///
/// Two exports of one name clash at link time, as any two
/// `no_mangle` symbols do.
#[macro_export]
macro_rules! export {
    ($(
        $(#[$attribute:meta])*
        $visibility:vis fn $name:ident($($argument:ident: $argument_type:ty),* $(,)?)
            $(-> $result:ty)? $body:block
    )*) => {$(
        $(#[$attribute])*
        #[allow(unsafe_code, reason = "exported by name, as the module's .def file lists it")]
        #[unsafe(no_mangle)]
        $visibility extern "C" fn $name($($argument: $argument_type),*) $(-> $result)? $body
    )*};
}

/// Declares functions of other modules, which the loader binds by the
/// `import` lines of the module's `.def` file, as safe functions to call.
///
/// Arguments and results are [`PlainData`](crate::PlainData) (integers,
/// GUIDs, records), so no call can hand the callee a dangling pointer;
/// the compiler rejects any other type:
///
/// ```compile_fail
/// com::import! {
///     fn takes_a_pointer(block: *mut u8);
/// }
/// ```
///
/// The declaration must match the exporter's definition, as any two sides
/// of a C call must: the `.def` tables name the functions, not their types.
#[macro_export]
macro_rules! import {
    ($(
        $(#[$attribute:meta])*
        $visibility:vis fn $name:ident($($argument:ident: $argument_type:ty),* $(,)?)
            $(-> $result:ty)?;
    )*) => {
        #[allow(unsafe_code, reason = "functions of other modules, bound by the loader")]
        unsafe extern "C" {$(
            $(#[$attribute])*
            $visibility safe fn $name($($argument: $argument_type),*) $(-> $result)?;
        )*}

        const _: () = {
            const fn plain_data<T: $crate::PlainData>() {}
            $($(plain_data::<$argument_type>();)* $(plain_data::<$result>();)?)*
        };
    };
}
