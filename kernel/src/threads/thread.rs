//! One thread: its registers while it does not run, its stack, its figures.

use alloc::vec::Vec;

use com::Result;
#[cfg(feature = "loader")]
use com::Status;
use interfaces::ThreadStatus;
use interfaces::threads::state;

use crate::machine::context::Context;

/// What fills a new stack, so the deepest use can be measured later.
const STACK_FILL: u64 = 0x5a5a_5a5a_5a5a_5a5a;
/// Fills the guard zone at the very bottom of every stack; a thread that
/// wrote over it ran off its stack.
const GUARD: u64 = 0x5354_4143_4b47_5244;
/// Words of guard zone: wide enough that a thread running off its stack
/// by up to one large frame lands in the zone, not in the memory below.
const GUARD_WORDS: usize = 256;
/// Bytes per stack word.
const WORD: usize = 8;

/// Where a thread is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// In the ready queue.
    Ready,
    /// On the processor.
    Running,
    /// Asleep until `time` reaches the deadline.
    Sleeping(u64),
    /// Waiting for thread `id` to exit.
    Joining(u64),
    /// Waiting on a lock or condition (identified by its address) until
    /// woken, or until the deadline (`u64::MAX`: none).
    Waiting { key: usize, deadline: u64 },
    /// Finished.
    Exited,
}

/// What a thread runs.
#[derive(Clone, Copy)]
pub enum Entry {
    /// A kernel function, with its argument.
    Kernel(fn(usize), usize),
    /// A component's function, with its argument (made through `IProcess`).
    #[cfg(feature = "loader")]
    Component(extern "C" fn(u64), u64),
    /// Code run in U-mode: its entry address, argument and stack pointer,
    /// all as the thread's view sees them.
    #[cfg(feature = "loader")]
    User {
        entry: u64,
        argument: u64,
        stack: u64,
    },
}

/// A thread's record.
pub struct Thread {
    /// Unique while the system runs.
    pub id: u64,
    name: [u8; 16],
    name_length: u32,
    pub state: State,
    /// Its registers while it does not run.
    pub context: Context,
    /// Its stack, as words so the guard is one aligned load (empty for the
    /// boot thread, which runs on the boot stack: an empty vector is one
    /// length test on a switch, where `None` of a `Vec` is two more).
    stack: Vec<u64>,
    /// What it runs.
    pub entry: Entry,
    /// Processor time used so far, in `time` ticks.
    pub cpu_ticks: u64,
    /// When it last got the processor.
    pub since: u64,
    /// Its place in line among threads waiting on the same key.
    pub ticket: u64,
    /// Set when a timed wait ended by its deadline rather than a wake-up.
    pub timed_out: bool,
    /// Nobody will join it: the idle thread frees it once it has exited.
    #[cfg(feature = "loader")]
    pub detached: bool,
    /// How it ended: `OK`, or the error that ended it (an exception in
    /// U-mode), for whoever waits for it.
    #[cfg(feature = "loader")]
    pub outcome: Status,
    /// A U-mode thread someone killed: it ends with `KILLED` at its next
    /// trap from U-mode.
    #[cfg(feature = "loader")]
    pub killed: bool,
    /// At its first interrupt in U-mode at or after this time (the
    /// scheduler's ticks), the `ecall` hook is called for it as
    /// interrupted (`u64::MAX`: never).
    #[cfg(feature = "loader")]
    pub interrupt_at: u64,
    /// While a kernel thread runs U-mode code nested in its kernel code
    /// (`user_mode::run`): the address of the innermost run's record on
    /// its stack (0: in none).
    #[cfg(feature = "loader")]
    pub run: u64,
}

impl Thread {
    /// The thread already running (the boot thread), on the boot stack.
    pub fn boot(id: u64, name: &str, now: u64) -> Thread {
        let mut thread = Thread::record(id, name, Vec::new(), Entry::Kernel(|_| {}, 0));
        thread.state = State::Running;
        thread.since = now;
        thread
    }

