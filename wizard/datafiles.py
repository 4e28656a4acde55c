"""Read the YAML data files in assets/ into validated, frozen models."""

from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from wizard import yaml_input
from wizard.errors import UsageError, WizardError
from wizard.units import parse_size

Model = TypeVar("Model", bound=BaseModel)


class FrozenModel(BaseModel):
    """A model read from a data file: unknown keys are errors and nothing changes it later."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _to_bytes(value: object) -> object:
    """Turn a size written as "4 GB" or "512 MB" into bytes; whole numbers are already bytes."""
    if isinstance(value, str):
        try:
            return parse_size(value)
        except UsageError as error:
            raise ValueError(error.message) from None
    return value


Size = Annotated[int, BeforeValidator(_to_bytes)]
"""A byte count that a data file may write as 4 GB, 512 MB or 4GiB (powers of 1024)."""


def read_yaml(
    path: Path,
    *,
    unreadable_hint: str,
    invalid_hint: str,
    error: type[WizardError] = WizardError,
    what: str = "",
) -> object:
    """Return the data of a YAML file, or raise ``error`` saying why it cannot be read.

    Files from outside are read as yaml_input bounds them: too large, not UTF-8, nested too
    deep or with a key given twice is refused in one line.
    """
    try:
        return yaml_input.parse(yaml_input.read_text(path), str(path))
    except OSError as problem:
        raise error(
            f"cannot read {what}{path}: {problem.strerror or problem}", unreadable_hint
        ) from None
    except UsageError as refused:
        raise error(refused.message, refused.hint) from None
    except yaml.YAMLError as problem:
        mark = getattr(problem, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        said = getattr(problem, "problem", None)
        reason = f" ({said})" if said else ""
        raise error(f"{path} is not valid YAML{where}{reason}", invalid_hint) from None


def read_model(path: Path, model: type[Model]) -> Model:
    """Return the YAML file at ``path`` validated as ``model``, or raise a WizardError."""
    data = read_yaml(
        path,
        unreadable_hint="reinstall matrix-wizard so its data files are complete",
        invalid_hint="fix the file or reinstall matrix-wizard",
    )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'the file'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise WizardError(
            f"{path} does not hold what it should ({problems})",
            "fix the file or reinstall matrix-wizard",
        ) from None
