"""Server-side check of an AWS Signature Version 4 `Authorization` header.

Follows the published algorithm (AWS General Reference, "Create a signed AWS API request") and matches botocore's
`SigV4Auth` where the spec leaves room: the canonical URI is the path as sent, dot segments and repeated slashes
removed, percent-encoded once more (so `%3A` in a model id is signed as `%253A`, the double encoding every service
but S3 uses); the canonical query decodes and re-encodes each name and value (RFC 3986 unreserved characters kept),
sorted; header values are trimmed and inner runs of spaces collapsed; the payload hash is `x-amz-content-sha256`
when present, else the SHA-256 of the body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, urlsplit

from ._core import Headers

_AUTH = re.compile(r"^AWS4-HMAC-SHA256 +Credential=([^,]+), *SignedHeaders=([^,]+), *Signature=([0-9a-f]{64}) *$")


class SigV4Error(Exception):
    """A rejected signature, with the error code and message AWS answers with (HTTP 403 unless `status` says otherwise)."""

    def __init__(self, code: str, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SigV4:
    """What a valid signature told the fake about the caller."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    amz_date: str
    session_token: str | None


def parse_credential(authorization: str) -> tuple[str, ...] | None:
    """(access key id, date, region, service) from an Authorization header, before and whether or not it verifies."""
    match = _AUTH.match(authorization)
    if match is None:
        return None
    scope = match.group(1).split("/")
    return tuple(scope[:4]) if len(scope) == 5 else None


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 section 5.2.4, plus the collapsing of empty segments AWS asks for (as botocore's remove_dot_segments).
    if not path:
        return "/"
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def canonical_query(query: str) -> str:
    pairs = []
    for pair in query.split("&") if query else []:
        name, _, value = pair.partition("=")
        # No `+`-to-space here: SigV4 encodes spaces as %20, and a literal "+" must stay a "+".
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def canonical_request(method: str, target: str, headers: Headers, signed_headers: list[str], body: bytes) -> str:
    split = urlsplit(target)
    path = quote(_remove_dot_segments(split.path), safe="/~")
    canonical_headers = "".join(f"{name}:{','.join(' '.join(v.split()) for v in headers.get_all(name))}\n" for name in signed_headers)
    payload = headers.get("x-amz-content-sha256") or hashlib.sha256(body).hexdigest()
    return "\n".join([method.upper(), path, canonical_query(split.query), canonical_headers, ";".join(signed_headers), payload])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _request_time(headers: Headers) -> tuple[str, datetime]:
    amz_date = headers.get("x-amz-date")
    if amz_date is not None:
        try:
            return amz_date, datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    elif headers.get("date") is not None:
        try:
            when = parsedate_to_datetime(headers["date"]).astimezone(timezone.utc)
            return when.strftime("%Y%m%dT%H%M%SZ"), when
        except (TypeError, ValueError):
            pass
    raise SigV4Error("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.", 400)


def verify(
    method: str,
    target: str,
    headers: Headers,
    body: bytes,
    credentials: Mapping[str, str],
    *,
    service: str,
    regions: frozenset[str] | None = None,
    max_skew_seconds: float = 300.0,
    now: datetime | None = None,
) -> SigV4:
    """Check the request's SigV4 signature against `credentials` (access key id -> secret key); raise SigV4Error if bad."""
    match = _AUTH.match(headers.get("Authorization", ""))
    if match is None:
        raise SigV4Error("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.", 400)
    credential, signed, signature = match.groups()
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SigV4Error("IncompleteSignatureException", f"Credential should be scoped to a valid region, not '{credential}'.", 400)
    access_key_id, date, region, scoped_service, _ = scope
    signed_headers = signed.split(";")
    if "host" not in signed_headers:
        raise SigV4Error("InvalidSignatureException", "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    secret = credentials.get(access_key_id)
    if secret is None:
        raise SigV4Error("UnrecognizedClientException", "The security token included in the request is invalid.")
    if scoped_service != service:
        raise SigV4Error("InvalidSignatureException", f"Credential should be scoped to correct service: '{service}'.")
    if regions is not None and region not in regions:
        raise SigV4Error("InvalidSignatureException", f"Credential should be scoped to a valid region, not '{region}'.")
    amz_date, when = _request_time(headers)
    if amz_date[:8] != date:
        raise SigV4Error(
            "InvalidSignatureException",
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    current = now or datetime.now(timezone.utc)
    if abs((current - when).total_seconds()) > max_skew_seconds:
        raise SigV4Error("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than {current.strftime('%Y%m%dT%H%M%SZ')} - 5 min.")
    canonical = canonical_request(method, target, headers, signed_headers, body)
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, f"{date}/{region}/{scoped_service}/aws4_request", hashlib.sha256(canonical.encode()).hexdigest()])
    expected = hmac.new(signing_key(secret, date, region, scoped_service), string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SigV4Error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. "
            "Consult the service documentation for details.",
        )
    return SigV4(access_key_id, date, region, scoped_service, tuple(signed_headers), amz_date, headers.get("x-amz-security-token"))
