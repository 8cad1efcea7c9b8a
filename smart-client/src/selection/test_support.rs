//! Fixtures shared by the selection unit tests.

use std::collections::HashMap;
use std::time::Duration;

use super::*;

pub(crate) fn ms(v: u64) -> Option<Duration> {
    Some(Duration::from_millis(v))
}

pub(crate) fn labels(pairs: &[(&str, &str)]) -> TagSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(crate) fn eventual(pref: ReadPreference) -> SelectionConfig {
    SelectionConfig {
        read_preference: pref,
        ..SelectionConfig::default()
    }
}

pub(crate) const EVENTUAL: Operation = Operation::Read(ReadConsistency::Eventual);

pub(crate) fn ids(c: &[Candidate<'_>], idx: &[usize]) -> Vec<NodeId> {
    idx.iter().map(|&i| c[i].id).collect()
}

/// Leader 1, followers 2 and 3, learner 4, unknown 5.
pub(crate) fn cluster(l: &TagSet) -> Vec<Candidate<'_>> {
    vec![
        Candidate::new(1, Role::Leader, l),
        Candidate::new(2, Role::Follower, l),
        Candidate::new(3, Role::Follower, l),
        Candidate::new(4, Role::Learner, l),
        Candidate::new(5, Role::Unknown, l),
    ]
}

pub(crate) fn tally(
    c: &[Candidate<'_>],
    picks: impl IntoIterator<Item = usize>,
) -> HashMap<NodeId, usize> {
    let mut m = HashMap::new();
    for i in picks {
        *m.entry(c[i].id).or_default() += 1;
    }
    m
}
