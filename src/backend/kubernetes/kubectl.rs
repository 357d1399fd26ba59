//! `kubectl rollout undo` and `kubectl rollout status`, as pure functions
//! over the API's JSON (kubectl's `polymorphichelpers/rollback.go` and
//! `rollout_status.go`). Working on the raw JSON keeps the patch byte-for-byte
//! what kubectl sends.

use crate::core::error::BackendError;
use serde_json::{Map, Value, json};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const HASH_LABEL: &str = "pod-template-hash";

/// Annotations that stay the Deployment's own in a rollback.
pub const SKIP: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj["metadata"]["annotations"][key].as_str()
}

pub fn revision_of(rs: &Value) -> Option<i64> {
    annotation(rs, REVISION)?.parse().ok()
}

/// ReplicaSets controlled by the Deployment (ownerReferences, not just the
/// selector), with their revision, oldest first.
pub fn owned_history<'a>(deploy: &Value, rss: &'a [Value]) -> Vec<(i64, &'a Value)> {
    let uid = deploy["metadata"]["uid"].as_str().unwrap_or_default();
    let mut v: Vec<(i64, &Value)> = rss
        .iter()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|r| r["uid"] == uid && r["controller"] == true))
        })
        .filter_map(|rs| revision_of(rs).map(|r| (r, rs)))
        .collect();
    v.sort_by_key(|(r, _)| *r);
    v
}

fn without_hash(template: &Value) -> Value {
    let mut t = template.clone();
    if let Some(l) = t["metadata"]["labels"].as_object_mut() {
        l.remove(HASH_LABEL);
    }
    t
}

/// kubectl's undo patch with each pinned image's reference replaced in the
/// restored template (containers and init containers). The template then
/// differs from the revision's, so the controller makes a new ReplicaSet.
pub fn pinned(mut ops: Value, pins: &[crate::core::plan::ImagePin]) -> Value {
    for op in ops
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter(|o| o["path"] == "/spec/template")
    {
        for list in ["containers", "initContainers"] {
            // `get_mut`, not indexing: indexing a missing key inserts a
            // null, and the patch must stay kubectl's byte for byte.
            let found = op
                .get_mut("value")
                .and_then(|v| v.get_mut("spec"))
                .and_then(|v| v.get_mut(list))
                .and_then(Value::as_array_mut);
            for c in found.into_iter().flatten() {
                if let Some(p) = pins.iter().find(|p| c["image"] == p.from.as_str()) {
                    c["image"] = json!(p.to);
                }
            }
        }
    }
    ops
}

/// What `kubectl rollout undo --to-revision=N` would do.
#[derive(Debug, Clone, PartialEq)]
pub enum Undo {
    /// The exact JSON patch; `test` of resourceVersion first (rbtui's guard).
    Patch(Value),
    /// Nothing to do, exit 0: kubectl's own words.
    Skipped(String),
}

