"""Tokens signed with a key pair generated for the tests, and the file:// JWKS that publishes it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
CLIENT_ID = "6e2d5c4b-3a29-4f18-8e07-d6c5b4a39281"
APP_ID_URI = f"api://{CLIENT_ID}"
V1_ISSUER = f"https://sts.windows.net/{TENANT}/"
V2_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
KID = "test-key-1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@dataclass
class Signer:
    """An RSA key, its kid, and how to sign claims with it."""

    key: rsa.RSAPrivateKey
    kid: str = KID

    @classmethod
    def generate(cls, kid: str = KID) -> Signer:
        """A fresh 2048-bit key."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), kid)

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWKS entry."""
        entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {**entry, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        """The public key in PEM, as an attacker could fetch it from the JWKS."""
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], header: dict[str, Any] | None = None) -> str:
        """An RS256 token."""
        return jwt.encode(
            claims, self.key, algorithm="RS256", headers={"kid": self.kid, **(header or {})}
        )


def write_jwks(path: Path, *signers: Signer) -> str:
    """Write the JWKS document; its file:// URI."""
    path.write_text(json.dumps({"keys": [s.jwk() for s in signers]}))
    return path.resolve().as_uri()


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid v2 delegated claims for the app, with ReadWrite; overrides replace (None removes)."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": V2_ISSUER,
        "aud": CLIENT_ID,
        "tid": TENANT,
        "sub": "subject-1",
        "oid": str(uuid.uuid4()),
        "scp": "EduAdministration.ReadWrite",
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned(claim_set: dict[str, Any]) -> str:
    """`alg: none`: no signature at all."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claim_set)}."


def hs256_with_public_key(signer: Signer, claim_set: dict[str, Any]) -> str:
    """The key-confusion attack: HS256 keyed with the RSA public key in PEM."""
    head = f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': signer.kid})}.{_segment(claim_set)}"
    mac = hmac.new(signer.public_pem(), head.encode("ascii"), hashlib.sha256).digest()
    return f"{head}.{_b64(mac)}"


def tampered(token: str, **changes: Any) -> str:
    """The same signature over changed claims."""
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    return f"{head}.{_segment(payload)}.{signature}"
