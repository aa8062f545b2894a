//! C vtables and IIDs from the signature tables that `#[interface]` emits,
//! and the status codes from `com::Status`.
//!
//! Each method becomes a function pointer `tsr_status (*name)(void *self,
//! arguments..., T *out)` — the ABI of `docs/abi.md`, with the success
//! value through the trailing out-pointer. Each record a method returns
//! becomes a C struct, checked against the Rust size and alignment.

use std::fmt::Write;

use com::{
    ArgKind, FieldKind, Guid, IMutable, IUnknown, Interface, InterfaceSignature, MethodSignature,
    RecordSignature, Status,
};
use image::def::signature::{C_KEYWORDS, c_declaration, c_pointer_to};
use interfaces::{
    IBlockDevice, ICondition, IConsole, IDevice, IDirectory, IEcallHandler, IEndpoint,
    IEntropySource, IFile, IFileSystem, IHeap, IImageVerifier, IInterpose, IInterruptSource,
    IInterrupts, ILoader, IMemoryFile, IModule, IMutate, IMutex, INamespace, INetworkDevice,
    INetworkStack, IPower, IProcess, IProcessManager, IProgram, IScheduler, ISchedulerPolicy,
    IService, IShutdown, IShutdownListener, ISocket, ISocketFactory, IThread, IThreads,
    ITransition, ITrustControl, ITrustPolicy, IUserProcess, IUserTraps, IVmFactory, IVmHooks,
    IVmImageMapper, IVmKernel, IVmMapping, IVmSpace, IVmView, IVolume,
};
use private_interfaces::{ICounter, IHello, IObjectHost};

/// The interfaces C components may implement or call, in header order.
/// The test-only ones ([`TEST_ONLY`]) stay out; a test fails when an
/// interface declared in the tree is in neither list.
const INTERFACES: &[&InterfaceSignature] = &[
    IBlockDevice::SIGNATURE,
    ICondition::SIGNATURE,
    IConsole::SIGNATURE,
    ICounter::SIGNATURE,
    IDevice::SIGNATURE,
    IDirectory::SIGNATURE,
    IEcallHandler::SIGNATURE,
    IEndpoint::SIGNATURE,
    IEntropySource::SIGNATURE,
    IFile::SIGNATURE,
    IFileSystem::SIGNATURE,
    IHeap::SIGNATURE,
    IHello::SIGNATURE,
    IImageVerifier::SIGNATURE,
    IInterpose::SIGNATURE,
    IInterruptSource::SIGNATURE,
    IInterrupts::SIGNATURE,
    ILoader::SIGNATURE,
    IMemoryFile::SIGNATURE,
    IModule::SIGNATURE,
    IMutable::SIGNATURE,
    IMutate::SIGNATURE,
    IMutex::SIGNATURE,
    INamespace::SIGNATURE,
    INetworkDevice::SIGNATURE,
    INetworkStack::SIGNATURE,
    IObjectHost::SIGNATURE,
    IPower::SIGNATURE,
    IProcess::SIGNATURE,
    IProcessManager::SIGNATURE,
    IProgram::SIGNATURE,
    IScheduler::SIGNATURE,
    IShutdown::SIGNATURE,
    IShutdownListener::SIGNATURE,
    ISchedulerPolicy::SIGNATURE,
    IService::SIGNATURE,
    ISocket::SIGNATURE,
    ISocketFactory::SIGNATURE,
    IThread::SIGNATURE,
    IThreads::SIGNATURE,
    ITransition::SIGNATURE,
    ITrustControl::SIGNATURE,
    ITrustPolicy::SIGNATURE,
    IUserProcess::SIGNATURE,
    IUserTraps::SIGNATURE,
    IVmFactory::SIGNATURE,
    IVmHooks::SIGNATURE,
    IVmImageMapper::SIGNATURE,
    IVmKernel::SIGNATURE,
    IVmMapping::SIGNATURE,
    IVmSpace::SIGNATURE,
    IVmView::SIGNATURE,
    IVolume::SIGNATURE,
];

/// Interfaces only the test image's components implement and call.
pub const TEST_ONLY: &[&str] = &["IBenchmarks", "ICallback", "IEcho", "IRelay", "ISelfTests"];

