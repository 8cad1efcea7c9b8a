//! Step 1 of selection: the suitable set, i.e. the nodes allowed to serve
//! the operation (MongoDB server-selection rules plus ejection).

use super::config::SelectionConfig;
use super::types::{Candidate, NodeId, Operation, ReadPreference, Role, TagSet};

/// True when every `(key, value)` of `tags` is present in `labels`.
#[must_use]
pub fn tags_match(tags: &TagSet, labels: &TagSet) -> bool {
    tags.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Computes the suitable set into `out` (cleared first) as indices into
/// `candidates`, in candidate order; reuse `out` to avoid allocating.
///
/// Role and read-preference rules follow MongoDB server selection. On top of
/// them two soft exclusions apply, each dropped only when it would leave
/// nothing: nodes in `deprioritized` (they just failed this request) and
/// ejected nodes. The passes run from strictest to loosest: without ejected
/// and deprioritized, without ejected, without deprioritized, everything.
/// Each pass runs the full rules, so a `FollowerPreferred` read whose
/// followers are all deprioritized goes to the leader before it goes back to
/// a deprioritized follower. [`Role::Unknown`] is never selected, nor is a
/// follower that is [`Candidate::too_stale`] (a hard rule, as MongoDB's
/// `maxStalenessSeconds`: `FollowerPreferred` then falls back to the leader).
pub fn suitable_into(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    deprioritized: &[NodeId],
    out: &mut Vec<usize>,
) {
    out.clear();
    let any_ejected = candidates.iter().any(|c| c.ejected);
    let any_deprioritized =
        !deprioritized.is_empty() && candidates.iter().any(|c| deprioritized.contains(&c.id));
    const PASSES: [(bool, bool); 4] = [(true, true), (true, false), (false, true), (false, false)];
    let mut tried = [(false, false); 4];
    let mut n_tried = 0;
    for (skip_ejected, skip_deprioritized) in PASSES {
        let pass = (
            skip_ejected && any_ejected,
            skip_deprioritized && any_deprioritized,
        );
        if tried[..n_tried].contains(&pass) {
            continue;
        }
        tried[n_tried] = pass;
        n_tried += 1;
        let excluded =
            |c: &Candidate<'_>| (pass.0 && c.ejected) || (pass.1 && deprioritized.contains(&c.id));
        eligible_by_rules(candidates, op, cfg, excluded, out);
        if !out.is_empty() {
            return;
        }
    }
}

/// Allocating convenience wrapper around [`suitable_into`].
#[must_use]
pub fn suitable(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    deprioritized: &[NodeId],
) -> Vec<usize> {
    let mut out = Vec::with_capacity(candidates.len());
    suitable_into(candidates, op, cfg, deprioritized, &mut out);
    out
}

/// One pass of the role / read-preference / tag-set rules.
fn eligible_by_rules(
    candidates: &[Candidate<'_>],
    op: Operation,
    cfg: &SelectionConfig,
    excluded: impl Fn(&Candidate<'_>) -> bool + Copy,
    out: &mut Vec<usize>,
) {
    out.clear();
    let learners = cfg.allow_learner_reads;
    let follower_role = move |r: Role| r == Role::Follower || (learners && r == Role::Learner);
    let is_leader = |c: &Candidate<'_>| c.role == Role::Leader && !excluded(c);
    let is_follower = |c: &Candidate<'_>| follower_role(c.role) && !c.too_stale && !excluded(c);
    if op.requires_leader() {
        push_where(candidates, is_leader, out);
        return;
    }
    match cfg.read_preference {
        ReadPreference::Leader => push_where(candidates, is_leader, out),
        ReadPreference::LeaderPreferred => {
            push_where(candidates, is_leader, out);
            if out.is_empty() {
                push_tagged(candidates, &cfg.tag_sets, is_follower, out);
            }
        }
        ReadPreference::Follower => push_tagged(candidates, &cfg.tag_sets, is_follower, out),
        ReadPreference::FollowerPreferred => {
            push_tagged(candidates, &cfg.tag_sets, is_follower, out);
            if out.is_empty() {
                push_where(candidates, is_leader, out);
            }
        }
        ReadPreference::Nearest => push_tagged(
            candidates,
            &cfg.tag_sets,
            |c| (c.role == Role::Leader || is_follower(c)) && !excluded(c),
            out,
        ),
    }
}

fn push_where(
    candidates: &[Candidate<'_>],
    keep: impl Fn(&Candidate<'_>) -> bool,
    out: &mut Vec<usize>,
) {
    out.extend(
        candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| keep(c))
            .map(|(i, _)| i),
    );
}

/// Eligible nodes matching the first tag set that matches any of them.
fn push_tagged(
    candidates: &[Candidate<'_>],
    tag_sets: &[TagSet],
    eligible: impl Fn(&Candidate<'_>) -> bool,
    out: &mut Vec<usize>,
) {
    if tag_sets.is_empty() {
        push_where(candidates, eligible, out);
        return;
    }
    for set in tag_sets {
        push_where(
            candidates,
            |c| eligible(c) && tags_match(set, c.labels),
            out,
        );
        if !out.is_empty() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn writes_and_strong_reads_go_to_the_leader_only() {
        let c = cluster(&NO_LABELS);
        for pref in [
            ReadPreference::Follower,
            ReadPreference::FollowerPreferred,
            ReadPreference::Nearest,
        ] {
            let cfg = eventual(pref);
            for op in [
                Operation::Write,
                Operation::Read(ReadConsistency::Linearizable),
                Operation::Read(ReadConsistency::Lease),
            ] {
                assert_eq!(ids(&c, &suitable(&c, op, &cfg, &[])), vec![1], "{op:?}");
            }
        }
        // No leader known: nothing is suitable for a write.
        let no_leader = &c[1..];
        let cfg = SelectionConfig::default();
        assert!(suitable(no_leader, Operation::Write, &cfg, &[]).is_empty());
    }

    #[test]
    fn read_preferences_follow_mongodb_semantics() {
        let c = cluster(&NO_LABELS);
        let s = |pref| ids(&c, &suitable(&c, EVENTUAL, &eventual(pref), &[]));
        assert_eq!(s(ReadPreference::Leader), vec![1]);
        assert_eq!(s(ReadPreference::LeaderPreferred), vec![1]);
        assert_eq!(s(ReadPreference::Follower), vec![2, 3]);
        assert_eq!(s(ReadPreference::FollowerPreferred), vec![2, 3]);
        assert_eq!(s(ReadPreference::Nearest), vec![1, 2, 3]);

        let followers_only = &c[1..];
        let s = |pref| {
            ids(
                followers_only,
                &suitable(followers_only, EVENTUAL, &eventual(pref), &[]),
            )
        };
        assert_eq!(s(ReadPreference::Leader), Vec::<NodeId>::new());
        assert_eq!(s(ReadPreference::LeaderPreferred), vec![2, 3]);

        let leader_only = [c[0], c[3], c[4]];
        let s = |pref| {
            ids(
                &leader_only,
                &suitable(&leader_only, EVENTUAL, &eventual(pref), &[]),
            )
        };
        assert_eq!(s(ReadPreference::Follower), Vec::<NodeId>::new());
        assert_eq!(s(ReadPreference::FollowerPreferred), vec![1]);
    }

    #[test]
    fn learners_only_with_flag_and_unknown_never() {
        let c = cluster(&NO_LABELS);
        let mut cfg = eventual(ReadPreference::Nearest);
        assert!(!ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])).contains(&4));
        cfg.allow_learner_reads = true;
        assert_eq!(
            ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])),
            vec![1, 2, 3, 4]
        );
        // Learners never serve leader-only operations.
        assert_eq!(ids(&c, &suitable(&c, Operation::Write, &cfg, &[])), vec![1]);
        // Unknown is never picked, even as the only node, ejected or not.
        let only_unknown = [Candidate::new(9, Role::Unknown, &NO_LABELS)];
        for pref in [
            ReadPreference::Leader,
            ReadPreference::LeaderPreferred,
            ReadPreference::Follower,
            ReadPreference::FollowerPreferred,
            ReadPreference::Nearest,
        ] {
            assert!(suitable(&only_unknown, EVENTUAL, &eventual(pref), &[]).is_empty());
        }
        let mut sel = Selector::new();
        let b = Balancer::new();
        let mut rng = SmallRng::seed_from_u64(1);
        for _ in 0..100 {
            let i = sel
                .select(&c, &PickRequest::new(EVENTUAL), &cfg, &b, &mut rng)
                .unwrap();
            assert_ne!(c[i].role, Role::Unknown);
        }
    }

    #[test]
    fn tag_sets_are_tried_in_order() {
        let nyc1 = labels(&[("dc", "nyc"), ("rack", "1")]);
        let nyc2 = labels(&[("dc", "nyc"), ("rack", "2")]);
        let sf = labels(&[("dc", "sf")]);
        let c = [
            Candidate::new(1, Role::Leader, &sf),
            Candidate::new(2, Role::Follower, &nyc1),
            Candidate::new(3, Role::Follower, &nyc2),
        ];
        let mut cfg = eventual(ReadPreference::Follower);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")]), labels(&[("dc", "nyc")])];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        cfg.tag_sets = vec![labels(&[("dc", "nyc"), ("rack", "2")]), TagSet::new()];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![3]);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")]), TagSet::new()];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        cfg.tag_sets = vec![labels(&[("dc", "tokyo")])];
        assert!(suitable(&c, EVENTUAL, &cfg, &[]).is_empty());
        // FollowerPreferred falls back to the leader regardless of its tags.
        cfg.read_preference = ReadPreference::FollowerPreferred;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
        // Nearest filters the leader by tags too.
        cfg.read_preference = ReadPreference::Nearest;
        cfg.tag_sets = vec![labels(&[("dc", "sf")])];
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
    }

    #[test]
    fn deprioritized_are_avoided_unless_nothing_else() {
        let c = cluster(&NO_LABELS);
        let cfg = eventual(ReadPreference::Follower);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2])), vec![3]);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2, 3])), vec![2, 3]);
        // FollowerPreferred prefers the leader over deprioritized followers.
        let cfg = eventual(ReadPreference::FollowerPreferred);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[2, 3])), vec![1]);
        // A deprioritized leader is still the only writer.
        assert_eq!(
            ids(&c, &suitable(&c, Operation::Write, &cfg, &[1])),
            vec![1]
        );
    }

    #[test]
    fn too_stale_followers_are_never_chosen() {
        let mut c = cluster(&NO_LABELS);
        c[1].too_stale = true;
        let s = |c: &[Candidate<'_>], pref| ids(c, &suitable(c, EVENTUAL, &eventual(pref), &[]));
        assert_eq!(s(&c, ReadPreference::Follower), vec![3]);
        assert_eq!(s(&c, ReadPreference::FollowerPreferred), vec![3]);
        assert_eq!(s(&c, ReadPreference::Nearest), vec![1, 3]);
        // Even when the healthy follower is deprioritized or ejected.
        assert_eq!(
            ids(
                &c,
                &suitable(&c, EVENTUAL, &eventual(ReadPreference::Follower), &[3])
            ),
            vec![3]
        );
        c[2].too_stale = true;
        assert_eq!(s(&c, ReadPreference::FollowerPreferred), vec![1]);
        assert!(s(&c, ReadPreference::Follower).is_empty());
        // The flag never keeps the leader from its operations.
        c[0].too_stale = true;
        assert_eq!(s(&c, ReadPreference::FollowerPreferred), vec![1]);
    }

    #[test]
    fn ejected_are_excluded_unless_all_are_ejected() {
        let mut c = cluster(&NO_LABELS);
        let cfg = eventual(ReadPreference::Follower);
        c[1].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![3]);
        c[2].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![2, 3]);
        // All ejected: deprioritization still applies among them.
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[3])), vec![2]);
        // Healthy but deprioritized beats ejected.
        c[2].ejected = false;
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[3])), vec![3]);
        // An ejected leader still takes writes: there is nowhere else.
        c[0].ejected = true;
        assert_eq!(ids(&c, &suitable(&c, Operation::Write, &cfg, &[])), vec![1]);
        // FollowerPreferred: healthy leader beats ejected followers.
        c[0].ejected = false;
        c[2].ejected = true;
        let cfg = eventual(ReadPreference::FollowerPreferred);
        assert_eq!(ids(&c, &suitable(&c, EVENTUAL, &cfg, &[])), vec![1]);
    }
}
