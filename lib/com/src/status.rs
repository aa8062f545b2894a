//! 32-bit status codes: zero or positive is success, negative is failure.

use core::fmt;

/// The result of every interface method: a value, or the failure status.
pub type Result<T> = core::result::Result<T, Status>;

/// A status code as it crosses the binary interface (`int32_t` in C).
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Status(pub i32);

/// Declares the named status codes and their messages in one table.
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        impl Status {
            $($(#[$doc])* pub const $name: Status = Status($code);)*

            /// Every named status with its name, in code order from `OK`
            /// down (for tools and the C header).
            pub const NAMED: &[(&'static str, Status)] = &[$((stringify!($name), Status::$name)),*];

            /// A short human-readable description of the status.
            #[cfg(feature = "messages")]
            pub fn message(self) -> &'static str {
                // The messages packed into one text, in code order from
                // `OK` down (a test checks the codes run so), and where
                // each ends: a few bytes each where a table of string
                // slices takes 16, in every module that links `com`.
                const TEXT: &str = concat!($($text),*);
                const ENDS: [u16; Status::NAMED.len()] = crate::text_ends(&[$($text),*]);
                let index = usize::try_from(self.0.min(0).unsigned_abs()).unwrap_or(usize::MAX);
                crate::packed_text(TEXT, &ENDS, index)
                    .unwrap_or("unknown failure")
            }

            /// Without the `messages` feature: only whether it failed
            /// (the code says which failure; `include/tessera/status.h`
            /// names it).
            #[cfg(not(feature = "messages"))]
            pub fn message(self) -> &'static str {
                if self.is_ok() { "success" } else { "failure" }
            }
        }
    };
}

statuses! {
    /// The operation succeeded.
    OK = 0, "success";
    /// Unspecified failure.
    FAILED = -1, "operation failed";
    /// An argument is out of range or malformed.
    INVALID_ARGUMENT = -2, "invalid argument";
    /// The object does not implement the requested interface.
    NO_INTERFACE = -3, "interface not supported";
    /// A heap could not satisfy an allocation.
    OUT_OF_MEMORY = -4, "out of memory";
    /// No object or entry has that name.
    NOT_FOUND = -5, "not found";
    /// The name is already taken.
    ALREADY_EXISTS = -6, "already exists";
    /// A name is empty, too long, or has an empty, `.` or `..` segment.
    INVALID_NAME = -7, "invalid name";
    /// The caller's buffer cannot hold the result.
    BUFFER_TOO_SMALL = -8, "buffer too small";
    /// The object does not support this operation.
    NOT_SUPPORTED = -9, "not supported";
    /// The caller may not perform this operation.
    ACCESS_DENIED = -10, "access denied";
    /// A component or file-system image failed validation.
    BAD_IMAGE = -11, "bad image";
    /// A string argument is not valid UTF-8.
    BAD_STRING = -12, "string is not valid UTF-8";
    /// A required pointer argument is null.
    NULL_POINTER = -13, "null pointer";
    /// An enumeration has no further entries.
    NO_MORE_ENTRIES = -14, "no more entries";
    /// An offset or length lies outside the object.
    OUT_OF_RANGE = -15, "out of range";
    /// A request the callee could grant only by breaking a promise already
    /// made (a time constraint that cannot be met alongside the admitted ones).
    REFUSED = -16, "refused";
    /// The object changed under the operation; issue it again.
    RETRY = -17, "object changed; call again";
    /// The operation could not finish in the time it was given.
    TIMED_OUT = -18, "timed out";
    /// A mutation pushed the call out at a checkpoint (only
    /// `Gate::checkpoint` returns it). The
    /// method thunk of a mutable class issues the call again; every other
    /// thunk turns it into `FAILED`, so no call returns it and only a
    /// push-out can cause a re-issue. (Objects written in C must not
    /// return it either.)
    PUSHED_OUT = -19, "call pushed out by a mutation";
    /// Binding the name would wait for a load that waits, through its
    /// imports, for this bind: components that import from each other.
    IMPORT_CYCLE = -20, "import cycle";
    /// A thread ran an instruction that does not exist or that its mode
    /// may not run.
    ILLEGAL_INSTRUCTION = -21, "illegal instruction";
    /// A thread read, wrote or ran memory its address space does not give
    /// it (no mapping, or one whose protection refuses that access).
    ACCESS_VIOLATION = -22, "access violation";
    /// A thread accessed memory at an address its access size does not
    /// divide, or jumped to a misaligned address.
    MISALIGNED_ACCESS = -23, "misaligned access";
    /// A U-mode thread trapped on purpose (`ecall`, `ebreak`) and nothing
    /// handles that trap.
    UNHANDLED_TRAP = -24, "unhandled trap";
    /// The device or file system has no room left for what was written.
    DISK_FULL = -25, "disk full";
    /// A directory cannot be removed while it has entries.
    NOT_EMPTY = -26, "directory not empty";
    /// A component image's signature was refused: unsigned, changed after
    /// signing, signed by a key not trusted, or named for another module.
    BAD_SIGNATURE = -27, "signature refused";
    /// The peer refused the connection (nothing listens on its port).
    CONNECTION_REFUSED = -28, "connection refused";
    /// The peer reset the connection, or it was aborted.
    CONNECTION_RESET = -29, "connection reset";
    /// The local address and port are taken by another socket.
    ADDRESS_IN_USE = -30, "address in use";
    /// The socket is not connected (or no longer is).
    NOT_CONNECTED = -31, "not connected";
    /// The handle names an object that is gone: its process ended, or
    /// its slot now holds another object.
    STALE_HANDLE = -32, "object is gone";
    /// The thread or process was ended by a kill.
    KILLED = -33, "killed";
}

