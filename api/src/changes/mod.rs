//! The change log: how every replica learns about every write.
//!
//! ```text
//! handler ─► store: one transaction = row(s) + change record ─► database (source of truth)
//!                                                                  │ ordered log, by position
//!            every replica's tailer: read `id > applied` in order ◄┘ (woken by LISTEN/NOTIFY,
//!              ├─► engine catalog (posts, deletes, trending)          a local notify, or a poll)
//!              └─► user-context cache (drop the users a change touches)
//! ```
//!
//! - [`record`]: the versioned wire format of a record ([`Change`]), decoded at the edge.
//! - `store/changes.rs`: appending inside the write's transaction (ordered so that no reader can
//!   skip a position), reading in order, retention.
//! - [`tailer`]: the consumer every replica runs: applies each change exactly once, in order,
//!   remembers its position, catches up after any gap by itself, and reloads from a snapshot
//!   when it fell behind retention. [`ChangeFeed`] is its handle (position, read-your-writes
//!   waits, metrics).

pub mod record;
pub mod tailer;

pub use record::Change;
pub use tailer::{ChangeFeed, TailConfig};
