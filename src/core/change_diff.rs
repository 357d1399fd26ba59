//! "What will change" as a unified diff of two renderings of the platform's
//! own object, capped so a huge template cannot flood the plan or the note.

/// Lines a diff keeps; the rest is counted, not shown.
pub const MAX_LINES: usize = 200;

/// A unified diff of `now` → `then` with three lines of context; empty when
/// they are the same.
pub fn unified(now_label: &str, now: &str, to_label: &str, to: &str) -> String {
    let d = similar::TextDiff::from_lines(now, to);
    let text = d
        .unified_diff()
        .context_radius(3)
        .header(now_label, to_label)
        .to_string();
    cap(&text)
}

fn cap(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= MAX_LINES {
        return lines.join("\n");
    }
    let mut out = lines[..MAX_LINES].join("\n");
    out.push_str(&format!(
        "\n… {} more lines not shown",
        lines.len() - MAX_LINES
    ));
    out
}

/// Lines added and removed, for the one-line summary.
pub fn counts(diff: &str) -> (usize, usize) {
    let body = diff
        .lines()
        .filter(|l| !l.starts_with("+++") && !l.starts_with("---"));
    body.fold((0, 0), |(a, r), l| match l.as_bytes().first() {
        Some(b'+') => (a + 1, r),
        Some(b'-') => (a, r + 1),
        _ => (a, r),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_image_and_env_read_as_lines_removed_and_added() {
        let now =
            "containers:\n- name: web\n  image: web:v2\n  env:\n  - name: MODE\n    value: fast\n";
        let then = "containers:\n- name: web\n  image: web:v1\n";
        let d = unified("revision 9 (now)", now, "revision 7", then);
        assert!(
            d.starts_with("--- revision 9 (now)\n+++ revision 7\n"),
            "{d}"
        );
        assert!(d.contains("\n-  image: web:v2\n"), "{d}");
        assert!(d.contains("\n+  image: web:v1"), "{d}");
        assert_eq!(counts(&d), (1, 4));
        assert_eq!(unified("a", now, "b", now), "");
    }

    #[test]
    fn a_huge_diff_is_capped_and_says_so() {
        let now: String = (0..1000).map(|i| format!("a{i}\n")).collect();
        let then: String = (0..1000).map(|i| format!("b{i}\n")).collect();
        let d = unified("a", &now, "b", &then);
        assert_eq!(d.lines().count(), MAX_LINES + 1);
        assert!(
            d.ends_with("more lines not shown"),
            "{}",
            &d[d.len() - 60..]
        );
    }
}
