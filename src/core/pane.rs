//! The panes of the screen, apart from the state so an action (a mouse
//! press) can name one without the action module using the state.

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Pane {
    #[default]
    Health,
    History,
    Migrations,
    Checklist,
    Activity,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Health,
        Pane::History,
        Pane::Migrations,
        Pane::Checklist,
        Pane::Activity,
    ];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Health => "Health",
            Pane::History => "History",
            Pane::Migrations => "Migrations",
            Pane::Checklist => "Checklist",
            Pane::Activity => "Activity (recorded to note)",
        }
    }
}