/// kubectl's checks and patch, plus a `test` op on the resourceVersion the
/// plan was built from so a changed Deployment is never patched.
pub fn undo(
    deploy: &Value,
    rss: &[Value],
    to_revision: i64,
    built_from_rv: &str,
) -> Result<Undo, BackendError> {
    let name = deploy["metadata"]["name"].as_str().unwrap_or_default();
    if deploy["spec"]["paused"] == true {
        return Err(BackendError::Refused("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into()));
    }
    let hist = owned_history(deploy, rss);
    if hist.is_empty() {
        return Err(BackendError::Refused(format!(
            "no rollout history found for deployment \"{name}\""
        )));
    }
    let Some((_, rs)) = hist.iter().find(|(r, _)| *r == to_revision) else {
        return Err(BackendError::Refused(format!(
            "unable to find specified revision {to_revision} in history"
        )));
    };
    if without_hash(&rs["spec"]["template"]) == without_hash(&deploy["spec"]["template"]) {
        return Ok(Undo::Skipped(format!(
            "skipped rollback (current template already matches revision {to_revision})"
        )));
    }
    let mut annotations = Map::new();
    for k in SKIP {
        if let Some(v) = annotation(deploy, k) {
            annotations.insert(k.to_string(), json!(v));
        }
    }
    if let Some(a) = rs["metadata"]["annotations"].as_object() {
        for (k, v) in a {
            if !SKIP.contains(&k.as_str()) {
                annotations.insert(k.clone(), v.clone());
            }
        }
    }
    let mut ops =
        vec![json!({"op": "test", "path": "/metadata/resourceVersion", "value": built_from_rv})];
    ops.push(json!({"op": "replace", "path": "/spec/template", "value": without_hash(&rs["spec"]["template"])}));
    ops.push(json!({"op": "replace", "path": "/metadata/annotations", "value": Value::Object(annotations)}));
    Ok(Undo::Patch(Value::Array(ops)))
}

/// What the undo to `to_revision` changes in the pod template, as a diff
/// of the template now and the one the patch will send (pins applied), in
/// YAML. `rollout undo` replaces the template only: replicas stay.
pub fn template_change(
    deploy: &Value,
    rss: &[Value],
    to_revision: i64,
    pins: &[crate::core::plan::ImagePin],
) -> Result<String, BackendError> {
    let ops = match undo(deploy, rss, to_revision, "")? {
        Undo::Skipped(m) => return Ok(format!("no change: {m}")),
        Undo::Patch(p) => pinned(p, pins),
    };
    let to = ops
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["path"] == "/spec/template")
        .map(|o| o["value"].clone())
        .unwrap_or_default();
    let yaml = |v: &Value| {
        serde_yaml_ng::to_string(&crate::backend::manifests::hidden(v)).unwrap_or_default()
    };
    let now = current_revision(deploy);
    let diff = crate::core::change_diff::unified(
        &format!("pod template now (revision {now})"),
        &yaml(&without_hash(&deploy["spec"]["template"])),
        &format!("pod template of revision {to_revision} (as sent)"),
        &yaml(&to),
    );
    let replicas = deploy["spec"]["replicas"].as_i64().unwrap_or(1);
    Ok(format!(
        "{diff}\n(rollout undo changes the pod template only: replicas stay {replicas})"
    ))
}

fn current_revision(d: &Value) -> String {
    annotation(d, REVISION).unwrap_or("?").to_string()
}

/// `kubectl rollout status` for one read of the Deployment: the message, and
/// Ok(true) when done, Ok(false) while waiting, Err on ProgressDeadlineExceeded.
pub fn rollout_status(d: &Value) -> Result<(String, bool), BackendError> {
    let name = d["metadata"]["name"].as_str().unwrap_or_default();
    let generation = d["metadata"]["generation"].as_i64().unwrap_or(0);
    let observed = d["status"]["observedGeneration"].as_i64().unwrap_or(0);
    if generation > observed {
        return Ok((
            "Waiting for deployment spec update to be observed...".into(),
            false,
        ));
    }
    let progressing = d["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Progressing"));
    if progressing.is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return Err(BackendError::Failed(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        )));
    }
    // Counters that are 0 are omitted by the API server.
    let n = |k: &str| d["status"][k].as_i64().unwrap_or(0);
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let (updated, replicas, available) =
        (n("updatedReplicas"), n("replicas"), n("availableReplicas"));
    if updated < want {
        return Ok((
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {want} new replicas have been updated..."
            ),
            false,
        ));
    }
    if replicas > updated {
        return Ok((
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                replicas - updated
            ),
            false,
        ));
    }
    if available < updated {
        return Ok((
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
            ),
            false,
        ));
    }
    Ok((
        format!("deployment \"{name}\" successfully rolled out"),
        true,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fx(name: &str) -> Value {
        let p = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn undo_to_revision_2_is_byte_for_byte_kubectls_patch_plus_the_guard() {
        let d = fx("01-get-deployment-catalog.json");
        let rss = fx("03-list-replicasets-catalog.json");
        let Undo::Patch(p) = undo(&d, rss["items"].as_array().unwrap(), 2, "850").unwrap() else {
            panic!()
        };
        let ops = p.as_array().unwrap();
        assert_eq!(
            ops[0],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "850"})
        );
        assert_eq!(
            Value::Array(ops[1..].to_vec()),
            fx("07-rollout-undo-patch-request.json"),
            "kubectl's exact patch"
        );
    }

    #[test]
    fn kubectls_refusals_and_skips() {
        let d = fx("01-get-deployment-catalog.json");
        let rss = fx("03-list-replicasets-catalog.json");
        let rss = rss["items"].as_array().unwrap();
        assert_eq!(
            undo(&d, rss, 4, "850"),
            Ok(Undo::Skipped(
                "skipped rollback (current template already matches revision 4)".into()
            ))
        );
        assert_eq!(
            undo(&d, rss, 99, "850"),
            Err(BackendError::Refused(
                "unable to find specified revision 99 in history".into()
            ))
        );
        let list = fx("02-list-deployments.json");
        let orders = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "orders")
            .unwrap()
            .clone();
        assert_eq!(
            undo(&orders, rss, 1, "825"),
            Err(BackendError::Refused("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again".into()))
        );
        let mut unpaused = orders.clone();
        unpaused["spec"]["paused"] = json!(false);
        assert_eq!(
            undo(&unpaused, rss, 1, "825"),
            Err(BackendError::Refused(
                "no rollout history found for deployment \"orders\"".into()
            )),
            "catalog's ReplicaSets are not owned by orders"
        );
    }

    #[test]
    fn history_follows_owner_references_and_revision_numbers() {
        let d = fx("07-get-deployment-catalog-after-undo.json");
        let rss = fx("07-list-replicasets-catalog-after-undo.json");
        let h = owned_history(&d, rss["items"].as_array().unwrap());
        assert_eq!(
            h.iter().map(|(r, _)| *r).collect::<Vec<_>>(),
            vec![1, 3, 4, 5],
            "as kubectl rollout history shows after the undo"
        );
        assert_eq!(annotation(h[3].1, REVISION_HISTORY), Some("2"));
    }

    #[test]
    fn rollout_status_reads_like_kubectl() {
        let mut d = fx("07-rollout-undo-patch-response.json");
        assert_eq!(
            rollout_status(&d).unwrap(),
            (
                "Waiting for deployment spec update to be observed...".into(),
                false
            )
        );
        d = fx("07-get-deployment-catalog-after-undo.json");
        assert_eq!(
            rollout_status(&d).unwrap(),
            (
                "deployment \"catalog\" successfully rolled out".into(),
                true
            )
        );
        d["status"]["updatedReplicas"] = json!(1);
        assert_eq!(
            rollout_status(&d).unwrap().0,
            "Waiting for deployment \"catalog\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        d["status"]["updatedReplicas"] = json!(3);
        d["status"]["replicas"] = json!(4);
        assert_eq!(
            rollout_status(&d).unwrap().0,
            "Waiting for deployment \"catalog\" rollout to finish: 1 old replicas are pending termination..."
        );
        d["status"]["replicas"] = json!(3);
        d["status"]
            .as_object_mut()
            .unwrap()
            .remove("availableReplicas");
        assert_eq!(
            rollout_status(&d).unwrap().0,
            "Waiting for deployment \"catalog\" rollout to finish: 0 of 3 updated replicas are available..."
        );
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]);
        assert_eq!(
            rollout_status(&d),
            Err(BackendError::Failed(
                "deployment \"catalog\" exceeded its progress deadline".into()
            ))
        );
    }
}
