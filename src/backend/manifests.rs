//! Platform objects rendered for a "what changes" diff: as YAML, in a
//! stable order, with every value that may be a secret replaced by a short
//! digest (a change still shows; the value never reaches screen or note).

use serde_json::{Value, json};
use sha2::Digest;

/// The object with env values and Secret data hidden.
pub fn hidden(v: &Value) -> Value {
    let mut v = v.clone();
    hide(&mut v);
    v
}

fn digest(s: &str) -> Value {
    let d = sha2::Sha256::digest(s.as_bytes());
    let short: String = d.iter().take(4).map(|b| format!("{b:02x}")).collect();
    json!(format!("(hidden, sha256 {short}…)"))
}

fn hide(v: &mut Value) {
    let secret = v["kind"] == "Secret";
    match v {
        Value::Object(m) => {
            if secret {
                for key in ["data", "stringData"] {
                    if let Some(Value::Object(d)) = m.get_mut(key) {
                        for val in d.values_mut() {
                            *val = digest(&val.to_string());
                        }
                    }
                }
            }
            // Docker's `Env`: "KEY=value" strings.
            if let Some(Value::Array(env)) = m.get_mut("Env") {
                for e in env.iter_mut() {
                    if let Some((k, val)) = e.as_str().and_then(|x| x.split_once('=')) {
                        let d = digest(val);
                        *e = json!(format!("{k}={}", d.as_str().unwrap_or_default()));
                    }
                }
            }
            if let Some(Value::Array(env)) = m.get_mut("env") {
                for e in env {
                    if let Some(val) = e.get_mut("value").filter(|x| x.is_string()) {
                        *val = digest(val.as_str().unwrap_or_default());
                    }
                }
            }
            for (_, child) in m.iter_mut() {
                hide(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(hide),
        _ => {}
    }
}

/// Objects as one YAML stream, sorted by kind, namespace and name so two
/// renderings of the same set diff line by line.
pub fn yaml_stream(objects: &[Value]) -> String {
    let key = |o: &Value| {
        (
            o["kind"].as_str().unwrap_or_default().to_string(),
            o["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    };
    let mut objs: Vec<&Value> = objects.iter().collect();
    objs.sort_by_key(|o| key(o));
    objs.iter()
        .map(|o| serde_yaml_ng::to_string(&hidden(o)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal env value or a Secret's data may be a secret: the diff
    /// says it changed, never what it was or is.
    #[test]
    fn secrets_are_hidden_but_their_change_shows() {
        let t = |v: &str| json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "app", "env": [{"name": "TOKEN", "value": v}, {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}]}}}});
        let (a, b) = (hidden(&t("s3cr3t-old")), hidden(&t("s3cr3t-new")));
        let text = format!("{a} {b}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert_ne!(a, b, "a changed value still reads as changed");
        let s = yaml_stream(&[
            json!({"kind": "Secret", "metadata": {"name": "db"}, "data": {"password": "aHVudGVyMg=="}}),
        ]);
        assert!(!s.contains("aHVudGVyMg"), "{s}");
        assert!(s.contains("password: (hidden, sha256"), "{s}");
        let docker =
            hidden(&json!({"ContainerSpec": {"Env": ["DB_PASSWORD=hunter2", "MODE=fast"]}}));
        let text = docker.to_string();
        assert!(
            !text.contains("hunter2") && text.contains("DB_PASSWORD=(hidden"),
            "{text}"
        );
    }
}
