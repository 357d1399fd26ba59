//! One redactor at every exit: a generated secret in a generated context
//! enters the console the ways a real night brings one (a platform's
//! error text, a commit message and a history note the platform gives,
//! an operator's typed note) and must leave no screen, note entry,
//! Activity line, export or postmortem in clear, while the words around
//! it stay. (`status`/`history`/`plan` output goes through the same
//! redactor in `commands::emit`; evidence files in `note::evidence`.)
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::*;
use proptest::prelude::*;
use rbtui::core::Action;
use rbtui::core::error::BackendError;
use rbtui::core::model::Mode;

/// Secrets of every shape the redactor knows, long enough to be unique.
fn secret() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9]{12,20}".prop_map(|s| format!("pw{s}")),
        "[A-Za-z0-9]{36}".prop_map(|s| format!("ghp_{s}")),
        "[A-Za-z0-9]{20}".prop_map(|s| format!("glpat-{s}")),
        "[A-Za-z0-9]{24}".prop_map(|s| format!("sk_live_{s}")),
        "[A-Z0-9]{16}".prop_map(|s| format!("AKIA{s}")),
    ]
}

/// Where it stands: the contexts seen in clear, with a word either side
/// that must survive.
fn context(secret: &str) -> Vec<String> {
    vec![
        format!("password = {secret}"),
        format!("\"password\": \"{secret}\""),
        format!("aws_secret_access_key={secret}"),
        format!("postgres://app:{secret}@db:5432/orders"),
        format!("client_secret: {secret}"),
        format!("https://probe.internal/health?token={secret}"),
        format!("--password {secret}"),
        format!("Authorization: Bearer {secret}"),
        secret.to_string(),
    ]
}

fn every_exit_hides(secret: &str, ctx: &str) -> Result<(), TestCaseError> {
    // AKIA keys and ghp_ tokens are hidden alone; a bare password is not a
    // credential shape, so it only ever appears in a named context here.
    let alone_is_a_shape = !secret.starts_with("pw");
    if ctx == secret && !alone_is_a_shape {
        return Ok(());
    }
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (mut s, b) = demo(Mode::Demo, Some(&note));
    let text = format!("before {ctx} after");
    b.with_world(|w, _now| {
        let svc = w.service_mut("checkout").unwrap();
        svc.history_note = Some(text.clone());
        let cur = svc.current;
        svc.revs[cur].message = text.clone();
    });
    s.dispatch(Action::HistoryChanged("checkout".into()));
    s.run_ready();
    s.dispatch(Action::HealthFailed {
        target: "orders".into(),
        error: BackendError::Unavailable(format!("500 Internal Server Error: {text}")),
    });
    s.dispatch(Action::NoteSubmitted(format!("operator saw {text}")));
    s.run_ready();
    let mut screens = Vec::new();
    select(&mut s, "checkout");
    s.press("<Enter>");
    screens.push(screen(&s, 160, 48));
    plan_to(&mut s, "checkout", "8");
    screens.push(screen(&s, 160, 48));
    s.press("<Esc><Esc>");
    select(&mut s, "orders");
    screens.push(screen(&s, 160, 48));
    screens.push(screen(&s, 80, 24));
    for (i, sc) in screens.iter().enumerate() {
        prop_assert!(!sc.contains(secret), "screen {i} shows {secret}:\n{sc}");
    }
    drop(s);
    let written = std::fs::read_to_string(&note).unwrap();
    prop_assert!(
        !written.contains(secret),
        "the note keeps {secret}:\n{written}"
    );
    prop_assert!(
        written.contains("operator saw before"),
        "the words around stay:\n{written}"
    );
    let x = rbtui::note::export::read_file(&note).unwrap();
    let json = serde_json::to_string(&x).unwrap();
    prop_assert!(!json.contains(secret), "export keeps {secret}");
    let pm = rbtui::note::postmortem::write_next_to(&note, None, t0()).unwrap();
    let pm = std::fs::read_to_string(pm).unwrap();
    prop_assert!(!pm.contains(secret), "the postmortem keeps {secret}:\n{pm}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn no_secret_leaves_by_any_exit(secret in secret(), pick in any::<prop::sample::Index>()) {
        let ctx = context(&secret);
        every_exit_hides(&secret, &ctx[pick.index(ctx.len())])?;
    }
}

/// A hand-edited note (or one from before the redactor) still leaves
/// the postmortem redacted: the draft is an exit of its own.
#[test]
fn a_postmortem_of_a_hand_edited_note_is_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let (s, _b) = demo(Mode::Demo, Some(&note));
    drop(s);
    let text = std::fs::read_to_string(&note).unwrap();
    assert!(text.contains("- **Operator:** "), "{text}");
    let text = text.replace(
        "- **Operator:** ",
        "- **Operator:** password=hunter2secret ",
    );
    std::fs::write(&note, text).unwrap();
    let pm = rbtui::note::postmortem::write_next_to(&note, None, t0()).unwrap();
    let pm = std::fs::read_to_string(pm).unwrap();
    assert!(!pm.contains("hunter2secret"), "{pm}");
    assert!(pm.contains("- **Operator:** password=[REDACTED]"), "{pm}");
}
