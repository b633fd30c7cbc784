"""The Verifier: a bearer token in, a Principal or an AuthError out (no app, no store).

HS256 tokens use the suite's secret; RS256 tokens are checked against a JWKS served
by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

import auth
from auth import AuthError, Principal, Verifier
from dal.models import Role
from tests.conftest import JWT_SECRET

OTHER_SECRET = "another-secret-9876543210-zyxwvutsrqponmlkjihgfedcba"
ISSUER = "https://issuer.zebros.test/"
AUDIENCE = "zebros-api"
KID = "zebros-test-key"


# -- token builders ---------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid claim set for ``u-1`` of ``acme``; an override of ``None`` drops the claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "u-1",
        "tenant_id": "acme",
        "role": "ADMIN",
        "iat": now,
        "exp": now + 3600,
    }
    merged = base | overrides
    return {name: value for name, value in merged.items() if value is not None}


def hs256(payload: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def hand_signed(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token built by hand: PyJWT refuses to sign ``none`` or HMAC with a PEM key."""
    signing_input = f"{b64json(header)}.{b64json(payload)}"
    if hmac_key is None:
        return f"{signing_input}."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


def hs_verifier(**options: Any) -> Verifier:
    return Verifier(secret=JWT_SECRET, **options)


async def refused(verifier: Verifier, authorization: str | None, match: str) -> AuthError:
    with pytest.raises(AuthError, match=match) as caught:
        await verifier.verify(authorization)
    return caught.value


# -- HS256 -----------------------------------------------------------------------------


async def test_valid_token_gives_the_principal() -> None:
    token = auth.mint(
        JWT_SECRET,
        tenant="acme",
        user="u-1",
        role=Role.MANAGER,
        extra={"username": "ann", "email": "ann@acme.example"},
    )
    principal = await hs_verifier().verify(bearer(token))
    assert principal == Principal(
        tenant_id="acme",
        user_id="u-1",
        role=Role.MANAGER,
        username="ann",
        email="ann@acme.example",
    )
    assert principal.claims["sub"] == "u-1"
    assert principal.claims["tenant_id"] == "acme"


async def test_username_and_email_default_from_sub() -> None:
    principal = await hs_verifier().verify(bearer(hs256(claims(sub="u-9"))))
    assert principal.username == "u-9"
    assert principal.email == "u-9@users.invalid"


async def test_scheme_is_case_insensitive_and_token_trimmed() -> None:
    principal = await hs_verifier().verify(f"bearer   {hs256(claims())}  ")
    assert principal.user_id == "u-1"


async def test_cognito_claims() -> None:
    payload = claims(
        tenant_id=None,
        role=None,
        **{
            "custom:tenantId": "globex",
            "cognito:groups": ["SALES_REP", "ADMIN"],
            "cognito:username": "gina",
        },
    )
    principal = await hs_verifier().verify(bearer(hs256(payload)))
    assert principal.tenant_id == "globex"
    assert principal.role is Role.SALES_REP  # the first group
    assert principal.username == "gina"


async def test_roles_are_matched_exactly_as_documented() -> None:
    """ "admin" is not ADMIN: a role is spelled as the README spells it, in a role
    claim or a Cognito group alike (an IdP's group named "admin" grants nothing)."""
    verifier = hs_verifier()
    for spelled in ("admin", "Admin", "sales_rep", " ADMIN"):
        await refused(verifier, bearer(hs256(claims(role=spelled))), "unknown role")
        groups = claims(role=None, **{"cognito:groups": [spelled]})
        await refused(verifier, bearer(hs256(groups)), "unknown role")


async def test_tenant_id_claim_wins_over_custom_tenant_id() -> None:
    payload = claims(**{"custom:tenantId": "globex"})
    principal = await hs_verifier().verify(bearer(hs256(payload)))
    assert principal.tenant_id == "acme"


