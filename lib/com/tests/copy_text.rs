//! Host tests of `com::copy_text`, which every method that answers with
//! text uses to fill the caller's buffer.

#![allow(clippy::unwrap_used, missing_docs)]

use com::{Status, copy_text};

#[test]
fn text_that_fits_is_copied_to_the_start() {
    let mut buffer = [b'.'; 8];
    assert_eq!(copy_text("héllo", &mut buffer), Ok(6));
    assert_eq!(&buffer, "héllo..".as_bytes());
}

#[test]
fn text_that_fills_the_buffer_exactly_fits() {
    let mut buffer = [0u8; 5];
    assert_eq!(copy_text(b"hello", &mut buffer), Ok(5));
    assert_eq!(&buffer, b"hello");
}

#[test]
fn text_that_does_not_fit_writes_nothing() {
    let mut buffer = [b'.'; 4];
    assert_eq!(
        copy_text("hello", &mut buffer),
        Err(Status::BUFFER_TOO_SMALL)
    );
    assert_eq!(&buffer, b"....");
}

#[test]
fn empty_text_fits_an_empty_buffer() {
    assert_eq!(copy_text("", &mut []), Ok(0));
}
