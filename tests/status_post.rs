//! Posting a status message to the `[comms]` webhook, on the operator's
//! key only, recorded with the answer. The double follows Slack's
//! incoming-webhook contract (api.slack.com/messaging/webhooks): `POST`
//! a JSON body `{"text": …}` with `Content-type: application/json`; `200`
//! with the body `ok`; errors are plain-text codes with a 4xx status
//! (`400 invalid_payload`, `403 action_prohibited`, `404 no_service`,
//! `410 channel_is_archived`); rate limits answer `429` with
//! `Retry-After` in seconds (api.slack.com/docs/rate-limits).
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::http::{Resp, serve};
use common::*;
use rbtui::core::model::Mode;
use std::sync::{Arc, Mutex};

/// Answers in turn (the last one again and again): (status, body, Retry-After).
type Answers = Arc<Mutex<Vec<(u16, &'static str, Option<&'static str>)>>>;

fn with_webhook(
    note: &std::path::Path,
    answers: Answers,
) -> (
    rbtui::app::script::Script,
    Arc<Mutex<Vec<common::http::Req>>>,
) {
    with_webhook_in(Mode::Demo, note, answers)
}

fn with_webhook_in(
    mode: Mode,
    note: &std::path::Path,
    answers: Answers,
) -> (
    rbtui::app::script::Script,
    Arc<Mutex<Vec<common::http::Req>>>,
) {
    let (addr, seen) = serve(Arc::new(move |_r| {
        let mut a = answers.lock().unwrap();
        let (code, body, wait) = if a.len() > 1 { a.remove(0) } else { a[0] };
        let mut r = Resp::text(code, body);
        r.headers
            .extend(wait.map(|w| ("Retry-After".to_string(), w.to_string())));
        r
    }));
    let url = format!("http://{addr}/services/T000/B000/XXXXsecretpath");
    let host = rbtui::backend::webhook::host(&url);
    let (s, _b) = demo_over(
        mode,
        Some(note),
        |st| st.webhook = Some(host),
        move |b| Arc::new(rbtui::backend::webhook::Webhook::new(b, url).unwrap()),
    );
    (s, seen)
}

#[test]
fn a_status_message_is_posted_on_the_key_and_recorded_with_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let answers: Answers = Arc::new(Mutex::new(vec![(200, "ok", None)]));
    let (mut s, seen) = with_webhook(&note, answers.clone());
    s.press("s");
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing is posted without the key"
    );
    s.press("w");
    for _ in 0..50 {
        s.run_ready();
        if s.state
            .flash
            .as_ref()
            .is_some_and(|f| f.1.contains("posted"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert!(
        reqs[0]
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let text = reqs[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("checkout"), "{text}");
    assert!(
        text.starts_with("[rbtui DEMO: simulated, not a real incident]"),
        "a demo's message says so: {text}"
    );
    // "resolved" is refused before a verified recovery; nothing is sent.
    s.press("r");
    s.press("w");
    assert!(
        s.state
            .flash
            .as_ref()
            .is_some_and(|f| f.0 && f.1.contains("verified recovery")),
        "{:?}",
        s.state.flash
    );
    // Refused by the receiver: said and recorded as NOT posted.
    *answers.lock().unwrap() = vec![(404, "no_service", None)];
    s.press("0w");
    for _ in 0..50 {
        s.run_ready();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.press("<Esc>");
    drop(s);
    let written = std::fs::read_to_string(&note).unwrap();
    assert!(
        written.contains("status message posted (P0"),
        "the first post with its answer:\n{written}"
    );
    assert!(written.contains("it answered 200 ok"), "{written}");
    assert!(
        written.contains(
            "status message NOT posted (P0) to 127.0.0.1: the webhook answered 404 no_service"
        ),
        "{written}"
    );
    assert!(
        !written.contains("secretpath"),
        "the URL is a secret: only its host is recorded"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the refused resolved sent nothing"
    );
}

/// A 429 with Retry-After is waited out once; then the post goes through.
#[test]
fn a_rate_limited_post_waits_as_told_once() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let answers: Answers = Arc::new(Mutex::new(vec![
        (429, "rate_limited", Some("1")),
        (200, "ok", None),
    ]));
    let (mut s, seen) = with_webhook(&note, answers);
    s.press("sw");
    for _ in 0..150 {
        s.run_ready();
        if seen.lock().unwrap().len() >= 2
            && s.state
                .flash
                .as_ref()
                .is_some_and(|f| f.1.contains("posted"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(seen.lock().unwrap().len(), 2, "once more after the wait");
    assert!(
        s.state
            .flash
            .as_ref()
            .is_some_and(|f| !f.0 && f.1.contains("answered 200 ok")),
        "{:?}",
        s.state.flash
    );
}

/// A drill's message reaches real people: posted in a rehearsal, it says
/// it is a drill before anything else.
#[test]
fn a_rehearsals_message_says_it_is_a_drill() {
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("n.md");
    let answers: Answers = Arc::new(Mutex::new(vec![(200, "ok", None)]));
    let (mut s, seen) = with_webhook_in(Mode::Rehearsal, &note, answers);
    s.press("sw");
    for _ in 0..50 {
        s.run_ready();
        if !seen.lock().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let text = seen.lock().unwrap()[0].json()["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        text.starts_with("[REHEARSAL: a drill, not a real incident]"),
        "{text}"
    );
}
