//! Example component: carries two versions of its export table side by side.
//!
//! ABI v1 offers `versioned_v1`; ABI v2 offers `versioned_v2` and keeps
//! `versioned_v1` under a new ordinal. Importers name the table they were
//! built against by its UUID, and each gets the functions of its version.

#![no_std]
#![no_main]
#![deny(unsafe_code)]

use com::{ComObject, ComPtr, IUnknown, Result, class};
use component::Text;
use private_interfaces::{IHello, IHelloImpl};

component::export! {
    /// The version number of ABI v1 (export 1 of v1, export 2 of v2).
    pub fn versioned_v1() -> u32 {
        1
    }

    /// The version number of ABI v2 (export 1 of v2).
    pub fn versioned_v2() -> u32 {
        2
    }
}

#[class(IHello)]
struct Versioned;

impl IHelloImpl for Versioned {
    fn greet(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut text = Text::new(buffer);
        text.push("versioned: ABI v")?
            .decimal(versioned_v1().into())?
            .push(" and v")?;
        text.decimal(versioned_v2().into())?.push(" side by side")?;
        Ok(text.len())
    }
}

fn construct() -> Result<ComPtr<IUnknown>> {
    Ok(ComObject::create::<IHello>(Versioned).to_unknown())
}

component::component!(construct);
