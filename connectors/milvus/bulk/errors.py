"""The one place the BulkWriter turns storage and import failures into MILVUS-xx errors."""

from __future__ import annotations

import re

from vts.connectors.milvus.errors import Code, MilvusError

# Error codes S3 and Azure put in their responses, lower-cased.
_AUTH_CODES = {
    "invalidaccesskeyid",
    "signaturedoesnotmatch",
    "accessdenied",
    "authenticationfailed",
    "authorizationfailure",
    "invalidauthenticationinfo",
    "forbidden",
}
_MISSING_CODES = {"nosuchbucket", "containernotfound"}
# Only for exceptions without a structured status; word-bounded so that a request id such as
# "...-4032-..." in the message is not taken for HTTP 403.
_AUTH_TEXT = re.compile(
    r"\b(" + "|".join(_AUTH_CODES) + r"|40[13]|unable to locate credentials|nocredentials|invalid credentials)\b"
)
_MISSING_TEXT = re.compile(r"\b(nosuchbucket|containernotfound|404|not found|does not exist)\b")
_TRANSIENT_TEXT = re.compile(r"\b(timeout|timed out|connection reset|slowdown|50[03]|throttl\w*|temporar\w*)\b")


def _status(exc: BaseException) -> tuple[int | None, str]:
    """(HTTP status, error code) from an azure-core HttpResponseError or a botocore ClientError."""
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None) or ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore
        code = code or response.get("Error", {}).get("Code", "")
        status = status or response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(getattr(code, "value", code)).lower()
    return (status if isinstance(status, int) else None), code


def _kind(exc: BaseException, low: str) -> str | None:
    """'auth', 'missing', 'transient' or None; the service's own status and code win over the message text."""
    status, code = _status(exc)
    if code in _AUTH_CODES or status in (401, 403):
        return "auth"
    if code in _MISSING_CODES or status == 404:
        return "missing"
    if status is not None and status >= 500:
        return "transient"
    if status is None and not code:
        if _AUTH_TEXT.search(low):
            return "auth"
        if _MISSING_TEXT.search(low):
            return "missing"
    if _TRANSIENT_TEXT.search(low) or isinstance(exc, ConnectionError | TimeoutError):
        return "transient"
    return None


def _detail(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:400]


def storage_error(exc: BaseException, cloud: str, bucket: str, what: str = "opening the staging area") -> MilvusError:
    """A storage client's exception -> MILVUS-24 (cannot stage: fix the config) or MILVUS-22 (write failed)."""
    if isinstance(exc, MilvusError):
        return exc
    detail = _detail(exc)
    low = (detail + " " + type(exc).__name__).lower()
    where = {"local": "folder", "azure": "container"}.get(cloud, "bucket")
    if isinstance(exc, ImportError):
        extra = "azure" if cloud == "azure" else "s3"
        return MilvusError(
            Code.INIT_WRITER_ERROR,
            f"the {cloud} staging client is not installed ({detail})",
            hint=f"pip install 'vts[{extra}]'",
        )
    if cloud == "local":
        return MilvusError(
            Code.INIT_WRITER_ERROR if isinstance(exc, FileNotFoundError | PermissionError) else Code.WRITE_ERROR,
            f"{what} in local folder {bucket}: {detail}",
            hint="set bulk_writer_config.local_path to an existing folder that vts can write and the Milvus "
            "server can read",
        )
    kind = _kind(exc, low)
    if kind == "auth":
        keys = (
            "connection_string, or access_key (account name) and secret_key"
            if cloud == "azure"
            else ("access_key and secret_key")
        )
        return MilvusError(
            Code.INIT_WRITER_ERROR,
            f"{what}: the {cloud} storage refused the credentials for {where} '{bucket}' ({detail})",
            hint=f"check bulk_writer_config {keys}, and that they may read and write '{bucket}'",
        )
    if kind == "missing" and ("bucket" in low or "container" in low or "checking" in what):
        return MilvusError(
            Code.INIT_WRITER_ERROR,
            f"{what}: {where} '{bucket}' does not exist ({detail})",
            hint=f"create the {where} first, or fix bulk_writer_config.bucket_name"
            + ("" if cloud == "azure" else " and region_id/minio_url")
            + "; for self-hosted Milvus it must be the server's own bucket (minio.bucketName)",
        )
    if "could not connect" in low or "connection refused" in low or "failed to establish" in low:
        return MilvusError(
            Code.INIT_WRITER_ERROR,
            f"{what}: cannot reach the {cloud} storage endpoint ({detail})",
            hint="check bulk_writer_config.minio_url (endpoint) and that the store is reachable",
            transient=True,
        )
    return MilvusError(Code.WRITE_ERROR, f"{what} in {where} '{bucket}': {detail}", transient=kind == "transient")


def import_failed(collection: str, reason: str, hint: str | None = None, transient: bool = False) -> MilvusError:
    return MilvusError(
        Code.IMPORT_JOB_FAILED,
        f"import into '{collection}' failed: {reason}",
        hint=hint
        or "the staged files are kept for inspection; fix the cause and run the job again "
        "(re-running replaces the staged files and imports them once)",
        transient=transient,
    )


def import_request_failed(collection: str, exc: BaseException, hint: str | None = None) -> MilvusError:
    return import_failed(collection, f"the server refused the import request ({_detail(exc)})", hint)


def completed_with_errors(collection: str, failed: int, total: int, reasons: list[str]) -> MilvusError:
    why = "; ".join(dict.fromkeys(reasons))[:600] or "no reason given"
    return MilvusError(
        Code.COMPLETED_WITH_ERRORS,
        f"import into '{collection}' completed with errors: {failed:,} of {total:,} staged row(s) were not "
        f"imported ({why})",
        hint="the imported rows stay in the collection; set bulk_writer_config.max_error_rows to tolerate "
        "failed rows, or fix the cause and re-run with data_save_mode DROP_DATA",
    )


def too_many_failed(collection: str, failed: int, limit: int, reasons: list[str]) -> MilvusError:
    why = "; ".join(dict.fromkeys(reasons))[:600] or "no reason given"
    return MilvusError(
        Code.ERROR_ROWS_EXCEED_LIMIT,
        f"import into '{collection}': {failed:,} row(s) failed to import, more than max_error_rows={limit} ({why})",
        hint="fix the cause (see the reason), or raise bulk_writer_config.max_error_rows",
    )


def import_timeout(collection: str, seconds: float, progress: str) -> MilvusError:
    return MilvusError(
        Code.IMPORT_JOB_FAILED,
        f"import into '{collection}' did not finish within import_timeout={seconds:g}s ({progress})",
        hint="raise bulk_writer_config.import_timeout; the job may still complete on the server",
    )


def writer_error(message: str, hint: str | None = None) -> MilvusError:
    return MilvusError(Code.INIT_WRITER_ERROR, message, hint=hint)


def commit_error(message: str, hint: str | None = None) -> MilvusError:
    return MilvusError(Code.COMMIT_ERROR, message, hint=hint)