async def test_role_claim_wins_over_groups() -> None:
    payload = claims(role="READ_ONLY", **{"cognito:groups": ["ADMIN"]})
    principal = await hs_verifier().verify(bearer(hs256(payload)))
    assert principal.role is Role.READ_ONLY


async def test_missing_role_is_read_only() -> None:
    for payload in (claims(role=None), claims(role=None, **{"cognito:groups": []})):
        principal = await hs_verifier().verify(bearer(hs256(payload)))
        assert principal.role is Role.READ_ONLY


async def test_unknown_role_is_refused() -> None:
    verifier = hs_verifier()
    await refused(verifier, bearer(hs256(claims(role="SUPERUSER"))), "unknown role 'SUPERUSER'")
    groups = claims(role=None, **{"cognito:groups": ["Admins"]})
    await refused(verifier, bearer(hs256(groups)), "unknown role 'Admins'")


async def test_missing_or_garbled_authorization_header() -> None:
    verifier = hs_verifier()
    await refused(verifier, None, "missing Authorization header")
    await refused(verifier, "", "missing Authorization header")
    for header in ("Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", f"Token {hs256(claims())}"):
        await refused(verifier, header, "must be 'Bearer <token>'")
    for garbled in ("not-a-jwt", "a.b.c", ".....", "%%%.%%%.%%%"):
        await refused(verifier, bearer(garbled), "invalid token")
    await refused(verifier, bearer("e30.e30."), "algorithm None is not accepted")
    await refused(verifier, bearer("a" * (auth.MAX_TOKEN_LENGTH + 1)), "token too long")


async def test_expired_token() -> None:
    now = int(time.time())
    verifier = hs_verifier(leeway=30)
    error = await refused(verifier, bearer(hs256(claims(exp=now - 120))), "token expired")
    assert str(error) == "token expired"
    within_leeway = await verifier.verify(bearer(hs256(claims(exp=now - 5))))
    assert within_leeway.user_id == "u-1"


async def test_alg_none_is_refused() -> None:
    verifier = hs_verifier()
    for alg in ("none", "None", "NONE"):
        unsigned = hand_signed({"alg": alg, "typ": "JWT"}, claims(), None)
        await refused(verifier, bearer(unsigned), "is not accepted")
    # An unsigned token with an HS256 header still needs a signature.
    stripped = hs256(claims()).rsplit(".", 1)[0] + "."
    await refused(verifier, bearer(stripped), "invalid token")
    # No alg at all.
    await refused(verifier, bearer(hand_signed({"typ": "JWT"}, claims(), None)), "not accepted")


async def test_other_hmac_algorithms_are_refused() -> None:
    for alg in ("HS384", "HS512"):
        token = jwt.encode(claims(), JWT_SECRET * 2, algorithm=alg)
        await refused(hs_verifier(), bearer(token), f"algorithm '{alg}' is not accepted")


async def test_token_signed_with_another_secret() -> None:
    token = hs256(claims(), secret=OTHER_SECRET)
    await refused(hs_verifier(), bearer(token), "Signature verification failed")


async def test_tampered_payload() -> None:
    header, _, signature = hs256(claims(role="READ_ONLY")).split(".")
    forged = f"{header}.{b64json(claims(role='ADMIN', tenant_id='globex'))}.{signature}"
    await refused(hs_verifier(), bearer(forged), "Signature verification failed")


async def test_missing_exp() -> None:
    await refused(hs_verifier(), bearer(hs256(claims(exp=None))), "invalid token.*exp")


async def test_exp_is_a_numeric_date_only() -> None:
    """RFC 7519's NumericDate: a JSON number of seconds. PyJWT takes int(exp), so a
    string of digits or 1e300 (never expiring) passed before."""
    later = int(time.time()) + 3600
    for bad in (str(later), 1e300, True, [later], 253_402_300_800):
        await refused(hs_verifier(), bearer(hs256(claims(exp=bad))), "exp")
    for good in (later, later + 0.5):
        assert (await hs_verifier().verify(bearer(hs256(claims(exp=good))))).user_id == "u-1"


