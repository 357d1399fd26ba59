//! Swarm keeps one previous spec and Compose none: the images rbtui itself
//! rolled a target back to, read from earlier incident notes, are offered as
//! history too (said so in each entry).

use super::Backend;
use crate::core::model::{History, ImageRef, Kind, Revision, TargetInfo};
use crate::note::resume::Deployed;
use std::sync::Arc;

pub struct NotesHistory {
    inner: Arc<dyn Backend>,
    deployed: Vec<Deployed>,
    kinds: std::sync::Mutex<std::collections::HashMap<String, Kind>>,
}

/// Every `deployed` marker in the Markdown files of `dir` (but `skip`).
pub fn read_dir(dir: &std::path::Path, skip: &std::path::Path) -> Vec<Deployed> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "md") && p != skip {
            if let Ok(t) = std::fs::read_to_string(&p) {
                out.extend(crate::note::resume::parse(&t).deployed);
            }
        }
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.at));
    out
}

impl NotesHistory {
    pub fn new(inner: Arc<dyn Backend>, deployed: Vec<Deployed>) -> NotesHistory {
        NotesHistory {
            inner,
            deployed,
            kinds: Default::default(),
        }
    }

    fn augment(&self, mut h: History) -> History {
        // Any kind: a revision running an image an earlier rollback
        // replaced is known bad (after a Swarm rollback, "previous" is it).
        let bad: Vec<ImageRef> = self
            .deployed
            .iter()
            .filter(|d| d.target == h.target)
            .flat_map(|d| d.from.iter().map(|f| ImageRef::parse(f)))
            .collect();
        for r in &h.revisions {
            let is_bad = !r.current
                && r.images.iter().any(|i| bad.iter().any(|b| b.same_build(i)))
                && !h.known_bad.contains(&r.id);
            if is_bad {
                h.known_bad.push(r.id.clone());
            }
        }
        let kind = self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&h.target)
            .copied();
        if !matches!(kind, Some(Kind::Swarm) | Some(Kind::Compose)) {
            return h;
        }
        let mut n = 0;
        for d in self.deployed.iter().filter(|d| d.target == h.target) {
            let img = ImageRef::parse(&d.image);
            if h.revisions
                .iter()
                .any(|r| r.images.iter().any(|i| i.full() == img.full()))
            {
                continue;
            }
            n += 1;
            h.revisions.push(Revision {
                id: format!("note-{n}").into(),
                deployed_at: d.at,
                images: vec![img],
                git_sha: None,
                message: format!(
                    "rolled back to by rbtui in incident {} (from its note)",
                    d.incident
                ),
                author: Some("rbtui".into()),
                current: false,
            });
        }
        if n > 0 {
            let note = h.facts.history_note.take().unwrap_or_default();
            h.facts.history_note = Some(format!(
                "{note}; {n} entr{} from earlier rbtui notes",
                if n == 1 { "y" } else { "ies" }
            ));
        }
        h
    }
}

impl super::layer::Layer for NotesHistory {
    fn inner(&self) -> &Arc<dyn Backend> {
        &self.inner
    }
    fn listed(&self, targets: &[TargetInfo]) {
        *self
            .kinds
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            targets.iter().map(|t| (t.name.clone(), t.kind)).collect();
    }
    fn history(&self, h: History) -> History {
        self.augment(h)
    }
}
