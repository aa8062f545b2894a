//! Host tests: calls decoded from fake caller memory and made on a real
//! object through `com::dynamic::call`.

use alloc::vec::Vec;
use core::cell::RefCell;

use com::dynamic::{Arg, Returned, call};
use com::{ComObject, ComPtr, InOut, Interface, Record, Result, Status, class, interface};

use private_interfaces::{ICallback, ICallbackImpl};

use super::*;

/// A caller's memory: ranges with what they allow.
struct Memory {
    ranges: RefCell<Vec<(u64, Vec<u8>, bool)>>,
}

impl Memory {
    fn new(ranges: &[(u64, &[u8], bool)]) -> Memory {
        Memory {
            ranges: RefCell::new(
                ranges
                    .iter()
                    .map(|(start, bytes, writable)| (*start, bytes.to_vec(), *writable))
                    .collect(),
            ),
        }
    }

    fn at(&self, address: u64) -> Vec<u8> {
        let ranges = self.ranges.borrow();
        let (start, bytes, _) = ranges
            .iter()
            .find(|(start, ..)| *start == address)
            .expect("a range there");
        assert_eq!(*start, address);
        bytes.clone()
    }

    fn find(&self, address: u64, length: usize, write: bool) -> Result<(usize, usize)> {
        let ranges = self.ranges.borrow();
        for (index, (start, bytes, writable)) in ranges.iter().enumerate() {
            let end = start + bytes.len() as u64;
            if address >= *start && address + length as u64 <= end {
                if write && !writable {
                    return Err(Status::ACCESS_DENIED);
                }
                return Ok((index, usize::try_from(address - start).expect("small")));
            }
        }
        Err(Status::OUT_OF_RANGE)
    }
}

impl UserMemory for Memory {
    fn read(&self, address: u64, buffer: &mut [u8]) -> Result<()> {
        let (index, offset) = self.find(address, buffer.len(), false)?;
        buffer.copy_from_slice(&self.ranges.borrow()[index].1[offset..offset + buffer.len()]);
        Ok(())
    }

    fn check_writable(&self, address: u64, length: u64) -> Result<()> {
        self.find(address, usize::try_from(length).expect("small"), true)
            .map(drop)
    }

