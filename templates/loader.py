"""Load and validate templates. A broken template is refused at load, naming the step."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from schemas.common import CooperationKind
from schemas.template import Template

TEMPLATE_DIR = Path(__file__).parent


class TemplateError(ValueError):
    """A template file that cannot be used; the message names the file and the problem."""


def parse_template(text: str, source: str = "<template>") -> Template:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TemplateError(f"{source}: not valid YAML: {exc}") from None
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'template'}: {error['msg']}"
            for error in exc.errors()
        )
        raise TemplateError(f"{source}: {problems}") from None


def load_template(kind: CooperationKind, directory: Path = TEMPLATE_DIR) -> Template:
    path = directory / f"{kind.value}.yaml"
    if not path.exists():
        raise TemplateError(f"no template for kind {kind.value!r} (expected {path})")
    template = parse_template(path.read_text(encoding="utf-8"), str(path))
    if template.kind is not kind:
        raise TemplateError(
            f"{path}: declares kind {template.kind.value!r}, expected {kind.value!r}"
        )
    return template


def load_all(directory: Path = TEMPLATE_DIR) -> dict[CooperationKind, Template]:
    return {kind: load_template(kind, directory) for kind in CooperationKind}
