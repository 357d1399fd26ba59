//! A Compose rollback to an image the engine does not have (a release
//! tag offered by the registry): pulled first, and checked against the
//! digest the plan showed, so a tag that moved since the plan recreates
//! nothing. An image the engine has is used as it is, as before.

use super::engine::{Engine, describe};
use crate::core::error::BackendError;
use futures::StreamExt;
use std::time::Duration;

/// How long a pull may take before the step gives up (nothing recreated).
const PULL_WITHIN: Duration = Duration::from_secs(300);

/// Makes sure `repository:tag` is on the engine; says what was done, if
/// anything. `digest`: what the plan showed the tag resolving to.
pub async fn ensure(
    engine: &Engine,
    repository: &str,
    tag: &str,
    digest: Option<&str>,
) -> Result<Option<String>, BackendError> {
    let reference = format!("{repository}:{tag}");
    if engine.docker.inspect_image(&reference).await.is_ok() {
        return Ok(None);
    }
    let opts = bollard::query_parameters::CreateImageOptionsBuilder::default()
        .from_image(repository)
        .tag(tag)
        .build();
    let pull = async {
        let mut s = engine.docker.create_image(Some(opts), None, None);
        while let Some(r) = s.next().await {
            if let Some(e) = r.map_err(|e| describe(&engine.host, &e))?.error {
                return Err(BackendError::Failed(format!("pulling {reference}: {e}")));
            }
        }
        Ok(())
    };
    tokio::time::timeout(PULL_WITHIN, pull)
        .await
        .map_err(|_| {
            BackendError::Timeout(format!(
                "pulling {reference} took longer than {}s; nothing was recreated",
                PULL_WITHIN.as_secs()
            ))
        })??;
    let got = engine
        .docker
        .inspect_image(&reference)
        .await
        .map_err(|e| describe(&engine.host, &e))?;
    let digests = got.repo_digests.unwrap_or_default();
    if let Some(want) = digest
        && !digests.iter().any(|d| d.ends_with(want))
    {
        return Err(BackendError::Refused(format!(
            "{reference} moved since the plan: the registry gave {}, the plan showed {}; it was pulled, nothing was recreated — plan again",
            digests.join(", "),
            crate::core::model::short_digest(want)
        )));
    }
    Ok(Some(format!(
        "pulled {reference} ({})",
        digests.first().map(String::as_str).unwrap_or("no digest")
    )))
}
