"""Guess which product and version a container image is, from its reference alone.

Why from the tag: OpenIM 3.8.x exposes no version over HTTP, and a compose file is often all
evodiag has before anything is reachable. The tag is a hint, not proof (``latest``, retagged mirrors), so
callers should prefer a live ``GET /`` version for Evolution API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Product(str, Enum):
    EVOLUTION = "evolution"
    CHATWOOT = "chatwoot"
    OPENIM = "openim"


# Repository name (last path component) → product. Known image names: atendai/evolution-api and
# evoapicloud/evolution-api (Evolution API), chatwoot/chatwoot, openim/openim-server.
_REPO_PRODUCTS: tuple[tuple[re.Pattern[str], Product], ...] = (
    (re.compile(r"(^|[-_])evolution-api($|[-_])"), Product.EVOLUTION),
    (re.compile(r"^chatwoot($|[-_])"), Product.CHATWOOT),
    (re.compile(r"^openim-server$|^openim$"), Product.OPENIM),
)

# A semver-ish number, optionally prefixed by "v" or "release-v", with pre-release suffixes kept
# ("2.3.0-rc1", "3.8.3-patch.16") and variant suffixes dropped ("v3.8.0-ce" → "3.8.0").
_VERSION_RE = re.compile(
    r"(?:^|[^0-9A-Za-z])v?(?P<v>\d+\.\d+(?:\.\d+)?(?:-(?:rc|beta|alpha|pre|patch)[0-9A-Za-z.]*)?)(?![0-9.])"
)


@dataclass(frozen=True)
class ImageInfo:
    """A parsed image reference. ``tag`` is ``None`` when absent (compose then pulls ``latest``)."""

    reference: str
    registry: str | None
    repository: str
    tag: str | None
    digest: str | None
    product: Product | None
    version: str | None

    @property
    def name(self) -> str:
        """Last path component of the repository, e.g. ``evolution-api``."""
        return self.repository.rsplit("/", 1)[-1]


def parse_image(reference: str) -> ImageInfo:
    """Split ``[registry/]repo[:tag][@digest]`` and guess product and version."""
    ref = reference.strip()
    rest, _, digest = ref.partition("@")
    registry: str | None = None
    first, sep, remainder = rest.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    repo, tag = rest, None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        repo, tag = rest[:colon], rest[colon + 1 :]
    repo = repo.lower()
    name = repo.rsplit("/", 1)[-1]
    product = next((p for pat, p in _REPO_PRODUCTS if pat.search(name)), None)
    version = None
    if tag:
        m = _VERSION_RE.search(tag)
        version = m.group("v") if m else None
    return ImageInfo(ref, registry, repo, tag, digest or None, product, version)


def guess_product(reference: str) -> tuple[Product | None, str | None]:
    """``"evoapicloud/evolution-api:v2.3.6"`` → ``(Product.EVOLUTION, "2.3.6")``."""
    info = parse_image(reference)
    return info.product, info.version
