"""Text fitted to a width, without Rich: a shell command broken into lines a shell joins again,
and a long text cut to its first and last lines."""

from __future__ import annotations

from collections.abc import Sequence

#: what ends a command's line that the next one continues
CONTINUED = " \\"


def shell_words(command: str) -> list[str]:
    """``command`` cut at the blanks a shell splits words at, each word as written: blanks
    inside quotes or after a backslash are part of their word, and a comment (a word that
    starts with ``#``) runs to the end as one word."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    escaped = False
    for index, char in enumerate(command):
        if escaped:
            escaped = False
        elif quote:
            if char == quote:
                quote = ""
            elif char == "\\" and quote == '"':
                escaped = True
        elif char == "\\":
            escaped = True
        elif char in "'\"":
            quote = char
        elif char == "#" and not word:
            words.append(command[index:])
            return words
        elif char in " \t":
            if word:
                words.append("".join(word))
                word = []
            continue
        word.append(char)
    if word:
        words.append("".join(word))
    return words


def command_lines(command: str, first: int, rest: int) -> list[str]:
    """``command`` as lines of at most ``first`` (the first) and ``rest`` characters (the
    others), every line but the last ending with :data:`CONTINUED`, broken only between
    words outside quotes (a shell joins the lines into the same command; a backslash and a
    newline inside quotes or a comment would not be joined, so none is put there). A word
    longer than its line keeps a line of its own: a command is never cut."""
    if len(command) <= first:
        return [command]
    words = shell_words(command)
    lines: list[str] = []
    current = ""
    for index, word in enumerate(words):
        limit = first if not lines else rest
        last = index == len(words) - 1
        joined = f"{current} {word}" if current else word
        room = limit if last else limit - len(CONTINUED)
        if current and len(joined) > room:
            lines.append(current + CONTINUED)
            current = word
        else:
            current = joined
    lines.append(current)
    return lines


def trimmed(lines: Sequence[str], head: int, tail: int) -> tuple[list[str], int, list[str]]:
    """The first ``head`` and the last ``tail`` of ``lines`` and how many are left out between
    them (none when leaving out fewer than two would save nothing)."""
    if len(lines) <= head + tail + 1:
        return list(lines), 0, []
    return list(lines[:head]), len(lines) - head - tail, list(lines[len(lines) - tail :])
