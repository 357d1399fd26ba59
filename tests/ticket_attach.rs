//! `rbtui note attach`: the note as one comment per incident on a GitHub,
//! GitLab or Jira issue, updated in place (never a second), with the
//! evidence where the system takes files, recorded in the note only once
//! posted. The doubles follow the vendors' published contracts, cited per
//! behaviour:
//! - GitHub (docs.github.com/rest/issues/comments, /rest/using-the-rest-api/
//!   rate-limits-for-the-rest-api, /using-pagination-in-the-rest-api):
//!   `Authorization: Bearer`, a `User-Agent` required (403 without);
//!   list `GET /repos/{o}/{r}/issues/{n}/comments?per_page=100` with a
//!   `Link: <…>; rel="next"` header; `POST` → `201` with `id`, `html_url`;
//!   `PATCH /repos/{o}/{r}/issues/comments/{id}` → `200`, `404` once
//!   deleted; errors `{"message": …, "documentation_url": …}`: `401 Bad
//!   credentials`, `403 Resource not accessible by personal access token`,
//!   `404 Not Found`; secondary rate limits `429`/`403` with `retry-after`.
//! - GitLab (docs.gitlab.com/api/notes, /api/rest#pagination,
//!   /api/projects#upload-a-file): `PRIVATE-TOKEN`; the project as its
//!   URL-encoded path; notes listed with `X-Next-Page` (empty on the last
//!   page); `POST …/notes` → `201`; `PUT …/notes/:id` → `200`; `POST
//!   /projects/:id/uploads` (multipart `file`) → `201` with `markdown`;
//!   errors `{"message": "404 Project Not Found"}`, `401 Unauthorized`.
//! - Jira (developer.atlassian.com/cloud/jira/platform/rest/v2/
//!   api-group-issue-comments, -issue-attachments): Basic auth (email and
//!   API token); comments `startAt`/`maxResults`/`total`; `POST …/comment`
//!   → `201`; `PUT …/comment/{id}` → `200`; `POST …/attachments` needs
//!   `X-Atlassian-Token: no-check` (`403 XSRF check failed` without) and
//!   answers `200` with the attachments; errors `{"errorMessages": […],
//!   "errors": {}}`; `429` with `Retry-After`.
#![allow(unsafe_code)] // test set-up only: mkfifo, set_var before any thread
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

mod common;

use common::http::{Req, Resp, serve};
use common::*;
use rbtui::core::model::Mode;
use serde_json::json;
use std::sync::{Arc, Mutex};

const TOKEN: &str = "ghp_s3cretTOKENvalue000000000000000000";

/// A demo incident with a verified rollback (and its evidence files).
fn incident(dir: &std::path::Path) -> std::path::PathBuf {
    let note = dir.join("INC-7.md");
    let (mut s, _b) = demo_with(Mode::Demo, Some(&note), |st| st.save_evidence = true);
    s.advance(2_000);
    plan_to(&mut s, "checkout", "8");
    s.press("<Enter>checkout<Enter>");
    assert!(settle(&mut s, 120_000));
    note
}

