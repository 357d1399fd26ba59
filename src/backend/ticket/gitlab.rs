//! GitLab's REST API v4 (docs.gitlab.com/api/notes, /api/projects#upload-a-file):
//! the project by its URL-encoded path, the issue by its iid; notes listed
//! `per_page=100` with the `X-Next-Page` header, created (`201`), updated
//! (`PUT …/notes/:id`); evidence uploaded to the project (`POST
//! /projects/:id/uploads`, multipart `file`), its Markdown link put in the
//! note. An upload already linked from the incident's note is not made
//! again.

use super::{Attached, Body, Client, TicketError};
use std::path::PathBuf;

/// A note may hold 1,000,000 characters.
const LIMIT: usize = 1_000_000;

fn project(c: &Client) -> String {
    format!(
        "{}/api/v4/projects/{}",
        c.r.api,
        c.r.project.replace('/', "%2F")
    )
}

pub async fn attach(
    c: &Client,
    body: Body,
    known: Option<&str>,
    evidence: &[PathBuf],
) -> Result<Attached, TicketError> {
    let issue = format!("{}/issues/{}", project(c), c.r.issue);
    // The issue first: its web URL names the note, and a wrong reference
    // is said before any upload.
    let a = c
        .send("read the issue", false, || Ok(c.http.get(&issue)))
        .await?;
    let web = a.json("the issue")?["web_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let existing = match known {
        Some(id) => note(c, &issue, id).await?,
        None => None,
    };
    let existing = match existing {
        Some(e) => Some(e),
        None => find(c, &issue, &body.key).await?,
    };
    let old_body = existing
        .as_ref()
        .map(|(_, b)| b.clone())
        .unwrap_or_default();
    let mut text = body.text;
    let mut out = Attached {
        comment: String::new(),
        url: String::new(),
        updated: false,
        uploaded: Vec::new(),
        already: Vec::new(),
        cut: false,
    };
    if !evidence.is_empty() {
        text.push_str("\n#### Evidence\n\n");
        for p in evidence {
            let (name, bytes) = super::read_file(p)?;
            let link = match linked(&old_body, &name) {
                Some(l) => {
                    out.already.push(name.clone());
                    l
                }
                None => {
                    let l = upload(c, &name, bytes).await?;
                    out.uploaded.push(name.clone());
                    l
                }
            };
            text.push_str(&format!("- {link}\n"));
        }
    }
    let (text, cut) = super::fit(&text, LIMIT, "\n- `", "attached to this incident");
    out.cut = cut;
    let json = serde_json::json!({ "body": text });
    if let Some((id, _)) = existing {
        let url = format!("{issue}/notes/{id}");
        let a = c
            .send("update the incident's note", true, || {
                Ok(c.http.put(&url).json(&json))
            })
            .await?;
        if a.status != 404 {
            out.comment = id;
            out.url = format!("{web}#note_{}", out.comment);
            out.updated = true;
            return Ok(out);
        }
    }
    let url = format!("{issue}/notes");
    let a = c
        .send("comment on the issue", false, || {
            Ok(c.http.post(&url).json(&json))
        })
        .await?;
    out.comment = a.json("the new note")?["id"]
        .as_u64()
        .map(|i| i.to_string())
        .unwrap_or_default();
    out.url = format!("{web}#note_{}", out.comment);
    Ok(out)
}

pub async fn post(c: &Client, text: &str) -> Result<String, TicketError> {
    let issue = format!("{}/issues/{}", project(c), c.r.issue);
    let json = serde_json::json!({ "body": text });
    let url = format!("{issue}/notes");
    let a = c
        .send("comment on the issue", false, || {
            Ok(c.http.post(&url).json(&json))
        })
        .await?;
    let id = a.json("the new note")?["id"].as_u64().unwrap_or_default();
    let a = c
        .send("read the issue", false, || Ok(c.http.get(&issue)))
        .await?;
    Ok(format!(
        "{}#note_{id}",
        a.json("the issue")?["web_url"].as_str().unwrap_or_default()
    ))
}

/// The note an earlier attach recorded, with its body; None once deleted.
async fn note(c: &Client, issue: &str, id: &str) -> Result<Option<(String, String)>, TicketError> {
    let url = format!("{issue}/notes/{id}");
    let a = c
        .send("read the incident's note", true, || Ok(c.http.get(&url)))
        .await?;
    if a.status == 404 {
        return Ok(None);
    }
    Ok(Some((
        id.to_string(),
        a.json("the note")?["body"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )))
}

/// The incident's note (id and body) among the issue's, page by page.
async fn find(c: &Client, issue: &str, key: &str) -> Result<Option<(String, String)>, TicketError> {
    let mut page = Some("1".to_string());
    let mut pages = 0;
    while let Some(p) = page.take() {
        pages += 1;
        let url = format!("{issue}/notes?per_page=100&sort=asc&page={p}");
        let a = c
            .send("read the issue's notes", false, || Ok(c.http.get(&url)))
            .await?;
        let v = a.json("the issue's notes")?;
        if let Some(m) = super::keyed(&v, key) {
            let id = super::id_of(m);
            return Ok(Some((
                id,
                m["body"].as_str().unwrap_or_default().to_string(),
            )));
        }
        if pages < 50 {
            page = a
                .headers
                .get("x-next-page")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string);
        }
    }
    Ok(None)
}

/// The Markdown link an earlier attach put in the note for `name`.
fn linked(old: &str, name: &str) -> Option<String> {
    old.lines()
        .filter_map(|l| l.strip_prefix("- "))
        .find(|l| l.starts_with(&format!("[{name}](")) && l.contains("/uploads/"))
        .map(str::to_string)
}

async fn upload(c: &Client, name: &str, bytes: Vec<u8>) -> Result<String, TicketError> {
    let url = format!("{}/uploads", project(c));
    let a = c
        .send(&format!("upload {name}"), false, || {
            let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
            Ok(c.http
                .post(&url)
                .multipart(reqwest::multipart::Form::new().part("file", part)))
        })
        .await?;
    let v = a.json("the upload")?;
    v["markdown"].as_str().map(str::to_string).ok_or_else(|| {
        TicketError::Malformed(format!(
            "the upload of {name}: no markdown link in the answer"
        ))
    })
}
