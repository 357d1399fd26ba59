//! Health fed by watches (`kube::runtime::watcher`), not periodic lists:
//! one watch for the Deployment (by name) and one for its pods (by the
//! Deployment's selector), each keeping the latest objects as JSON.

use super::DeployTarget;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Watched {
    deployment: Option<Value>,
    pods: BTreeMap<String, Value>,
    deployment_synced: bool,
    pods_synced: bool,
    started: bool,
}

/// The watched objects of every target.
#[derive(Default)]
pub struct Watches {
    map: Mutex<HashMap<String, Watched>>,
}

impl Watches {
    /// Both watches have listed and are streaming.
    pub fn synced(&self, target: &str) -> bool {
        self.map
            .lock()
            .unwrap()
            .get(target)
            .is_some_and(|w| w.deployment_synced && w.pods_synced && w.deployment.is_some())
    }

    pub fn snapshot(&self, target: &str) -> Option<(Value, Vec<Value>)> {
        let m = self.map.lock().unwrap();
        let w = m
            .get(target)
            .filter(|w| w.deployment_synced && w.pods_synced)?;
        Some((w.deployment.clone()?, w.pods.values().cloned().collect()))
    }

    /// Starts the two watches for a target, once.
    pub fn start(self: &Arc<Self>, client: &kube::Client, t: &DeployTarget, pod_selector: &str) {
        {
            let mut m = self.map.lock().unwrap();
            let w = m.entry(t.name.clone()).or_default();
            if w.started {
                return;
            }
            w.started = true;
        }
        let name = t.name.clone();
        let me = Arc::downgrade(self);
        let api: kube::Api<Deployment> = kube::Api::namespaced(client.clone(), &t.namespace);
        let cfg = watcher::Config::default().fields(&format!("metadata.name={}", t.deployment));
        tokio::spawn(async move {
            let mut s = watcher::watcher(api, cfg).default_backoff().boxed();
            while let Some(ev) = s.next().await {
                let Some(w) = me.upgrade() else { return };
                let mut m = w.map.lock().unwrap();
                let e = m.entry(name.clone()).or_default();
                match ev {
                    Ok(Event::Apply(d)) | Ok(Event::InitApply(d)) => {
                        e.deployment = serde_json::to_value(&d).ok()
                    }
                    Ok(Event::Delete(_)) => e.deployment = None,
                    Ok(Event::Init) => e.deployment_synced = false,
                    Ok(Event::InitDone) => e.deployment_synced = true,
                    Err(_) => e.deployment_synced = false,
                }
            }
        });
        let name = t.name.clone();
        let me = Arc::downgrade(self);
        let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), &t.namespace);
        let cfg = watcher::Config::default().labels(pod_selector);
        tokio::spawn(async move {
            let mut s = watcher::watcher(api, cfg).default_backoff().boxed();
            let mut fresh: BTreeMap<String, Value> = BTreeMap::new();
            while let Some(ev) = s.next().await {
                let Some(w) = me.upgrade() else { return };
                let mut m = w.map.lock().unwrap();
                let e = m.entry(name.clone()).or_default();
                let key = |p: &Pod| p.metadata.name.clone().unwrap_or_default();
                match ev {
                    Ok(Event::Apply(p)) => {
                        e.pods
                            .insert(key(&p), serde_json::to_value(&p).unwrap_or_default());
                    }
                    Ok(Event::Delete(p)) => {
                        e.pods.remove(&key(&p));
                    }
                    Ok(Event::Init) => {
                        fresh.clear();
                        e.pods_synced = false;
                    }
                    Ok(Event::InitApply(p)) => {
                        fresh.insert(key(&p), serde_json::to_value(&p).unwrap_or_default());
                    }
                    Ok(Event::InitDone) => {
                        e.pods = std::mem::take(&mut fresh);
                        e.pods_synced = true;
                    }
                    Err(_) => e.pods_synced = false,
                }
            }
        });
    }
}
