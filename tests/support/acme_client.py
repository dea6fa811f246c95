"""A small ACME (RFC 8555) client for tests: one account, http-01 orders, nothing more.

It plays the part of certbot against the lab's pebble, so that tests can drive the real
issuance path (pebble resolving the name through the lab DNS server and fetching the
challenge from the name's address) without installing an ACME client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import time
import urllib.error
import urllib.request
from typing import Callable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


class AcmeError(Exception):
    """The server refused a request, or a challenge or an order became invalid."""


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_chain(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


class AcmeClient:
    def __init__(self, directory_url: str, ca_file: str, timeout: float = 60.0):
        self.context = ssl.create_default_context(cafile=ca_file)
        self.timeout = timeout
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.kid: str | None = None
        self.nonce: str | None = None
        self.directory = json.loads(self._http("GET", directory_url)[2])

    # -- transport ----------------------------------------------------------------
    def _http(self, method: str, url: str, body: bytes | None = None):
        headers = {"Content-Type": "application/jose+json"} if body is not None else {}
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers, exc.read()

    def _jwk(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"crv": "P-256", "kty": "EC",
                "x": b64(numbers.x.to_bytes(32, "big")), "y": b64(numbers.y.to_bytes(32, "big"))}

    def thumbprint(self) -> str:
        canonical = json.dumps(self._jwk(), separators=(",", ":"), sort_keys=True).encode()
        return b64(hashlib.sha256(canonical).digest())

    def _new_nonce(self) -> str:
        if self.nonce:
            nonce, self.nonce = self.nonce, None
            return nonce
        return self._http("HEAD", self.directory["newNonce"])[1]["Replay-Nonce"]

    def post(self, url: str, payload: dict | None):
        """A JWS-signed POST (payload None: POST-as-GET); return (headers, body bytes)."""
        protected = {"alg": "ES256", "nonce": self._new_nonce(), "url": url}
        if self.kid:
            protected["kid"] = self.kid
        else:
            protected["jwk"] = self._jwk()
        protected_b64 = b64(json.dumps(protected).encode())
        payload_b64 = "" if payload is None else b64(json.dumps(payload).encode())
        der = self.key.sign(f"{protected_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        body = json.dumps({"protected": protected_b64, "payload": payload_b64,
                           "signature": b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}).encode()
        status, headers, data = self._http("POST", url, body)
        self.nonce = headers.get("Replay-Nonce")
        if status >= 400:
            raise AcmeError(f"POST {url}: {status} {data.decode(errors='replace')}")
        return headers, data

    def _poll(self, url: str, what: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            obj = json.loads(self.post(url, None)[1])
            if obj["status"] == "valid":
                return obj
            if obj["status"] == "invalid":
                errors = [c.get("error", {}).get("detail", "") for c in obj.get("challenges", [])]
                raise AcmeError(f"{what} is invalid: {'; '.join(e for e in errors if e) or obj}")
            if time.monotonic() > deadline:
                raise AcmeError(f"{what} still {obj['status']} after {self.timeout} s")
            time.sleep(0.2)

    # -- ACME ---------------------------------------------------------------------
    def register(self) -> None:
        headers, _unused = self.post(self.directory["newAccount"], {"termsOfServiceAgreed": True})
        self.kid = headers["Location"]

    def order(self, names: list[str], serve: Callable[[str, str], None]) -> tuple[str, bytes]:
        """Order a certificate for names with http-01; return (PEM chain, PEM private key).

        serve(token, key_authorization) must make
        http://<name>/.well-known/acme-challenge/<token> answer key_authorization.
        """
        if self.kid is None:
            self.register()
        headers, data = self.post(self.directory["newOrder"],
                                  {"identifiers": [{"type": "dns", "value": n} for n in names]})
        order_url, order = headers["Location"], json.loads(data)
        for authz_url in order["authorizations"]:
            authz = json.loads(self.post(authz_url, None)[1])
            if authz["status"] == "valid":  # pebble reuses valid authorizations at times
                continue
            challenge = next(c for c in authz["challenges"] if c["type"] == "http-01")
            serve(challenge["token"], f"{challenge['token']}.{self.thumbprint()}")
            self.post(challenge["url"], {})
            self._poll(authz_url, f"the authorization of {authz['identifier']['value']}")
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
               .sign(key, hashes.SHA256()))
        self.post(order["finalize"], {"csr": b64(csr.public_bytes(serialization.Encoding.DER))})
        order = self._poll(order_url, "the order")
        chain = self.post(order["certificate"], None)[1].decode()
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        return chain, key_pem
