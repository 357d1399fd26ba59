//! A re-tag plan's restart: `kubectl rollout restart`, as a JSON patch
//! that tests the resourceVersion the plan was built from and stamps the
//! pod template's `kubectl.kubernetes.io/restartedAt`; and the proof that
//! the restarted pods run the re-tagged build (their `imageID` digest),
//! without which the rollout is not called converged.

use super::{DeployTarget, KubeBackend};
use crate::backend::StepDone;
use crate::core::error::BackendError;
use crate::core::plan::RollbackPlan;
use serde_json::{Value, json};

/// The annotation kubectl sets; a new value makes a new ReplicaSet.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// The JSON patch: test the version, make sure the annotations map exists,
/// set the annotation (`~1` is `/` in a JSON pointer).
pub fn patch(d: &Value, rv: &str, at: &str) -> Value {
    let mut ops = vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv})];
    if d["spec"]["template"]["metadata"]["annotations"].is_null() {
        ops.push(json!({"op": "add", "path": "/spec/template/metadata/annotations", "value": {}}));
    }
    ops.push(json!({
        "op": "add",
        "path": format!("/spec/template/metadata/annotations/{}", RESTARTED_AT.replace('/', "~1")),
        "value": at
    }));
    Value::Array(ops)
}

/// Ready pods of the Deployment whose image is not `digest`: (pod, what
/// it runs). Empty means every ready pod runs the re-tagged build.
pub fn not_on(pods: &[&Value], digest: &str) -> Vec<(String, String)> {
    pods.iter()
        .filter(|p| {
            p["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
        .flat_map(|p| {
            let name = p["metadata"]["name"].as_str().unwrap_or("?").to_string();
            p["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["imageID"].as_str())
                .filter(|id| !id.ends_with(digest))
                .map(move |id| (name.clone(), id.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

impl KubeBackend {
    pub(super) async fn restart(&self, plan: &RollbackPlan) -> Result<StepDone, BackendError> {
        let t: &DeployTarget = &self.target(&plan.target.name)?;
        let d = self
            .deployment(t)
            .await
            .map_err(|e| BackendError::NotSent(e.to_string()))?;
        let rv = d["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if rv != plan.built_from {
            return Err(BackendError::Stale {
                built_from: plan.built_from.clone(),
                now: rv,
            });
        }
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let after = self
            .patch_guarded(t, plan, &Self::deploy_path(t), &patch(&d, &rv, &at))
            .await?;
        Ok(StepDone {
            summary: format!(
                "deployment.apps/{} restarted ({RESTARTED_AT}={at}; JSON patch, resourceVersion {rv} tested)",
                t.deployment
            ),
            version: after["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        })
    }

    /// For a re-tag: the ready pods' `imageID`s, read afresh, against the
    /// build the plan re-tagged; what runs instead, if anything.
    pub(super) async fn off_build(
        &self,
        plan: &RollbackPlan,
        digest: &str,
    ) -> Result<Vec<(String, String)>, BackendError> {
        let t = self.target(&plan.target.name)?;
        let src = self.direct(&t).await?;
        let pods: Vec<&Value> = src.pods.iter().map(|p| p.as_ref()).collect();
        Ok(not_on(&pods, digest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_tests_the_version_and_creates_the_annotations_when_missing() {
        let d = json!({"spec": {"template": {"metadata": {"labels": {"app": "x"}}}}});
        let p = patch(&d, "850", "2026-12-03T04:00:00Z");
        assert_eq!(
            p[0],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "850"})
        );
        assert_eq!(p[1]["path"], "/spec/template/metadata/annotations");
        assert_eq!(
            p[2]["path"],
            "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"
        );
        let d = json!({"spec": {"template": {"metadata": {"annotations": {"a": "b"}}}}});
        assert_eq!(
            patch(&d, "850", "t").as_array().unwrap().len(),
            2,
            "the map is kept"
        );
    }
}
