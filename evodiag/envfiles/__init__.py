"""Reading ``.env`` and docker-compose files into variables that remember their ``file:line``.

Public API (see the submodules for the decisions behind each):

* :func:`parse_dotenv` → :class:`EnvFile` (``.variables``, ``.problems``)
* :func:`parse_compose` → :class:`ComposeFile` (``.services`` of :class:`ComposeService`)
* :func:`parse_image` / :func:`guess_product` → :class:`ImageInfo`, :class:`Product`
* known names: :data:`EVOLUTION_ENV_NAMES`, :data:`WRONG_NAMES`, :data:`DEFAULT_API_KEYS`,
  :func:`did_you_mean`
"""

from evodiag.envfiles.compose import ComposeFile, ComposeService, EnvFileRef, PortMapping, parse_compose
from evodiag.envfiles.dotenv import parse_dotenv, parse_dotenv_text
from evodiag.envfiles.images import ImageInfo, Product, guess_product, parse_image
from evodiag.envfiles.interpolate import Interpolation, interpolate
from evodiag.envfiles.known import (
    CHATWOOT_MARKER_NAMES,
    COMMONLY_DOCUMENTED_NAMES,
    DEFAULT_API_KEYS,
    EVOLUTION_ENV_NAMES,
    EVOLUTION_MARKER_NAMES,
    KNOWN_PREFIXES,
    REFERENCE_NAMES,
    WRONG_NAMES,
    WrongName,
    did_you_mean,
    is_default_api_key,
    is_known_evolution_name,
)
from evodiag.envfiles.model import ComposeError, EnvFile, EnvFileError, EnvProblem, EnvVar

__all__ = [
    "CHATWOOT_MARKER_NAMES",
    "COMMONLY_DOCUMENTED_NAMES",
    "DEFAULT_API_KEYS",
    "EVOLUTION_ENV_NAMES",
    "EVOLUTION_MARKER_NAMES",
    "KNOWN_PREFIXES",
    "REFERENCE_NAMES",
    "WRONG_NAMES",
    "ComposeError",
    "ComposeFile",
    "ComposeService",
    "EnvFile",
    "EnvFileError",
    "EnvFileRef",
    "EnvProblem",
    "EnvVar",
    "ImageInfo",
    "Interpolation",
    "PortMapping",
    "Product",
    "WrongName",
    "did_you_mean",
    "guess_product",
    "interpolate",
    "is_default_api_key",
    "is_known_evolution_name",
    "parse_compose",
    "parse_dotenv",
    "parse_dotenv_text",
    "parse_image",
]
