//! `IHello`: the interface of the example components.

use com::{Result, interface};

#[interface("f04fb548-007d-4b30-aec7-e595bd26165f")]
/// Something that greets, with text it builds at run time.
pub trait IHello {
    /// Writes a greeting into `buffer`; returns its length.
    fn greet(&self, buffer: &mut [u8]) -> Result<usize>;
}