fn rbtui(
    dir: &std::path::Path,
    config: &str,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_rbtui"));
    if !config.is_empty() {
        let cfg = dir.join("ticket.toml");
        std::fs::write(&cfg, config).unwrap();
        c.arg("--config").arg(&cfg);
    }
    c.args(args)
        .current_dir(dir)
        .env("XDG_CONFIG_HOME", dir.join("no-xdg"));
    for k in [
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GH_ENTERPRISE_TOKEN",
        "GITLAB_TOKEN",
        "JIRA_USER",
        "JIRA_API_TOKEN",
        "JIRA_PAT",
    ] {
        c.env_remove(k);
    }
    c.env("GH_CONFIG_DIR", dir.join("no-gh"));
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// GitHub's issue comments, as the REST API keeps them.
#[derive(Default)]
struct Hub {
    comments: Vec<(u64, String)>,
    next_id: u64,
    /// Answers to give first, in order: (status, body, retry-after).
    queued: Vec<(u16, &'static str, Option<&'static str>)>,
}

fn github(hub: Arc<Mutex<Hub>>) -> (String, Arc<Mutex<Vec<Req>>>) {
    let (addr, seen) = serve(Arc::new(move |r: &Req| {
        let mut h = hub.lock().unwrap();
        let err = |code: u16, m: &str| {
            Resp::json(
                code,
                json!({"message": m, "documentation_url": "https://docs.github.com/rest"}),
            )
        };
        if r.header("user-agent").is_none() {
            return err(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
            );
        }
        if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
            return err(401, "Bad credentials");
        }
        if !h.queued.is_empty() {
            let (code, m, wait) = h.queued.remove(0);
            let mut resp = err(code, m);
            resp.headers
                .extend(wait.map(|w| ("retry-after".to_string(), w.to_string())));
            return resp;
        }
        let html = |id: u64| format!("https://github.com/acme/shop/issues/12#issuecomment-{id}");
        match (r.method.as_str(), r.path.as_str()) {
            ("GET", "/repos/acme/shop/issues/12/comments") => {
                let page: usize = r
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let all: Vec<_> = h
                    .comments
                    .iter()
                    .map(|(id, b)| json!({"id": id, "body": b, "html_url": html(*id)}))
                    .collect();
                let chunk: Vec<_> = all
                    .iter()
                    .skip((page - 1) * 100)
                    .take(100)
                    .cloned()
                    .collect();
                let mut resp = Resp::json(200, json!(chunk));
                if page * 100 < all.len() {
                    let host = r.header("host").unwrap_or_default().to_string();
                    resp.headers.push(("link".into(), format!("<http://{host}/repos/acme/shop/issues/12/comments?per_page=100&page={}>; rel=\"next\"", page + 1)));
                }
                resp
            }
            ("POST", "/repos/acme/shop/issues/12/comments") => {
                h.next_id += 1;
                let id = 9000 + h.next_id;
                h.comments.push((
                    id,
                    r.json()["body"].as_str().unwrap_or_default().to_string(),
                ));
                Resp::json(
                    201,
                    json!({"id": id, "html_url": html(id), "body": r.json()["body"]}),
                )
            }
            ("PATCH", p) if p.starts_with("/repos/acme/shop/issues/comments/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                match h.comments.iter_mut().find(|(i, _)| *i == id) {
                    Some(c) => {
                        c.1 = r.json()["body"].as_str().unwrap_or_default().to_string();
                        Resp::json(200, json!({"id": id, "html_url": html(id), "body": c.1}))
                    }
                    None => err(404, "Not Found"),
                }
            }
            _ => err(404, "Not Found"),
        }
    }));
    (format!("http://{addr}"), seen)
}

fn hub_config(url: &str) -> String {
    format!("[ticket]\nsystem = \"github\"\nurl = \"{url}\"\n")
}

