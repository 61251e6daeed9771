"""Pro Santé Connect: a professional signs in with PSC into the account linked to their RPPS
number, never into another one, and no account is ever created. allauth talks over real HTTP
to a small fake PSC running in a thread (discovery, token, userinfo, JWKS)."""

import base64
import hashlib
import json
import logging
import os
import re
import secrets
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from allauth.account.authentication import get_authentication_records
from allauth.socialaccount.models import SocialAccount
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import resolve, reverse

from professionals import pro_sante_connect
from tsn.models import User

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "tsn-territoire-test"
CLIENT_SECRET = "secret-du-client-psc"
LOGIN_URL = "/comptes/oidc/psc/login/"
CALLBACK_URL = "/comptes/oidc/psc/login/callback/"


def psc_app(server_url: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> dict:
    """The PSC app of SOCIALACCOUNT_PROVIDERS, as tsn/settings.py builds it from the
    environment (test_settings_build_the_psc_app_from_the_environment proves it)."""
    return {
        "provider_id": "psc",
        "name": "Pro Santé Connect",
        "client_id": client_id,
        "secret": secret,
        "settings": {
            "server_url": server_url,
            "scope": ["openid", "scope_all"],
            "auth_params": {"acr_values": "eidas1"},
            "oauth_pkce_enabled": True,
            "fetch_userinfo": True,
            "email_authentication": False,
            "verified_email": False,
        },
    }


# --- The fake provider -------------------------------------------------------------------


@dataclass
class Grant:
    """What the fake provider remembers of an authorisation until its code is exchanged."""

    userinfo: dict
    redirect_uri: str
    code_challenge: str
    id_token_claims: dict


@dataclass
class FakePsc:
    """PSC's OpenID Connect endpoints, as much as a relying party sees of them."""

    key: rsa.RSAPrivateKey
    url: str = ""
    grants: dict[str, Grant] = field(default_factory=dict)
    access_tokens: dict[str, dict] = field(default_factory=dict)
    token_requests: list[dict] = field(default_factory=list)

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def authorize(self, query: dict[str, str], userinfo: dict, **id_token_claims) -> str:
        """The professional authenticates at PSC: the code PSC sends back to the browser."""
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(
            userinfo=userinfo,
            redirect_uri=query["redirect_uri"],
            code_challenge=query.get("code_challenge", ""),
            id_token_claims=id_token_claims,
        )
        return code

    def token(self, form: dict[str, str], authorization: str) -> tuple[int, dict]:
        self.token_requests.append(form)
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization.removeprefix("Basic ")).decode()
            client_id, _, secret = decoded.partition(":")
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET):
            return 401, {"error": "invalid_client"}
        grant = self.grants.pop(form.get("code", ""), None)
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or form.get("redirect_uri") != grant.redirect_uri
            or not _pkce_matches(form.get("code_verifier", ""), grant.code_challenge)
        ):
            return 400, {"error": "invalid_grant"}
        access_token = secrets.token_urlsafe(24)
        self.access_tokens[access_token] = grant.userinfo
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "sub": grant.userinfo["sub"],
            "iat": now,
            "exp": now + 120,
            "auth_time": now,
            "acr": "eidas1",
            "jti": str(uuid.uuid4()),
            **grant.id_token_claims,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "psc-test"})
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 120,
            "id_token": id_token,
            "scope": "openid scope_all",
        }

    def userinfo(self, authorization: str) -> tuple[int, dict]:
        userinfo = self.access_tokens.get(authorization.removeprefix("Bearer "))
        if userinfo is None:
            return 401, {"error": "invalid_token"}
        return 200, userinfo

    def jwks(self) -> dict:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "psc-test", "alg": "RS256", "use": "sig"}]}


