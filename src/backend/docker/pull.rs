//! The image a Compose rollback to a tag deploys, made sure of at the
//! moment of the step: the tag is resolved on the engine (pulled first
//! when the engine lacks it) and must be the build the plan showed. A tag
//! that moved since the plan — in the registry, or on the engine because
//! someone ran `docker compose pull` — recreates nothing, and an image
//! pulled only to be refused is removed again, so it is never taken for
//! something that ran here.

use super::engine::{Engine, engine_error};
use crate::core::error::BackendError;
use crate::core::model::short_digest;
use futures::StreamExt;
use std::time::Duration;

/// How long a pull may take before the step gives up (nothing recreated).
const PULL_WITHIN: Duration = Duration::from_secs(300);

/// The image the step deploys: its id on the engine (what the recreated
/// containers must run), and what was done to get it, if anything.
#[derive(Debug, Clone)]
pub struct Ensured {
    pub image_id: String,
    pub said: Option<String>,
}

/// Makes sure `repository:tag` is on the engine and is the build the plan
/// showed (`digest`, where the plan knew one).
pub async fn ensure(
    engine: &Engine,
    repository: &str,
    tag: &str,
    digest: Option<&str>,
) -> Result<Ensured, BackendError> {
    let reference = format!("{repository}:{tag}");
    if let Ok(local) = engine.docker.inspect_image(&reference).await {
        let id = local.id.clone().unwrap_or_default();
        let digests = local.repo_digests.unwrap_or_default();
        if let Some(want) = digest
            && !digests.iter().any(|d| d.ends_with(want))
        {
            return Err(BackendError::Refused(format!(
                "{reference} on the engine is not the build the plan showed: it is image {} ({}), the plan showed {}; the tag moved and was pulled here since the plan (`docker compose pull`?); nothing was recreated — plan again",
                short_digest(&id),
                if digests.is_empty() {
                    "no registry digest".to_string()
                } else {
                    digests.join(", ")
                },
                short_digest(want)
            )));
        }
        return Ok(Ensured {
            image_id: id,
            said: None,
        });
    }
    pull(engine, repository, tag).await?;
    let got = engine
        .docker
        .inspect_image(&reference)
        .await
        .map_err(|e| engine_error(&engine.host, &e))?;
    let digests = got.repo_digests.unwrap_or_default();
    if let Some(want) = digest
        && !digests.iter().any(|d| d.ends_with(want))
    {
        let removed = remove(engine, &reference).await;
        return Err(BackendError::Refused(format!(
            "{reference} moved since the plan: the registry gave {}, the plan showed {}; it was pulled and {removed}; nothing was recreated — plan again",
            digests.join(", "),
            short_digest(want)
        )));
    }
    Ok(Ensured {
        image_id: got.id.unwrap_or_default(),
        said: Some(format!(
            "pulled {reference} ({})",
            digests.first().map(String::as_str).unwrap_or("no digest")
        )),
    })
}

async fn pull(engine: &Engine, repository: &str, tag: &str) -> Result<(), BackendError> {
    let reference = format!("{repository}:{tag}");
    let opts = bollard::query_parameters::CreateImageOptionsBuilder::default()
        .from_image(repository)
        .tag(tag)
        .build();
    let pull = async {
        let mut s = engine.docker.create_image(Some(opts), None, None);
        while let Some(r) = s.next().await {
            if let Some(e) = r.map_err(|e| engine_error(&engine.host, &e))?.error {
                return Err(BackendError::Failed(format!("pulling {reference}: {e}")));
            }
        }
        Ok(())
    };
    tokio::time::timeout(PULL_WITHIN, pull).await.map_err(|_| {
        BackendError::Timeout(format!(
            "pulling {reference} took longer than {}s; nothing was recreated",
            PULL_WITHIN.as_secs()
        ))
    })?
}

/// Removes an image pulled only to be refused; says what happened.
async fn remove(engine: &Engine, reference: &str) -> String {
    match engine
        .docker
        .remove_image(
            reference,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await
    {
        Ok(_) => "removed again".into(),
        Err(e) => format!(
            "could NOT be removed ({}): `docker rmi {reference}` before anyone runs it",
            engine_error(&engine.host, &e)
        ),
    }
}

/// A container that does not run the image the step made sure of.
#[derive(Debug, thiserror::Error)]
#[error("{container} runs image {}, not the planned build {}", short_digest(.got), short_digest(.want))]
pub struct NotPlanned {
    pub container: String,
    pub got: String,
    pub want: String,
}

/// Whether each container runs the image the step made sure of; the
/// first that does not, named with both ids.
pub fn runs_planned(
    containers: &[bollard::models::ContainerSummary],
    want: &str,
) -> Result<(), NotPlanned> {
    for c in containers {
        let got = c.image_id.clone().unwrap_or_default();
        if !want.is_empty() && got != want {
            let name = c
                .names
                .iter()
                .flatten()
                .next()
                .map(|n| n.trim_start_matches('/'))
                .unwrap_or("?")
                .to_string();
            return Err(NotPlanned {
                container: name,
                got,
                want: want.to_string(),
            });
        }
    }
    Ok(())
}
