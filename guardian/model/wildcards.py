"""IAM's wildcards (``*`` any run of characters, ``/`` included; ``?`` any one character), matched without regular
expressions or recursion: policies are written by whoever may change them, so a pattern must not make the guardian
backtrack for ever (``*a*a*a…c``) or overflow the stack (a Resource of thousands of characters).

Pure, standard library only.
"""

from __future__ import annotations


def overlap(a: str, b: str) -> bool:
    """Whether some string matches both wildcard patterns (``*`` and ``?``). A dynamic-programming table filled
    from the ends, one row kept at a time: ``row[j]`` says whether ``a[i:]`` and ``b[j:]`` can match one string.
    No recursion (a Resource of thousands of characters is fine), time len(a) x len(b)."""
    head = min(_literal_head(a), _literal_head(b))
    if any(x != y and "?" not in (x, y) for x, y in zip(a[:head], b[:head], strict=True)):
        return False  # the fixed heads already differ: the usual case, decided without the table
    la, lb = len(a), len(b)
    below = [False] * (lb + 1)  # row i + 1
    for i in range(la, -1, -1):
        row = [False] * (lb + 1)
        for j in range(lb, -1, -1):
            star_a = i < la and a[i] == "*" and (below[j] or (j < lb and row[j + 1]))
            star_b = j < lb and b[j] == "*" and (row[j + 1] or (i < la and below[j]))
            if (i == la and j == lb) or star_a or star_b:
                row[j] = True
            elif i < la and j < lb and "*" not in (a[i], b[j]) and (a[i] == b[j] or "?" in (a[i], b[j])):
                row[j] = below[j + 1]
        below = row
    return below[0]


def _literal_head(pattern: str) -> int:
    star = pattern.find("*")
    return len(pattern) if star < 0 else star


def like(pattern: str, text: str) -> bool:
    """IAM's wildcards: ``*`` any run of characters (``/`` included), ``?`` any one character; nothing else. Greedy
    with one remembered ``*`` (no regular expression, so no catastrophic backtracking): len(pattern) x len(text)
    steps at worst."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] != "*" and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p, t, p + 1
        elif star >= 0:
            mark += 1
            p, t = star + 1, mark
        else:
            return False
    return all(c == "*" for c in pattern[p:])
