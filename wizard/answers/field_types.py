"""Strict field types of the answers: a yes/no is not a port, and a number is not a yes/no."""

from typing import Annotated

from pydantic import BeforeValidator, Strict
from pydantic_core import PydanticCustomError

_LONGEST_NUMBER = 18
"""Digits enough for any answer; Python refuses to read thousands of them anyway."""


def _entered_digits(value: object) -> object:
    """Read digits as a form's entry gives them ("8448") as the number; leave the rest as given."""
    if isinstance(value, str):
        digits = value.strip()
        if digits.isascii() and digits.isdigit() and len(digits) <= _LONGEST_NUMBER:
            return int(digits)
    return value


def _no_lookalike(value: object) -> object:
    """Refuse true, false and fractions, which a choice of numbers would take as 1, 0 and 8448."""
    if isinstance(value, bool | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


WholeNumber = Annotated[int, BeforeValidator(_entered_digits), Strict()]
"""A whole number, written as one or as digits; true, 8448.0, a list or a section is refused."""

WholeNumberOrNone = Annotated[Annotated[int, Strict()] | None, BeforeValidator(_entered_digits)]
"""A WholeNumber or null; the digits are read outside the union, so its JSON Schema keeps the
field's minimum and maximum."""

YesNo = Annotated[bool, Strict()]
"""true or false only: 1, "yes" in quotes or a list is refused."""

EXACT_NUMBER = BeforeValidator(_no_lookalike)
"""Put on a Literal of numbers, such as Literal[443, 8448], to refuse true and 8448.0."""
