//! Example component: greets with text built at run time and counts its greetings.
//!
//! Its object implements `IHello`; its export table offers
//! `hello_greetings`, which the `greeter` component imports.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

use com::{ComObject, ComPtr, IUnknown, Result, class};
use component::Text;
use private_interfaces::{IHello, IHelloImpl};

/// Greetings given so far, by every instance in this module.
static GREETINGS: AtomicU32 = AtomicU32::new(0);

component::export! {
    /// How many greetings this module has given (export 1 of hello ABI v1).
    pub fn hello_greetings() -> u32 {
        GREETINGS.load(Ordering::Relaxed)
    }
}

#[class(IHello)]
struct Hello;

impl IHelloImpl for Hello {
    fn greet(&self, buffer: &mut [u8]) -> Result<usize> {
        let count = GREETINGS.fetch_add(1, Ordering::Relaxed) + 1;
        // The address shows where the loader placed this module's code.
        let here = hello_greetings as *const () as u64;
        let mut text = Text::new(buffer);
        text.push("hello from the hello module at ")?
            .hex(here)?
            .push(", greeting #")?
            .decimal(count.into())?;
        Ok(text.len())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IHello>(Hello).to_unknown())
}

component::component!(construct);
