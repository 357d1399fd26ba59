use super::*;
use crate::core::testkit::*;

fn plan(kind: Kind, h: &History, to: &str) -> Result<RollbackPlan, String> {
    let t = target("web", kind, "staging");
    build(PlanInputs {
        id: PlanId(1),
        target: &t,
        mode: Mode::Live,
        history: h,
        to,
        now: t0(),
        before: None,
        mutable_tags: &["main".to_string()],
        rollout_timeout_secs: 60,
        exact_template: false,
    })
}

fn check(p: &RollbackPlan, id: CheckId) -> &Check {
    p.checks.iter().find(|c| c.id == id).unwrap()
}

fn two() -> History {
    history(
        "web",
        vec![
            rev("2", "r/web:b", "bbbbbbb", true),
            rev("1", "r/web:a", "aaaaaaa", false),
        ],
    )
}

/// The current revision is no rollback (refused); a known-bad one needs
/// a reason; the schema check waits for the migration diff.
#[test]
fn the_revision_checks_refuse_the_current_and_ask_a_reason_for_a_bad_one() {
    let h = two();
    let p = plan(Kind::Kubernetes, &h, "2").unwrap();
    let c = check(&p, CheckId::Revision);
    assert_eq!((c.status, c.overridable), (CheckStatus::Block, false));
    let mut h = two();
    h.known_bad.push("1".into());
    let p = plan(Kind::Kubernetes, &h, "1").unwrap();
    let c = check(&p, CheckId::Revision);
    assert_eq!((c.status, c.overridable), (CheckStatus::Block, true));
    assert_eq!(check(&p, CheckId::Schema).status, CheckStatus::Pending);
    assert_eq!(p.kind, PlanKind::Rollback);
    assert_eq!(p.steps.len(), 3);
}

/// Compose changes only the image: the same image is no rollback.
#[test]
fn an_image_only_rollback_to_the_same_image_is_blocked() {
    let h = history(
        "web",
        vec![
            rev("2", "r/web:a", "bbbbbbb", true),
            rev("1", "r/web:a", "aaaaaaa", false),
        ],
    );
    let p = plan(Kind::Compose, &h, "1").unwrap();
    assert!(
        check(&p, CheckId::Revision)
            .detail
            .contains("runs the same image")
    );
}

/// A mutable tag whose digest ran is pinned on Kubernetes (PASS); an
/// unknown revision, or lkg where none is known, is no plan at all.
#[test]
fn a_mutable_tag_is_pinned_where_its_digest_ran() {
    let h = history(
        "web",
        vec![
            rev("2", "r/web:b", "bbbbbbb", true),
            rev("1", "r/web:main@sha256:abc", "aaaaaaa", false),
        ],
    );
    let p = plan(Kind::Kubernetes, &h, "1").unwrap();
    assert!(p.pinned());
    assert_eq!(check(&p, CheckId::MutableTag).status, CheckStatus::Pass);
    assert!(
        plan(Kind::Kubernetes, &h, "9")
            .unwrap_err()
            .contains("unable to find")
    );
    assert!(
        plan(Kind::Kubernetes, &h, "lkg")
            .unwrap_err()
            .contains("no last known good")
    );
}
