"""Connected Apps tokens: what Tableau verifies (signature, kid/iss headers, claims), limits, and the share snippet."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from secrets_sentinel import SecretsSentinel

from codex_jupyter.config import tableau_settings
from codex_jupyter.errors import ConfigError, InputError
from codex_jupyter.sources.bi.tableau import embed_spec, mint_token, snippet_html, token_expiry

SECRET = "tableau-secret-value-0123456789abcdef"
ENV = {
    "TABLEAU_SERVER": "https://tableau.example.com/",
    "TABLEAU_SITE": "sales",
    "TABLEAU_CLIENT_ID": "client-id-1",
    "TABLEAU_SECRET_ID": "secret-id-2",
    "TABLEAU_SECRET_VALUE": SECRET,
}


@pytest.fixture(autouse=True)
def env(secrets: SecretsSentinel, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.add(SECRET)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


def _verify(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience="tableau")


def test_token_verifies_with_the_secret_and_carries_headers_claims_and_attributes() -> None:
    token = mint_token("ann@example.com", {"Region": "EMEA", "Branches": ["London", "Paris"]})
    claims = _verify(token)
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "secret-id-2" and header["iss"] == "client-id-1" and header["alg"] == "HS256"
    assert claims["iss"] == "client-id-1" and claims["sub"] == "ann@example.com" and claims["aud"] == "tableau"
    assert claims["scp"] == ["tableau:views:embed"]
    assert claims["Region"] == "EMEA" and claims["Branches"] == ["London", "Paris"]
    assert 590 <= claims["exp"] - time.time() <= 600
    assert len(claims["jti"]) == 36 and _verify(mint_token("ann@example.com"))["jti"] != claims["jti"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-value-of-32-bytes-or-more", algorithms=["HS256"], audience="tableau")


def test_lifetime_and_scopes() -> None:
    short = _verify(mint_token("ann", lifetime=timedelta(minutes=2), scopes=["tableau:views:embed_authoring"]))
    assert 110 <= short["exp"] - time.time() <= 120 and short["scp"] == ["tableau:views:embed_authoring"]
    with pytest.raises(InputError, match="at most 10 minutes"):
        mint_token("ann", lifetime=timedelta(minutes=11))
    with pytest.raises(InputError, match="unknown Tableau scope tableau:everything"):
        mint_token("ann", scopes=["tableau:everything"])


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"Region": 3}, "must be a string or a list of strings"),
        ({"Region": ["EMEA", 1]}, "must be a string or a list of strings"),
        ({"exp": "1"}, "not one of"),
        ({"bad name": "x"}, "must be a name like Region"),
    ],
)
def test_attribute_values_are_validated(attributes: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        mint_token("ann", attributes)


def test_missing_settings_are_named_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TABLEAU_SECRET_ID")
    monkeypatch.delenv("TABLEAU_SECRET_VALUE")
    with pytest.raises(ConfigError) as err:
        mint_token("ann")
    assert "set TABLEAU_SECRET_ID, TABLEAU_SECRET_VALUE" in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("TABLEAU_SECRET_VALUE", SECRET)
    monkeypatch.setenv("TABLEAU_SECRET_ID", "s")
    settings = tableau_settings()
    assert settings.server == "https://tableau.example.com" and SECRET not in repr(settings)


def test_snippet_carries_options_filters_and_a_token_or_a_token_url_never_the_secret(secrets: SecretsSentinel) -> None:
    spec = embed_spec(
        "https://tableau.example.com/#/site/sales/views/Superstore/Overview",
        filters={"Region": "EMEA,APAC"},
        height=600,
        toolbar="top",
        hide_tabs=True,
        device="tablet",
    )
    token = mint_token("ann")
    page = snippet_html(spec, token=token)
    assert f'token="{token}"' in page
    assert 'src="https://tableau.example.com/#/site/sales/views/Superstore/Overview"' in page
    assert '<viz-filter field="Region" value="EMEA,APAC">' in page
    assert 'toolbar="top"' in page and "hide-tabs" in page and 'device="tablet"' in page and 'height="600px"' in page
    assert "https://tableau.example.com/javascripts/api/tableau.embedding.3.latest.min.js" in page
    assert token_expiry(token).timestamp() == pytest.approx(time.time() + 600, abs=5)
    fetched = snippet_html(spec, token_url="https://app.example.com/tableau-token")
    assert '"https://app.example.com/tableau-token"' in fetched and "token=" not in fetched.split("<script")[1]
    secrets.scan(page)
    secrets.scan(fetched)
    with pytest.raises(InputError, match="either --token-url"):
        snippet_html(spec)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"view_url": "tableau.example.com/views/x"}, "view URL looks like"),
        ({"toolbar": "left"}, "--toolbar must be one of"),
        ({"device": "watch"}, "--device must be one of"),
        ({"height": 10}, "--height is in pixels"),
        ({"filters": {"Region": ""}}, "a filter needs a field and at least one value"),
    ],
)
def test_embed_options_are_checked(kwargs: dict, message: str) -> None:
    args = {"view_url": "https://t.example.com/#/views/W/V", **kwargs}
    with pytest.raises(InputError, match=message):
        embed_spec(args.pop("view_url"), **args)