def _pkce_matches(verifier: str, challenge: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    return bool(challenge) and base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == challenge


class _Handler(BaseHTTPRequestHandler):
    server: "ThreadingHTTPServer"

    def do_GET(self) -> None:
        fake: FakePsc = self.server.fake
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            self._answer(200, fake.discovery())
        elif path == "/userinfo":
            self._answer(*fake.userinfo(self.headers.get("Authorization", "")))
        elif path == "/jwks":
            self._answer(200, fake.jwks())
        else:
            self._answer(404, {"error": "not_found"})

    def do_POST(self) -> None:
        fake: FakePsc = self.server.fake
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = {name: values[0] for name, values in parse_qs(body).items()}
        if urlsplit(self.path).path == "/token":
            self._answer(*fake.token(form, self.headers.get("Authorization", "")))
        else:
            self._answer(404, {"error": "not_found"})

    def _answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def fake_psc(signing_key):
    # Bound to port 0: the system picks a free port; the socket listens from here on, so
    # requests made before the thread starts serving wait in the backlog.
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    fake = FakePsc(key=signing_key, url=f"http://127.0.0.1:{server.server_address[1]}")
    server.fake = fake
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def psc(db, settings, fake_psc) -> FakePsc:
    """PSC configured, pointing at the fake provider. allauth reads SOCIALACCOUNT_PROVIDERS
    at each request and keeps the discovery document only for the request that read it:
    nothing to clear between tests."""
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": [psc_app(fake_psc.url)]}}
    return fake_psc


def start_login(client, psc: FakePsc) -> dict[str, str]:
    """Click the PSC button: the query of the authorisation request the browser is sent to."""
    response = client.post(LOGIN_URL)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{psc.url}/authorize"
    return {name: values[0] for name, values in parse_qs(location.query).items()}


def log_in_with_psc(client, psc: FakePsc, userinfo: dict, **id_token_claims):
    """A whole PSC login: the button, the authentication at PSC, back on the callback."""
    query = start_login(client, psc)
    code = psc.authorize(query, userinfo, **id_token_claims)
    return client.get(CALLBACK_URL, {"code": code, "state": query["state"]})


def psc_userinfo(idnps: str, sub: str | None = None, **claims) -> dict:
    """PSC's userinfo (scope_all) for a professional with this national identifier."""
    return {
        "sub": sub or f"f:550dc1c8-d97b-4b1b-ac8c-8eb4471cf9dd:{idnps}",
        "SubjectNameID": idnps,
        "family_name": "MARTIN",
        "given_name": "CLAIRE",
        "email": "claire.martin@mssante.example.fr",
        "preferred_username": idnps,
        **claims,
    }


def signed_in_user(response):
    user = response.wsgi_request.user
    return user if user.is_authenticated else None


# --- Configuration -----------------------------------------------------------------------


def _settings_in_a_fresh_process(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.SOCIALACCOUNT_PROVIDERS))"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PSC_")}
    full_env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tsn.settings",
            # Points at no real server: reading settings must not connect to it.
            "DATABASE_URL": "postgresql://tsn:secret@db.invalid:5432/tsn",
            **env,
        }
    )
    return subprocess.run(  # noqa: S603 (fixed interpreter and arguments)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_settings_build_the_psc_app_from_the_environment():
    configured = _settings_in_a_fresh_process(
        PSC_CLIENT_ID="client-ans", PSC_CLIENT_SECRET="secret-ans"
    )
    assert configured.returncode == 0, configured.stderr
    assert json.loads(configured.stdout) == {
        "openid_connect": {
            "APPS": [
                psc_app(
                    "https://auth.esante.gouv.fr/auth/realms/esante-wallet",
                    client_id="client-ans",
                    secret="secret-ans",
                )
            ]
        }
    }
    test_realm = "https://auth.bas.psc.esante.gouv.fr/auth/realms/esante-wallet"
    configured = _settings_in_a_fresh_process(
        PSC_CLIENT_ID="client-ans", PSC_CLIENT_SECRET="secret-ans", PSC_SERVER_URL=test_realm
    )
    apps = json.loads(configured.stdout)["openid_connect"]["APPS"]
    assert apps[0]["settings"]["server_url"] == test_realm

    unconfigured = _settings_in_a_fresh_process()
    assert unconfigured.returncode == 0, unconfigured.stderr
    assert json.loads(unconfigured.stdout) == {"openid_connect": {"APPS": []}}


def test_a_client_id_without_its_secret_stops_startup():
    result = _settings_in_a_fresh_process(PSC_CLIENT_ID="client-ans")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "PSC_CLIENT_SECRET" in result.stderr.splitlines()[-1]


def test_the_callback_to_register_with_the_ans_reaches_the_guarded_view():
    assert reverse("openid_connect_callback", kwargs={"provider_id": "psc"}) == CALLBACK_URL
    assert reverse("openid_connect_login", kwargs={"provider_id": "psc"}) == LOGIN_URL
    assert resolve(CALLBACK_URL).func is pro_sante_connect.callback
    assert resolve(LOGIN_URL).func is pro_sante_connect.login


# --- The login page ----------------------------------------------------------------------


def test_login_page_offers_psc_as_a_post_form_when_configured(client, psc):
    response = client.get(reverse("account_login"))
    content = response.content.decode()
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', content, re.S)
    assert form, content
    assert form.group(1) == LOGIN_URL
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert "Se connecter avec Pro Santé Connect" in form.group(2)
    # The strict CSP holds: no inline style, every script carries the nonce.
    assert "style=" not in content
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert all(f'nonce="{nonce}"' in tag for tag in re.findall(r"<script[^>]*>", content))


def test_login_page_keeps_the_next_page_for_psc(client, psc):
    content = client.get(reverse("account_login"), {"next": "/patients/"}).content.decode()
    assert f'action="{LOGIN_URL}?next=%2Fpatients%2F"' in content


def test_without_psc_configured_there_is_no_button_and_no_login(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": []}}
    content = client.get(reverse("account_login")).content.decode()
    assert "Pro Santé Connect" not in content
    assert LOGIN_URL not in content
    assert client.post(LOGIN_URL).status_code == 404
    assert client.get(LOGIN_URL).status_code == 404
    assert client.get(CALLBACK_URL, {"code": "x", "state": "y"}).status_code == 404


def test_a_get_on_the_login_address_does_not_leave_for_psc(client, psc):
    # allauth starts a third-party login on POST only (a link cannot log someone in).
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    assert 'method="post"' in response.content.decode()


# --- Signing in --------------------------------------------------------------------------


def test_authorisation_request_asks_psc_for_its_scope_and_level(client, psc):
    query = start_login(client, psc)
    assert query["client_id"] == CLIENT_ID
    assert query["response_type"] == "code"
    assert set(query["scope"].split(" ")) == {"openid", "scope_all"}
    assert query["acr_values"] == "eidas1"
    assert query["redirect_uri"] == f"http://testserver{CALLBACK_URL}"
    assert query["state"]
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"]


def test_known_rpps_signs_in_and_links_psc_once(client, psc, make_professional):
    professional = make_professional()
    user = professional.user
    users_before = User.objects.count()
    userinfo = psc_userinfo(professional.idnps)

    response = log_in_with_psc(client, psc, userinfo)

    assert response.status_code == 302
    assert signed_in_user(response) == user
    assert client.session["_auth_user_id"] == str(user.pk)
    # The code was exchanged with the client's credentials and the PKCE verifier.
    assert psc.token_requests[-1]["client_id"] == CLIENT_ID
    assert psc.token_requests[-1]["code_verifier"]
    account = SocialAccount.objects.get(provider="psc")
    assert (account.user, account.uid) == (user, userinfo["sub"])
    # What tsn/mfa.py reads to take a PSC login as strong authentication.
    records = get_authentication_records(response.wsgi_request, user)
    assert [(r["method"], r["provider"], r["uid"]) for r in records] == [
        ("socialaccount", "psc", userinfo["sub"])
    ]
    # PSC's e-mail address and names change nothing in the account.
    user.refresh_from_db()
    assert user.email != userinfo["email"]
    assert User.objects.count() == users_before

    client.logout()
    again = log_in_with_psc(client, psc, userinfo)
    assert signed_in_user(again) == user
    assert SocialAccount.objects.filter(provider="psc").count() == 1
    assert User.objects.count() == users_before


def test_a_psc_login_satisfies_the_second_factor_requirement(
    client, psc, make_professional, settings
):
    settings.TSN_REQUIRE_MFA = True
    professional = make_professional()
    log_in_with_psc(client, psc, psc_userinfo(professional.idnps))
    assert client.get(reverse("home")).status_code == 200
    # The same account logged in with its password alone is sent to enrolment.
    client.logout()
    client.force_login(professional.user)
    assert client.get(reverse("home")).url == reverse("mfa_index")


def test_psc_e_mail_address_never_finds_an_account(client, psc, make_professional):
    # PSC sends the e-mail address of an existing account, with an RPPS TSN does not know.
    owner = make_professional().user
    userinfo = psc_userinfo("810000000099", email=owner.email, email_verified=True)

    response = log_in_with_psc(client, psc, userinfo)

    assert response.status_code == 403
    assert signed_in_user(response) is None
    assert not SocialAccount.objects.exists()


def test_unknown_rpps_is_refused_with_a_clear_page(client, psc, make_professional, caplog):
    make_professional()
    users_before = User.objects.count()
    userinfo = psc_userinfo("810000000099")

    with caplog.at_level(logging.WARNING, logger="professionals.pro_sante_connect"):
        response = log_in_with_psc(client, psc, userinfo)

    assert response.status_code == 403
    content = response.content.decode()
    assert "Aucun compte TSN actif n'est associé à votre numéro RPPS" in content
    assert "10000000099" in content  # their RPPS, to give to the administrators
    assert "style=" not in content
    assert signed_in_user(response) is None
    assert "_auth_user_id" not in client.session
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()
    assert client.get("/").status_code == 302
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refusals == ["Pro Santé Connect login refused: unknown_rpps"]
    assert all(
        value not in caplog.text
        for value in (userinfo["family_name"], userinfo["email"], userinfo["sub"])
    )


@pytest.mark.parametrize("case", ["inactive account", "no account", "not an RPPS identifier"])
def test_professionals_without_an_active_account_are_refused(client, psc, make_professional, case):
    professional = make_professional(with_user=case != "no account")
    if case == "inactive account":
        professional.user.is_active = False
        professional.user.save(update_fields=["is_active"])
    idnps = professional.idnps
    if case == "not an RPPS identifier":
        # An ADELI professional's identifier: "0" + ADELI, whatever digits follow.
        idnps = "0" + professional.rpps
    users_before = User.objects.count()

    response = log_in_with_psc(client, psc, psc_userinfo(idnps))

    assert response.status_code == 403
    assert "Aucun compte TSN actif" in response.content.decode()
    assert signed_in_user(response) is None
    assert User.objects.count() == users_before
    assert not SocialAccount.objects.exists()


def test_an_account_deactivated_after_linking_is_refused(client, psc, make_professional):
    professional = make_professional()
    userinfo = psc_userinfo(professional.idnps)
    assert signed_in_user(log_in_with_psc(client, psc, userinfo)) == professional.user
    client.logout()
    professional.user.is_active = False
    professional.user.save(update_fields=["is_active"])

    response = log_in_with_psc(client, psc, userinfo)

    assert response.status_code == 403
    assert signed_in_user(response) is None


def test_a_link_to_an_account_the_rpps_no_longer_has_is_refused(
    client, psc, make_professional, make_user
):
    professional = make_professional()
    userinfo = psc_userinfo(professional.idnps)
    first_account = professional.user
    assert signed_in_user(log_in_with_psc(client, psc, userinfo)) == first_account
    client.logout()
    professional.user = make_user()
    professional.save(update_fields=["user"])

    response = log_in_with_psc(client, psc, userinfo)

    assert response.status_code == 403
    assert "rattachée à un autre compte TSN" in response.content.decode()
    assert signed_in_user(response) is None


def test_connecting_psc_from_an_account_only_links_that_accounts_rpps(
    client, psc, make_professional
):
    signed_in, other = make_professional(), make_professional()
    client.force_login(signed_in.user)

    def connect(professional):
        response = client.post(LOGIN_URL, {"process": "connect"})
        query = {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}
        code = psc.authorize(query, psc_userinfo(professional.idnps))
        return client.get(CALLBACK_URL, {"code": code, "state": query["state"]})

    refused = connect(other)
    assert refused.status_code == 403
    assert not SocialAccount.objects.exists()

    connect(signed_in)
    assert SocialAccount.objects.get(provider="psc").user == signed_in.user


def test_a_login_psc_does_not_vouch_for_at_eidas1_is_refused(client, psc, make_professional):
    professional = make_professional()

    response = log_in_with_psc(client, psc, psc_userinfo(professional.idnps), acr=None)

    assert response.status_code == 403
    assert "niveau d'authentification" in response.content.decode()
    assert signed_in_user(response) is None
    assert not SocialAccount.objects.exists()


# --- Provider errors ---------------------------------------------------------------------


def _assert_failed_login_page(response) -> None:
    assert response.status_code == 401
    content = response.content.decode()
    assert "La connexion avec Pro Santé Connect n'a pas abouti" in content
    assert reverse("account_login") in content
    assert signed_in_user(response) is None
    assert not SocialAccount.objects.exists()


def test_an_error_sent_back_by_psc_shows_a_failed_login(client, psc, make_professional):
    query = start_login(client, psc)
    response = client.get(CALLBACK_URL, {"error": "server_error", "state": query["state"]})
    _assert_failed_login_page(response)


def test_a_refused_code_exchange_shows_a_failed_login(client, psc, make_professional):
    professional = make_professional()
    query = start_login(client, psc)
    psc.authorize(query, psc_userinfo(professional.idnps))

    response = client.get(
        CALLBACK_URL, {"code": "a-code-psc-never-issued", "state": query["state"]}
    )

    _assert_failed_login_page(response)
    assert psc.token_requests  # the exchange was tried, and refused


def test_an_id_token_for_another_client_shows_a_failed_login(client, psc, make_professional):
    professional = make_professional()

    response = log_in_with_psc(
        client, psc, psc_userinfo(professional.idnps), aud="another-relying-party"
    )

    _assert_failed_login_page(response)


def test_a_callback_with_a_forged_state_shows_a_failed_login(client, psc, make_professional):
    professional = make_professional()
    query = start_login(client, psc)
    code = psc.authorize(query, psc_userinfo(professional.idnps))

    response = client.get(CALLBACK_URL, {"code": code, "state": "forged-state"})

    assert response.status_code == 401
    assert signed_in_user(response) is None
    assert code in psc.grants  # never exchanged


def test_psc_out_of_reach_shows_a_failed_login(client, db, settings):
    # A port where nothing listens: a server bound and closed again.
    closed = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = closed.server_address[1]
    closed.server_close()
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {"APPS": [psc_app(f"http://127.0.0.1:{port}")]}
    }

    response = client.post(LOGIN_URL)

    _assert_failed_login_page(response)


def test_social_sign_up_page_creates_nothing(client, psc):
    users_before = User.objects.count()
    response = client.get(reverse("socialaccount_signup"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login")
    assert User.objects.count() == users_before
