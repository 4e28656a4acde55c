"""Spot a domain name whose letters come from more than one script, as look-alike names do."""

import unicodedata
from collections import Counter

# Scripts written together in one word (Unicode UTS #39, "highly restrictive"): Japanese,
# Chinese with Bopomofo and Korean words mix these with each other and with Latin.
_WRITTEN_TOGETHER = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
# First words of Unicode character names that are not the name of the character's script.
_SCRIPT_OF_WORD = {"CJK": "Han", "IDEOGRAPHIC": "Han", "KATAKANA-HIRAGANA": "Katakana"}


def letter_script(letter: str) -> str:
    """Return the script of a letter, read from the first word of its Unicode name."""
    word = unicodedata.name(letter, "").partition(" ")[0]
    return _SCRIPT_OF_WORD.get(word, word.title())


def mixed_script_warning(name: str) -> str | None:
    """Return a warning when one part of a Unicode domain name mixes scripts, else None."""
    for label in name.split("."):
        letters = [char for char in label if unicodedata.category(char).startswith("L")]
        scripts = Counter(letter_script(letter) for letter in letters)
        if len(scripts) < 2 or any(set(scripts) <= allowed for allowed in _WRITTEN_TOGETHER):
            continue
        main = scripts.most_common(1)[0][0]
        strays = ", ".join(
            f"{letter_script(letter)} {letter!r} (U+{ord(letter):04X})"
            for letter in dict.fromkeys(letters)
            if letter_script(letter) != main
        )
        return (
            f"{label!r} mixes {main} letters with {strays}, as look-alike names do: "
            "check that this is the name you mean"
        )
    return None
