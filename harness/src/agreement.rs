//! What several nodes agree on, from their `/topology` documents: the one
//! definition of "the agreed leader" (and of an agreed member role) used by
//! the tests, the demo and the benchmark.

use kv_contract::{Role, Topology};

/// The leader every view names, when all of them name the same one and each
/// lists that leader, and every node that answered, with a published API URL
/// (so a client bootstrapping from any of them can reach all of them).
/// `None` for no views.
pub fn agreed_leader(views: &[Topology]) -> Option<u32> {
    let viewers: Vec<u32> = views.iter().map(|t| t.node_id).collect();
    agreed(views, |t| {
        let leader = t.leader_id?;
        let published = |id| t.member(id).is_some_and(|m| m.is_published());
        (published(leader) && viewers.iter().all(|v| published(*v))).then_some(leader)
    })
}

/// The role every view gives member `id`, when all of them list it with
/// the same role and its API URL published. `None` for no views.
pub fn agreed_role(views: &[Topology], id: u32) -> Option<Role> {
    agreed(views, |t| {
        t.member(id).filter(|m| m.is_published()).map(|m| m.role)
    })
}

/// What `f` finds in every view, when it finds the same in all of them.
fn agreed<T: PartialEq>(views: &[Topology], f: impl Fn(&Topology) -> Option<T>) -> Option<T> {
    let mut found = views.iter().map(f);
    let first = found.next()??;
    found.all(|v| v.as_ref() == Some(&first)).then_some(first)
}

#[cfg(test)]
mod tests {
    use kv_contract::Member;

    use super::*;

    fn view(node_id: u32, leader_id: Option<u32>, published: &[u32]) -> Topology {
        Topology {
            node_id,
            leader_id,
            members: (1..=3)
                .map(|id| Member {
                    id,
                    role: if Some(id) == leader_id {
                        Role::Leader
                    } else {
                        Role::Follower
                    },
                    api_url: published
                        .contains(&id)
                        .then(|| format!("http://127.0.0.1:808{id}")),
                    health_url: None,
                    raft_addr: None,
                    labels: Default::default(),
                    applied_index: None,
                    lag_ms: None,
                    weight: None,
                })
                .collect(),
            ..Topology::default()
        }
    }

    #[test]
    fn the_leader_is_agreed_when_all_name_it_and_all_are_published() {
        let all = [1, 2, 3];
        let views = [view(1, Some(2), &all), view(2, Some(2), &all)];
        assert_eq!(agreed_leader(&views), Some(2));
        assert_eq!(agreed_leader(&views[..1]), Some(2));
        assert_eq!(agreed_leader(&[]), None);
        // One disagrees, one is in an election, or a viewer or the leader is unpublished.
        assert_eq!(
            agreed_leader(&[view(1, Some(2), &all), view(2, Some(3), &all)]),
            None
        );
        assert_eq!(
            agreed_leader(&[view(1, Some(2), &all), view(2, None, &all)]),
            None
        );
        assert_eq!(
            agreed_leader(&[view(1, Some(2), &[2]), view(2, Some(2), &all)]),
            None
        );
        assert_eq!(agreed_leader(&[view(1, Some(2), &[1, 3])]), None);
    }

    #[test]
    fn roles_are_agreed_when_all_list_the_member_published() {
        let all = [1, 2, 3];
        let views = [view(1, Some(2), &all), view(3, Some(2), &all)];
        assert_eq!(agreed_role(&views, 2), Some(Role::Leader));
        assert_eq!(agreed_role(&views, 3), Some(Role::Follower));
        assert_eq!(agreed_role(&views, 4), None);
        let split = [view(1, Some(2), &all), view(3, Some(1), &all)];
        assert_eq!(agreed_role(&split, 2), None);
        assert_eq!(agreed_role(&[view(1, Some(2), &[1, 2])], 3), None);
    }
}
