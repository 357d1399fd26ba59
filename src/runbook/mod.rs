//! Runbooks are data: one TOML file per platform kind, embedded in the binary
//! and overridable from the config directory, so teams can encode their own
//! steps without a rebuild.

use crate::core::model::Kind;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Something rbtui does that ticks a step by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoEvent {
    /// Health was looked at and the target's verdict recorded.
    HealthAssessed,
    /// The environment and context were shown and fit the mode.
    ContextVerified,
    /// History was read and a target revision chosen.
    PlanBuilt,
    /// The chosen revision is the last known good one (an earlier incident
    /// recorded it healthy); any other pick ticks nothing.
    LastKnownGoodChosen,
    /// A configured HTTP health probe answered as expected after the rollback.
    ProbeAnswered,
    /// The migration diff was checked and found compatible (or overridden).
    SchemaChecked,
    /// Auto-sync was turned off by the plan.
    AutoSyncDisabled,
    /// Auto-sync was turned back on by its own confirmed plan.
    AutoSyncEnabled,
    /// The rollback API call succeeded.
    RollbackStarted,
    /// The version Compose reads was pinned in its env file and read back.
    InputsPinned,
    /// The rollout converged.
    Converged,
    /// Before/after evidence recorded and replicas verified.
    Verified,
    /// Error rate and latency back under their thresholds.
    MetricsRecovered,
    /// The status message was drafted.
    StatusDrafted,
    /// A commit reverting the bad one is on the checked-out branch of the
    /// target's `repo` (its SHA is the evidence).
    RevertFound,
}

/// One step of a runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// Longer guidance; may use `{target}`, `{bad_rev}`, `{good_rev}`,
    /// `{bad_sha}`, `{good_sha}` which are filled from the last plan.
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub auto: Option<AutoEvent>,
    /// How long a drill may take for this step, measured from the previous
    /// tick; the drill report flags the steps over it.
    #[serde(default)]
    pub budget_secs: Option<i64>,
    /// Shown only for targets that have it: `"iac"` (a target naming its
    /// IaC stack with `iac`, `iac_stack`, `iac_key`).
    #[serde(default)]
    pub needs: Option<String>,
}

/// A checklist for one kind of target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    pub kind: Kind,
    pub title: String,
    #[serde(rename = "step")]
    pub steps: Vec<Step>,
}

const BUILTIN: [(Kind, &str); 4] = [
    (
        Kind::Kubernetes,
        include_str!("../../assets/runbooks/kubernetes.toml"),
    ),
    (
        Kind::Argocd,
        include_str!("../../assets/runbooks/argocd.toml"),
    ),
    (
        Kind::Swarm,
        include_str!("../../assets/runbooks/swarm.toml"),
    ),
    (
        Kind::Compose,
        include_str!("../../assets/runbooks/compose.toml"),
    ),
];

/// Parses a runbook; the error names the file and position.
pub fn parse(origin: &str, text: &str) -> Result<Runbook, String> {
    let rb: Runbook =
        toml::from_str(text).map_err(|e| crate::config::toml_error(origin, text, &e))?;
    let mut seen = std::collections::HashSet::new();
    for s in &rb.steps {
        if !seen.insert(&s.id) {
            return Err(format!("{origin}: duplicate step id `{}`", s.id));
        }
    }
    Ok(rb)
}

/// The embedded runbooks, then any `<dir>/runbooks/<kind>.toml` replacing them.
pub fn load_all(config_dir: Option<&Path>) -> Result<Vec<Runbook>, String> {
    let mut out = Vec::new();
    for (kind, text) in BUILTIN {
        let name = format!("assets/runbooks/{}.toml", kind.label());
        let mut rb = parse(&name, text)?;
        if let Some(dir) = config_dir {
            let p = dir.join("runbooks").join(format!("{}.toml", kind.label()));
            if let Ok(t) = std::fs::read_to_string(&p) {
                rb = parse(&p.display().to_string(), &t)?;
            }
        }
        out.push(rb);
    }
    Ok(out)
}

/// Status message templates overridden in `templates/` next to the config
/// (`p0.txt`, `p1.txt`, `update.txt`, `resolved.txt`); the others stay
/// built in.
pub fn load_comms(
    config_dir: Option<&Path>,
) -> std::collections::HashMap<crate::core::status::Comms, String> {
    let Some(dir) = config_dir else {
        return Default::default();
    };
    crate::core::status::Comms::ALL
        .iter()
        .filter_map(|c| {
            std::fs::read_to_string(dir.join("templates").join(c.file()))
                .ok()
                .map(|t| (*c, t))
        })
        .collect()
}

/// Fills the `{…}` placeholders of a step detail.
pub fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_next_to_the_config_replaces_the_builtin_one_only() {
        use crate::core::status::Comms;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/p1.txt"), "ours: {target}").unwrap();
        let c = load_comms(Some(dir.path()));
        assert_eq!(
            c.get(&Comms::P1).map(String::as_str),
            Some("ours: {target}")
        );
        assert!(!c.contains_key(&Comms::P0), "the others stay built in");
    }

    #[test]
    fn builtin_runbooks_parse_and_cover_every_kind() {
        let all = load_all(None).unwrap();
        assert_eq!(all.len(), 4);
        for rb in &all {
            assert!(rb.steps.len() >= 6, "{:?} too short", rb.kind);
            assert!(
                rb.steps
                    .iter()
                    .any(|s| s.auto == Some(AutoEvent::Converged))
            );
        }
        let argo = all.iter().find(|r| r.kind == Kind::Argocd).unwrap();
        assert!(argo.steps.iter().any(|s| s.id == "reenable-auto-sync"));
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let t =
            "kind='swarm'\ntitle='x'\n[[step]]\nid='a'\ntitle='A'\n[[step]]\nid='a'\ntitle='B'\n";
        assert!(
            parse("x.toml", t)
                .unwrap_err()
                .contains("duplicate step id `a`")
        );
    }
}
