//! The screen's last line of defence: whatever a pane draws, no
//! credential-shaped text reaches the terminal. Values are redacted where
//! they enter the state (health, the note, Activity), but a platform's
//! error text reaches a dozen panes and popups (History's error, a plan
//! check's detail, a step's message, a SQL statement); masking the drawn
//! frame covers each of them, and the ones added later, in one place.

use ratatui::buffer::Buffer;

/// Masks every credential in `buf`. The runs of cells between two pane
/// borders that stand under each other are read as one text (a wrapped
/// line puts the key on one row and the secret on the next, and cuts a
/// long token in two), never across a border (a rule that runs to the end
/// of a line must not reach into the pane beside it). The cells keep
/// their places and styles: the layout never shifts.
pub fn secrets(buf: &mut Buffer) {
    let area = buf.area;
    let mut rows: Vec<Vec<(u16, u16)>> =
        (area.top()..area.bottom()).map(|y| runs(buf, y)).collect();
    for i in 0..rows.len() {
        while let Some((x0, x1)) = rows[i].pop() {
            let mut cells: Vec<Option<(u16, u16)>> = Vec::new();
            let mut j = i;
            loop {
                let y = area.top() + j as u16;
                cells.extend((x0..x1).map(|x| Some((x, y))));
                let Some(at) = rows
                    .get(j + 1)
                    .and_then(|r| r.iter().position(|&r| r == (x0, x1)))
                else {
                    break;
                };
                rows[j + 1].remove(at);
                while cells
                    .last()
                    .is_some_and(|c| c.is_some_and(|(x, y)| buf[(x, y)].symbol().trim().is_empty()))
                {
                    cells.pop();
                }
                // A full row is a word the wrap cut: joined as it was.
                if cells
                    .last()
                    .is_none_or(|c| c.is_none_or(|(x, _)| x + 1 < x1))
                {
                    cells.push(None);
                }
                j += 1;
            }
            mask(buf, &cells);
        }
    }
}

/// The runs of row `y` between borders, as `x0..x1`.
fn runs(buf: &Buffer, y: u16) -> Vec<(u16, u16)> {
    let area = buf.area;
    let mut out = Vec::new();
    let mut start = area.left();
    for x in area.left()..=area.right() {
        if x == area.right() || buf[(x, y)].symbol() == "│" {
            if start < x {
                out.push((start, x));
            }
            start = x + 1;
        }
    }
    out
}

/// The cells whose text the redactor would hide: `[REDACTED]` where a
/// secret covers ten cells or more, else `•` in each. `None` stands for
/// the space between two rows.
fn mask(buf: &mut Buffer, cells: &[Option<(u16, u16)>]) {
    let mut text = String::new();
    let mut starts = Vec::with_capacity(cells.len());
    for c in cells {
        starts.push(text.len());
        text.push_str(c.map_or(" ", |(x, y)| buf[(x, y)].symbol()));
    }
    if !crate::core::redact::any(&text) {
        return;
    }
    for span in crate::core::redact::spans(&text) {
        let hit: Vec<(u16, u16)> = cells
            .iter()
            .enumerate()
            .filter(|(i, _)| {
                let end = starts.get(i + 1).copied().unwrap_or(text.len());
                end > span.start && starts[*i] < span.end
            })
            .filter_map(|(_, c)| *c)
            .collect();
        let words: Vec<char> = "[REDACTED]".chars().collect();
        let fits = words.len() <= hit.len();
        for (n, (x, y)) in hit.into_iter().enumerate() {
            let c = if fits {
                words.get(n).copied().unwrap_or(' ')
            } else {
                '•'
            };
            buf[(x, y)].set_char(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol().to_string())
            .collect()
    }

    /// A secret on screen is masked in place; the pane beside it and the
    /// row's width are kept.
    #[test]
    fn a_secret_drawn_anywhere_is_masked_in_place() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 3));
        buf.set_string(
            0,
            0,
            "probe https://h/x?token=abcdef123456 │ Cookie: s=1 ",
            ratatui::style::Style::default(),
        );
        buf.set_string(0, 1, "password = x │ ok", ratatui::style::Style::default());
        buf.set_string(
            0,
            2,
            "nothing here │ at all",
            ratatui::style::Style::default(),
        );
        let before = row(&buf, 2);
        secrets(&mut buf);
        assert_eq!(
            row(&buf, 0).trim_end(),
            "probe https://h/x?token=[REDACTED]   │ Cookie: [REDACTED]"
        );
        assert_eq!(row(&buf, 1).trim_end(), "password = • │ ok");
        assert_eq!(row(&buf, 2), before);
        for y in 0..3 {
            assert_eq!(row(&buf, y).chars().count(), 60);
        }
    }

    /// A wrap puts the key at the end of one row and the secret at the
    /// start of the next; a long token is cut mid-word.
    #[test]
    fn a_secret_wrapped_onto_the_next_row_is_masked() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 23, 4));
        buf.set_string(
            0,
            0,
            "│before client_secret:│",
            ratatui::style::Style::default(),
        );
        buf.set_string(
            0,
            1,
            "│hunter2hunter2 after │",
            ratatui::style::Style::default(),
        );
        buf.set_string(
            0,
            2,
            "│ghp_abcdefghijklmnopq│",
            ratatui::style::Style::default(),
        );
        buf.set_string(
            0,
            3,
            "│rstuvwxyz0123456789 x│",
            ratatui::style::Style::default(),
        );
        secrets(&mut buf);
        assert_eq!(row(&buf, 0), "│before client_secret:│");
        assert_eq!(row(&buf, 1), "│[REDACTED]     after │");
        assert_eq!(row(&buf, 2), "│[REDACTED]           │");
        assert!(
            !row(&buf, 2).contains("abcdefghij") && !row(&buf, 3).contains("rstuvwxyz"),
            "{}\n{}",
            row(&buf, 2),
            row(&buf, 3)
        );
        assert!(row(&buf, 3).ends_with(" x│"));
    }
}
