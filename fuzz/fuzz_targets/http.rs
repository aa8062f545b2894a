//! HTTP request heads: any bytes parsed with the status page's limits and
//! with tight ones the first byte chooses. Errors are fine; a crash, a
//! read past the input or a result that breaks the limits is not.

#![no_main]

use http::{Limits, Parse, parse};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8], limits: &Limits) {
    let Ok(Parse::Complete(request)) = parse(data, limits) else {
        return;
    };
    assert!(request.head_length <= data.len());
    assert!(request.head_length <= limits.head);
    assert!(request.path.starts_with('/'));
    assert!(request.content_length <= limits.body);
    // The head ends with its empty line.
    assert!(data[..request.head_length].ends_with(b"\r\n\r\n"));
}

fuzz_target!(|data: &[u8]| {
    check(data, &Limits::DEFAULT);
    if let Some((&knob, rest)) = data.split_first() {
        let small = usize::from(knob);
        let limits = Limits {
            request_line: small,
            field_line: small / 2,
            fields: usize::from(knob % 8),
            head: small * 2,
            body: u64::from(knob),
        };
        check(rest, &limits);
    }
});
