//! What the token may do, asked of Argo CD before the confirm: each
//! action the plan takes (`update` for the auto-sync PATCH, `sync` for the
//! rollback, `get` to read it back) through `GET /api/v1/account/can-i/…`,
//! and the account it belongs to (`/api/v1/session/userinfo`). A token
//! that may PATCH but not sync would otherwise turn auto-sync off and
//! then be refused the rollback, leaving prod on the bad id unguarded.

use super::AppTarget;
use super::client::{ApiError, Client};
use crate::core::action::Rights;
use crate::core::plan::{PlanStep, RollbackPlan};

/// The actions the plan's steps need, in the order they are sent.
pub fn actions_of(plan: &RollbackPlan) -> Vec<&'static str> {
    let mut out = Vec::new();
    let toggles = plan
        .steps
        .iter()
        .any(|s| matches!(s, PlanStep::DisableAutoSync | PlanStep::EnableAutoSync));
    if toggles {
        out.push("update");
    }
    if plan
        .steps
        .iter()
        .any(|s| matches!(s, PlanStep::Rollback { .. }))
    {
        out.push("sync");
    }
    out.push("get");
    out
}

/// The RBAC object of an application: `project/app`, or
/// `project/namespace/app` for an app outside the control plane's namespace.
pub fn rbac_object(project: &str, t: &AppTarget) -> String {
    match &t.app_namespace {
        Some(ns) => format!("{project}/{ns}/{}", t.app),
        None => format!("{project}/{}", t.app),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct CanI {
    value: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct UserInfo {
    username: String,
}

/// Whether the token may `action` the application `object`. The server
/// answers a refusal as 200 `{"value":"no"}`, not as an error.
pub async fn can_i(client: &Client, action: &str, object: &str) -> Result<bool, ApiError> {
    // The route is `{resource}/{action}/{subresource=**}`: the object's
    // slashes stay path separators.
    let path = format!("/api/v1/account/can-i/applications/{action}/{object}");
    let a: CanI = client.get_json(&path, &[], "get", "account/can-i").await?;
    match a.value.as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => Err(ApiError::Malformed(format!(
            "can-i answered {other:?}, neither \"yes\" nor \"no\""
        ))),
    }
}

/// The account the token acts as, where the server says (`None` when
/// userinfo cannot be read: the rights are still asked).
pub async fn account(client: &Client) -> Option<String> {
    let u: UserInfo = client
        .get_json("/api/v1/session/userinfo", &[], "get", "session")
        .await
        .ok()?;
    (!u.username.is_empty()).then(|| format!("Argo CD account {}", u.username))
}

/// Every right the plan needs on `object`, asked one by one.
pub async fn rights(
    client: &Client,
    plan: &RollbackPlan,
    object: &str,
) -> Result<Rights, ApiError> {
    let mut each = Vec::new();
    for action in actions_of(plan) {
        let ok = can_i(client, action, object).await?;
        each.push((ok, format!("{action} applications {object}")));
    }
    Ok(Rights {
        identity: account(client).await,
        each,
    })
}
