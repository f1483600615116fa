"""Loader errors and the mapping of storage-client exceptions to exit codes."""

from __future__ import annotations


class LoaderError(Exception):
    """An error reported as one line on stderr; ``exit_code`` is the process status."""

    exit_code = 1


class TransferError(LoaderError):
    exit_code = 1


class UsageError(LoaderError):
    exit_code = 2


class NotFound(LoaderError):
    exit_code = 3


class AccessDenied(LoaderError):
    exit_code = 4


# Error codes that storage clients put on their exceptions (botocore error
# codes, Azure error codes) which mean "denied" or "missing" without an HTTP
# status being attached in every client version.
_DENIED_CODES = {
    "AccessDenied",
    "AllAccessDisabled",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthorizationPermissionMismatch",
}
_MISSING_CODES = {"NoSuchKey", "NoSuchBucket", "ContainerNotFound", "BlobNotFound"}


def _status(exc: BaseException) -> int | None:
    """HTTP status carried by an exception from botocore, gcsfs, azure-core or requests."""
    for attr in ("status_code", "status", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        value = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return value if isinstance(value, int) else None
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def _error_code(exc: BaseException) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str):
            return code
    code = getattr(exc, "error_code", None)
    return str(code) if code is not None else None


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes: fsspec clients often wrap the useful one."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def classify(exc: BaseException, what: str) -> LoaderError:
    """Turn any client exception into a LoaderError whose message names ``what``."""
    if isinstance(exc, LoaderError):
        return exc
    for item in _chain(exc):
        status, code = _status(item), _error_code(item)
        name = type(item).__name__
        if (
            isinstance(item, PermissionError)
            or status in (401, 403)
            or code in _DENIED_CODES
            or name in ("NoCredentialsError", "ClientAuthenticationError", "DefaultCredentialsError")
        ):
            return AccessDenied(f"access denied: {what}: {one_line(item)}")
        if (
            isinstance(item, FileNotFoundError)
            or status == 404
            or code in _MISSING_CODES
            or name == "ResourceNotFoundError"
        ):
            return NotFound(f"not found: {what}: {one_line(item)}")
    return TransferError(f"transfer failed: {what}: {one_line(exc)}")