#[test]
fn github_one_comment_per_incident_updated_in_place_and_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let note = incident(dir.path());
    let hub = Arc::new(Mutex::new(Hub::default()));
    // Others have commented: 230 comments, three pages.
    hub.lock().unwrap().comments = (1..=230).map(|i| (i, format!("comment {i}"))).collect();
    let (url, seen) = github(hub.clone());
    let cfg = hub_config(&url);
    let attach = || {
        rbtui(
            dir.path(),
            &cfg,
            &[("GITHUB_TOKEN", TOKEN)],
            &[
                "note",
                "attach",
                note.to_str().unwrap(),
                "--to",
                "acme/shop#12",
            ],
        )
    };
    let o = attach();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "comment 9001 posted — https://github.com/acme/shop/issues/12#issuecomment-9001"
        ),
        "{}",
        text(&o)
    );
    let pages = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "GET")
        .count();
    assert_eq!(pages, 3, "every page read before posting (Link rel=next)");
    let body = hub.lock().unwrap().comments.last().unwrap().1.clone();
    assert!(body.starts_with("<!-- rbtui-incident: "), "{body}");
    assert!(
        body.contains("#### Summary") && body.contains("`checkout` 9 (d8f3c2a) → 8 (a1b2c3d)"),
        "{body}"
    );
    assert!(
        !body.contains("<!-- rbtui {"),
        "no machine markers in the comment"
    );
    assert!(
        body.contains("#### Evidence (kept beside the note"),
        "{body}"
    );
    let n = std::fs::read_to_string(&note).unwrap();
    assert!(
        n.contains("**ticket** — note attached to GitHub acme/shop#12: comment 9001 posted"),
        "{n}"
    );
    assert!(!n.contains(TOKEN) && !text(&o).contains(TOKEN));
    // Again: the note knows the comment; it is updated, not posted twice.
    seen.lock().unwrap().clear();
    let o = attach();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("comment 9001 updated in place"),
        "{}",
        text(&o)
    );
    let reqs = seen.lock().unwrap().clone();
    assert_eq!(
        reqs.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["PATCH"]
    );
    assert_eq!(reqs[0].header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(
        reqs[0].header("accept"),
        Some("application/vnd.github+json")
    );
    assert_eq!(
        hub.lock().unwrap().comments.len(),
        231,
        "one comment for the incident"
    );
    assert!(
        hub.lock()
            .unwrap()
            .comments
            .last()
            .unwrap()
            .1
            .contains("**ticket**"),
        "the update carries the first attach's record"
    );
    // A copy of the note without that record finds the comment by its key.
    let copy = dir.path().join("copy.md");
    let cut: String = std::fs::read_to_string(&note)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("ticket"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&copy, cut).unwrap();
    let o = rbtui(
        dir.path(),
        &cfg,
        &[("GITHUB_TOKEN", TOKEN)],
        &[
            "note",
            "attach",
            copy.to_str().unwrap(),
            "--to",
            "acme/shop#12",
        ],
    );
    assert!(
        text(&o).contains("comment 9001 updated in place"),
        "{}",
        text(&o)
    );
    assert_eq!(hub.lock().unwrap().comments.len(), 231);
    // Deleted on GitHub since: posted anew.
    hub.lock().unwrap().comments.retain(|(id, _)| *id != 9001);
    let o = attach();
    assert!(text(&o).contains("comment 9002 posted"), "{}", text(&o));
}

#[test]
fn github_refusals_are_said_and_nothing_is_recorded_as_posted() {
    let dir = tempfile::tempdir().unwrap();
    let note = incident(dir.path());
    let before = std::fs::read_to_string(&note).unwrap();
    let hub = Arc::new(Mutex::new(Hub::default()));
    let (url, seen) = github(hub.clone());
    let cfg = hub_config(&url);
    let run = |env: &[(&str, &str)], to: &str| {
        let o = rbtui(
            dir.path(),
            &cfg,
            env,
            &["note", "attach", note.to_str().unwrap(), "--to", to],
        );
        (o.status.code(), text(&o))
    };
    let (code, t) = run(&[], "acme/shop#12");
    assert_eq!(code, Some(2));
    assert!(
        t.contains("no GitHub token for")
            && t.contains("GITHUB_TOKEN")
            && t.contains("gh auth login"),
        "{t}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing sent without a token"
    );
    let (_, t) = run(&[("GITHUB_TOKEN", "ghp_wrong")], "acme/shop#12");
    assert!(t.contains("refused the token (401 Bad credentials)"), "{t}");
    let (_, t) = run(&[("GITHUB_TOKEN", TOKEN)], "acme/shop#99");
    assert!(
        t.contains("GitHub has no GitHub acme/shop#99 (404 Not Found)"),
        "{t}"
    );
    hub.lock().unwrap().queued = vec![(
        403,
        "Resource not accessible by personal access token",
        None,
    )];
    let (_, t) = run(&[("GITHUB_TOKEN", TOKEN)], "acme/shop#12");
    assert!(
        t.contains("403 Resource not accessible by personal access token")
            && t.contains("issues write"),
        "{t}"
    );
    // A secondary rate limit: a short Retry-After is waited out once.
    hub.lock().unwrap().queued = vec![(429, "You have exceeded a secondary rate limit", Some("1"))];
    let (code, t) = run(&[("GITHUB_TOKEN", TOKEN)], "acme/shop#12");
    assert_eq!(code, Some(0), "{t}");
    // A long one is said, not waited for.
    hub.lock().unwrap().queued =
        vec![(429, "You have exceeded a secondary rate limit", Some("600"))];
    let (code, t) = run(&[("GITHUB_TOKEN", TOKEN)], "acme/shop#12");
    assert_eq!(code, Some(2));
    assert!(t.contains("rate-limited") && t.contains("in 600 s"), "{t}");
    assert!(!t.contains(TOKEN));
    let after = std::fs::read_to_string(&note).unwrap();
    assert_eq!(
        after.matches("**ticket**").count(),
        1,
        "only the attach that was taken is recorded"
    );
    assert!(after.starts_with(&before[..100]));
}

