"""Redaction: secrets by value, by name and by shape; prose survives."""

from __future__ import annotations

from evodiag.redact import MASK, Redactor


def test_configured_secret_masked_everywhere() -> None:
    red = Redactor(["EVOKEY-123456789"])
    assert red.text("curl -H 'apikey: EVOKEY-123456789' x/EVOKEY-123456789") == f"curl -H 'apikey: {MASK}' x/{MASK}"


def test_secret_named_keys_and_headers() -> None:
    red = Redactor()
    doc = red.obj({"token": "abc", "hash": {"apikey": "k1"}, "nested": [{"Authorization": "Bearer zzz"}], "n": 5})
    assert doc == {"token": MASK, "hash": MASK, "nested": [{"Authorization": MASK}], "n": 5}
    assert red.headers({"apikey": "x", "Content-Type": "application/json"}) == {"apikey": MASK,
                                                                               "Content-Type": "application/json"}


def test_shapes_jwt_bearer_and_url_password() -> None:
    red = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk"
    assert MASK in red.text(f"token {jwt}") and jwt not in red.text(f"token {jwt}")
    assert red.text("Authorization: Bearer 9f8e7d6c5b4a3f2e1d0c") == f"Authorization: Bearer {MASK}"
    assert red.text("postgres://user:hunter2@db:5432/x") == f"postgres://user:{MASK}@db:5432/x"
    assert red.text('"apikey":"B6D711FCDE4D4FD5936544120E713976"') == f'"apikey":"{MASK}"'


def test_prose_is_not_mangled() -> None:
    red = Redactor()
    for text in ("send the key in the apikey header, not a Bearer header",
                 'curl -H "apikey: <the key>" http://evo/instance/fetchInstances',
                 "token: missing", "Authorization: Bearer <token>"):
        assert red.text(text) == text


def test_short_values_are_not_treated_as_secrets() -> None:
    # a 1-3 character "secret" would mask ordinary words everywhere
    assert Redactor(["ab"]).text("about") == "about"


def test_env_style_assignments_are_masked_whatever_the_value() -> None:
    red = Redactor()
    assert red.text("AUTHENTICATION_API_KEY=lab-global-key") == f"AUTHENTICATION_API_KEY={MASK}"
    assert red.text('S3_SECRET_KEY="x1"') == f'S3_SECRET_KEY="{MASK}"'
    assert red.text("API_KEY_GLOBAL = abc") == f"API_KEY_GLOBAL = {MASK}"
    # references and non-credential names stay readable
    assert red.text("AUTHENTICATION_API_KEY=${EVO_KEY}") == "AUTHENTICATION_API_KEY=${EVO_KEY}"
    assert red.text("SERVER_URL=https://evo.example.com") == "SERVER_URL=https://evo.example.com"


def test_pasted_text_masks_credential_named_values() -> None:
    from evodiag.redact import mask_assigned_secrets

    assert mask_assigned_secrets('{"hash":"7C2F-99AA","name":"sales"}') == '{"hash":"***","name":"sales"}'
    assert mask_assigned_secrets("apikey: abcd1234") == "apikey: ***"


def test_prose_credentials_need_a_credential_word_and_a_token_shape() -> None:
    from evodiag.redact import prose_credentials

    assert prose_credentials("401 Invalid Access Token Zq8xR2mP7vK4nT9wB3cYa1") == ["Zq8xR2mP7vK4nT9wB3cYa1"]
    assert prose_credentials("senha errada: Hk29aLm4Qz8Rt6Wx") == ["Hk29aLm4Qz8Rt6Wx"]
    assert prose_credentials("request Zq8xR2mP7vK4nT9wB3cYa1 failed") == []  # no credential word
    assert prose_credentials("token check. Then Zq8xR2mP7vK4nT9wB3cYa1 failed") == []  # another phrase
    assert prose_credentials("token for message 3EB0C767D26A1B2C9F81") == []  # WhatsApp message id
    assert prose_credentials("token for callbackAfterSendSingleMsgCommand") == []  # no digits
