//! Merging cut-offs: the later one wins.

use serde::{Deserialize, Serialize};

use super::Cutoff;

/// What applying a revocation does to the role's existing cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeOutcome {
    /// No cut-off was there; ours is now.
    Created,
    /// An earlier cut-off was there; ours replaces it.
    Extended,
    /// A cut-off at or after ours was already there and stays: a cut-off never moves backwards.
    AlreadyCovered,
}

/// Decide the cut-off to write: the later of ours and the existing one. [`plan`](super::plan()) uses it; callers
/// should use [`plan`](super::plan()).
pub fn merge(ours: Cutoff, existing: Option<Cutoff>) -> (Cutoff, MergeOutcome) {
    match existing {
        None => (ours, MergeOutcome::Created),
        Some(e) if e >= ours => (e, MergeOutcome::AlreadyCovered),
        Some(_) => (ours, MergeOutcome::Extended),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::test_support::c;

    #[test]
    fn a_cutoff_never_moves_backwards() {
        let early = c("2026-01-01T00:00:00Z");
        let late = c("2026-06-01T00:00:00Z");
        assert_eq!(merge(late, None), (late, MergeOutcome::Created));
        assert_eq!(merge(late, Some(early)), (late, MergeOutcome::Extended));
        assert_eq!(
            merge(early, Some(late)),
            (late, MergeOutcome::AlreadyCovered)
        );
        assert_eq!(
            merge(late, Some(late)),
            (late, MergeOutcome::AlreadyCovered)
        );
    }
}
