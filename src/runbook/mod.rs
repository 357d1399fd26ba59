//! Runbooks are data: one TOML file per platform kind, embedded in the binary
//! and overridable from the config directory, so teams can encode their own
//! steps without a rebuild.

use crate::core::model::Kind;
pub use crate::core::runbook::{AutoEvent, Runbook, Step, fill};
use std::path::Path;

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
            // The second `id = "…"` line naming it: where the operator looks.
            let quoted = [format!("\"{}\"", s.id), format!("'{}'", s.id)];
            let at = text
                .lines()
                .enumerate()
                .filter(|(_, l)| {
                    let t = l.trim_start();
                    t.strip_prefix("id")
                        .is_some_and(|r| r.trim_start().starts_with('='))
                        && quoted.iter().any(|q| t.contains(q.as_str()))
                })
                .nth(1)
                .map(|(i, l)| format!("{}:{}", i + 1, l.len() - l.trim_start().len() + 1))
                .unwrap_or_else(|| "1:1".into());
            return Err(format!("{origin}:{at}: duplicate step id `{}`", s.id));
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
            if let Some(t) = crate::files::read_optional(&p, "a runbook", crate::files::SMALL_CAP)?
            {
                rb = parse(&p.display().to_string(), &t)?;
            }
        }
        out.push(rb);
    }
    Ok(out)
}

/// Status message templates overridden in `templates/` next to the config
/// (`p0.txt`, `p1.txt`, `update.txt`, `resolved.txt`); the others stay
/// built in. A template that stands there but cannot be read is an
/// error: a status message silently sent from the built-in text is not
/// the one the team wrote.
pub fn load_comms(
    config_dir: Option<&Path>,
) -> Result<std::collections::HashMap<crate::core::status::Comms, String>, String> {
    let Some(dir) = config_dir else {
        return Ok(Default::default());
    };
    let mut out = std::collections::HashMap::new();
    for c in crate::core::status::Comms::ALL {
        let p = dir.join("templates").join(c.file());
        if let Some(t) =
            crate::files::read_optional(&p, "a status template", crate::files::SMALL_CAP)?
        {
            out.insert(c, t);
        }
    }
    Ok(out)
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
        let c = load_comms(Some(dir.path())).unwrap();
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
        assert_eq!(
            parse("x.toml", t).unwrap_err(),
            "x.toml:7:1: duplicate step id `a`"
        );
    }
}