/// GitLab's notes and uploads.
#[derive(Default)]
struct Lab {
    notes: Vec<(u64, String)>,
    uploads: Vec<String>,
}

fn gitlab(lab: Arc<Mutex<Lab>>) -> (String, Arc<Mutex<Vec<Req>>>) {
    let (addr, seen) = serve(Arc::new(move |r: &Req| {
        let mut l = lab.lock().unwrap();
        if r.header("private-token") != Some("glpat-test") {
            return Resp::json(401, json!({"message": "401 Unauthorized"}));
        }
        let base = "/api/v4/projects/acme%2Fshop";
        let Some(rest) = r.path.strip_prefix(base) else {
            return Resp::json(404, json!({"message": "404 Project Not Found"}));
        };
        match (r.method.as_str(), rest) {
            ("GET", "/issues/3") => Resp::json(
                200,
                json!({"iid": 3, "web_url": "https://gitlab.example.com/acme/shop/-/issues/3"}),
            ),
            ("GET", "/issues/3/notes") => {
                let page: usize = r
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("page="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(1);
                let chunk: Vec<_> = l
                    .notes
                    .iter()
                    .skip((page - 1) * 100)
                    .take(100)
                    .map(|(id, b)| json!({"id": id, "body": b}))
                    .collect();
                let mut resp = Resp::json(200, json!(chunk));
                let next = if page * 100 < l.notes.len() {
                    (page + 1).to_string()
                } else {
                    String::new()
                };
                resp.headers.push(("x-next-page".into(), next));
                resp
            }
            ("GET", p) if p.starts_with("/issues/3/notes/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                match l.notes.iter().find(|(i, _)| *i == id) {
                    Some((i, b)) => Resp::json(200, json!({"id": i, "body": b})),
                    None => Resp::json(404, json!({"message": "404 Not found"})),
                }
            }
            ("POST", "/issues/3/notes") => {
                let id = 500 + l.notes.len() as u64;
                l.notes.push((
                    id,
                    r.json()["body"].as_str().unwrap_or_default().to_string(),
                ));
                Resp::json(201, json!({"id": id, "body": r.json()["body"]}))
            }
            ("PUT", p) if p.starts_with("/issues/3/notes/") => {
                let id: u64 = p.rsplit('/').next().unwrap().parse().unwrap_or(0);
                match l.notes.iter_mut().find(|(i, _)| *i == id) {
                    Some(n) => {
                        n.1 = r.json()["body"].as_str().unwrap_or_default().to_string();
                        Resp::json(200, json!({"id": id, "body": n.1}))
                    }
                    None => Resp::json(404, json!({"message": "404 Not found"})),
                }
            }
            ("POST", "/uploads") => {
                let name = r
                    .body
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("?")
                    .to_string();
                l.uploads.push(name.clone());
                let secret = format!("{:032x}", l.uploads.len());
                Resp::json(
                    201,
                    json!({"alt": name, "url": format!("/uploads/{secret}/{name}"), "markdown": format!("[{name}](/uploads/{secret}/{name})")}),
                )
            }
            _ => Resp::json(404, json!({"message": "404 Not found"})),
        }
    }));
    (format!("http://{addr}"), seen)
}

