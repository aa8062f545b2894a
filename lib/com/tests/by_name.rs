//! `export!` and `import!`: a function exported by name is reached by
//! importing it, and neither needs an `unsafe_code` allowance of its own.

#![deny(unsafe_code)]

use com::Guid;

com::export! {
    /// Doubles its argument.
    pub fn by_name_double(value: u32) -> u32 {
        value * 2
    }

    /// Passes a GUID through.
    fn by_name_same_guid(guid: Guid) -> Guid {
        guid
    }
}

mod imported {
    use com::Guid;

    com::import! {
        /// `by_name_double`, as another module would declare it.
        pub fn by_name_double(value: u32) -> u32;
        pub fn by_name_same_guid(guid: Guid) -> Guid;
    }
}

#[test]
fn an_exported_function_is_called_through_its_import() {
    assert_eq!(imported::by_name_double(21), 42);
    assert_eq!(by_name_double(4), 8);
}

#[test]
fn records_cross_by_value() {
    let guid = Guid::from_u128(0x3f0c1d52_2a7e_4c1b_9d3e_5b7a8e6f1c20);
    assert_eq!(imported::by_name_same_guid(guid), guid);
    assert_eq!(by_name_same_guid(guid), guid);
}