/// The names of the interfaces the header declares, `IUnknown` first.
pub fn names() -> Vec<&'static str> {
    core::iter::once(IUnknown::SIGNATURE.name)
        .chain(INTERFACES.iter().map(|interface| interface.name))
        .collect()
}

/// `include/tessera/interfaces.h`.
pub fn header() -> String {
    let mut out = format!(
        "/*\n * The interfaces' vtables and IIDs, for components written in C.\n *\n \
         * Generated from the signature tables of the #[interface] declarations\n \
         * (lib/interfaces, lib/com) by `{}`: edit those, not this file.\n \
         * Included by tessera.h; include that. IIDs are in RFC 4122 byte order.\n */\n\
         #ifndef TESSERA_INTERFACES_H\n#define TESSERA_INTERFACES_H\n",
        crate::REFRESH
    );
    for record in records() {
        let _ = write!(out, "{}", record_struct(record));
    }
    let _ = writeln!(
        out,
        "\n/* IUnknown: its vtable is IUnknownVtbl, in tessera.h. */\n{}",
        iid_define(IUnknown::SIGNATURE)
    );
    for interface in INTERFACES {
        let _ = write!(
            out,
            "\n/* {} ({}) */\n{}\n{}",
            interface.name,
            interface.iid,
            iid_define(interface),
            vtable(interface)
        );
    }
    out.push_str("\n#endif\n");
    out
}

/// `include/tessera/status.h`: `#define TSR_NOT_FOUND (-5) /* not found */`.
pub fn status_header() -> String {
    let mut out = format!(
        "/*\n * The status codes, for components written in C.\n *\n \
         * Generated from com::Status (lib/com/src/status.rs) by `{}`:\n \
         * edit that, not this file. Included by tessera.h; include that.\n */\n\
         #ifndef TESSERA_STATUS_H\n#define TESSERA_STATUS_H\n\n",
        crate::REFRESH
    );
    for (name, status) in Status::NAMED {
        let code = match status.0 {
            code @ 0.. => code.to_string(),
            code => format!("({code})"),
        };
        let _ = writeln!(out, "#define TSR_{name} {code} /* {} */", status.message());
    }
    out.push_str("\n#endif\n");
    out
}

/// Every record the interfaces pass, each after the records it holds.
fn records() -> Vec<&'static RecordSignature> {
    let mut records = Vec::new();
    for interface in INTERFACES {
        for method in interface.methods {
            let kinds = method.args.iter().map(|arg| arg.kind).chain(method.ret);
            for kind in kinds {
                if let ArgKind::Record(record) = kind {
                    add_record(&mut records, record);
                }
            }
        }
    }
    records
}

fn add_record(records: &mut Vec<&'static RecordSignature>, record: &'static RecordSignature) {
    if records.contains(&record) {
        return;
    }
    for field in record.fields {
        let mut kind = field.kind;
        while let FieldKind::Array(element, _) = kind {
            kind = *element;
        }
        if let FieldKind::Record(inner) = kind {
            add_record(records, inner);
        }
    }
    records.push(record);
}

/// `typedef struct HeapStatus { uint64_t reserved; ... } HeapStatus;` and
/// the assertions that C lays it out as Rust does.
fn record_struct(record: &RecordSignature) -> String {
    let name = record.name;
    let mut out =
        format!("\n/* {name}: a record, returned by value. */\ntypedef struct {name} {{\n");
    for field in record.fields {
        let _ = writeln!(
            out,
            "    {};",
            field_declaration(field.kind, &c_name(field.name))
        );
    }
    let _ = writeln!(
        out,
        "}} {name};\n\
         _Static_assert(sizeof({name}) == {}, \"{name} is {} bytes, as in Rust\");\n\
         _Static_assert(_Alignof({name}) == {}, \"{name} is {}-aligned, as in Rust\");",
        record.size, record.size, record.align, record.align
    );
    out
}