#[test]
fn gitlab_note_with_uploaded_evidence_updated_not_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let note = incident(dir.path());
    let lab = Arc::new(Mutex::new(Lab::default()));
    lab.lock().unwrap().notes = (1..=120).map(|i| (i, format!("note {i}"))).collect();
    let (url, _seen) = gitlab(lab.clone());
    let cfg = format!("[ticket]\nsystem = \"gitlab\"\nurl = \"{url}\"\nissue = \"acme/shop#3\"\n");
    let attach = || {
        rbtui(
            dir.path(),
            &cfg,
            &[("GITLAB_TOKEN", "glpat-test")],
            &["note", "attach", note.to_str().unwrap()],
        )
    };
    let o = attach();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(
            "comment 620 posted — https://gitlab.example.com/acme/shop/-/issues/3#note_620"
        ),
        "{}",
        text(&o)
    );
    let uploaded = lab.lock().unwrap().uploads.len();
    assert!(uploaded >= 1, "the evidence is uploaded");
    let body = lab.lock().unwrap().notes.last().unwrap().1.clone();
    assert!(
        body.contains("#### Evidence") && body.contains("](/uploads/"),
        "{body}"
    );
    let o = attach();
    assert!(
        text(&o).contains("comment 620 updated in place"),
        "{}",
        text(&o)
    );
    assert_eq!(
        lab.lock().unwrap().uploads.len(),
        uploaded,
        "evidence already linked is not uploaded again"
    );
    assert_eq!(lab.lock().unwrap().notes.len(), 121);
    // By its URL, without [ticket]: the system and API base come from it.
    let o = rbtui(
        dir.path(),
        "",
        &[("GITLAB_TOKEN", "glpat-test")],
        &[
            "note",
            "attach",
            note.to_str().unwrap(),
            "--to",
            &format!("{url}/acme/shop/-/issues/3"),
        ],
    );
    assert!(text(&o).contains("updated in place"), "{}", text(&o));
    let o = rbtui(
        dir.path(),
        &cfg,
        &[("GITLAB_TOKEN", "nope")],
        &["note", "attach", note.to_str().unwrap()],
    );
    assert!(
        text(&o).contains("GitLab refused the token (401 401 Unauthorized)"),
        "{}",
        text(&o)
    );
}

/// Jira's comments and attachments.
#[derive(Default)]
struct Tracker {
    comments: Vec<(String, String)>,
    files: Vec<(String, u64)>,
}

