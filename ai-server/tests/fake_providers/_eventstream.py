"""Encoder for the AWS binary event-stream framing (`application/vnd.amazon.eventstream`).

Layout of one message, all integers big-endian, as botocore's `eventstream.EventStreamBuffer` parses it:

    total length (uint32) | headers length (uint32) | prelude CRC32 (of the 8 bytes before it)
    headers: name length (uint8), name (UTF-8), value type (uint8, 7 = string), value length (uint16), value
    payload
    message CRC32 (of everything before it, prelude CRC included)
"""

from __future__ import annotations

import struct
from binascii import crc32
from collections.abc import Mapping
from typing import Any

from ._core import dumps

_STRING = 7


def encode_headers(headers: Mapping[str, str]) -> bytes:
    out = bytearray()
    for name, value in headers.items():
        raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
        out += struct.pack("!B", len(raw_name)) + raw_name + struct.pack("!BH", _STRING, len(raw_value)) + raw_value
    return bytes(out)


def encode_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    raw_headers = encode_headers(headers)
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", crc32(message) & 0xFFFFFFFF)


def event(event_type: str, payload: Any) -> bytes:
    """One `:message-type: event` frame, as ConverseStream sends messageStart, contentBlockDelta and the rest."""
    return encode_message({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}, dumps(payload))


def exception(exception_type: str, payload: Any) -> bytes:
    """One `:message-type: exception` frame: a modeled error inside the stream (throttlingException and the like)."""
    return encode_message({":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"}, dumps(payload))
