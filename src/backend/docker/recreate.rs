//! The body of a container recreated on another image, the way Compose
//! would create it: everything the service's definition set on the old
//! container is kept (command, health check, hostname, stop timeout, network
//! aliases, …); what the old *image* supplied is left to the new image.
//!
//! A container's inspected config is the image's config merged with the
//! service's. Copying it whole would pin the old image's CMD, ENV, health
//! check and labels onto the new one; copying only a few fields lost the
//! service's aliases, health check and command (a neighbour logged "name web
//! does not resolve", and a container with no health check counted as
//! healthy at once). A field equal to the old image's own value came from
//! the image; anything else came from the service.

use bollard::models::{
    ContainerConfig, ContainerCreateBody, ContainerInspectResponse, EndpointSettings, ImageConfig,
    NetworkingConfig,
};
use std::collections::HashMap;

/// Compose's hash of the service definition, kept on the new container:
/// the definition did not change, and without it Compose no longer owns the
/// container (v2's `ps` does not list it, `down` leaves it running, the
/// next `up` fails on its name). v1 hashes the image id in too, so its
/// `up -d` leaves the rolled-back container as it is; v2 compares the
/// image digest label (set to the new image below) and recreates what the
/// file names.
pub const CONFIG_HASH: &str = "com.docker.compose.config-hash";

/// The create body for `old` on `image` (whose id is `image_id`).
pub fn body(
    old: &ContainerInspectResponse,
    old_image: &ImageConfig,
    image: &str,
    image_id: &str,
) -> ContainerCreateBody {
    let c: ContainerConfig = old.config.clone().unwrap_or_default();
    let short_id: String = old
        .id
        .clone()
        .unwrap_or_default()
        .chars()
        .take(12)
        .collect();
    // Kept unless it is exactly what the old image supplied.
    fn own<T: PartialEq + Clone>(v: &Option<T>, image: &Option<T>) -> Option<T> {
        v.clone().filter(|v| image.as_ref() != Some(v))
    }
    let image_env: Vec<String> = old_image.env.clone().unwrap_or_default();
    let env: Vec<String> = c
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !image_env.contains(e))
        .collect();
    let image_labels = old_image.labels.clone().unwrap_or_default();
    let mut labels: HashMap<String, String> = c
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, v)| image_labels.get(k) != Some(v))
        .collect();
    // Compose v2 records the image id it created from; v1 does not.
    if let Some(v) = labels.get_mut("com.docker.compose.image") {
        *v = image_id.to_string();
    }
    // Docker names a container's host after its short id unless told.
    let hostname = c
        .hostname
        .clone()
        .filter(|h| !h.is_empty() && *h != short_id);
    ContainerCreateBody {
        image: Some(image.to_string()),
        hostname,
        domainname: c.domainname.clone().filter(|d| !d.is_empty()),
        user: own(&c.user, &old_image.user).filter(|u| !u.is_empty()),
        exposed_ports: own(&c.exposed_ports, &old_image.exposed_ports),
        tty: c.tty,
        open_stdin: c.open_stdin,
        stdin_once: c.stdin_once,
        attach_stdin: c.attach_stdin,
        attach_stdout: c.attach_stdout,
        attach_stderr: c.attach_stderr,
        env: Some(env),
        cmd: own(&c.cmd, &old_image.cmd),
        entrypoint: own(&c.entrypoint, &old_image.entrypoint),
        healthcheck: own(&c.healthcheck, &old_image.healthcheck),
        volumes: own(&c.volumes, &old_image.volumes),
        working_dir: own(&c.working_dir, &old_image.working_dir).filter(|w| !w.is_empty()),
        stop_signal: own(&c.stop_signal, &old_image.stop_signal),
        stop_timeout: own(&c.stop_timeout, &old_image.stop_timeout),
        shell: own(&c.shell, &old_image.shell),
        labels: Some(labels),
        host_config: old.host_config.clone(),
        networking_config: networking(old, &short_id),
        ..Default::default()
    }
}