fn jira(t: Arc<Mutex<Tracker>>) -> (String, Arc<Mutex<Vec<Req>>>) {
    let (addr, seen) = serve(Arc::new(move |r: &Req| {
        let mut j = t.lock().unwrap();
        // Basic ana@acme.net:jira-token
        if r.header("authorization") != Some("Basic YW5hQGFjbWUubmV0OmppcmEtdG9rZW4=") {
            return Resp::json(
                401,
                json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}}),
            );
        }
        let Some(rest) = r.path.strip_prefix("/rest/api/2/issue/OPS-7") else {
            return Resp::json(
                404,
                json!({"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}),
            );
        };
        match (r.method.as_str(), rest) {
            ("GET", "") => Resp::json(
                200,
                json!({"key": "OPS-7", "fields": {"attachment": j.files.iter().map(|(n, s)| json!({"filename": n, "size": s})).collect::<Vec<_>>()}}),
            ),
            ("GET", "/comment") => {
                let at: usize = r
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("startAt="))
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                let page: Vec<_> = j
                    .comments
                    .iter()
                    .skip(at)
                    .take(50)
                    .map(|(id, b)| json!({"id": id, "body": b}))
                    .collect();
                Resp::json(
                    200,
                    json!({"startAt": at, "maxResults": 50, "total": j.comments.len(), "comments": page}),
                )
            }
            ("POST", "/comment") => {
                let id = (10_000 + j.comments.len()).to_string();
                j.comments.push((
                    id.clone(),
                    r.json()["body"].as_str().unwrap_or_default().to_string(),
                ));
                Resp::json(
                    201,
                    json!({"id": id, "self": format!("http://x/rest/api/2/issue/OPS-7/comment/{id}")}),
                )
            }
            ("PUT", p) if p.starts_with("/comment/") => {
                let id = p.rsplit('/').next().unwrap().to_string();
                match j.comments.iter_mut().find(|(i, _)| *i == id) {
                    Some(c) => {
                        c.1 = r.json()["body"].as_str().unwrap_or_default().to_string();
                        Resp::json(200, json!({"id": id}))
                    }
                    None => Resp::json(
                        404,
                        json!({"errorMessages": ["Can not find a comment for the id"], "errors": {}}),
                    ),
                }
            }
            ("POST", "/attachments") => {
                if r.header("x-atlassian-token") != Some("no-check") {
                    return Resp::text(403, "XSRF check failed");
                }
                // Over the instance's attachment size limit (10 MB by default).
                if r.body.len() > 64 * 1024 {
                    return Resp::text(413, "");
                }
                let name = r
                    .body
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or("?")
                    .to_string();
                let size = r
                    .body
                    .split("\r\n\r\n")
                    .nth(1)
                    .map(|b| b.rsplit_once("\r\n--").map_or(b.len(), |(c, _)| c.len()))
                    .unwrap_or(0) as u64;
                j.files.push((name.clone(), size));
                Resp::json(
                    200,
                    json!([{"id": j.files.len().to_string(), "filename": name, "size": size}]),
                )
            }
            _ => Resp::json(404, json!({"errorMessages": ["Not found"], "errors": {}})),
        }
    }));
    (format!("http://{addr}"), seen)
}

#[test]
fn jira_comment_in_wiki_markup_with_the_note_and_evidence_attached_once() {
    let dir = tempfile::tempdir().unwrap();
    let note = incident(dir.path());
    let t = Arc::new(Mutex::new(Tracker::default()));
    t.lock().unwrap().comments = (1..=70)
        .map(|i| (i.to_string(), format!("comment {i}")))
        .collect();
    let (url, _seen) = jira(t.clone());
    let cfg = format!("[ticket]\nsystem = \"jira\"\nurl = \"{url}\"\n");
    let env = [
        ("JIRA_USER", "ana@acme.net"),
        ("JIRA_API_TOKEN", "jira-token"),
    ];
    let attach = || {
        rbtui(
            dir.path(),
            &cfg,
            &env,
            &["note", "attach", note.to_str().unwrap(), "--to", "OPS-7"],
        )
    };
    let o = attach();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "comment 10070 posted — {url}/browse/OPS-7?focusedCommentId=10070"
        )),
        "{}",
        text(&o)
    );
    let files: Vec<String> = t
        .lock()
        .unwrap()
        .files
        .iter()
        .map(|f| f.0.clone())
        .collect();
    assert!(
        files.contains(&"INC-7.md".to_string()) && files.len() >= 2,
        "the note and its evidence: {files:?}"
    );
    let body = t.lock().unwrap().comments.last().unwrap().1.clone();
    assert!(
        body.starts_with("h3. Incident ") && body.contains("h4. Summary"),
        "{body}"
    );
    assert!(
        body.contains("* [^INC-7.md]") && !body.contains("```") && !body.contains("<!--"),
        "{body}"
    );
    let o = attach();
    assert!(
        text(&o).contains("comment 10070 updated in place"),
        "{}",
        text(&o)
    );
    let again: Vec<String> = t
        .lock()
        .unwrap()
        .files
        .iter()
        .map(|f| f.0.clone())
        .collect();
    assert_eq!(
        again.len(),
        files.len() + 1,
        "only the note (grown by the record) again, not the evidence: {again:?}"
    );
    assert_eq!(t.lock().unwrap().comments.len(), 71);
    // An evidence file over the instance's limit: said, and the comment not
    // recorded as posted.
    let evidence = std::fs::read_dir(dir.path().join("INC-7.md.evidence"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&evidence, "x".repeat(100 * 1024)).unwrap();
    let before = std::fs::read_to_string(&note).unwrap();
    let o = attach();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("Jira refused attach ") && text(&o).contains("as too large (413)"),
        "{}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&note).unwrap(),
        before,
        "nothing recorded"
    );
    let o = rbtui(
        dir.path(),
        &cfg,
        &env,
        &["note", "attach", note.to_str().unwrap(), "--to", "OPS-8"],
    );
    assert!(text(&o).contains("Jira has no Jira OPS-8 (404 Issue does not exist or you do not have permission to see it.)"), "{}", text(&o));
    let o = rbtui(
        dir.path(),
        &cfg,
        &[],
        &["note", "attach", note.to_str().unwrap(), "--to", "OPS-7"],
    );
    assert!(
        text(&o).contains("set JIRA_USER and JIRA_API_TOKEN"),
        "{}",
        text(&o)
    );
}

