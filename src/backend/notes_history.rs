//! Swarm keeps one previous spec and Compose none: the images rbtui itself
//! rolled a target back to, read from earlier incident notes, are offered as
//! history too (said so in each entry).

use super::{Backend, BoxFut, StepDone};
use crate::core::action::ExecError;
use crate::core::migration::MigrationDiff;
use crate::core::model::{Health, History, ImageRef, Kind, Progress, Revision, TargetInfo};
use crate::core::plan::{PlanStep, RollbackPlan};
use crate::note::resume::Deployed;
use std::sync::Arc;
use std::time::Duration;

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
        let kind = self.kinds.lock().unwrap().get(&h.target).copied();
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
                id: format!("note-{n}"),
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

impl Backend for NotesHistory {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn targets(&self) -> BoxFut<'_, Result<Vec<TargetInfo>, String>> {
        Box::pin(async move {
            let t = self.inner.targets().await?;
            *self.kinds.lock().unwrap() = t.iter().map(|t| (t.name.clone(), t.kind)).collect();
            Ok(t)
        })
    }
    fn health_all(&self) -> BoxFut<'_, Vec<Result<Health, (String, String)>>> {
        self.inner.health_all()
    }
    fn health<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<Health, String>> {
        self.inner.health(target)
    }
    fn history<'a>(&'a self, target: &'a str) -> BoxFut<'a, Result<History, String>> {
        Box::pin(async move { self.inner.history(target).await.map(|h| self.augment(h)) })
    }
    fn migrations<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Result<MigrationDiff, String>> {
        self.inner.migrations(plan)
    }
    fn execute<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<StepDone, ExecError>> {
        self.inner.execute(plan, step)
    }
    fn progress<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Result<Progress, String>> {
        self.inner.progress(plan)
    }
    fn settle<'a>(
        &'a self,
        plan: &'a RollbackPlan,
        step: &'a PlanStep,
    ) -> BoxFut<'a, Result<super::Settled, String>> {
        self.inner.settle(plan, step)
    }
    fn poll_interval(&self) -> Duration {
        self.inner.poll_interval()
    }
    fn preview<'a>(&'a self, plan: &'a RollbackPlan) -> BoxFut<'a, Option<Result<String, String>>> {
        self.inner.preview(plan)
    }
    fn permissions<'a>(
        &'a self,
        plan: &'a RollbackPlan,
    ) -> BoxFut<'a, Option<Result<Vec<(bool, String)>, String>>> {
        self.inner.permissions(plan)
    }
    fn find_revert<'a>(
        &'a self,
        target: &'a str,
        bad: &'a str,
    ) -> BoxFut<'a, Option<Result<Option<(String, String)>, String>>> {
        self.inner.find_revert(target, bad)
    }
}
