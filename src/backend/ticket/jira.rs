//! Jira's REST API v2 (developer.atlassian.com/cloud/jira/platform/rest/v2,
//! the same paths on Server/Data Center): comments in wiki markup, listed
//! with `startAt`/`maxResults`/`total`, created (`201`), updated (`PUT
//! …/comment/{id}`); the note and the evidence uploaded as attachments
//! (`POST …/attachments`, multipart `file`, `X-Atlassian-Token: no-check`
//! or Jira refuses it as XSRF), each once: a file of the same name and size
//! already on the issue is not uploaded again.

use super::{Attached, Body, Client, TicketError};
use std::path::PathBuf;

/// A comment may hold 32,767 characters.
const LIMIT: usize = 32_767;

pub async fn attach(
    c: &Client,
    body: Body,
    known: Option<&str>,
    files: &[PathBuf],
) -> Result<Attached, TicketError> {
    let issue = format!("{}/rest/api/2/issue/{}", c.r.api, c.r.issue);
    let url = format!("{issue}?fields=attachment");
    let a = c
        .send("read the issue", false, || Ok(c.http.get(&url)))
        .await?;
    let on_issue: Vec<(String, u64)> = a.json("the issue")?["fields"]["attachment"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                f["filename"].as_str().unwrap_or_default().to_string(),
                f["size"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let mut out = Attached {
        comment: String::new(),
        url: String::new(),
        updated: false,
        uploaded: Vec::new(),
        already: Vec::new(),
        cut: false,
    };
    let mut text = body.text;
    if !files.is_empty() {
        text.push_str("\nh4. Attached files\n\n");
    }
    for p in files {
        let (name, bytes) = super::read_file(p)?;
        if on_issue
            .iter()
            .any(|(n, s)| *n == name && *s == bytes.len() as u64)
        {
            out.already.push(name.clone());
        } else {
            upload(c, &issue, &name, bytes).await?;
            out.uploaded.push(name.clone());
        }
        text.push_str(&format!("* [^{name}]\n"));
    }
    let (text, cut) = super::fit(&text, LIMIT, "\n* {{", "attached to this issue");
    out.cut = cut;
    let json = serde_json::json!({ "body": text });
    let existing = match known {
        Some(id) => Some(id.to_string()),
        None => find(c, &issue, &body.key).await?,
    };
    if let Some(id) = existing {
        let url = format!("{issue}/comment/{id}");
        let a = c
            .send("update the incident's comment", true, || {
                Ok(c.http.put(&url).json(&json))
            })
            .await?;
        if a.status != 404 {
            out.updated = true;
            out.comment = id;
            out.url = web(c, &out.comment);
            return Ok(out);
        }
    }
    let url = format!("{issue}/comment");
    let a = c
        .send("comment on the issue", false, || {
            Ok(c.http.post(&url).json(&json))
        })
        .await?;
    out.comment = super::id_of(&a.json("the new comment")?);
    out.url = web(c, &out.comment);
    Ok(out)
}

pub async fn post(c: &Client, text: &str) -> Result<String, TicketError> {
    let url = format!("{}/rest/api/2/issue/{}/comment", c.r.api, c.r.issue);
    let json = serde_json::json!({ "body": text });
    let a = c
        .send("comment on the issue", false, || {
            Ok(c.http.post(&url).json(&json))
        })
        .await?;
    let id = super::id_of(&a.json("the new comment")?);
    Ok(web(c, &id))
}

fn web(c: &Client, comment: &str) -> String {
    format!(
        "{}/browse/{}?focusedCommentId={comment}",
        c.r.api, c.r.issue
    )
}

/// The incident's comment, page by page (`startAt` on until `total`).
async fn find(c: &Client, issue: &str, key: &str) -> Result<Option<String>, TicketError> {
    let mut at = 0u64;
    for _ in 0..50 {
        let url = format!("{issue}/comment?startAt={at}&maxResults=100");
        let a = c
            .send("read the issue's comments", false, || Ok(c.http.get(&url)))
            .await?;
        let v = a.json("the issue's comments")?;
        if let Some(m) = super::keyed(&v["comments"], key) {
            return Ok(Some(super::id_of(m)));
        }
        let page = v["comments"].as_array().map_or(0, Vec::len);
        at += page as u64;
        if page == 0 || at >= v["total"].as_u64().unwrap_or(0) {
            break;
        }
    }
    Ok(None)
}

async fn upload(c: &Client, issue: &str, name: &str, bytes: Vec<u8>) -> Result<(), TicketError> {
    let url = format!("{issue}/attachments");
    c.send(&format!("attach {name}"), false, || {
        let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.to_string());
        Ok(c.http
            .post(&url)
            .header("X-Atlassian-Token", "no-check")
            .multipart(reqwest::multipart::Form::new().part("file", part)))
    })
    .await?;
    Ok(())
}