/// In the console: `:attach` puts the note on the configured ticket through
/// the console's own note writer (recorded after the answer), a second
/// `:attach` updates the same comment, and a status message posted with
/// `w` goes to the ticket as its own comment, recorded with the answer.
#[test]
fn the_console_attaches_and_posts_status_to_the_ticket() {
    // SAFETY: set before any thread of this test process starts.
    unsafe { std::env::set_var("GITHUB_TOKEN", TOKEN) };
    let dir = tempfile::tempdir().unwrap();
    let note = dir.path().join("INC-7.md");
    let hub = Arc::new(Mutex::new(Hub::default()));
    let (url, _seen) = github(hub.clone());
    let cfg = rbtui::config::TicketConfig {
        system: Some(rbtui::config::TicketSystem::Github),
        url: Some(url),
        issue: None,
    };
    let r = rbtui::backend::ticket::TicketRef::parse("acme/shop#12", &cfg).unwrap();
    let (mut s, _b) = demo_over(
        Mode::Demo,
        Some(&note),
        |st| st.ticket = Some("GitHub acme/shop#12".into()),
        move |b| Arc::new(rbtui::backend::ticket::layer::Ticket::new(b, r)),
    );
    let wait = |s: &mut rbtui::app::script::Script, what: &str| {
        for _ in 0..100 {
            s.run_ready();
            if s.state.flash.as_ref().is_some_and(|f| f.1.contains(what)) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("no `{what}`: {:?}", s.state.flash);
    };
    s.press(":attach<Enter>");
    wait(&mut s, "comment 9001 posted");
    s.press(":attach<Enter>");
    wait(&mut s, "comment 9001 updated in place");
    assert_eq!(hub.lock().unwrap().comments.len(), 1);
    s.press("s");
    s.press("w");
    wait(&mut s, "status message posted");
    assert_eq!(
        hub.lock().unwrap().comments.len(),
        2,
        "the status message is its own comment"
    );
    assert!(
        hub.lock().unwrap().comments[1]
            .1
            .starts_with("[rbtui DEMO: simulated, not a real incident]")
    );
    drop(s);
    let n = std::fs::read_to_string(&note).unwrap();
    assert_eq!(
        n.matches("**ticket** — note attached to GitHub acme/shop#12")
            .count(),
        2,
        "{n}"
    );
    assert!(n.contains("status message posted (P0) to GitHub acme/shop#12: GitHub acme/shop#12 took it as https://github.com/acme/shop/issues/12#issuecomment-9002"), "{n}");
}
