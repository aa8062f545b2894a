//! The empty application: `main` returns 0 at once, so its process is only what every process costs; the `process create + exit` benchmark (`components/benchmarks`) times it.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

app::application!(main);

fn main(_arguments: &'static str) -> i32 {
    0
}
