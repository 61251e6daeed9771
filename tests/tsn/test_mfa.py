"""Second factor: required for the staff (TSN_REQUIRE_MFA), asked at every login of an
account that has one, kept by password resets and by the administration's login."""

import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.totp import totp
from tsn.mfa import ENROLLED_SESSION_KEY
from tsn.models import User

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = settings.TSN_DEMO_PASSWORD  # make_user's

pytestmark = pytest.mark.usefixtures("fresh_cache")


@pytest.fixture
def mfa_required(settings):
    settings.TSN_REQUIRE_MFA = True


@pytest.fixture
def gp(make_user):
    return make_user(User.Role.PROFESSIONAL, email="gp@exemple.fr")


def with_totp(user: User) -> User:
    TOTP.activate(user, SECRET)
    return user


def log_in(client, email: str, password: str = PASSWORD, next_url: str = ""):
    data = {"login": email, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("account_login"), data)


# --- The requirement ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [User.Role.PROFESSIONAL, User.Role.COORDINATOR, User.Role.ARS_ANALYST, User.Role.ADMINISTRATOR],
)
def test_staff_without_second_factor_are_sent_to_enrolment_on_every_page(
    client, make_user, mfa_required, role
):
    client.force_login(make_user(role))
    for url in (reverse("home"), reverse("api_tokens"), reverse("account_change_password")):
        assert sent_to_enrolment(client.get(url)), url
    enrolment = client.get(reverse("mfa_index"))
    assert enrolment.status_code == 200
    assert "double authentification" in enrolment.content.decode()


def reauthenticate(client) -> None:
    """allauth asks the password again before a second factor is added or removed."""
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})


def test_enrolment_pages_and_logout_stay_reachable(client, gp, mfa_required):
    client.force_login(gp)
    # Adding a factor asks the password again first: that page is reachable too.
    activation = client.get(reverse("mfa_activate_totp"), follow=True)
    assert activation.redirect_chain[-1][0].startswith(reverse("account_reauthenticate"))
    assert activation.status_code == 200
    reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_htmx_and_api_requests_are_refused_until_enrolment(client, gp, mfa_required):
    client.force_login(gp)
    fragment = client.get(reverse("home"), headers={"HX-Request": "true"})
    assert fragment.headers["HX-Redirect"] == reverse("mfa_index")
    api = client.get("/api/patients/?name=DUPONT")
    assert api.status_code == 403
    assert api.json()["errors"][0]["code"] == "mfa_required"


def test_an_htmx_fragment_of_the_enrolment_page_is_not_sent_to_enrolment(client, gp, mfa_required):
    # The navigation bar's bell badge loads by htmx on every page, the enrolment page included:
    # sending it to enrolment would reload that page without end.
    client.force_login(gp)
    on_enrolment = {"HX-Request": "true", "HX-Current-URL": "http://testserver/comptes/2fa/"}
    bell = client.get(reverse("pathways:notification_badge"), headers=on_enrolment)
    assert bell.status_code == 204
    assert "HX-Redirect" not in bell.headers
    elsewhere = {"HX-Request": "true", "HX-Current-URL": "http://testserver/patients/"}
    bell = client.get(reverse("pathways:notification_badge"), headers=elsewhere)
    assert bell.headers["HX-Redirect"] == reverse("mfa_index")


def sent_to_enrolment(response) -> bool:
    return response.status_code == 302 and response.url == reverse("mfa_index")


def test_patients_and_a_lifted_requirement_need_no_second_factor(client, make_user, settings):
    settings.TSN_REQUIRE_MFA = True
    client.force_login(make_user(User.Role.PATIENT))
    assert not sent_to_enrolment(client.get(reverse("home")))
    staff = make_user(User.Role.PROFESSIONAL)
    client.force_login(staff)
    assert sent_to_enrolment(client.get(reverse("home")))
    settings.TSN_REQUIRE_MFA = False
    assert not sent_to_enrolment(client.get(reverse("home")))


def test_enrolling_an_authenticator_app_opens_the_platform(client, gp, mfa_required):
    log_in(client, gp.email)
    reauthenticate(client)
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]
    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert wrong.status_code == 200
    assert not Authenticator.objects.filter(user=gp).exists()

    client.post(reverse("mfa_activate_totp"), {"code": totp(secret)})
    assert Authenticator.objects.filter(user=gp, type=Authenticator.Type.TOTP).exists()
    assert client.get(reverse("home")).status_code == 200
    # Remembered by the session: later pages do not look for the authenticator again.
    assert client.session[ENROLLED_SESSION_KEY] is True
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    assert not [q for q in queries if "mfa_authenticator" in q["sql"]]


def test_recovery_codes_alone_do_not_satisfy_the_requirement(client, gp, mfa_required):
    Authenticator.objects.create(
        user=gp, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00" * 20}
    )
    client.force_login(gp)
    assert sent_to_enrolment(client.get(reverse("home")))


def test_the_last_second_factor_cannot_be_removed_while_required(client, gp, settings):
    settings.TSN_REQUIRE_MFA = True
    with_totp(gp)
    log_in(client, gp.email)
    client.post(reverse("mfa_authenticate"), {"code": totp(SECRET)})
    assert client.session["_auth_user_id"] == str(gp.pk)
    reauthenticate(client)
    client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=gp, type=Authenticator.Type.TOTP).exists()

    settings.TSN_REQUIRE_MFA = False
    client.post(reverse("mfa_deactivate_totp"))
    assert not Authenticator.objects.filter(user=gp, type=Authenticator.Type.TOTP).exists()