impl Status {
    /// True for success codes (zero or positive).
    pub const fn is_ok(self) -> bool {
        self.0 >= 0
    }

    /// Turns a status returned across the ABI into a `Result`.
    pub const fn check(self) -> Result<()> {
        if self.is_ok() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.0)
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Status> for Result<()> {
    fn from(status: Status) -> Self {
        status.check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(not(feature = "messages"))]
    fn without_messages_a_status_says_only_whether_it_failed() {
        assert_eq!(Status::NOT_FOUND.message(), "failure");
        assert_eq!(Status::OK.message(), "success");
    }

    #[test]
    fn success_and_failure_are_told_apart_by_sign() {
        assert!(Status::OK.is_ok());
        assert!(Status(7).is_ok());
        assert_eq!(Status::NOT_FOUND.check(), Err(Status::NOT_FOUND));
        assert_eq!(Status::OK.check(), Ok(()));
    }

    #[test]
    fn every_named_status_is_listed_once_by_its_name() {
        extern crate std;
        assert_eq!(Status::NAMED.len(), 34);
        assert_eq!(Status::NAMED[0], ("OK", Status::OK));
        assert!(Status::NAMED.contains(&("IMPORT_CYCLE", Status::IMPORT_CYCLE)));
        let codes: std::vec::Vec<i32> = Status::NAMED.iter().map(|(_, status)| status.0).collect();
        assert_eq!(
            codes,
            (-33..=0).rev().collect::<std::vec::Vec<_>>(),
            "codes run from 0 down"
        );
    }

    #[test]
    #[cfg(feature = "messages")]
    fn messages_name_the_failure() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Status::NOT_FOUND.to_string(), "not found (-5)");
        assert_eq!(Status(-999).message(), "unknown failure");
        assert_eq!(Status(-34).message(), "unknown failure");
        assert_eq!(Status::KILLED.message(), "killed");
        assert_eq!(Status::OK.message(), "success");
        assert_eq!(Status(7).message(), "success");
        assert_eq!(Status::FAILED.message(), "operation failed");
        assert_eq!(Status::IMPORT_CYCLE.message(), "import cycle");
    }
}
