//! The heap (being written).
