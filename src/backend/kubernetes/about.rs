//! `rbtui check`: the API server's version and the kubeconfig rbtui
//! reads its credentials from.

use super::{KubeBackend, request_error};
use crate::backend::About;
use crate::core::action::BackendError;

impl KubeBackend {
    pub(super) async fn about_here(&self) -> Result<About, BackendError> {
        let v = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| request_error(&e, "get", "/version"))?;
        let file = std::env::var("KUBECONFIG").unwrap_or_else(|_| "~/.kube/config".into());
        let user = self
            .kubeconfig_user
            .as_deref()
            .map(|u| format!(", user {u}"))
            .unwrap_or_default();
        Ok(About {
            version: format!("Kubernetes {}", v.git_version),
            credentials: format!("kubeconfig {file} ({}{user})", self.location),
        })
    }
}
