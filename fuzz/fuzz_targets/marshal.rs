//! The IPC's argument marshalling: a call's registers, as hostile U-mode
//! code may set them, decoded against the signature of a real method and a
//! caller's memory of two ranges (one readable, one readable and
//! writable, holding zeros). Nothing may
//! panic; every buffer a decode accepts lies inside memory the caller may
//! access (the fake memory refuses anything else, and counts what it
//! refused), a decode that succeeds writes back without error, and its
//! interface pointers (which are translated, never read, by the decode)
//! are each handed to the translation once, with the argument's IID.
//!
//! Input: one byte choosing the method, seven registers (56 bytes,
//! little-endian), then the readable range's bytes.

#![no_main]

use std::cell::Cell;

use com::dynamic::Returned;
use com::{ArgKind, Interface, Result, Status};
use libfuzzer_sys::fuzz_target;
use marshal::{Call, UserMemory};

const READABLE: u64 = 0x1_0000_0000;
const WRITABLE: u64 = 0x2_0000_0000;
const WRITABLE_SIZE: u64 = 256;

struct Memory<'a> {
    readable: &'a [u8],
    refused: Cell<u32>,
}

impl Memory<'_> {
    fn inside(&self, address: u64, length: u64, start: u64, size: u64) -> bool {
        address >= start
            && address
                .checked_add(length)
                .is_some_and(|end| end <= start + size)
    }

    fn refuse(&self) -> Status {
        self.refused.set(self.refused.get() + 1);
        Status::ACCESS_VIOLATION
    }
}

impl UserMemory for Memory<'_> {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        let length = buffer.len() as u64;
        if self.inside(address, length, WRITABLE, WRITABLE_SIZE) {
            buffer.fill(0);
            return Ok(());
        }
        if !self.inside(address, length, READABLE, self.readable.len() as u64) {
            return Err(self.refuse());
        }
        let offset = (address - READABLE) as usize;
        buffer.copy_from_slice(&self.readable[offset..offset + buffer.len()]);
        Ok(())
    }

    fn check_writable(&self, address: u64, length: u64) -> Result<()> {
        if !self.inside(address, length, WRITABLE, WRITABLE_SIZE) {
            return Err(self.refuse());
        }
        Ok(())
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<()> {
        assert!(self.inside(address, data.len() as u64, WRITABLE, WRITABLE_SIZE));
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Some((registers, readable)) = rest.split_at_checked(56) else {
        return;
    };
    let signatures = [
        private_interfaces::ICounter::SIGNATURE,
        interfaces::IConsole::SIGNATURE,
        interfaces::IVmSpace::SIGNATURE,
        interfaces::IVmMapping::SIGNATURE,
        interfaces::INamespace::SIGNATURE,
        interfaces::IUserProcess::SIGNATURE,
        interfaces::IProcessManager::SIGNATURE,
        private_interfaces::IEcho::SIGNATURE,
        private_interfaces::IRelay::SIGNATURE,
        private_interfaces::ICallback::SIGNATURE,
    ];
    let methods: Vec<_> = signatures
        .iter()
        .flat_map(|signature| signature.methods)
        .collect();
    let method = methods[usize::from(choice) % methods.len()];
    let mut words = [0u64; 7];
    for (word, bytes) in words.iter_mut().zip(registers.chunks_exact(8)) {
        *word = u64::from_le_bytes(bytes.try_into().unwrap());
    }
    let memory = Memory {
        readable,
        refused: Cell::new(0),
    };
    match Call::decode(method, &words, &memory) {
        Ok(mut call) => {
            assert_eq!(memory.refused.get(), 0);
            let (_, count) = call.args(&[]);
            assert_eq!(count, method.args.len());
            assert_eq!(call.copy_out(&Returned::new(), &memory), Ok(()));
            let interfaces: Vec<_> = method
                .args
                .iter()
                .filter_map(|arg| match arg.kind {
                    ArgKind::Interface(iid) => Some(iid),
                    _ => None,
                })
                .collect();
            let mut seen = Vec::new();
            let mask = call.translate(|iid, word| {
                assert_ne!(word, 0);
                seen.push(iid);
                Ok(word)
            });
            assert_eq!(seen, interfaces);
            assert_eq!(mask.map(u64::count_ones), Ok(interfaces.len() as u32));
        }
        Err(status) => assert!(!status.is_ok()),
    }
});
