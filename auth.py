"""JWT verification: a bearer token in, a :class:`Principal` out (or :class:`AuthError`).

HS256 with a shared secret (development, tests, `zebros token`) and RS256 via a
JWKS endpoint (production; Cognito-compatible) are both allow-listed per key
type: an HS token is never checked against an RSA key nor the reverse, and
``none`` is never accepted.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import jwt

from dal import ids
from dal.errors import StoreUnavailable
from dal.models import Role
from dal.tenancy.scope import InvalidTenant, check_tenant_id

VERIFIED_FOR = 60.0  # seconds a verified token is trusted from memory
VERIFIED_MAX = 10_000  # tokens remembered, the least recently used dropped

TENANT_CLAIMS = ("tenant_id", "custom:tenantId")
MAX_TOKEN_LENGTH = 8192
MAX_EXP = 253_402_300_799  # 9999-12-31T23:59:59Z: a NumericDate past it names no time


class AuthError(Exception):
    """The request did not prove who it is; the message is safe to show."""


class KeysUnavailable(StoreUnavailable):
    """The JWKS could not be fetched: the identity provider's outage, not the token's
    fault. The edge answers it as any store outage (503 UNAVAILABLE, Retry-After)
    and logs this message, which names the URL and the cause; the client sees neither."""


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: str
    user_id: str
    role: Role
    username: str
    email: str
    claims: dict[str, Any] = field(default_factory=dict, compare=False)


class Verifier:
    def __init__(
        self,
        *,
        secret: str | None,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        leeway: int = 30,
    ) -> None:
        self._secret = secret
        self._jwks = _jwks_client(jwks_url) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    async def verify(self, authorization: str | None) -> Principal:
        """The principal of a valid bearer token. A token verified before is taken
        from memory until it expires (at most VERIFIED_FOR seconds, so a key
        withdrawn from the JWKS stops its tokens soon): polls do not pay for
        signature checks and base64 decoding on every request."""
        token = _bearer(authorization)
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        found, expires = await self._verify(token)
        self._verified[token] = (found, min(expires, time.time() + VERIFIED_FOR))
        if len(self._verified) > VERIFIED_MAX:
            self._verified.popitem(last=False)
        return found

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
            key = await self._key_for(token, algorithm)
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                issuer=self._issuer,
                leeway=self._leeway,
                # The audience is checked below: Cognito access tokens carry it as client_id.
                options={"require": ["exp", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        self._check_audience(claims)
        return principal_from_claims(claims), _expiry(claims) + self._leeway

    def _check_audience(self, claims: dict[str, Any]) -> None:
        if claims.get("token_use") not in (None, "id", "access"):
            raise AuthError("invalid token: token_use must be id or access")
        if self._audience is None:
            return
        aud = claims.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if claims.get("token_use") == "access":
            audiences = [claims.get("client_id")]
        if self._audience not in audiences:
            raise AuthError("invalid token: audience does not match")

    async def _key_for(self, token: str, algorithm: object) -> Any:
        if algorithm == "HS256" and self._secret:
            return self._secret
        if algorithm == "RS256" and self._jwks is not None:
            # PyJWKClient is synchronous (urllib): keep it off the event loop.
            try:
                signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            except jwt.PyJWKClientConnectionError as exc:
                raise KeysUnavailable(f"JWKS {self._jwks.uri}: {exc}") from exc
            return signing_key.key
        raise AuthError(f"algorithm {algorithm!r} is not accepted")


def _expiry(claims: dict[str, Any]) -> float:
    """``exp`` as RFC 7519's NumericDate only: PyJWT checks ``int(exp)``, which also
    takes "1893456000" and 1e300 (a token that never expires)."""
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not 0 < exp <= MAX_EXP:
        raise AuthError("invalid token: exp must be a number of seconds since 1970")
    return float(exp)


def _jwks_client(url: str) -> jwt.PyJWKClient:
    # Keys are cached for an hour; an unknown kid forces a refetch at most once a
    # minute (cooldown), so random kids cannot hammer the identity provider.
    return jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, cooldown_duration=60, timeout=5)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing Authorization header (Bearer token)")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization header must be 'Bearer <token>'")
    if len(token) > MAX_TOKEN_LENGTH:
        raise AuthError("token too long")
    return token.strip()


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    tenant = next((claims[c] for c in TENANT_CLAIMS if claims.get(c)), None)
    if not isinstance(tenant, str):
        raise AuthError("token has no tenant claim (tenant_id or custom:tenantId)")
    try:
        check_tenant_id(tenant)
    except InvalidTenant as exc:
        raise AuthError(f"invalid tenant claim: {exc}") from exc
    subject = claims["sub"]
    if not isinstance(subject, str) or not ids.subject_like(subject):
        # The subject is the user's id: stored, keyed and logged as it is.
        raise AuthError(
            f"invalid sub claim: 1-{ids.SUBJECT_MAX} printable characters without spaces "
            "or @ (an e-mail address as the user's id could never be erased), not starting "
            "with a record prefix (cus_, con_, opp_, act_)"
        )
    username = claims.get("username") or claims.get("cognito:username") or subject
    return Principal(
        tenant_id=tenant,
        user_id=subject,
        role=_role(claims),
        username=str(username),
        email=str(claims.get("email") or f"{subject}@users.invalid"),
        claims=claims,
    )


def _role(claims: dict[str, Any]) -> Role:
    groups = claims.get("cognito:groups")
    raw = claims.get("role") or (groups[0] if isinstance(groups, list) and groups else None)
    if raw is None:
        return Role.READ_ONLY  # least privilege when the token says nothing
    try:
        return Role(str(raw))  # exactly as spelled: "admin" is not a role
    except ValueError as exc:
        raise AuthError(f"unknown role {raw!r}; expected one of {[r.value for r in Role]}") from exc


def mint(
    secret: str,
    *,
    tenant: str,
    user: str,
    role: Role,
    ttl: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """An HS256 token the server accepts (for `zebros token`, tests and the demo)."""
    now = int(time.time())
    claims = {"sub": user, "tenant_id": tenant, "role": role.value, "iat": now, "exp": now + ttl}
    return jwt.encode(claims | (extra or {}), secret, algorithm="HS256")
