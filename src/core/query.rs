//! What a `/` search holds (the view keeps it; `core::search` moves it).

/// Where a search applies: it is dropped when that view is left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Plan,
    Help,
    Activity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub scope: Scope,
    pub text: String,
    /// Still being typed (keys go to the text).
    pub typing: bool,
    /// Which match is current; the screen takes it modulo their count.
    pub hit: isize,
}
