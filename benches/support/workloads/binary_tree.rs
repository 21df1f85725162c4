//! A complete binary tree of boxed nodes (the shape of the Spice and chili tree-sum
//! benchmarks): the data of every tree-sum workload.

/// A node with its value and up to two children.
#[derive(Debug)]
pub struct Node {
    /// The node's value.
    pub value: u64,
    /// The left subtree.
    pub left: Option<Box<Node>>,
    /// The right subtree.
    pub right: Option<Box<Node>>,
}

impl Node {
    /// A complete tree of `levels` levels (`2^levels - 1` nodes, `levels >= 1`); node values
    /// come from `next_value`, in preorder. Nodes are allocated children before parent (each
    /// `Box` is made after both subtrees), so with a fresh heap a subtree is one block of
    /// memory with its root at the top, its right subtree just below and its left subtree
    /// below that: a walk that takes the right child first reads memory as one descending
    /// stream, a left-first walk (every contender's) jumps between the blocks.
    pub fn complete(levels: u32, next_value: &mut impl FnMut() -> u64) -> Box<Node> {
        assert!(levels >= 1, "a tree has at least one level");
        let value = next_value();
        let (left, right) = if levels > 1 {
            (
                Some(Node::complete(levels - 1, next_value)),
                Some(Node::complete(levels - 1, next_value)),
            )
        } else {
            (None, None)
        };
        Box::new(Node { value, left, right })
    }

    /// The children that exist, left first.
    pub fn children(&self) -> impl Iterator<Item = &Node> {
        [&self.left, &self.right]
            .into_iter()
            .flatten()
            .map(|c| &**c)
    }
}

/// The number of nodes of a complete tree of `levels` levels.
pub fn nodes(levels: u32) -> u64 {
    (1u64 << levels) - 1
}
