//! The intent-path tree: which intents follow a path prefix, and how many
//! conversations took each step.

use std::collections::{BTreeMap, HashMap};

use super::{IntentPath, IntentPathNode, IntentPathNodeType, IntentRecord};

/// The nodes that follow `path`, from the intent records of the
/// conversations counted (any order): one node per next intent, its count the
/// conversations that followed the path to it, `Exit` when none went on past
/// it. Most frequent first, ties by name.
pub fn intent_path_nodes<'a>(
    records: impl Iterator<Item = &'a IntentRecord>,
    path: &IntentPath,
    bot_id: Option<&str>,
) -> Vec<IntentPathNode> {
    let mut conversations: HashMap<&str, Vec<&IntentRecord>> = HashMap::new();
    for r in records {
        conversations
            .entry(r.session_id.as_str())
            .or_default()
            .push(r);
    }
    let prefix = path.intents();
    let mut next: BTreeMap<&str, (u64, bool)> = BTreeMap::new();
    for records in conversations.values_mut() {
        records.sort_by_key(|r| r.level);
        let follows = records.len() > prefix.len()
            && records.iter().zip(prefix).all(|(r, p)| r.intent_name == *p);
        if !follows {
            continue;
        }
        let e = next
            .entry(records[prefix.len()].intent_name.as_str())
            .or_default();
        e.0 += 1;
        e.1 |= records.len() > prefix.len() + 1;
    }
    let mut nodes: Vec<IntentPathNode> = next
        .into_iter()
        .map(|(name, (count, went_on))| IntentPathNode {
            bot_id: bot_id.map(str::to_owned),
            intent_name: name.to_owned(),
            path: path.child(name),
            count,
            level: prefix.len() as u32 + 1,
            node_type: if went_on {
                IntentPathNodeType::Inner
            } else {
                IntentPathNodeType::Exit
            },
        })
        .collect();
    sort_nodes(&mut nodes);
    nodes
}

/// Most frequent first, ties by path.
pub fn sort_nodes(nodes: &mut [IntentPathNode]) {
    nodes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
}

/// The nodes of several bots merged by path: counts add, `Inner` wins.
pub fn merge_nodes(nodes: impl IntoIterator<Item = IntentPathNode>) -> Vec<IntentPathNode> {
    let mut by_path: BTreeMap<String, IntentPathNode> = BTreeMap::new();
    for n in nodes {
        match by_path.get_mut(&n.path) {
            Some(m) => {
                m.count += n.count;
                if n.node_type == IntentPathNodeType::Inner {
                    m.node_type = IntentPathNodeType::Inner;
                }
            }
            None => {
                by_path.insert(n.path.clone(), IntentPathNode { bot_id: None, ..n });
            }
        }
    }
    let mut out: Vec<IntentPathNode> = by_path.into_values().collect();
    sort_nodes(&mut out);
    out
}