/// `uint64_t name`, `uint8_t name[16]`, `tsr_guid id`.
fn field_declaration(kind: FieldKind, name: &str) -> String {
    match kind {
        FieldKind::Unsigned(bytes) => format!("uint{}_t {name}", bytes * 8),
        FieldKind::Signed(bytes) => format!("int{}_t {name}", bytes * 8),
        FieldKind::Guid => format!("tsr_guid {name}"),
        FieldKind::Record(record) => format!("{} {name}", record.name),
        FieldKind::Array(element, count) => {
            field_declaration(*element, &format!("{name}[{count}]"))
        }
    }
}

/// `#define TSR_IID_IHELLO {{0xf0, ...}}`.
fn iid_define(interface: &InterfaceSignature) -> String {
    format!(
        "#define TSR_IID_{} {{{{{}}}}}",
        interface.name.to_ascii_uppercase(),
        guid_bytes(interface.iid)
    )
}

fn guid_bytes(guid: Guid) -> String {
    let bytes: Vec<String> = guid.0.iter().map(|byte| format!("{byte:#04x}")).collect();
    bytes.join(", ")
}

/// The vtable typedef.
fn vtable(interface: &InterfaceSignature) -> String {
    let mut out = format!(
        "typedef struct {name}Vtbl {{\n    IUnknownVtbl base;\n",
        name = interface.name
    );
    for method in interface.methods {
        let _ = writeln!(out, "    {};", slot(method));
    }
    let _ = writeln!(out, "}} {}Vtbl;", interface.name);
    out
}

/// `tsr_status (*greet)(void *self, tsr_mut_bytes buffer, uint64_t *out)`.
fn slot(method: &MethodSignature) -> String {
    let mut params = vec!["void *self".to_string()];
    for arg in method.args {
        params.push(c_declaration(&c_type(arg.kind), &c_name(arg.name)));
    }
    if let Some(ret) = method.ret {
        params.push(c_declaration(&c_pointer_to(&c_type(ret)), "out"));
    }
    format!(
        "tsr_status (*{})({})",
        c_name(method.name),
        params.join(", ")
    )
}

/// How a kind crosses the ABI, spelled in C.
fn c_type(kind: ArgKind) -> String {
    match kind {
        ArgKind::Unsigned(bytes) => format!("uint{}_t", bytes * 8),
        ArgKind::Signed(bytes) => format!("int{}_t", bytes * 8),
        ArgKind::Bool => "uint32_t".into(),
        ArgKind::Str => "tsr_str".into(),
        ArgKind::Bytes => "tsr_bytes".into(),
        ArgKind::BytesMut | ArgKind::BytesInOut => "tsr_mut_bytes".into(),
        ArgKind::Interface(_) | ArgKind::OwnedInterface(_) => "void *".into(),
        ArgKind::Guid => "const tsr_guid *".into(),
        ArgKind::Address => "uint8_t *".into(),
        ArgKind::Record(record) => record.name.into(),
    }
}

/// A Rust name that is a C keyword gets a trailing `_` (`register_`).
fn c_name(name: &str) -> String {
    if C_KEYWORDS.contains(&name) {
        format!("{name}_")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_and_keywords_are_spelled_as_c_declares_them() {
        let grid = FieldKind::Array(&FieldKind::Array(&FieldKind::Signed(2), 3), 2);
        assert_eq!(field_declaration(grid, "grid"), "int16_t grid[2][3]");
        assert_eq!(c_name("register"), "register_");
        assert_eq!(c_name("bind"), "bind");
    }

    #[test]
    fn records_come_before_the_records_that_hold_them() {
        static INNER: RecordSignature = RecordSignature {
            name: "Inner",
            size: 8,
            align: 8,
            fields: &[],
        };
        static OUTER: RecordSignature = RecordSignature {
            name: "Outer",
            size: 16,
            align: 8,
            fields: &[com::FieldSignature {
                name: "inner",
                kind: FieldKind::Array(&FieldKind::Record(&INNER), 2),
            }],
        };
        let mut records = Vec::new();
        add_record(&mut records, &OUTER);
        add_record(&mut records, &INNER);
        let names: Vec<_> = records.iter().map(|record| record.name).collect();
        assert_eq!(names, ["Inner", "Outer"]);
    }
}