    /// A new thread that will start in `start` (the scheduler's trampoline),
    /// which runs `entry`; its stack comes from the heap (`OUT_OF_MEMORY`
    /// if it has no room).
    pub fn new(
        id: u64,
        name: &str,
        stack_size: usize,
        entry: Entry,
        start: extern "C" fn(usize) -> !,
    ) -> Result<Thread> {
        let mut stack = com::try_filled(STACK_FILL, (stack_size / WORD).max(GUARD_WORDS * 2))?;
        stack
            .iter_mut()
            .take(GUARD_WORDS)
            .for_each(|word| *word = GUARD);
        let top = stack.as_ptr() as usize + stack.len() * WORD;
        let mut thread = Thread::record(id, name, stack, entry);
        thread.context = Context::new(top, start, usize::try_from(id).unwrap_or(0));
        Ok(thread)
    }

    fn record(id: u64, name: &str, stack: Vec<u64>, entry: Entry) -> Thread {
        let mut bytes = [0u8; 16];
        // Keep whole characters: cut at a boundary that fits.
        let length = (0..=name.len().min(16))
            .rev()
            .find(|&end| name.is_char_boundary(end))
            .unwrap_or(0);
        // Zipped, not sliced: no index that could panic (and format).
        for (to, from) in bytes.iter_mut().zip(name.as_bytes().iter().take(length)) {
            *to = *from;
        }
        Thread {
            id,
            name: bytes,
            name_length: u32::try_from(length).unwrap_or(0),
            state: State::Ready,
            context: Context::default(),
            stack,
            entry,
            cpu_ticks: 0,
            since: 0,
            ticket: 0,
            timed_out: false,
            #[cfg(feature = "loader")]
            detached: false,
            #[cfg(feature = "loader")]
            outcome: Status::OK,
            #[cfg(feature = "loader")]
            killed: false,
            #[cfg(feature = "loader")]
            interrupt_at: u64::MAX,
            #[cfg(feature = "loader")]
            run: 0,
        }
    }

    /// The top of its kernel stack (0 for the boot thread, which has none
    /// of its own and never enters U-mode).
    pub fn kernel_stack_top(&self) -> u64 {
        if self.stack.is_empty() {
            return 0;
        }
        (self.stack.as_ptr() as usize + self.stack.len() * WORD) as u64
    }

    /// The thread's name.
    pub fn name(&self) -> &str {
        com::utf8(
            self.name
                .get(..self.name_length as usize)
                .unwrap_or_default(),
        )
        .unwrap_or("?")
    }

    /// False once the thread has written into the guard zone at the bottom
    /// of its stack (the zone's top word is the first a deepening stack hits).
    pub fn stack_intact(&self) -> bool {
        self.stack
            .get(GUARD_WORDS - 1)
            .is_none_or(|&word| word == GUARD)
    }

    /// The thread's figures for `ps`.
    pub fn status(&self) -> ThreadStatus {
        let stack = &self.stack;
        let (size, used) = if stack.is_empty() {
            (0, 0)
        } else {
            let untouched = stack
                .iter()
                .skip(GUARD_WORDS)
                .take_while(|&&word| word == STACK_FILL)
                .count();
            (
                stack.len() * WORD,
                (stack.len() - GUARD_WORDS - untouched) * WORD,
            )
        };
        ThreadStatus {
            id: self.id,
            cpu_ticks: self.cpu_ticks,
            stack_size: size as u64,
            stack_used: used as u64,
            state: match self.state {
                State::Ready => state::READY,
                State::Running => state::RUNNING,
                State::Sleeping(_) => state::SLEEPING,
                State::Joining(_) | State::Waiting { .. } => state::BLOCKED,
                State::Exited => state::EXITED,
            },
            name_length: self.name_length,
            name: self.name,
        }
    }
}
