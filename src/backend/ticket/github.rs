//! GitHub's REST API (docs.github.com/rest/issues/comments): list an
//! issue's comments (`per_page=100`, the `Link` header's `rel="next"`),
//! create one (`201`), update one (`PATCH …/issues/comments/{id}`, `404`
//! once deleted). GitHub takes no files through its API, so evidence is
//! listed by name and size, kept beside the note.

use super::{Attached, Body, Client, TicketError};
use std::path::PathBuf;

/// A comment body may hold 65,536 characters.
const LIMIT: usize = 65_536;

fn req(c: &Client, m: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
    c.http
        .request(m, url)
        .header("Accept", "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
}

pub async fn attach(
    c: &Client,
    body: Body,
    known: Option<&str>,
    evidence: &[PathBuf],
) -> Result<Attached, TicketError> {
    let issue = format!("{}/repos/{}/issues/{}", c.r.api, c.r.project, c.r.issue);
    let mut text = body.text;
    if !evidence.is_empty() {
        text.push_str("\n#### Evidence (kept beside the note; GitHub's API takes no files)\n\n");
        for p in evidence {
            let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            text.push_str(&format!("- `{name}` ({size} bytes)\n"));
        }
    }
    let (text, cut) = super::fit(&text, LIMIT, "\n- `", "attached to this incident");
    let json = serde_json::json!({ "body": text });
    let existing = match known {
        Some(id) => Some(id.to_string()),
        None => find(c, &issue, &body.key).await?,
    };
    if let Some(id) = existing {
        let url = format!("{}/repos/{}/issues/comments/{id}", c.r.api, c.r.project);
        let a = c
            .send("update the incident's comment", true, || {
                Ok(req(c, reqwest::Method::PATCH, &url).json(&json))
            })
            .await?;
        if a.status != 404 {
            let v = a.json("the updated comment")?;
            return Ok(done(&v, true, cut));
        }
        // Deleted since: post it anew.
    }
    let url = format!("{issue}/comments");
    let a = c
        .send("comment on the issue", false, || {
            Ok(req(c, reqwest::Method::POST, &url).json(&json))
        })
        .await?;
    Ok(done(&a.json("the new comment")?, false, cut))
}

pub async fn post(c: &Client, text: &str) -> Result<String, TicketError> {
    let url = format!(
        "{}/repos/{}/issues/{}/comments",
        c.r.api, c.r.project, c.r.issue
    );
    let json = serde_json::json!({ "body": text });
    let a = c
        .send("comment on the issue", false, || {
            Ok(req(c, reqwest::Method::POST, &url).json(&json))
        })
        .await?;
    Ok(done(&a.json("the new comment")?, false, false).url)
}

fn done(v: &serde_json::Value, updated: bool, cut: bool) -> Attached {
    Attached {
        comment: super::id_of(v),
        url: v["html_url"].as_str().unwrap_or_default().to_string(),
        updated,
        uploaded: Vec::new(),
        already: Vec::new(),
        cut,
    }
}

/// The incident's comment among the issue's, page by page.
async fn find(c: &Client, issue: &str, key: &str) -> Result<Option<String>, TicketError> {
    let mut next = Some(format!("{issue}/comments?per_page=100"));
    let mut pages = 0;
    while let Some(url) = next.take() {
        pages += 1;
        let a = c
            .send("read the issue's comments", false, || {
                Ok(req(c, reqwest::Method::GET, &url))
            })
            .await?;
        let v = a.json("the issue's comments")?;
        if let Some(m) = super::keyed(&v, key) {
            return Ok(Some(super::id_of(m)));
        }
        if pages < 50 {
            next = a
                .headers
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(next_link);
        }
    }
    Ok(None)
}

/// `<https://…&page=2>; rel="next", <…>; rel="last"` → the next page.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_link_header_names_the_next_page() {
        let l = "<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=3>; rel=\"last\"";
        assert_eq!(
            super::next_link(l).unwrap(),
            "https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2"
        );
        assert_eq!(super::next_link("<x>; rel=\"prev\""), None);
    }
}
