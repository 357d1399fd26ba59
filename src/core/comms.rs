//! The status messages rbtui drafts, one per audience and moment; their
//! texts are templates (built in, or overridden next to the config).

use serde::{Deserialize, Serialize};

/// Which message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comms {
    P0,
    P1,
    Update,
    Resolved,
}

impl Comms {
    pub const ALL: [Comms; 4] = [Comms::P0, Comms::P1, Comms::Update, Comms::Resolved];
    /// Its file in `assets/templates/` (or `templates/` next to the config).
    pub fn file(self) -> &'static str {
        match self {
            Comms::P0 => "p0.txt",
            Comms::P1 => "p1.txt",
            Comms::Update => "update.txt",
            Comms::Resolved => "resolved.txt",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Comms::P0 => "P0",
            Comms::P1 => "P1",
            Comms::Update => "update",
            Comms::Resolved => "resolved",
        }
    }
    pub fn builtin(self) -> &'static str {
        match self {
            Comms::P0 => include_str!("../../assets/templates/p0.txt"),
            Comms::P1 => include_str!("../../assets/templates/p1.txt"),
            Comms::Update => include_str!("../../assets/templates/update.txt"),
            Comms::Resolved => include_str!("../../assets/templates/resolved.txt"),
        }
    }
}