/// Every network the old container was on, with the aliases the service
/// gave it (not the ones Docker adds itself: the short id) and any fixed
/// address or links.
fn networking(old: &ContainerInspectResponse, short_id: &str) -> Option<NetworkingConfig> {
    let nets = old.network_settings.as_ref()?.networks.as_ref()?;
    let endpoints = nets
        .iter()
        .map(|(name, e)| {
            let aliases: Vec<String> = e
                .aliases
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a != short_id)
                .collect();
            (
                name.clone(),
                EndpointSettings {
                    aliases: (!aliases.is_empty()).then_some(aliases),
                    ipam_config: e.ipam_config.clone(),
                    links: e.links.clone(),
                    driver_opts: e.driver_opts.clone(),
                    gw_priority: e.gw_priority,
                    ..Default::default()
                },
            )
        })
        .collect();
    Some(NetworkingConfig {
        endpoints_config: Some(endpoints),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{HealthConfig, NetworkSettings};

    fn old() -> (ContainerInspectResponse, ImageConfig) {
        let image_hc = HealthConfig {
            test: Some(vec!["CMD".into(), "/health".into()]),
            ..Default::default()
        };
        let image = ImageConfig {
            env: Some(vec!["PATH=/bin".into()]),
            cmd: Some(vec!["httpd".into()]),
            healthcheck: Some(image_hc),
            labels: Some(HashMap::from([(
                "org.opencontainers.image.version".into(),
                "v3".into(),
            )])),
            ..Default::default()
        };
        let service_hc = HealthConfig {
            test: Some(vec!["CMD".into(), "/version".into()]),
            ..Default::default()
        };
        let c = ContainerConfig {
            hostname: Some("web-host".into()),
            env: Some(vec!["PATH=/bin".into(), "APP_MODE=shop".into()]),
            cmd: Some(vec!["httpd".into()]),
            healthcheck: Some(service_hc),
            stop_timeout: Some(7),
            labels: Some(HashMap::from([
                ("org.opencontainers.image.version".into(), "v3".into()),
                ("com.docker.compose.service".into(), "web".into()),
                (CONFIG_HASH.into(), "f5ad".into()),
            ])),
            ..Default::default()
        };
        let mut nets = HashMap::new();
        nets.insert(
            "shop_back".to_string(),
            EndpointSettings {
                aliases: Some(vec!["web".into(), "shopweb".into(), "0123456789ab".into()]),
                ip_address: Some("172.19.0.2".into()),
                endpoint_id: Some("e".into()),
                ..Default::default()
            },
        );
        let insp = ContainerInspectResponse {
            id: Some("0123456789abcdef".into()),
            config: Some(c),
            network_settings: Some(NetworkSettings {
                networks: Some(nets),
                ..Default::default()
            }),
            ..Default::default()
        };
        (insp, image)
    }

    #[test]
    fn the_services_settings_are_kept_and_the_old_images_are_not() {
        let (c, img) = old();
        let b = body(&c, &img, "web:v1", "sha256:1");
        assert_eq!(b.hostname.as_deref(), Some("web-host"));
        assert_eq!(b.stop_timeout, Some(7));
        assert_eq!(
            b.healthcheck.unwrap().test.unwrap(),
            ["CMD", "/version"],
            "the service's health check"
        );
        assert_eq!(b.cmd, None, "the image's CMD is the new image's to give");
        assert_eq!(b.env.unwrap(), ["APP_MODE=shop"]);
        let labels = b.labels.unwrap();
        assert!(!labels.contains_key("org.opencontainers.image.version"));
        assert_eq!(labels[CONFIG_HASH], "f5ad", "Compose keeps owning it");
        assert_eq!(labels["com.docker.compose.service"], "web");
        let e = &b.networking_config.unwrap().endpoints_config.unwrap()["shop_back"];
        assert_eq!(e.aliases.as_deref().unwrap(), ["web", "shopweb"]);
        assert_eq!(e.ip_address, None, "the address is the engine's to give");
    }

    #[test]
    fn a_hostname_that_is_the_short_id_is_the_engines_default() {
        let (mut c, img) = old();
        c.config.as_mut().unwrap().hostname = Some("0123456789ab".into());
        assert_eq!(body(&c, &img, "web:v1", "x").hostname, None);
    }
}
