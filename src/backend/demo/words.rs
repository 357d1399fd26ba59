//! How each platform says where a rollout stands, so the demo's progress
//! reads as its platform's would: `kubectl rollout status` for a
//! Deployment, the sync operation and health for an Argo CD app, the
//! UpdateStatus for a Swarm service, the recreated containers for Compose.

use crate::core::model::Kind;

/// Where a simulated rollout stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Nothing updated yet.
    Observing,
    /// `updated` of the new replicas exist; the new ones keep crashing.
    Crashing {
        updated: u32,
    },
    Updating {
        updated: u32,
    },
    Terminating {
        old: u32,
    },
    Available {
        ready: u32,
    },
    Done,
    /// The progress deadline passed with the new replicas crashing.
    Deadline,
}

pub fn say(kind: Kind, name: &str, d: u32, stage: Stage) -> String {
    match kind {
        Kind::Kubernetes => kubectl(name, d, stage),
        Kind::Argocd => argocd(d, stage),
        Kind::Swarm => swarm(name, d, stage),
        Kind::Compose => compose(name, d, stage),
    }
}

fn kubectl(name: &str, d: u32, stage: Stage) -> String {
    match stage {
        Stage::Observing => "Waiting for deployment spec update to be observed...".into(),
        Stage::Crashing { updated } | Stage::Updating { updated } => format!(
            "Waiting for rollout to finish: {updated} out of {d} new replicas have been updated..."
        ),
        Stage::Terminating { old } => {
            format!("Waiting for rollout to finish: {old} old replicas are pending termination...")
        }
        Stage::Available { ready } => {
            format!(
                "Waiting for rollout to finish: {ready} of {d} updated replicas are available..."
            )
        }
        Stage::Done => format!("deployment \"{name}\" successfully rolled out"),
        Stage::Deadline => format!(
            "deployment \"{name}\" exceeded its progress deadline (ProgressDeadlineExceeded): new pods crash-looping"
        ),
    }
}

fn argocd(d: u32, stage: Stage) -> String {
    match stage {
        Stage::Observing => "sync operation Running: rollback accepted; health Progressing".into(),
        Stage::Crashing { updated } => format!(
            "sync operation Running: {updated} of {d} new pods started, none ready (CrashLoopBackOff); health Progressing"
        ),
        Stage::Updating { updated } => {
            format!("sync operation Running: {updated} of {d} pods on the target revision; health Progressing")
        }
        Stage::Terminating { old } => {
            format!("sync operation Succeeded; {old} old pods terminating; health Progressing")
        }
        Stage::Available { ready } => {
            format!("sync operation Succeeded; {ready} of {d} pods ready; health Progressing")
        }
        Stage::Done => {
            "sync operation Succeeded at the target revision; health Healthy (OutOfSync with HEAD is expected)".into()
        }
        Stage::Deadline => {
            "sync operation Succeeded; health Degraded: the new pods crash-loop (progress deadline exceeded)".into()
        }
    }
}

fn swarm(name: &str, d: u32, stage: Stage) -> String {
    match stage {
        Stage::Observing => format!("UpdateStatus updating: update of service {name} started"),
        Stage::Crashing { updated } => format!(
            "UpdateStatus updating: {updated} of {d} tasks updated; the new tasks fail (task: non-zero exit (1))"
        ),
        Stage::Updating { updated } => {
            format!("UpdateStatus updating: {updated} of {d} tasks updated")
        }
        Stage::Terminating { old } => {
            format!("UpdateStatus updating: {old} old tasks shutting down")
        }
        Stage::Available { ready } => {
            format!("UpdateStatus updating: {ready} of {d} new tasks running")
        }
        Stage::Done => {
            format!("UpdateStatus completed: service {name} converged ({d}/{d} tasks running)")
        }
        Stage::Deadline => {
            "UpdateStatus paused: update paused due to failure or early termination of task".into()
        }
    }
}

fn compose(name: &str, d: u32, stage: Stage) -> String {
    match stage {
        Stage::Observing => format!("Recreating {name}: 0 of {d} containers recreated"),
        Stage::Crashing { updated } => {
            format!(
                "Recreating {name}: {updated} of {d} containers recreated; they keep restarting (exit 1)"
            )
        }
        Stage::Updating { updated } => {
            format!("Recreating {name}: {updated} of {d} containers recreated")
        }
        Stage::Terminating { old } => format!("Recreating {name}: {old} old containers stopping"),
        Stage::Available { ready } => {
            format!("Recreating {name}: {ready} of {d} containers healthy")
        }
        Stage::Done => format!("{name}: {d} of {d} containers running and healthy"),
        Stage::Deadline => {
            format!("{name}: the recreated containers keep restarting (Restarting (1))")
        }
    }
}
