//! A limit async-graphql lacks: fields at the root of an operation, aliases
//! included (`a1: sessions(…) a2: sessions(…) …`). Each root field fans out to
//! upstreams on its own, so this bounds the work of one request where the
//! complexity limit (per-field cost) cannot see aliasing multiply it.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    ExecutableDocument, FragmentDefinition, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, ServerError};

use crate::error::ErrorKind;

/// Refuses an operation with more than `max` root fields (`QUERY_TOO_COMPLEX`).
pub fn check_root_fields(doc: &ExecutableDocument, max: usize) -> Result<(), ServerError> {
    for (_, op) in doc.operations.iter() {
        let n = count(
            &op.node.selection_set.node,
            &doc.fragments,
            &mut HashSet::new(),
        );
        if n > max {
            let mut e = ServerError::new(
                format!(
                    "the operation selects {n} root fields; at most {max} are allowed (limits.max_root_fields)"
                ),
                None,
            );
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", ErrorKind::QueryTooComplex.code());
            return Err(e);
        }
    }
    Ok(())
}

/// Fields selected at this level, looking through fragments (each fragment at
/// most once per path, so cycles — refused later by validation — end).
fn count(
    set: &SelectionSet,
    fragments: &HashMap<Name, Positioned<FragmentDefinition>>,
    visiting: &mut HashSet<Name>,
) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(f) => count(&f.node.selection_set.node, fragments, visiting),
            Selection::FragmentSpread(s) => {
                let name = &s.node.fragment_name.node;
                match fragments.get(name) {
                    Some(def) if visiting.insert(name.clone()) => {
                        let n = count(&def.node.selection_set.node, fragments, visiting);
                        visiting.remove(name);
                        n
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}
