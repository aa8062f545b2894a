//! Where a load's instructions go: a count per phase for the last load
//! that finished, so whoever tunes the loader can see the cost
//! (`ILoader::last_load_cost`; `cargo xtask bench` prints it for
//! `/hello`). Reading the counter costs a few instructions per phase.

use sync::Mutex;

use crate::threads;

/// The phases of a load, in order (numbered as `interfaces::module::load_phases`).
#[derive(Clone, Copy)]
pub enum Phase {
    /// Reading the image file into memory.
    Read,
    /// Validating the image (`image::Image::parse`).
    Parse,
    /// Copying the module's name and export tables into its record.
    Records,
    /// Binding the modules it imports from (loading them if need be) and
    /// finding each symbol's address.
    ResolveImports,
    /// Taking the module's block from the heap.
    Allocate,
    /// Copying the content, zeroing the rest, applying the relocations
    /// and syncing the instruction cache.
    PlaceAndRelocate,
    /// Running the entry point, which constructs the module's object.
    Constructor,
    /// Adding the module to the module list.
    Register,
}

/// How many phases there are.
pub const PHASES: usize = interfaces::module::load_phases::COUNT as usize;

/// Instructions per phase of one load.
pub type LoadCost = [u64; PHASES];

/// The cost of the last load that finished.
static LAST: Mutex<LoadCost> = Mutex::new([0; PHASES]);

/// Times the phases of one load.
pub struct Stopwatch {
    last: u64,
    cost: LoadCost,
}

impl Stopwatch {
    /// Starts timing a load.
    pub fn start() -> Stopwatch {
        Stopwatch {
            last: threads::instructions_worked(),
            cost: [0; PHASES],
        }
    }

    /// Charges the instructions since the last lap to `phase`.
    pub fn lap(&mut self, phase: Phase) {
        let now = threads::instructions_worked();
        self.cost[phase as usize] += now - self.last;
        self.last = now;
    }

    /// Publishes the load's cost as the last load's.
    pub fn finish(self) {
        *LAST.lock() = self.cost;
    }
}

/// The cost of the last load that finished (`ILoader::last_load_cost`).
pub fn last_load() -> LoadCost {
    *LAST.lock()
}
