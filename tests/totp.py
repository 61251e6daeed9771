"""TOTP codes computed as an authenticator application does (RFC 6238: HMAC-SHA1, 30-second
steps, 6 digits), independently of the code under test."""

import base64
import hashlib
import hmac
import struct
import time


def totp(secret: str, at: float | None = None, step: int = 30) -> str:
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"
