"""Regular expressions for long word lists, shaped as prefix trees.

Python's ``re`` tries the branches of an alternation one by one at every position, so a list
of a hundred words costs a hundred attempts per character. The same words arranged as a prefix
tree ("f(?:ive|o(?:ur|r))") let the engine branch on one character at a time.
"""

from __future__ import annotations

import re

Trie = dict[str, "Trie"]


def trie_pattern(words: list[str]) -> str:
    """A regex alternation of ``words`` shaped as a prefix tree, so the engine branches on one
    character at a time instead of trying every word at every position."""
    tree: Trie = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: Trie) -> str:
        branches = [re.escape(char) + render(child) for char, child in node.items() if char]
        optional = "" in node
        if not branches:
            return ""
        body = (
            branches[0] if len(branches) == 1 and not optional else "(?:" + "|".join(branches) + ")"
        )
        if len(branches) > 1 or not optional:
            return body + ("?" if optional else "")
        return "(?:" + branches[0] + ")?"

    return render(tree)