async def test_missing_or_bad_sub() -> None:
    verifier = hs_verifier()
    await refused(verifier, bearer(hs256(claims(sub=None))), "invalid token.*sub")
    await refused(verifier, bearer(hs256(claims(sub=42))), "invalid token")
    await refused(verifier, bearer(hs256(claims(sub=""))), "invalid sub claim")
    await refused(verifier, bearer(hs256(claims(sub="u" * 129))), "invalid sub claim")


async def test_a_sub_is_an_id_stored_as_it_is() -> None:
    """Control characters, spaces or a record's prefix in ``sub`` are refused: the
    subject becomes the user's id, in keys and logs, and an id names one record."""
    verifier = hs_verifier()
    for sub in ("u\x00x", "u\nx", "a b", "u\u200bx", "cus_123", "act_x"):
        await refused(verifier, bearer(hs256(claims(sub=sub))), "invalid sub claim")
    # An e-mail address would be an id an erasure cannot take back (README "Privacy").
    for sub in ("ann@acme.example", "samlp|corp|ann@corp.example"):
        await refused(verifier, bearer(hs256(claims(sub=sub))), "invalid sub claim.*@")
    for sub in ("u" * 128, "auth0|5f1b", "1a2b3c4d-aaaa-bbbb-cccc-1234567890ab", "usr_x"):
        assert (await verifier.verify(bearer(hs256(claims(sub=sub))))).user_id == sub


async def test_missing_tenant_claim() -> None:
    verifier = hs_verifier()
    for tenant in (None, "", 42, ["acme"]):
        token = hs256(claims(tenant_id=tenant))
        await refused(verifier, bearer(token), "no tenant claim")


async def test_invalid_tenant_id() -> None:
    verifier = hs_verifier()
    for tenant in ("acme#USER#u-1", "acme globex", "../acme", "a" * 65, "acmé"):
        token = hs256(claims(tenant_id=tenant))
        await refused(verifier, bearer(token), "invalid tenant claim")


async def test_tenant_id_with_trailing_newline_is_refused() -> None:
    # The tenant pattern is anchored with ``$``, which also matches before a final "\n".
    token = hs256(claims(tenant_id="acme\n"))
    await refused(hs_verifier(), bearer(token), "invalid tenant claim")


async def test_issuer_and_audience_are_checked_when_configured() -> None:
    verifier = hs_verifier(issuer=ISSUER, audience=AUDIENCE)
    right = await verifier.verify(bearer(hs256(claims(iss=ISSUER, aud=AUDIENCE))))
    assert right.user_id == "u-1"
    listed = await verifier.verify(bearer(hs256(claims(iss=ISSUER, aud=["other", AUDIENCE]))))
    assert listed.user_id == "u-1"
    wrong: list[tuple[dict[str, Any], str]] = [
        (claims(iss="https://evil.example/", aud=AUDIENCE), "issuer"),
        (claims(iss=ISSUER, aud="another-api"), "audience"),
        (claims(aud=AUDIENCE), "iss"),
        (claims(iss=ISSUER), "aud"),
    ]
    for payload, match in wrong:
        await refused(verifier, bearer(hs256(payload)), f"(?i)invalid token.*{match}")


async def test_issuer_and_audience_are_not_required_when_not_configured() -> None:
    token = hs256(claims(iss="https://anyone.example/", aud="anything"))
    assert (await hs_verifier().verify(bearer(token))).user_id == "u-1"


async def test_future_nbf_is_refused() -> None:
    now = int(time.time())
    verifier = hs_verifier(leeway=30)
    await refused(verifier, bearer(hs256(claims(nbf=now + 600))), "invalid token.*not yet valid")
    assert (await verifier.verify(bearer(hs256(claims(nbf=now + 5))))).user_id == "u-1"


async def test_no_secret_refuses_hs256() -> None:
    await refused(Verifier(secret=None), bearer(hs256(claims())), "'HS256' is not accepted")
    await refused(Verifier(secret=""), bearer(hs256(claims())), "'HS256' is not accepted")


