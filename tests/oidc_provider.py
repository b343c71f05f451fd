"""A real OpenID Connect provider on loopback, for the single sign-on tests.

Authlib's authorization server (the authorization code grant with its OpenID Connect and
PKCE extensions, ID tokens signed RS256) behind werkzeug's HTTP server in a thread, with
the endpoints a relying party uses: discovery, authorize, token, userinfo and JWKS. The
authorize endpoint signs in `provider.person` (the claims a test sets) and consents at once,
as a provider where that person already has a session would (an empty person declines).

`provider.id_tokens` tampers with the ID tokens it hands out, as an attacker between the
provider and the relying party would: "tampered" changes the email inside a signed token
(its signature no longer matches), "unsigned" sends the claims with alg "none", "foreign"
signs them with a key that is not in the JWKS (under the JWKS key's kid).
"""

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.oauth2 import AuthorizationServer, OAuth2Request, ResourceProtector
from authlib.oauth2.rfc6749 import ClientMixin, JsonPayload, JsonRequest, OAuth2Payload, grants
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.core.models import AuthorizationCodeMixin
from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

SCOPES = ("openid", "email", "profile")
UNSIGNED_HEADER = json.dumps({"alg": "none", "typ": "JWT"}).encode()
# The claims each scope releases (OpenID Connect Core, 5.4).
SCOPE_CLAIMS = {"email": ("email", "email_verified"),
                "profile": ("name", "given_name", "family_name", "preferred_username")}


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_post", "client_secret_basic")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    person: dict
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time


@dataclass
class Token:
    access_token: str
    client_id: str
    scope: str
    person: dict
    issued_at: int
    expires_in: int

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return time.time() > self.issued_at + self.expires_in

    def is_revoked(self):
        return False


class _Payload(OAuth2Payload):
    def __init__(self, request: Request):
        self._request = request

    @property
    def data(self):
        return self._request.values

    @property
    def datalist(self):
        return {key: self._request.values.getlist(key) for key in self._request.values}


class _OAuth2Request(OAuth2Request):
    def __init__(self, request: Request):
        super().__init__(method=request.method, uri=request.url, headers=request.headers)
        self._request = request
        self.payload = _Payload(request)

    @property
    def args(self):
        return self._request.args

    @property
    def form(self):
        return self._request.form


