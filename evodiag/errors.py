"""Every failure evodiag can name has its own exception class, so each gets its own one-line message and the
CLI can map it to the right exit code without parsing strings."""

from __future__ import annotations


class EvodiagError(Exception):
    """Base class. ``str(exc)`` is always a single line fit for the terminal."""

    exit_code = 4


class UsageError(EvodiagError):
    exit_code = 2


class ConfigError(UsageError):
    """Bad configuration: flags, environment, or evodiag.yaml."""


class CatalogError(UsageError):
    """The check catalog is invalid. The message names the file, line and check id."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 check_id: str | None = None) -> None:
        where = file or "<catalog>"
        if line is not None:
            where += f":{line}"
        if check_id:
            where += f": check {check_id}"
        super().__init__(f"{where}: {message}")
        self.file, self.line, self.check_id = file, line, check_id


class InputError(UsageError):
    """A file the user gave us cannot be read or parsed."""


# --- failures talking to a target: a check that hits one of these ends as `error` ---------------------


class TargetError(EvodiagError):
    """The check could not get an answer it can judge. ``kind`` is a stable machine-readable name."""

    kind = "error"
    exit_code = 3


class DNSFailure(TargetError):
    kind = "dns"


class ConnectRefused(TargetError):
    kind = "connect"


class TLSFailure(TargetError):
    kind = "tls"


class RequestTimeout(TargetError):
    kind = "timeout"


class ProtocolFailure(TargetError):
    kind = "protocol"


class NonJSONReply(TargetError):
    kind = "non_json"


class WrongShape(TargetError):
    """The server answered JSON, but not of the shape the check reads (an array for an object, null, a number as a
    string, a missing field, absurd nesting). A finding about what it sent, not an unreachable target."""

    kind = "wrong_shape"


class RedirectLoop(TargetError):
    """The server answered, but its redirects go round in a loop (or past the hop limit)."""

    kind = "redirect_loop"


class BodyTooLarge(TargetError):
    kind = "body_too_large"


class CredentialOriginError(TargetError):
    """Refused to send a credential to a host it does not belong to."""

    kind = "credential_origin"


class MissingValue(TargetError):
    """A template names a config value or fact that is not there."""

    kind = "missing_value"


# Error kinds that mean no answer came back. Any other error (an HTML page, invalid JSON, a redirect loop)
# came from a server that answered: it is reachable, and the result is a finding (exit 1), not exit 3.
NO_ANSWER_KINDS = frozenset({DNSFailure.kind, ConnectRefused.kind, TLSFailure.kind, RequestTimeout.kind,
                             ProtocolFailure.kind})
