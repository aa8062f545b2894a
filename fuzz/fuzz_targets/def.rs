//! `.def` module descriptions: any text parses to a module or a clear error.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(error) = image::def::parse(text) {
            std::hint::black_box(error.to_string());
        }
    }
});
