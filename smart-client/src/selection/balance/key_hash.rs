//! Rendezvous hashing of the request key
//! ([`BalancePolicy::KeyHash`](crate::selection::BalancePolicy::KeyHash)).

use crate::selection::types::Candidate;

/// Stable 64-bit hash of a request key (FNV-1a, then a SplitMix64 finalizer):
/// identical on every platform and Rust version, unlike `DefaultHasher`.
#[must_use]
pub fn hash_key(key: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix64(h)
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Rendezvous (highest-random-weight) hashing of `key` over `nodes`: the node
/// with the highest `hash(key, id)` wins (ties to the lower id), independent
/// of the order of `nodes`; removing a node moves only the keys it owned.
pub fn key_hash(candidates: &[Candidate<'_>], nodes: &[usize], key: &[u8]) -> Option<usize> {
    let kh = hash_key(key);
    nodes
        .iter()
        .filter_map(|&i| candidates.get(i).map(|c| (i, c.id)))
        .max_by_key(|&(_, id)| (mix64(kh ^ mix64(u64::from(id))), std::cmp::Reverse(id)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::selection::test_support::*;
    use crate::selection::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    #[test]
    fn key_hash_is_sticky_and_moves_only_the_removed_nodes_keys() {
        let c: Vec<Candidate<'_>> = (1..=5)
            .map(|id| Candidate::new(id, Role::Follower, &NO_LABELS))
            .collect();
        let all = [0, 1, 2, 3, 4];
        let keys: Vec<Vec<u8>> = (0..5000).map(|k| format!("key-{k}").into_bytes()).collect();
        let before: Vec<NodeId> = keys
            .iter()
            .map(|k| c[key_hash(&c, &all, k).unwrap()].id)
            .collect();
        // Sticky, and independent of the order of the node list.
        for (k, &id) in keys.iter().zip(&before).take(200) {
            assert_eq!(c[key_hash(&c, &[4, 2, 0, 3, 1], k).unwrap()].id, id);
        }
        // Roughly even spread.
        let t = tally(&c, before.iter().map(|&id| (id - 1) as usize));
        assert!(t.values().all(|&n| (800..1200).contains(&n)), "{t:?}");
        // Remove node 3: only its keys move.
        let without = [0, 1, 3, 4];
        let mut moved = 0;
        for (k, &old) in keys.iter().zip(&before) {
            let new = c[key_hash(&c, &without, k).unwrap()].id;
            if old == 3 {
                assert_ne!(new, 3);
                moved += 1;
            } else {
                assert_eq!(new, old, "key of a surviving node moved");
            }
        }
        assert!((800..1200).contains(&moved), "{moved}");
        // Through the selector: same key, same node, whatever the RTTs.
        let cfg = SelectionConfig {
            read_preference: ReadPreference::Follower,
            policy: BalancePolicy::KeyHash,
            ..SelectionConfig::default()
        };
        let mut c2 = c.clone();
        c2[0].rtt_ewma = ms(1);
        c2[1].rtt_ewma = ms(500);
        let mut sel = Selector::new();
        let b = Balancer::new();
        let mut rng = SmallRng::seed_from_u64(0);
        let req = PickRequest {
            key: Some(b"user:42"),
            ..PickRequest::new(EVENTUAL)
        };
        let a = sel.select(&c, &req, &cfg, &b, &mut rng);
        assert_eq!(sel.select(&c2, &req, &cfg, &b, &mut rng), a);
        assert_eq!(key_hash(&c, &[], b"x"), None);
    }

    #[test]
    fn hash_key_is_stable() {
        // Pinned values: changing the hash would remap every key.
        assert_eq!(hash_key(b""), mix64(0xcbf2_9ce4_8422_2325));
        assert_eq!(hash_key(b"a"), hash_key(b"a"));
        assert_ne!(hash_key(b"a"), hash_key(b"b"));
    }
}
