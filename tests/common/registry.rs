//! Debian's `docker-registry` (the CNCF distribution registry), started as
//! its users start it: a config file, filesystem storage, deletes enabled.
#![allow(clippy::unwrap_used)] // a failed unwrap in a test is a failed test

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use std::time::Duration;

pub struct Served {
    child: std::process::Child,
    /// `localhost:PORT`: docker and the OCI client speak plain HTTP to it.
    pub host: String,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start() -> Served {
    let bin = std::env::var("REGISTRY_BIN").unwrap_or_else(|_| "/usr/bin/docker-registry".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.yml");
    std::fs::write(
        &cfg,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let child = std::process::Command::new(&bin)
        .arg("serve")
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "registry did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Served {
        child,
        host: format!("localhost:{port}"),
        _dir: dir,
    }
}

/// A client that speaks plain HTTP to the local registry.
pub fn client(host: &str) -> Client {
    Client::new(ClientConfig {
        protocol: ClientProtocol::HttpsExcept(vec![host.to_string()]),
        ..Default::default()
    })
}

/// Pushes a one-layer image; returns its manifest digest.
pub async fn push(c: &Client, image: &str, content: &str) -> String {
    let r: Reference = image.parse().unwrap();
    let layer = ImageLayer::oci_v1(content.as_bytes().to_vec(), None);
    let config = Config::oci_v1(
        format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"config\":{{\"Labels\":{{\"c\":\"{content}\"}}}}}}").into_bytes(),
        None,
    );
    c.push(&r, &[layer], config, &RegistryAuth::Anonymous, None)
        .await
        .unwrap();
    c.fetch_manifest_digest(&r, &RegistryAuth::Anonymous)
        .await
        .unwrap()
}