def _userinfo(person: dict, scope: str) -> UserInfo:
    released = {"sub": person["sub"]}
    for granted in scope.split():
        released.update({c: person[c] for c in SCOPE_CLAIMS.get(granted, ()) if c in person})
    return UserInfo(released)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Provider:
    """The provider, serving on 127.0.0.1 from start() to stop()."""

    def __init__(self, *, client_id: str, client_secret: str):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "provider-key-1",
                                                          "use": "sig", "alg": "RS256"})
        self.client = Client(client_id, client_secret)
        self.person: dict = {}
        self.id_tokens = "honest"  # or "tampered", "unsigned", "foreign"
        self.codes: dict[str, AuthorizationCode] = {}
        self.tokens: dict[str, Token] = {}
        self.requests: list[str] = []  # "METHOD /path" of each request served
        self._server = None
        self._thread = None
        self.issuer = ""
        self.authorization = self._authorization_server()

    # --- the server -----------------------------------------------------------------------
    def start(self) -> "Provider":
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(10)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        self.requests.append(f"{request.method} {request.path}")
        routes = {"/.well-known/openid-configuration": self._discovery,
                  "/authorize": self._authorize, "/token": self._token,
                  "/userinfo": self._userinfo_endpoint, "/jwks": self._jwks}
        handler = routes.get(request.path)
        response = handler(request) if handler else Response("not found", status=404)
        return response(environ, start_response)

    # --- the endpoints --------------------------------------------------------------------
    def _discovery(self, request: Request) -> Response:
        return _json({
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": list(SCOPES),
            "token_endpoint_auth_methods_supported": ["client_secret_post",
                                                      "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
        })

    def _authorize(self, request: Request) -> Response:
        person = dict(self.person) if self.person else None  # None: the person declines
        try:
            grant = self.authorization.get_consent_grant(request, end_user=person)
        except OAuth2Error as error:  # no client, a redirect URI it has not registered…
            return _json(dict(error.get_body()), status=error.status_code)
        return self.authorization.create_authorization_response(
            grant.request, grant_user=person, grant=grant)

    def _token(self, request: Request) -> Response:
        response = self.authorization.create_token_response(request)
        if response.status_code == 200 and self.id_tokens != "honest":
            body = json.loads(response.get_data())
            body["id_token"] = self._tampered(body["id_token"])
            response.set_data(json.dumps(body))
        return response

    def _userinfo_endpoint(self, request: Request) -> Response:
        protector = ResourceProtector()
        protector.register_token_validator(_TokenValidator(self.tokens))
        try:
            token = protector.validate_request(["openid"], _OAuth2Request(request))
        except OAuth2Error as error:
            return _json(dict(error.get_body()), status=error.status_code,
                         headers=error.get_headers())
        return _json(dict(_userinfo(token.person, token.scope)))

    def _jwks(self, request: Request) -> Response:
        return _json({"keys": [self.key.as_dict(private=False)]})

    # --- authlib's server, its grant and its OpenID Connect extension ---------------------
    def _authorization_server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):
            def query_client(self, client_id):
                return provider.client if client_id == provider.client.client_id else None

            def save_token(self, token, request):
                provider.tokens[token["access_token"]] = Token(
                    token["access_token"], request.client.client_id, token["scope"],
                    request.user, int(time.time()), token["expires_in"])

            def create_oauth2_request(self, request):
                if isinstance(request, OAuth2Request):
                    return request
                return _OAuth2Request(request)

            def create_json_request(self, request):
                json_request = JsonRequest(request.method, request.url, request.headers)
                json_request.payload = JsonPayload()
                return json_request

            def handle_response(self, status, body, headers):
                if isinstance(body, dict):
                    body = json.dumps(body)
                return Response(body, status=status, headers=headers)

            def send_signal(self, name, *args, **kwargs):
                pass

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_post", "client_secret_basic"]

            def save_authorization_code(self, code, request):
                data = request.payload.data
                provider.codes[code] = AuthorizationCode(
                    code, request.client.client_id, request.payload.redirect_uri,
                    request.payload.scope, data.get("nonce"), request.user,
                    data.get("code_challenge"), data.get("code_challenge_method"))

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        class OpenIdCode(OpenIDCode):
            def exists_nonce(self, nonce, request):
                return any(code.nonce == nonce for code in provider.codes.values())

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": provider.key.kid}

            def get_client_claims(self, client):
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def generate_user_info(self, user, scope):
                return _userinfo(user, scope)

        server = Server(scopes_supported=list(SCOPES))
        server.register_token_generator("default", BearerTokenGenerator(
            access_token_generator=lambda **kwargs: secrets.token_urlsafe(32)))
        server.register_grant(CodeGrant, [OpenIdCode(require_nonce=True), CodeChallenge()])
        return server

    def _tampered(self, id_token: str) -> str:
        header, claims, signature = id_token.split(".")
        payload = json.loads(_unb64(claims))
        if self.id_tokens == "tampered":
            payload["email"] = "mallory@acme.test"
            return f"{header}.{_b64(json.dumps(payload).encode())}.{signature}"
        if self.id_tokens == "unsigned":
            return f"{_b64(UNSIGNED_HEADER)}.{claims}."
        if self.id_tokens == "foreign":
            other = RSAKey.generate_key(2048, parameters={"kid": self.key.kid})
            return jwt.encode({"alg": "RS256", "kid": self.key.kid}, payload, other)
        raise ValueError(f"unknown id_tokens mode {self.id_tokens!r}")


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the tests read provider.requests instead
        pass


class _TokenValidator(BearerTokenValidator):
    def __init__(self, tokens: dict[str, Token]):
        super().__init__()
        self.tokens = tokens

    def authenticate_token(self, token_string):
        return self.tokens.get(token_string)


def _json(body: dict, status: int = 200, headers=None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers,
                    content_type="application/json")
