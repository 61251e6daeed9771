"""Accounts: no sign-up, password reset by e-mail without revealing who has an account."""

import re

from django.core import mail
from django.urls import reverse

from tsn.accounts import AccountAdapter, count_active_users_by_role
from tsn.models import User


def _request_reset(client, email: str):
    return client.post(reverse("account_reset_password"), {"email": email}, follow=True)


def test_password_reset_mails_a_working_link(client, make_user):
    user = make_user(email="claire.martin@exemple.fr")
    response = _request_reset(client, user.email)
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    link = re.search(r"https?://[^/\s]+(/comptes/password/reset/key/\S+)", message.body)
    assert link, message.body

    form_page = client.get(link.group(1), follow=True)
    new_password = "un-nouveau-mot-de-passe-2026"
    client.post(
        form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1),
        {"password1": new_password, "password2": new_password},
    )
    user.refresh_from_db()
    assert user.check_password(new_password)


def test_password_reset_does_not_reveal_unknown_addresses(client, make_user):
    make_user(email="connu@exemple.fr")
    known = _request_reset(client, "connu@exemple.fr")
    unknown = _request_reset(client, "inconnu@exemple.fr")
    assert known.redirect_chain == unknown.redirect_chain
    assert known.status_code == unknown.status_code == 200
    # allauth sends the unknown address a neutral "no account here" mail, never a reset link.
    unknown_mails = [m for m in mail.outbox if m.to == ["inconnu@exemple.fr"]]
    assert all("/password/reset/key/" not in m.body for m in unknown_mails)


def test_sign_up_is_closed(rf):
    assert AccountAdapter().is_open_for_signup(rf.get("/")) is False


def test_active_users_are_counted_by_role(make_user):
    make_user(role=User.Role.COORDINATOR)
    make_user(role=User.Role.COORDINATOR)
    make_user(role=User.Role.PATIENT, is_active=False)
    counts = dict(count_active_users_by_role())
    assert counts[User.Role.COORDINATOR.label] == 2
    assert counts[User.Role.PATIENT.label] == 0
    assert len(counts) == len(User.Role.choices)
