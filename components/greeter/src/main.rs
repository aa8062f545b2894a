//! Example component: greets using functions it imports from hello and versioned (a dependency chain).
//!
//! Its calls to `hello_greetings` and `versioned_v2` are imports: the loader
//! binds `/hello` and `/versioned` through the namespace (loading them if
//! needed) and points the calls at their exports.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, class};
use component::Text;
use private_interfaces::{IHello, IHelloImpl};

mod imports {
    component::import! {
        /// hello ABI v1, ordinal 1: greetings given so far.
        pub fn hello_greetings() -> u32;
        /// versioned ABI v2, ordinal 1: the version number.
        pub fn versioned_v2() -> u32;
    }
}

#[class(IHello)]
struct Greeter;

impl IHelloImpl for Greeter {
    fn greet(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut text = Text::new(buffer);
        text.push("greeter: hello has greeted ")?
            .decimal(imports::hello_greetings().into())?;
        text.push(" times; versioned speaks ABI v")?
            .decimal(imports::versioned_v2().into())?;
        Ok(text.len())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IHello>(Greeter).to_unknown())
}

component::component!(construct);
