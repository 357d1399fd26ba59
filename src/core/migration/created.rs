//! What a range of migrations created, and what already existed at the
//! rollback target. "Created in this range" lets later statements on the
//! object pass (the old code never saw it); it must mean created by a
//! migration the range added AND by none present at the target, matched
//! by what the migrations create, not by their paths: a migration that is
//! renumbered and rewritten is seen by git as deleted + added, and its
//! tables existed all along.

use std::collections::HashSet;

/// Names as keys (`orders`, `fn:search`, `orders.total#added`), with the
/// last segment of each indexed so a schema-qualified and a bare name
/// meet in one lookup: a range of 100,000 statements is read in linear
/// time, not quadratic.
#[derive(Debug, Clone, Default)]
pub struct Created {
    names: HashSet<String>,
    lasts: HashSet<String>,
    /// What the migrations present at the rollback target create; `None`
    /// where they could not be read (no checkout, the demo): then a
    /// `CREATE OR REPLACE` of a function the range did not create is
    /// judged as replacing one the old code may call.
    at_target: Option<Box<Created>>,
    /// Reading the target's migrations: a table renamed there exists
    /// under its new name (in a range, a rename is judged, not created).
    reading_target: bool,
}

impl Created {
    /// A range read knowing what the target's migrations create.
    pub fn knowing_target(at_target: Created) -> Created {
        Created {
            at_target: Some(Box::new(at_target)),
            ..Created::default()
        }
    }

    /// Records `name` as created in the range, unless it existed at the
    /// target (then it was not created here: `false`).
    pub fn insert(&mut self, name: String) -> bool {
        if self.existed(&name) {
            return false;
        }
        self.lasts.insert(last_segment(&name).to_string());
        self.names.insert(name)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// A table renamed to `new`: it exists under that name at the target.
    pub(super) fn renamed(&mut self, new: String) {
        if self.reading_target {
            self.insert(new);
        }
    }

    /// Whether a migration at the rollback target creates `name`.
    pub fn existed(&self, name: &str) -> bool {
        self.at_target.as_ref().is_some_and(|t| t.is_table(name))
    }

    /// Whether the target's migrations were read at all.
    pub fn knows_target(&self) -> bool {
        self.at_target.is_some()
    }

    /// `t` (normalised) was created: by the same name, or by a name whose
    /// last segment is `t`'s when one of the two has no schema.
    pub(super) fn is_table(&self, t: &str) -> bool {
        if self.names.contains(t) {
            return true;
        }
        if t.contains('.') {
            // Only a bare name can match a qualified one.
            self.names.contains(last_segment(t))
        } else {
            self.lasts.contains(t)
        }
    }
}

fn last_segment(s: &str) -> &str {
    s.rsplit('.').next().unwrap_or(s)
}

/// What the migrations present at the rollback target create (their up
/// parts, in path order, as the migration tools apply them).
pub fn at_target<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Created {
    let mut files: Vec<(&str, &str)> = files
        .into_iter()
        .filter(|(p, _)| !super::is_down_migration(p))
        .collect();
    files.sort_by_key(|(p, _)| *p);
    let mut c = Created {
        reading_target: true,
        ..Created::default()
    };
    for (_, text) in files {
        super::classify_script(super::up_part(text), &mut c);
    }
    c.reading_target = false;
    c
}