# --- Logging in with a second factor -------------------------------------------------------


def test_login_asks_the_code_after_the_password(client, gp, mfa_required):
    with_totp(gp)
    response = log_in(client, gp.email)
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    # The code page is the only way on: the platform is still closed.
    assert client.get(reverse("home")).url.startswith(reverse("account_login"))

    client.get(reverse("mfa_authenticate"))
    refused = client.post(reverse("mfa_authenticate"), {"code": "123456"})
    assert refused.status_code == 200
    assert "_auth_user_id" not in client.session

    accepted = client.post(reverse("mfa_authenticate"), {"code": totp(SECRET)})
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(gp.pk)
    assert client.get(reverse("home")).status_code == 200


def test_a_code_is_accepted_once(client, gp):
    with_totp(gp)
    code = totp(SECRET)
    log_in(client, gp.email)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.session["_auth_user_id"] == str(gp.pk)

    client.post(reverse("account_logout"))
    log_in(client, gp.email)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert "_auth_user_id" not in client.session


def test_a_password_reset_does_not_bypass_the_second_factor(client, gp, mfa_required):
    with_totp(gp)
    client.post(reverse("account_reset_password"), {"email": gp.email})
    link = re.search(r"https?://[^/\s]+(/comptes/password/reset/key/\S+)", mail.outbox[0].body)
    form_page = client.get(link.group(1), follow=True)
    new_password = "encore-un-nouveau-mot-de-passe"
    client.post(
        form_page.redirect_chain[-1][0],
        {"password1": new_password, "password2": new_password},
    )
    gp.refresh_from_db()
    assert gp.check_password(new_password)
    assert "_auth_user_id" not in client.session

    response = log_in(client, gp.email, new_password)
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session


# --- Throttling and enumeration -----------------------------------------------------------


def test_failed_logins_are_throttled_per_account_even_with_the_right_password_after(client, gp):
    for _ in range(5):
        assert log_in(client, gp.email, "pas-le-bon-mot-de-passe").status_code == 200
    blocked = log_in(client, gp.email)
    assert "_auth_user_id" not in client.session
    assert blocked.status_code in {200, 429}
    # Another account from the same address still gets in (per account, not only per address).
    other = User.objects.create_user(
        email="autre@exemple.fr", password=PASSWORD, role=User.Role.PROFESSIONAL
    )
    log_in(client, other.email)
    assert client.session["_auth_user_id"] == str(other.pk)


def test_login_answers_alike_for_an_unknown_address_and_a_wrong_password(client, gp):
    unknown = log_in(client, "personne@exemple.fr", "pas-le-bon-mot-de-passe")
    wrong = log_in(client, gp.email, "pas-le-bon-mot-de-passe")
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].errors == wrong.context["form"].errors


# --- The administration ---------------------------------------------------------------------


@pytest.fixture
def administrator(make_user):
    return make_user(
        User.Role.ADMINISTRATOR,
        email="admin@exemple.fr",
        is_staff=True,
        is_superuser=True,
    )


def test_the_admin_login_is_allauths(client, administrator):
    page = client.get("/admin/login/?next=/admin/")
    assert page.status_code == 302
    assert page.url.startswith(reverse("account_login"))
    # Its own form is gone: posting the password there logs nobody in.
    client.post("/admin/login/", {"username": administrator.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_the_admin_needs_the_second_factor(client, administrator, mfa_required):
    with_totp(administrator)
    response = log_in(client, administrator.email, next_url="/admin/")
    assert response.url == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302
    done = client.post(reverse("mfa_authenticate"), {"code": totp(SECRET)})
    assert done.url == "/admin/"
    assert client.get("/admin/").status_code == 200


# --- The second-factor pages under the Content-Security-Policy ---------------------------


def test_the_second_factor_pages_run_under_the_strict_csp(client, gp, mfa_required):
    log_in(client, gp.email)
    reauthenticate(client)
    for name in ("mfa_index", "mfa_activate_totp", "mfa_add_webauthn"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        script_src = re.search(r"script-src ([^;]*)", response["Content-Security-Policy"])[1]
        assert "unsafe-inline" not in script_src
        assert "unsafe-eval" not in script_src
        content = response.content.decode()
        assert "style=" not in content, name
        # Every script is a file of our own origin or a JSON data block (never executed).
        for tag in re.findall(r"<script[^>]*>", content):
            assert "src=" in tag or 'type="application/json"' in tag, (name, tag)
    # The key is shown as a QR code (an image of data:, which img-src allows) and as text.
    activation = client.get(reverse("mfa_activate_totp")).content.decode()
    assert 'src="data:image/svg+xml;base64,' in activation
    assert client.session["mfa.totp.secret"] in activation


# --- The keys at rest ---------------------------------------------------------------------


def test_totp_keys_are_stored_encrypted_and_survive_a_secret_key_rotation(client, gp, settings):
    with_totp(gp)
    stored = Authenticator.objects.get(user=gp).data["secret"]
    assert SECRET not in stored

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-after-rotation-" + "x" * 30
    log_in(client, gp.email)
    client.post(reverse("mfa_authenticate"), {"code": totp(SECRET)})
    assert client.session["_auth_user_id"] == str(gp.pk)
