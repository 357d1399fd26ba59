//! `/` inside what is read rather than chosen from: the plan, the help and
//! Activity (less's and vim's keys: `/` text Enter, `n` next, `N`
//! previous, Esc clears). The state keeps the words and which match is
//! current; the screen finds the matches in the lines it draws and
//! scrolls to the current one, so what is searched is exactly what is
//! shown. Part of `update`; pure.

use super::action::Key;
use super::state::{Pane, Popup, State};

pub use super::query::{Scope, Search};

/// The scope of what has the keyboard now, if it can be searched.
pub fn scope_now(s: &State) -> Option<Scope> {
    match (&s.view.popup, s.view.focus) {
        (Some(Popup::Plan), _) => Some(Scope::Plan),
        (Some(Popup::Help), _) => Some(Scope::Help),
        (None, Pane::Activity) if s.view.command.is_none() && !s.view.filtering => {
            Some(Scope::Activity)
        }
        _ => None,
    }
}

/// The search in force for what is on screen now.
pub fn current(s: &State) -> Option<&Search> {
    s.view
        .search
        .as_ref()
        .filter(|q| Some(q.scope) == scope_now(s))
}

/// Takes `k` when it belongs to a search here: `/` starts one, keys go to
/// its text while it is typed, `n`/`N` move between matches and Esc
/// clears it. `false`: the key is the view's own.
pub(super) fn key(s: &mut State, k: Key) -> bool {
    let Some(scope) = scope_now(s) else {
        return false;
    };
    if s.view.search.as_ref().is_some_and(|q| q.scope != scope) {
        s.view.search = None;
    }
    let Some(q) = s.view.search.as_mut() else {
        if k == Key::Char('/') {
            s.view.search = Some(Search {
                scope,
                text: String::new(),
                typing: true,
                hit: 0,
            });
            return true;
        }
        return false;
    };
    match k {
        Key::Esc => s.view.search = None,
        Key::Enter if q.typing => q.typing = false,
        Key::Backspace if q.typing => {
            q.text.pop();
        }
        Key::Char(c) if q.typing => {
            q.text.push(c);
            q.hit = 0;
        }
        Key::Char('n') => q.hit += 1,
        Key::Char('N') => q.hit -= 1,
        Key::Char('/') => {
            q.typing = true;
            q.text.clear();
        }
        _ if q.typing => {}
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_types_enter_keeps_n_moves_esc_clears() {
        let mut s = crate::core::testkit::web();
        s.view.focus = Pane::Activity;
        assert!(key(&mut s, Key::Char('/')));
        for c in "roll".chars() {
            assert!(key(&mut s, Key::Char(c)));
        }
        assert!(key(&mut s, Key::Char('n')), "typed, not a move");
        assert_eq!(current(&s).unwrap().text, "rolln");
        key(&mut s, Key::Backspace);
        key(&mut s, Key::Enter);
        key(&mut s, Key::Char('n'));
        key(&mut s, Key::Char('n'));
        key(&mut s, Key::Char('N'));
        assert_eq!(
            current(&s).map(|q| (q.text.as_str(), q.hit, q.typing)),
            Some(("roll", 1, false))
        );
        assert!(!key(&mut s, Key::Char('j')), "other keys stay the pane's");
        key(&mut s, Key::Esc);
        assert!(current(&s).is_none());
        s.view.focus = Pane::Health;
        assert!(!key(&mut s, Key::Char('/')), "Health's / filters targets");
    }
}
