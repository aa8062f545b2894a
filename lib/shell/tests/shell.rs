//! Host tests of the shell against fake console, file, heap and power objects.

#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::{Arc, Mutex};

use com::{ComObject, ComPtr, IUnknown, Result, Status, class};
use interfaces::{
    HeapStatus, IConsole, IConsoleImpl, IFile, IFileImpl, IHeap, IHeapImpl, INamespace, IPower,
    IPowerImpl, IService, IServiceImpl, IVmFactory, IVmFactoryImpl, IVmMapping, IVmSpace,
    IVmSpaceImpl, IVmView, RegionStatus, SpaceStatus, VmStatus,
};
use namespace::Namespace;
use shell_lib::{Exit, PROMPT, Shell};

#[class(IConsole)]
struct ScriptedConsole {
    input: Mutex<Vec<u8>>,
    output: Arc<Mutex<Vec<u8>>>,
}

impl IConsoleImpl for ScriptedConsole {
    fn write(&self, data: &[u8]) -> Result<usize> {
        self.output.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn read(&self, buffer: &mut [u8]) -> Result<usize> {
        let mut input = self.input.lock().unwrap();
        let count = buffer.len().min(input.len());
        buffer[..count].copy_from_slice(&input[..count]);
        input.drain(..count);
        Ok(count)
    }
}

#[class(IFile)]
struct MemoryFile(Vec<u8>);

impl IFileImpl for MemoryFile {
    fn read_at(&self, offset: u64, buffer: &mut [u8]) -> Result<usize> {
        let start = usize::try_from(offset).unwrap().min(self.0.len());
        let count = buffer.len().min(self.0.len() - start);
        buffer[..count].copy_from_slice(&self.0[start..start + count]);
        Ok(count)
    }
    fn write_at(&self, _offset: u64, _data: &[u8]) -> Result<usize> {
        Err(Status::ACCESS_DENIED)
    }
    fn size(&self) -> Result<u64> {
        Ok(self.0.len() as u64)
    }
    fn set_size(&self, _size: u64) -> Result<()> {
        Err(Status::ACCESS_DENIED)
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }
}

#[class(IHeap)]
struct FixedHeap;

impl IHeapImpl for FixedHeap {
    fn alloc(&self, _size: usize, _align: usize) -> Result<*mut u8> {
        Err(Status::OUT_OF_MEMORY)
    }
    fn realloc(&self, _block: *mut u8, _size: usize, _align: usize) -> Result<*mut u8> {
        Err(Status::OUT_OF_MEMORY)
    }
    fn free(&self, _block: *mut u8) -> Result<()> {
        Err(Status::INVALID_ARGUMENT)
    }
    fn size(&self, _block: *mut u8) -> Result<usize> {
        Err(Status::INVALID_ARGUMENT)
    }
    fn validate(&self, _block: *mut u8) -> Result<bool> {
        Ok(false)
    }
    fn status(&self) -> Result<HeapStatus> {
        Ok(HeapStatus {
            reserved: 4096,
            committed: 4096,
            used: 1234,
            max_used: 2000,
        })
    }
}

/// A manager with figures and nothing else.
#[class(IVmFactory)]
struct FixedManager;

impl IVmFactoryImpl for FixedManager {
    fn create_space(&self) -> Result<ComPtr<IVmSpace>> {
        Err(Status::NOT_SUPPORTED)
    }
    fn create_zero_mapping(&self, _size: u64) -> Result<ComPtr<IVmMapping>> {
        Err(Status::NOT_SUPPORTED)
    }
    fn create_file_mapping(&self, _path: &str) -> Result<ComPtr<IVmMapping>> {
        Err(Status::NOT_SUPPORTED)
    }
    fn create_view(&self, _space: &IUnknown) -> Result<ComPtr<IVmView>> {
        Err(Status::NOT_SUPPORTED)
    }
    fn status(&self) -> Result<VmStatus> {
        Ok(VmStatus {
            spaces: 2,
            mappings: 3,
            resident_pages: 17,
            wired_pages: 4,
            faults: 21,
            zero_fills: 16,
            file_reads: 1,
            copies: 1,
            view_switches: 6,
            frames_free: 2000,
            frames_total: 2048,
        })
    }
}

/// A space with figures and nothing else.
#[class(IVmSpace)]
struct FixedSpace(u64);

impl IVmSpaceImpl for FixedSpace {
    fn reserve(&self, _address: u64, _size: u64) -> Result<u64> {
        Err(Status::NOT_SUPPORTED)
    }
    fn delete(&self, _address: u64, _size: u64) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    fn map(&self, _: u64, _: &IUnknown, _: u64, _: u64, _: u32) -> Result<u64> {
        Err(Status::NOT_SUPPORTED)
    }
    fn protect(&self, _address: u64, _size: u64, _protection: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    fn cache_control(&self, _address: u64, _size: u64, _operation: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    fn query_region(&self, _address: u64) -> Result<RegionStatus> {
        Err(Status::NOT_SUPPORTED)
    }
    fn create_shadow(&self, _address: u64) -> Result<ComPtr<IVmMapping>> {
        Err(Status::NOT_SUPPORTED)
    }
    fn status(&self) -> Result<SpaceStatus> {
        Ok(SpaceStatus {
            regions: 2,
            resident_pages: self.0,
            wired_pages: 4,
        })
    }
    fn check_access(&self, _address: u64, _length: u64, _access: u32) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    fn read_checked(&self, _address: u64, _buffer: &mut [u8]) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
    fn write_checked(&self, _address: u64, _data: &[u8]) -> Result<()> {
        Err(Status::NOT_SUPPORTED)
    }
}

#[class(IPower)]
struct RecordingPower(Arc<Mutex<Option<u32>>>);

impl IPowerImpl for RecordingPower {
    fn power_off(&self, exit_code: u32) -> Result<()> {
        *self.0.lock().unwrap() = Some(exit_code);
        Ok(())
    }
}

/// A background service that only remembers the port it serves on.
#[class(IService)]
struct FakeServer(Mutex<u32>);

impl IServiceImpl for FakeServer {
    fn start(&self, port: u32) -> Result<()> {
        *self.0.lock().unwrap() = port;
        Ok(())
    }
    fn stop(&self) -> Result<()> {
        match std::mem::take(&mut *self.0.lock().unwrap()) {
            0 => Err(Status::NOT_CONNECTED),
            _ => Ok(()),
        }
    }
    fn port(&self) -> Result<u32> {
        Ok(*self.0.lock().unwrap())
    }
}

struct Machine {
    output: Arc<Mutex<Vec<u8>>>,
    powered_off_with: Arc<Mutex<Option<u32>>>,
    exit: Exit,
}

impl Machine {
    fn text(&self) -> String {
        String::from_utf8(self.output.lock().unwrap().clone()).unwrap()
    }
}

fn register<I: com::Interface>(namespace: &INamespace, name: &str, object: ComPtr<I>) {
    namespace.register(name, object.as_unknown(), 0).unwrap();
}

/// Boots a shell on fake devices, types `input`, and runs until it ends.
fn run(input: &str) -> Machine {
    let namespace: ComPtr<INamespace> = ComObject::create(Namespace::new(None));
    let output = Arc::new(Mutex::new(Vec::new()));
    let powered_off_with = Arc::new(Mutex::new(None));
    let console: ComPtr<IConsole> = ComObject::create(ScriptedConsole {
        input: Mutex::new(input.as_bytes().to_vec()),
        output: output.clone(),
    });
    register(&namespace, "/dev/console", console);
    register(
        &namespace,
        "/dev/power",
        ComObject::create::<IPower>(RecordingPower(powered_off_with.clone())),
    );
    register(
        &namespace,
        "/sys/heap",
        ComObject::create::<IHeap>(FixedHeap),
    );
    register(
        &namespace,
        "/sys/vm",
        ComObject::create::<IVmFactory>(FixedManager),
    );
    // The spaces the manager lists below its name.
    for (name, resident) in [("/sys/vm/space-1", 13), ("/sys/vm/space-3", 0)] {
        register(
            &namespace,
            name,
            ComObject::create::<IVmSpace>(FixedSpace(resident)),
        );
    }
    register(
        &namespace,
        "/httpd",
        ComObject::create::<IService>(FakeServer(Mutex::new(0))),
    );
    let readme: ComPtr<IFile> =
        ComObject::create(MemoryFile(b"Welcome to Tessera.\nSecond line.\n".to_vec()));
    register(&namespace, "/boot/README", readme);
    let exit = Shell::new(namespace).unwrap().run();
    Machine {
        output,
        powered_off_with,
        exit,
    }
}

#[test]
fn prompts_and_ends_with_the_input() {
    let machine = run("");
    assert_eq!(machine.text(), PROMPT);
    assert_eq!(machine.exit, Exit::EndOfInput);
}

#[test]
fn ls_lists_the_root_with_directories_marked() {
    let text = run("ls /\r").text();
    assert!(
        text.contains("/boot/\r\n/dev/\r\n/httpd\r\n/sys/\r\n"),
        "{text}"
    );
    let text = run("ls /dev\r").text();
    assert!(text.contains("/dev/console\r\n/dev/power\r\n"), "{text}");
}

#[test]
fn ls_of_a_missing_directory_is_an_error() {
    let text = run("ls /nowhere\r").text();
    assert!(text.contains("error: ls: /nowhere: not found"), "{text}");
}

#[test]
fn cat_prints_a_file_with_terminal_line_endings() {
    let text = run("cat /boot/README\r").text();
    assert!(
        text.contains("Welcome to Tessera.\r\nSecond line.\r\n"),
        "{text}"
    );
}

#[test]
fn cat_reports_missing_files_and_non_files() {
    let text = run("cat /boot/missing\rcat /sys/heap\rcat\r").text();
    assert!(
        text.contains("error: cat: /boot/missing: not found"),
        "{text}"
    );
    assert!(
        text.contains("error: cat: /sys/heap: interface not supported"),
        "{text}"
    );
    assert!(
        text.contains("error: cat: bad arguments (usage: cat <file>)"),
        "{text}"
    );
}

#[test]
fn unknown_commands_are_reported_and_the_shell_goes_on() {
    let text = run("frobnicate now\recho still alive\r").text();
    assert!(
        text.contains("error: unknown command 'frobnicate' (type 'help')"),
        "{text}"
    );
    assert!(text.contains("still alive\r\n"), "{text}");
}

#[test]
fn mem_prints_the_heap_figures() {
    let text = run("mem\r").text();
    assert!(
        text.contains("heap: reserved=4096 committed=4096 used=1234 max_used=2000"),
        "{text}"
    );
}

#[test]
fn vm_prints_the_managers_figures() {
    let text = run("vm\r").text();
    assert!(
        text.contains(
            "vm: spaces=2 mappings=3 resident=17 wired=4 faults=21 zero-fills=16 \
             file-reads=1 copies=1 view-switches=6 frames-free=2000/2048\r\n  \
             space-1: regions=2 resident=13 wired=4\r\n  \
             space-3: regions=2 resident=0 wired=4\r\n"
        ),
        "{text}"
    );
}

#[test]
fn backspace_edits_the_line_and_is_echoed() {
    let text = run("echo hellp\x7fo\r").text();
    assert!(text.contains("echo hellp\x08 \x08o\r\nhello\r\n"), "{text}");
}

#[test]
fn backspace_on_an_empty_line_does_nothing() {
    let text = run("\x7f\x08echo ok\r").text();
    assert!(
        text.starts_with(&format!("{PROMPT}echo ok\r\nok\r\n")),
        "{text:?}"
    );
}

#[test]
fn crlf_ends_one_line_not_two() {
    let text = run("echo a\r\necho b\n").text();
    assert_eq!(
        text,
        format!("{PROMPT}echo a\r\na\r\n{PROMPT}echo b\r\nb\r\n{PROMPT}")
    );
}

#[test]
fn ctrl_c_abandons_the_line() {
    let text = run("echo no\x03echo yes\r").text();
    assert!(!text.contains("no\r\n"), "{text}");
    assert!(text.contains("yes\r\n"), "{text}");
}

#[test]
fn help_lists_every_command() {
    let text = run("help\r").text();
    for command in ["help", "ls [path]", "cat <file>", "mem", "echo", "poweroff"] {
        assert!(text.contains(command), "{command} missing from {text}");
    }
}

#[test]
fn poweroff_asks_the_power_object_with_status_zero() {
    let machine = run("poweroff\recho never\r");
    assert_eq!(machine.exit, Exit::PowerOff);
    assert_eq!(*machine.powered_off_with.lock().unwrap(), Some(0));
    assert!(!machine.text().contains("never"));
}

#[test]
fn bad_arguments_get_the_usage() {
    let text = run("mem now\rls / /\r").text();
    assert!(
        text.contains("error: mem: bad arguments (usage: mem)"),
        "{text}"
    );
    assert!(
        text.contains("error: ls: bad arguments (usage: ls [path])"),
        "{text}"
    );
}

#[test]
fn over_long_lines_are_cut_at_the_limit() {
    let long = "x".repeat(400);
    let text = run(&format!("echo {long}\r")).text();
    let echoed = text.lines().nth(1).unwrap();
    assert_eq!(echoed.len(), 256 - "echo ".len(), "{echoed}");
}

#[test]
fn httpd_starts_in_the_background_and_stops() {
    let text = run("httpd\rhttpd\rhttpd stop\rhttpd stop\rhttpd now\r").text();
    assert!(
        text.contains("httpd: serving the status page on port 80 (`httpd stop` stops it)\r\n"),
        "{text}"
    );
    assert!(
        text.contains("error: httpd: /httpd: already exists"),
        "{text}"
    );
    assert!(text.contains("httpd: stopped\r\n"), "{text}");
    assert!(
        text.contains("error: httpd: /httpd: not connected"),
        "{text}"
    );
    assert!(
        text.contains("error: httpd: bad arguments (usage: httpd [stop])"),
        "{text}"
    );
}
