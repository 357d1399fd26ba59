//! The steps a plan runs, in order, and the input edits a Compose rollback
//! makes: what the confirm shows and the executor performs.

use super::*;

/// One mutation or watch the executor performs, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlanStep {
    /// Argo CD: turn auto-sync off so it cannot re-sync the bad HEAD.
    DisableAutoSync,
    /// Argo CD: turn auto-sync back on, once the bad commit is reverted.
    EnableAutoSync,
    /// A file the platform deploys from, changed before the rollback
    /// (backed up first, recorded as its own step).
    EditInput(InputEdit),
    /// The rollback itself; `via` is the platform's own command when it
    /// does the work (Compose recreating from its pinned inputs).
    Rollback {
        to: RevisionId,
        #[serde(default)]
        via: Option<String>,
        /// Images set to the digest the revision's pods ran instead of the
        /// mutable tag its template names (Kubernetes): a tag that moved
        /// since would otherwise deploy another build.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pin: Vec<ImagePin>,
    },
    /// Re-tag: the mutable tag `image` (`repo:latest`) is pointed at the
    /// manifest `to` in the registry, if it still resolves to `from`.
    Retag {
        image: String,
        from: String,
        to: String,
    },
    /// Restart the workload so it pulls its (re-tagged) image again.
    Restart,
    /// Watch until converged, failed or timed out.
    WaitForRollout { timeout_secs: i64 },
    /// Re-read health and record before/after evidence.
    Verify,
}

/// One image reference the rollback writes instead of the template's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImagePin {
    /// As the revision's template names it (`repo:main`).
    pub from: String,
    /// The digest its pods ran (`repo@sha256:…`).
    pub to: String,
}

/// A change to a deploy input file, as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum InputEdit {
    /// `var=to` in `file` (was `from`).
    PinVar {
        file: String,
        var: String,
        from: Option<String>,
        to: String,
    },
    /// The versioned manifest copied over the live one.
    SwapManifest { live: String, versioned: String },
}

impl InputEdit {
    /// Where its backup goes: beside the file, so the restore is a `cp`.
    pub fn backup_of(file: &str) -> String {
        format!("{file}.rbtui-bak")
    }
}

impl PlanStep {
    /// True for the steps that change the target.
    pub fn mutates(&self) -> bool {
        matches!(
            self,
            PlanStep::DisableAutoSync
                | PlanStep::EnableAutoSync
                | PlanStep::EditInput(_)
                | PlanStep::Rollback { .. }
                | PlanStep::Retag { .. }
                | PlanStep::Restart
        )
    }

    /// The exact words of a step, from the plan's data and the platform's
    /// vocabulary; shared by the confirm dialog and the note.
    pub fn words(&self, t: &TargetInfo, from: &Revision) -> String {
        match self {
            PlanStep::DisableAutoSync => format!(
                "Disable auto-sync on Argo CD application {} (merge PATCH automated.enabled=false, prune/selfHeal kept; before v3.1 the automated block is removed and saved on the app for re-enable)",
                t.object()
            ),
            PlanStep::EnableAutoSync => format!(
                "Re-enable auto-sync on Argo CD application {} (merge PATCH automated.enabled=true; before v3.1 the saved automated block restored as it was); Argo CD then syncs HEAD",
                t.object()
            ),
            PlanStep::EditInput(InputEdit::PinVar {
                file,
                var,
                from: was,
                to,
            }) => format!(
                "Pin {var}={to} in {file} (was {}; backup {})",
                was.as_deref().unwrap_or("unset"),
                InputEdit::backup_of(file)
            ),
            PlanStep::EditInput(InputEdit::SwapManifest { live, versioned }) => format!(
                "Copy manifest {versioned} over {live} (image and manifest as a pair; backup {})",
                InputEdit::backup_of(live)
            ),
            PlanStep::Rollback {
                to, via: Some(cmd), ..
            } => format!(
                "Run `{cmd}`: Compose recreates {} on {to} from its own files (networks, aliases, health check and volumes as the project defines them)",
                t.object()
            ),
            PlanStep::Rollback { to, pin, .. } if !pin.is_empty() => format!(
                "Roll back deployment {} from revision {} to revision {to}'s template with each mutable tag pinned to the digest its pods ran: {} (a new ReplicaSet and revision number; `kubectl rollout undo` would restore the tags as written)",
                t.object(),
                from.id,
                pin.iter()
                    .map(|p| format!("{} -> {}", p.from, p.to))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            PlanStep::Rollback { to, .. } => match t.kind {
                Kind::Argocd => format!(
                    "Roll back {} to history id {to} (POST /rollback {{id: {to}, prune: false, dryRun: false}})",
                    t.object()
                ),
                Kind::Kubernetes => format!(
                    "Roll back deployment {} from revision {} to revision {to} (kubectl rollout undo --to-revision={to} semantics)",
                    t.object(),
                    from.id
                ),
                Kind::Swarm if to == "previous" => format!(
                    "Roll back service {} to the engine's previous spec (rollback=previous: the whole previous spec returns, image, env and all)",
                    t.object()
                ),
                Kind::Swarm => format!(
                    "Update service {} from spec {}: only the image changes, to the reference of spec {to} (pinned by digest only if that reference carries one)",
                    t.object(),
                    from.id
                ),
                Kind::Compose => format!(
                    "Recreate compose service {} on image {to} from each container's inspected settings (image and manifest as a pair; an image the engine lacks is pulled first and must match the planned digest); Compose's own files are left as they are (see `inputs`)",
                    t.object()
                ),
            },
            PlanStep::Retag { image, from, to } => format!(
                "Re-tag {image} in the registry: point it at {} (was {}), only if it still resolves to {}; NO GIT TRACE",
                crate::core::model::short_digest(to),
                crate::core::model::short_digest(from),
                crate::core::model::short_digest(from)
            ),
            PlanStep::Restart => format!(
                "Restart deployment {} (kubectl rollout restart: a restartedAt annotation on the pod template) so its pods pull the re-tagged image",
                t.object()
            ),
            PlanStep::WaitForRollout { timeout_secs } => {
                format!(
                    "Watch the rollout until it converges, fails or times out ({})",
                    crate::core::fmt::age(*timeout_secs)
                )
            }
            PlanStep::Verify => "Verify: re-read health, record before/after evidence".to_string(),
        }
    }
}
