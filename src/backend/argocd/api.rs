//! The parts of Argo CD's REST types rbtui reads (names as in the swagger).
//! Everything is optional: servers of different versions omit different
//! fields, and a missing field must never fail the whole read.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    pub metadata: Meta,
    pub spec: Spec,
    pub status: Status,
    pub operation: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub name: String,
    pub namespace: Option<String>,
    pub resource_version: Option<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Spec {
    pub project: Option<String>,
    pub source: Option<Source>,
    pub sources: Vec<Source>,
    pub sync_policy: Option<SyncPolicy>,
    pub destination: Option<Destination>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Destination {
    pub server: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncPolicy {
    pub automated: Option<Automated>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Automated {
    /// v3.1+: `false` keeps prune/selfHeal settings but turns auto-sync off.
    pub enabled: Option<bool>,
    pub prune: Option<bool>,
    pub self_heal: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Source {
    #[serde(rename = "repoURL")]
    pub repo_url: Option<String>,
    pub path: Option<String>,
    pub target_revision: Option<String>,
    pub chart: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Status {
    pub sync: SyncStatus,
    pub health: HealthStatus,
    pub history: Vec<RevisionHistory>,
    pub operation_state: Option<OperationState>,
    pub summary: Summary,
    pub reconciled_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncStatus {
    pub status: Option<String>,
    pub revision: Option<String>,
    pub revisions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct HealthStatus {
    pub status: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    pub images: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct RevisionHistory {
    pub id: i64,
    pub revision: Option<String>,
    pub revisions: Vec<String>,
    pub deployed_at: Option<String>,
    pub deploy_started_at: Option<String>,
    pub source: Option<Source>,
    pub sources: Vec<Source>,
    pub initiated_by: Option<Initiator>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Initiator {
    pub username: Option<String>,
    pub automated: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationState {
    pub phase: Option<String>,
    pub message: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub sync_result: Option<SyncResult>,
    pub operation: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct SyncResult {
    pub revision: Option<String>,
    pub revisions: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ApplicationList {
    pub items: Vec<Application>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Node {
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub health: Option<HealthStatus>,
    pub images: Vec<String>,
    pub info: Vec<InfoItem>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct InfoItem {
    pub name: String,
    pub value: String,
}

/// The grpc-gateway error body.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct ErrorBody {
    pub error: String,
    pub code: i64,
    pub message: String,
}

/// One line of `/api/v1/stream/applications`.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamLine {
    pub result: Option<WatchEvent>,
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WatchEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub application: Application,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default)]
pub struct Version {
    #[serde(rename = "Version")]
    pub version: String,
}

impl Application {
    /// Auto-sync is on when `automated` is present and not `enabled: false`.
    pub fn auto_sync(&self) -> bool {
        self.spec
            .sync_policy
            .as_ref()
            .and_then(|p| p.automated.as_ref())
            .is_some_and(|a| a.enabled != Some(false))
    }

    /// Health status, `Unknown` when the server sent none.
    pub fn health_status(&self) -> String {
        self.status
            .health
            .status
            .clone()
            .unwrap_or_else(|| "Unknown".into())
    }

    /// Sync status, `Unknown` when the server sent none.
    pub fn sync_status(&self) -> String {
        self.status
            .sync
            .status
            .clone()
            .unwrap_or_else(|| "Unknown".into())
    }

    /// What the source points at now (`status.sync.revision`), or a
    /// multi-source app's first source's (`status.sync.revisions[0]`),
    /// which is all a single commit can say of it.
    pub fn head(&self) -> Option<String> {
        let s = &self.status.sync;
        s.revision
            .clone()
            .filter(|r| !r.is_empty())
            .or_else(|| s.revisions.first().cloned())
            .filter(|r| !r.is_empty())
    }

    pub fn current_history(&self) -> Option<&RevisionHistory> {
        self.status.history.iter().max_by_key(|h| h.id)
    }

    /// What the plan is pinned to: the newest history id and the sync revision.
    pub fn version_token(&self) -> String {
        // Auto-sync is part of "the target changed": turned on between
        // plan and confirm, the plan is rebuilt.
        format!(
            "history:{} sync:{} auto:{}",
            self.current_history().map(|h| h.id).unwrap_or(0),
            // Every source's: a multi-source app sets no `revision`.
            match (&self.status.sync.revision, &self.status.sync.revisions) {
                (Some(r), _) if !r.is_empty() => r.clone(),
                (_, rs) if !rs.is_empty() => rs.join(","),
                _ => "-".into(),
            },
            if self.auto_sync() { "on" } else { "off" }
        )
    }

    pub fn op_running(&self) -> Option<String> {
        let op = self.status.operation_state.as_ref()?;
        (op.phase.as_deref() == Some("Running") || op.phase.as_deref() == Some("Terminating")).then(
            || {
                format!(
                    "{} {}",
                    op.phase.clone().unwrap_or_default(),
                    op.message.clone().unwrap_or_default()
                )
                .trim()
                .to_string()
            },
        )
    }
}

impl RevisionHistory {
    /// The git SHA (or the first of a multi-source app's revisions).
    pub fn sha(&self) -> Option<&str> {
        self.revision
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.revisions.first().map(String::as_str))
    }
}

/// `GET /api/v1/applications/{name}/manifests`: the rendered manifests of
/// a revision, each a JSON document in a string.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Manifests {
    pub manifests: Vec<String>,
    pub revision: Option<String>,
}
