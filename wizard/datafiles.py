"""Read the YAML data files in assets/ into validated, frozen models."""

from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

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


def read_model(path: Path, model: type[Model]) -> Model:
    """Return the YAML file at ``path`` validated as ``model``, or raise a WizardError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise WizardError(
            f"cannot read {path}: {error.strerror or error}",
            "reinstall matrix-wizard so its data files are complete",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise WizardError(
            f"{path} is not valid YAML: {error}".replace("\n", " "),
            "fix the file or reinstall matrix-wizard",
        ) from None
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