    fn write(&self, address: u64, data: &[u8]) -> Result<()> {
        let (index, offset) = self.find(address, data.len(), true)?;
        self.ranges.borrow_mut()[index].1[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Record)]
#[repr(C)]
struct Pair {
    first: u64,
    second: u32,
}

#[interface("0e0f1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b")]
trait ITarget {
    fn add(&self, a: u64, b: u32) -> Result<u64>;
    fn flip(&self, on: bool) -> Result<bool>;
    fn reverse(&self, data: &[u8], out: &mut [u8]) -> Result<usize>;
    fn length(&self, text: &str) -> Result<u32>;
    fn pair(&self, first: u64) -> Result<Pair>;
    fn nothing(&self) -> Result<()>;
    fn bump(&self, data: InOut<'_>) -> Result<u32>;
    fn first(&self, out: &mut [u8]) -> Result<u32>;
}

#[class(ITarget)]
struct Target;

impl ITargetImpl for Target {
    fn add(&self, a: u64, b: u32) -> Result<u64> {
        Ok(a + u64::from(b))
    }
    fn flip(&self, on: bool) -> Result<bool> {
        Ok(!on)
    }
    fn reverse(&self, data: &[u8], out: &mut [u8]) -> Result<usize> {
        for (to, from) in out.iter_mut().zip(data.iter().rev()) {
            *to = *from;
        }
        Ok(data.len().min(out.len()))
    }
    fn length(&self, text: &str) -> Result<u32> {
        Ok(u32::try_from(text.chars().count()).expect("short"))
    }
    fn pair(&self, first: u64) -> Result<Pair> {
        Ok(Pair { first, second: 7 })
    }
    fn nothing(&self) -> Result<()> {
        Ok(())
    }
    fn bump(&self, mut data: InOut<'_>) -> Result<u32> {
        let sum = data.iter().map(|&byte| u32::from(byte)).sum();
        for byte in data.iter_mut() {
            *byte += 1;
        }
        Ok(sum)
    }
    fn first(&self, out: &mut [u8]) -> Result<u32> {
        let first = out.first().copied().unwrap_or(0);
        out.fill(5);
        Ok(u32::from(first))
    }
}

fn target() -> ComPtr<ITarget> {
    ComObject::create(Target)
}

/// Decodes and makes a call of method `index`: its status and scalar.
fn run(index: usize, registers: [u64; 7], memory: &Memory) -> Result<u64> {
    let object = target();
    let signature = ITarget::SIGNATURE;
    let mut decoded = Call::decode(&signature.methods[index], &registers, memory)?;
    let mut returned = Returned::new();
    let status = {
        let (mut args, count) = decoded.args(&[]);
        call(
            object.as_unknown(),
            signature,
            index,
            &mut args[..count],
            &mut returned,
        )
    };
    status.check()?;
    decoded.copy_out(&returned, memory)?;
    Ok(returned.word())
}

#[test]
fn scalars_are_cut_to_their_width() {
    let memory = Memory::new(&[]);
    assert_eq!(run(0, [40, 0x1_0000_0002, 0, 0, 0, 0, 0], &memory), Ok(42));
    assert_eq!(run(1, [0, 0, 0, 0, 0, 0, 0], &memory), Ok(1));
    assert_eq!(
        run(1, [2, 0, 0, 0, 0, 0, 0], &memory),
        Err(Status::INVALID_ARGUMENT)
    );
    assert_eq!(run(5, [0; 7], &memory), Ok(0));
    let add = com::dynamic::describe(&ITarget::SIGNATURE.methods[0]).expect("register-only");
    assert_eq!(
        com::dynamic::call_registers(
            target().as_unknown(),
            0,
            &add,
            &[40, 0x1_0000_0002, 0, 0, 0, 0, 0]
        ),
        Ok(42)
    );
    let flip = com::dynamic::describe(&ITarget::SIGNATURE.methods[1]).expect("register-only");
    assert_eq!(
        com::dynamic::call_registers(target().as_unknown(), 1, &flip, &[2, 0, 0, 0, 0, 0, 0]),
        Err(Status::INVALID_ARGUMENT)
    );
    assert!(com::dynamic::describe(&ITarget::SIGNATURE.methods[2]).is_none());
    assert!(com::dynamic::describe(&ITarget::SIGNATURE.methods[4]).is_none());
}

#[test]
fn buffers_go_in_and_come_back_out() {
    let memory = Memory::new(&[(0x1000, b"abc", false), (0x2000, &[0; 4], true)]);
    assert_eq!(run(2, [0x1000, 3, 0x2000, 4, 0, 0, 0], &memory), Ok(3));
    assert_eq!(&memory.at(0x2000)[..3], b"cba");
}

#[test]
fn an_in_out_buffer_is_copied_in_and_back() {
    let memory = Memory::new(&[(0x1000, b"abc", false), (0x2000, &[1, 2, 3], true)]);
    // The callee saw what the caller had (1 + 2 + 3) and changed it.
    assert_eq!(run(6, [0x2000, 3, 0, 0, 0, 0, 0], &memory), Ok(6));
    assert_eq!(memory.at(0x2000), [2, 3, 4]);
    // Read-only memory cannot be an in-out buffer; unmapped, null and
    // partly mapped ones are refused as any buffer is.
    assert_eq!(
        run(6, [0x1000, 3, 0, 0, 0, 0, 0], &memory),
        Err(Status::ACCESS_DENIED)
    );
    assert_eq!(
        run(6, [0x5000, 3, 0, 0, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        run(6, [0, 3, 0, 0, 0, 0, 0], &memory),
        Err(Status::NULL_POINTER)
    );
    assert_eq!(
        run(6, [0x2001, 3, 0, 0, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(memory.at(0x2000), [2, 3, 4]);
}

#[test]
fn an_output_buffer_starts_zeroed_whatever_the_caller_had() {
    let memory = Memory::new(&[(0x2000, &[9, 9], true)]);
    assert_eq!(run(7, [0x2000, 2, 0, 0, 0, 0, 0], &memory), Ok(0));
    assert_eq!(memory.at(0x2000), [5, 5]);
}

#[test]
fn bad_buffers_are_refused_before_the_call() {
    let memory = Memory::new(&[(0x1000, b"abc", false), (0x2000, &[0; 4], true)]);
    // An output buffer in memory the caller may only read.
    assert_eq!(
        run(2, [0x1000, 3, 0x1000, 3, 0, 0, 0], &memory),
        Err(Status::ACCESS_DENIED)
    );
    // Unmapped, null, too long, wrapping.
    assert_eq!(
        run(2, [0x5000, 3, 0x2000, 4, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        run(2, [0, 3, 0x2000, 4, 0, 0, 0], &memory),
        Err(Status::NULL_POINTER)
    );
    assert_eq!(
        run(2, [0x1000, MOST_BYTES + 1, 0, 0, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(
        run(2, [u64::MAX - 1, 3, 0x2000, 4, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    // Partly mapped.
    assert_eq!(
        run(2, [0x1001, 3, 0x2000, 4, 0, 0, 0], &memory),
        Err(Status::OUT_OF_RANGE)
    );
    // Empty buffers need no memory at all.
    assert_eq!(run(2, [0, 0, 0, 0, 0, 0, 0], &memory), Ok(0));
}

#[test]
fn strings_must_be_utf8() {
    let memory = Memory::new(&[
        (0x1000, "héllo".as_bytes(), false),
        (0x2000, &[0xff, 0xfe], false),
    ]);
    assert_eq!(run(3, [0x1000, 6, 0, 0, 0, 0, 0], &memory), Ok(5));
    assert_eq!(
        run(3, [0x2000, 2, 0, 0, 0, 0, 0], &memory),
        Err(Status::BAD_STRING)
    );
}

#[test]
fn a_record_result_is_written_through_the_out_pointer() {
    let memory = Memory::new(&[(0x3000, &[0; 16], true), (0x4000, &[0; 16], false)]);
    assert_eq!(run(4, [9, 0x3000, 0, 0, 0, 0, 0], &memory), Ok(9));
    let bytes = memory.at(0x3000);
    assert_eq!(bytes[0], 9);
    assert_eq!(bytes[8], 7);
    assert_eq!(
        run(4, [9, 0x4000, 0, 0, 0, 0, 0], &memory),
        Err(Status::ACCESS_DENIED)
    );
}

#[test]
fn kinds_not_marshalled_are_refused() {
    // An address of the caller's space means nothing in another.
    let free = interfaces::IHeap::SIGNATURE.method("free").expect("free");
    assert_eq!(free.args[0].kind, ArgKind::Address);
    assert_eq!(
        Call::decode(free, &[1; 7], &Memory::new(&[])).map(drop),
        Err(Status::NOT_SUPPORTED)
    );
    // An interface pointer to an object in the kernel's space: decoded,
    // but a dynamic call cannot pass a caller's address.
    let relay = private_interfaces::IRelay::SIGNATURE
        .method("relay")
        .expect("relay");
    let mut call = Call::decode(relay, &[0x5000, 1, 1, 0, 0, 0, 0], &Memory::new(&[])).expect("ok");
    let (args, count) = call.args(&[]);
    assert_eq!(count, 3);
    assert!(matches!(args[0], Arg::None));
}

#[test]
fn interface_pointers_become_the_servers_handles() {
    let relay = private_interfaces::IRelay::SIGNATURE
        .method("relay")
        .expect("relay");
    let memory = Memory::new(&[]);
    // A null interface pointer is refused before anything is asked.
    assert_eq!(
        Call::decode(relay, &[0, 7, 3, 0, 0, 0, 0], &memory).map(drop),
        Err(Status::NULL_POINTER)
    );
    let mut call = Call::decode(relay, &[0x5000, 7, 3, 0, 0, 0, 0], &memory).expect("ok");
    // What the translation refuses is the call's error.
    assert_eq!(
        call.translate(|_, _| Err(Status::OUT_OF_RANGE)),
        Err(Status::OUT_OF_RANGE)
    );
    let mask = call.translate(|iid, word| {
        assert_eq!(iid, private_interfaces::ICallback::IID);
        assert_eq!(word, 0x5000);
        Ok(0x1_0002)
    });
    assert_eq!(mask, Ok(0b1));
    let server = Memory::new(&[(0x8000, &[0; 0x1000], true)]);
    let mut stack = FakeStack {
        memory: &server,
        top: 0x9000,
        bottom: 0x8000,
    };
    let (registers, result) = call.lay_out(&mut stack).expect("room");
    assert_eq!(registers[..4], [0x1_0002, 7, 3, result]);
    // The stub stores an 8-byte scalar through `a4`.
    assert_eq!(stored_result(relay), 8 | 3 << 8);
}

#[test]
fn an_owned_interface_result_comes_back_as_a_word() {
    let make = private_interfaces::IRelay::SIGNATURE
        .method("make")
        .expect("make");
    let caller = Memory::new(&[]);
    let server = Memory::new(&[(0x8000, &[0; 0x1000], true)]);
    let mut call = Call::decode(make, &[5, 0, 0, 0, 0, 0, 0], &caller).expect("ok");
    let mut stack = FakeStack {
        memory: &server,
        top: 0x9000,
        bottom: 0x8000,
    };
    let (registers, result) = call.lay_out(&mut stack).expect("room");
    assert_eq!(registers[..2], [5, result]);
    server
        .write(result, &0x1_2345_6780u64.to_le_bytes())
        .expect("writable");
    assert_eq!(
        call.copy_back(make.ret, result, &server, &caller),
        Ok(0x1_2345_6780)
    );
    // The stub wraps the handle it gets in a proxy and stores it through
    // `a2`.
    assert_eq!(stored_result(make), com::dynamic::RESULT_PROXY | 1 << 8);
}

/// A callback in the kernel's space, doubling what it is given.
#[class(ICallback)]
struct Doubling;

impl ICallbackImpl for Doubling {
    fn called(&self, value: u64) -> Result<u64> {
        Ok(value * 2)
    }
}

/// The index of `IRelay`'s method `name`.
fn relay_method(name: &str) -> usize {
    use private_interfaces::IRelay;
    IRelay::SIGNATURE
        .methods
        .iter()
        .position(|method| method.name == name)
        .expect("declared")
}

#[test]
fn a_kernel_callee_gets_the_pointers_made_for_interface_arguments() {
    use private_interfaces::IRelay;
    let relay: ComPtr<IRelay> = ComObject::create(relay_objects::Relay::new());
    let index = relay_method("relay");
    let method = &IRelay::SIGNATURE.methods[index];
    let mut decoded =
        Call::decode(method, &[0x5000, 10, 3, 0, 0, 0, 0], &Memory::new(&[])).expect("ok");
    assert_eq!(
        decoded.interfaces().collect::<Vec<_>>(),
        [(ICallback::IID, 0x5000)]
    );
    // Without a kernel pointer for the caller's address, no call.
    let mut returned = Returned::new();
    let refused = call_relay(&relay, index, &mut decoded, &[], &mut returned);
    assert_eq!(refused, Status::NOT_SUPPORTED);
    // With one, the callee calls it back.
    let callback: ComPtr<ICallback> = ComObject::create(Doubling);
    let lent = [callback.to_unknown()];
    let status = call_relay(&relay, index, &mut decoded, &lent, &mut returned);
    assert_eq!(status, Status::OK);
    assert_eq!(returned.word(), 20 + 22 + 24);
}

/// Calls method `index` of `relay` with `decoded`'s arguments, the
/// interface pointers among them `interfaces`.
fn call_relay(
    relay: &private_interfaces::IRelay,
    index: usize,
    decoded: &mut Call,
    interfaces: &[ComPtr<com::IUnknown>],
    returned: &mut Returned,
) -> Status {
    let (mut args, count) = decoded.args(interfaces);
    call(
        relay.as_unknown(),
        private_interfaces::IRelay::SIGNATURE,
        index,
        &mut args[..count],
        returned,
    )
}

#[test]
fn an_owned_interface_result_of_a_kernel_callee_is_a_reference() {
    use private_interfaces::{ICounter, IRelay};
    let relay: ComPtr<IRelay> = ComObject::create(relay_objects::Relay::new());
    let index = relay_method("make");
    let method = &IRelay::SIGNATURE.methods[index];
    let mut decoded = Call::decode(method, &[5, 0, 0, 0, 0, 0, 0], &Memory::new(&[])).expect("ok");
    let mut returned = Returned::new();
    let status = call_relay(&relay, index, &mut decoded, &[], &mut returned);
    assert_eq!(status, Status::OK);
    let made = returned.take_interface().expect("a counter");
    assert!(returned.take_interface().is_none());
    assert_eq!(made.query::<ICounter>().and_then(|made| made.add(3)), Ok(8));
    assert_eq!(relay.live(), Ok(1));
    drop(made);
    // The caller's reference was the last.
    assert_eq!(relay.live(), Ok(0));
}

/// A server's call stack in a fake memory: pushes go down from the top.
struct FakeStack<'a> {
    memory: &'a Memory,
    top: u64,
    bottom: u64,
}

impl ServerStack for FakeStack<'_> {
    fn push(&mut self, data: &[u8]) -> Result<u64> {
        let at = (self.top - data.len() as u64) & !7;
        if at < self.bottom {
            return Err(Status::OUT_OF_RANGE);
        }
        self.memory.write(at, data)?;
        self.top = at;
        Ok(at)
    }
}

#[test]
fn arguments_laid_out_in_a_server_come_back_to_the_caller() {
    let caller = Memory::new(&[(0x1000, b"abcd", false), (0x2000, &[9; 6], true)]);
    let server = Memory::new(&[(0x8000, &[0; 0x1000], true)]);
    let reverse = &ITarget::SIGNATURE.methods[2];
    let mut call = Call::decode(reverse, &[0x1000, 4, 0x2000, 6, 0, 0, 0], &caller).expect("ok");
    let mut stack = FakeStack {
        memory: &server,
        top: 0x9000,
        bottom: 0x8000,
    };
    let (registers, result) = call.lay_out(&mut stack).expect("room");
    // The input's bytes are in the server, the output zeroed there, and
    // the result area follows them: the registers point at each.
    let input = registers[0];
    assert_eq!(registers[1], 4);
    let mut bytes = [0u8; 4];
    server.read(input, &mut bytes).expect("laid out");
    assert_eq!(&bytes, b"abcd");
    let (output, length) = (registers[2], registers[3]);
    assert_eq!(length, 6);
    assert_eq!(registers[4], result);
    assert!(result < output && output < input && input + 4 <= 0x9000);
    // The server's method writes its output and result there...
    server.write(output, b"dcba\xee\xee").expect("writable");
    server.write(result, &4u64.to_le_bytes()).expect("writable");
    // ...and they come back to the caller's buffer and register.
    let kind = reverse.ret;
    assert_eq!(call.copy_back(kind, result, &server, &caller), Ok(4));
    assert_eq!(caller.at(0x2000), b"dcba\xee\xee");
    // A server stack too small for the arguments is refused.
    let mut call = Call::decode(reverse, &[0x1000, 4, 0x2000, 6, 0, 0, 0], &caller).expect("ok");
    let mut small = FakeStack {
        memory: &server,
        top: 0x8010,
        bottom: 0x8000,
    };
    assert_eq!(
        call.lay_out(&mut small).map(drop),
        Err(Status::OUT_OF_RANGE)
    );
}

/// The address of `bytes` as a caller passes it.
fn lent_address(bytes: &[u8]) -> u64 {
    bytes.as_ptr() as u64
}

#[test]
fn lent_memory_reaches_only_the_lent_buffers_and_the_result_area() {
    let input = *b"input bytes";
    let text = "text";
    let mut output = [0u8; 8];
    let output_at = lent_address(&output);
    let mut result = [0u8; 16];
    let result_at = lent_address(&result);
    let mut args = [Arg::In(&input), Arg::Text(text), Arg::Out(&mut output)];
    {
        let memory = LentMemory::new(&mut args, &mut result);
        let mut read = [0u8; 5];
        memory
            .read(lent_address(&input) + 6, &mut read)
            .expect("inside the input");
        assert_eq!(&read, b"bytes");
        // One byte past a buffer, or a buffer read as written, is refused.
        let mut past = [0u8; 5];
        assert_eq!(
            memory.read(lent_address(&input) + 7, &mut past),
            Err(Status::OUT_OF_RANGE)
        );
        assert_eq!(
            memory.write(lent_address(text.as_bytes()), b"x"),
            Err(Status::OUT_OF_RANGE)
        );
        assert_eq!(
            memory.check_writable(lent_address(&input), 1),
            Err(Status::OUT_OF_RANGE)
        );
        memory.check_writable(output_at, 8).expect("the output");
        memory
            .write(output_at + 2, b"out")
            .expect("inside the output");
        memory.write(result_at, &[7; 16]).expect("the result area");
        assert_eq!(
            memory.write(result_at + 1, &[7; 16]),
            Err(Status::OUT_OF_RANGE)
        );
        assert_eq!(memory.read(0x1000, &mut read), Err(Status::OUT_OF_RANGE));
    }
    assert_eq!(&output, b"\0\0out\0\0\0");
    assert_eq!(result, [7; 16]);
}

#[test]
fn lent_memory_gives_only_the_objects_lent_with_a_reference_each() {
    let object = target();
    let other = target();
    let unknown = object.as_unknown();
    let address = unknown.as_raw() as u64;
    let mut result = [0u8; 8];
    let mut args = [Arg::Word(3), Arg::Interface(unknown)];
    let memory = LentMemory::new(&mut args, &mut result);
    let lent = memory.object(address).expect("the lent object");
    assert_eq!(lent.as_raw(), unknown.as_raw());
    assert_eq!(
        memory.object(other.as_unknown().as_raw() as u64).map(drop),
        Err(Status::OUT_OF_RANGE)
    );
    assert_eq!(memory.object(3).map(drop), Err(Status::OUT_OF_RANGE));
    // Neither readable nor writable as memory.
    assert_eq!(memory.read(address, &mut [0; 8]), Err(Status::OUT_OF_RANGE));
    // A caller in another space lends no kernel object.
    assert_eq!(
        Memory::new(&[]).object(address).map(drop),
        Err(Status::NOT_SUPPORTED)
    );
    drop(lent);
}
