//! A strict, bounded HTTP/1.1 request parser, response heads and JSON text escaping; used by `components/httpd` (the status page) and its fuzz target.
//!
//! [`parse`] reads a request's head (request line and header fields,
//! RFC 9112) from the bytes received so far: it says whether more are
//! needed, or gives the [`Request`], or the [`Error`] whose status the
//! server answers with (400, 413, 414, 431, 501, 505). Every size is
//! bounded by [`Limits`], so a peer cannot make the server hold more than
//! [`Limits::head`] bytes of a head. Nothing allocates and no input
//! panics (the `http` fuzz target checks it).
//!
//! [`write_head`] writes a response's status line and header fields;
//! [`json::Text`] writes a string as a JSON string literal.
//!
//! Depends on nothing but `core`.

#![no_std]
#![forbid(unsafe_code)]

pub mod json;
mod request;
mod response;

pub use request::{Error, Limits, Method, Parse, Request, Version, parse};
pub use response::{Head, StatusCode, write_head};

#[cfg(test)]
mod tests;