# -- RS256 via JWKS ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A JWKS with the public half of ``rsa_key`` (kid ``KID``), over real HTTP."""
    jwk = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    body = json.dumps({"keys": [jwk | {"kid": KID, "use": "sig", "alg": "RS256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            JWKS_FETCHES.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


JWKS_FETCHES: list[str] = []  # every GET the JWKS server answered


def rs256(payload: dict[str, Any], key: rsa.RSAPrivateKey, kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


async def test_rs256_with_known_kid_is_accepted(rsa_key: rsa.RSAPrivateKey, jwks_url: str) -> None:
    verifier = Verifier(secret=None, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)
    payload = claims(iss=ISSUER, aud=AUDIENCE, role=None, **{"cognito:groups": ["MANAGER"]})
    principal = await verifier.verify(bearer(rs256(payload, rsa_key)))
    assert (principal.tenant_id, principal.user_id, principal.role) == ("acme", "u-1", Role.MANAGER)
    # The cached key serves the next token too.
    again = rs256(claims(sub="u-2", iss=ISSUER, aud=AUDIENCE), rsa_key)
    assert (await verifier.verify(bearer(again))).user_id == "u-2"


async def test_rs256_with_unknown_or_missing_kid_is_refused(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = Verifier(secret=JWT_SECRET, jwks_url=jwks_url)
    unknown = rs256(claims(), rsa_key, kid="someone-elses-key")
    await refused(verifier, bearer(unknown), "invalid token.*signing key")
    await refused(verifier, bearer(rs256(claims(), rsa_key, kid=None)), "invalid token")


async def test_rs256_signed_by_another_key_is_refused(jwks_url: str) -> None:
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    verifier = Verifier(secret=None, jwks_url=jwks_url)
    await refused(verifier, bearer(rs256(claims(), impostor)), "Signature verification failed")


async def test_rs256_without_jwks_is_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    token = rs256(claims(), rsa_key)
    await refused(hs_verifier(), bearer(token), "algorithm 'RS256' is not accepted")


async def test_hs256_signed_with_the_public_key_is_refused(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    """The HS/RS confusion attack: the public key PEM used as an HMAC secret."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for kid in (KID, None):
        header = {"alg": "HS256", "typ": "JWT"} | ({"kid": kid} if kid else {})
        forged = hand_signed(header, claims(), pem)
        both = Verifier(secret=JWT_SECRET, jwks_url=jwks_url)
        await refused(both, bearer(forged), "Signature verification failed")
        jwks_only = Verifier(secret=None, jwks_url=jwks_url)
        await refused(jwks_only, bearer(forged), "algorithm 'HS256' is not accepted")


async def test_unknown_kids_do_not_hammer_the_jwks_endpoint(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = Verifier(secret=None, jwks_url=jwks_url)
    before = len(JWKS_FETCHES)
    await verifier.verify(bearer(rs256(claims(), rsa_key)))
    for n in range(5):
        await refused(verifier, bearer(rs256(claims(), rsa_key, kid=f"random-{n}")), "invalid")
    # One fetch for the key set; unknown kids wait for the refresh cooldown.
    assert len(JWKS_FETCHES) - before == 1


async def test_cognito_access_token_audience_is_its_client_id(
    rsa_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = Verifier(secret=None, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)
    access = claims(iss=ISSUER, token_use="access", client_id=AUDIENCE)
    assert (await verifier.verify(bearer(rs256(access, rsa_key)))).user_id == "u-1"
    other_client = claims(iss=ISSUER, token_use="access", client_id="another-app", aud=AUDIENCE)
    await refused(verifier, bearer(rs256(other_client, rsa_key)), "audience")
    refresh = claims(iss=ISSUER, aud=AUDIENCE, token_use="refresh")
    await refused(verifier, bearer(rs256(refresh, rsa_key)), "token_use")
