"""Online geocoding providers: how each is configured, how sure its answers are, why it failed.

Every provider is geopy's own class (``GoogleV3``, ``MapBox``, ``Nominatim``,
``ArcGIS``, ``Photon``, ``Pelias``), so the HTTP requests and response parsing
are the ones geopy users rely on. This module adds what a batch over a
column needs on top: secret-free descriptions, a ``confidence`` per provider,
and a short failure reason that never carries a URL (URLs hold API keys).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from geopy import exc as geopy_exc
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from codex_jupyter import config
from codex_jupyter.errors import ConfigError, InputError

#: Provider names in the seed order: Google first, Mapbox as its fallback.
PROVIDER_NAMES = ("google", "mapbox", "nominatim", "arcgis", "photon", "pelias", "offline")

#: Options that hold secrets, per provider: hidden in reprs and scrubbed from geopy's log.
_SECRET_OPTIONS = ("api_key", "secret_key", "client_id", "password", "username")

#: Nominatim's public server allows one request per second (its usage policy).
_PUBLIC_NOMINATIM = "nominatim.openstreetmap.org"


@dataclass(frozen=True, repr=False)
class ProviderSpec:
    """One configured provider: geopy keyword arguments plus its request spacing.

    ``repr`` shows the provider and its server only, never a key.
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)
    min_delay_seconds: float | None = None

    def __post_init__(self) -> None:
        if self.name not in PROVIDER_NAMES:
            raise InputError(f"unknown geocoding provider {self.name!r}; choose from {', '.join(PROVIDER_NAMES)}")

    def __repr__(self) -> str:
        return f"ProviderSpec({self.label!r})"

    @property
    def label(self) -> str:
        """``name`` or ``name@server`` when a server is given: also the cache namespace."""
        domain = self.options.get("domain")
        return f"{self.name}@{domain}" if domain else self.name

    @property
    def secrets(self) -> list[str]:
        return [str(self.options[k]) for k in _SECRET_OPTIONS if self.options.get(k)]

    @property
    def delay(self) -> float:
        """Seconds between requests: Nominatim's public server gets its 1 request/s."""
        if self.min_delay_seconds is not None:
            return self.min_delay_seconds
        if self.name == "nominatim" and self.options.get("domain", _PUBLIC_NOMINATIM) == _PUBLIC_NOMINATIM:
            return 1.0
        return 0.0

    def build(self) -> Geocoder:
        """The geopy geocoder for this spec (configuration mistakes raise ``ValueError``)."""
        from geopy import geocoders

        from codex_jupyter.sources.geo.offline import OfflineGeocoder

        options = dict(self.options)
        if self.name == "offline":
            return OfflineGeocoder(**options)
        options.setdefault("adapter_factory", _single_try_adapter)
        if self.name == "nominatim" and not options.get("user_agent"):
            raise ConfigError(
                "Nominatim needs a user agent that identifies your application (its usage policy); "
                "set CODEX_JUPYTER_NOMINATIM_USER_AGENT or pass user_agent="
            )
        if self.name == "pelias" and not options.get("domain"):
            raise ConfigError("Pelias is self-hosted: give its server with domain= or CODEX_JUPYTER_PELIAS_URL")
        cls = {
            "google": geocoders.GoogleV3,
            "mapbox": geocoders.MapBox,
            "nominatim": geocoders.Nominatim,
            "arcgis": geocoders.ArcGIS,
            "photon": geocoders.Photon,
            "pelias": geocoders.Pelias,
        }[self.name]
        try:
            return cls(**options)
        except geopy_exc.ConfigurationError as exc:
            raise InputError(f"{self.name}: {exc}") from None


def _single_try_adapter(**kwargs: Any) -> Any:
    """geopy's requests adapter without urllib3's own retries: the chain retries, with backoff and limits."""
    from geopy.adapters import RequestsAdapter

    return RequestsAdapter(max_retries=0, **kwargs)


def secrets_of(geocoder: Geocoder) -> list[str]:
    """Secret values a geopy geocoder holds (for scrubbing logs), whoever built it."""
    return [str(v) for k in (*_SECRET_OPTIONS, "access_token", "token") if (v := getattr(geocoder, k, None))]


def name_of(geocoder: Geocoder) -> str:
    """Our provider name for a geopy geocoder instance (its class name otherwise)."""
    names = {"GoogleV3": "google", "MapBox": "mapbox", "Nominatim": "nominatim", "ArcGIS": "arcgis"}
    cls = type(geocoder).__name__
    return getattr(geocoder, "name", None) or names.get(cls, cls.lower())


#: Loggers that write request URLs (which carry keys): geopy at debug level, urllib3 on retries and requests.
_URL_LOGGERS = ("geopy", "urllib3.connectionpool", "urllib3.util.retry")


class _Redactor(logging.Filter):
    """Replaces registered secrets in log records of the loggers that print request URLs."""

    def __init__(self) -> None:
        super().__init__("codex-jupyter-redactor")
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            for secret in self.secrets:
                text = text.replace(secret, "***")
            record.msg, record.args = text, None
            if record.exc_info:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
                record.exc_info = None
        return True


_REDACTOR = _Redactor()


def protect_secrets(secrets: list[str]) -> None:
    """Scrub these values from everything geopy and urllib3 log from now on."""
    if not secrets:
        return
    _REDACTOR.secrets.update(s for s in secrets if len(s) >= 4)
    for name in _URL_LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)


def redact(text: str, secrets: set[str] | list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# -- failure reasons ----------------------------------------------------------------------------------------------

#: (exception class, reason, transient): the first matching class wins, so subclasses come first.
_REASONS: tuple[tuple[type[Exception], str, bool], ...] = (
    (geopy_exc.GeocoderRateLimited, "rate limited (429)", True),
    (geopy_exc.GeocoderQuotaExceeded, "quota exceeded", False),
    (geopy_exc.GeocoderAuthenticationFailure, "authentication failed (401)", False),
    (geopy_exc.GeocoderInsufficientPrivileges, "forbidden (403)", False),
    (geopy_exc.GeocoderTimedOut, "timeout", True),
    (geopy_exc.GeocoderUnavailable, "unavailable", True),
    (geopy_exc.GeocoderQueryError, "request rejected", False),
    (geopy_exc.GeocoderParseError, "unreadable response", False),
    (geopy_exc.GeocoderServiceError, "service error", True),
)


def classify(error: BaseException) -> tuple[str, bool]:
    """A short reason for a provider failure and whether retrying may help.

    The reason never includes the exception text: connection errors quote the
    request URL, which carries the API key.
    """
    for cls, reason, transient in _REASONS:
        if isinstance(error, cls):
            return reason, transient
    return "unreadable response", False


def retry_after(error: BaseException) -> float | None:
    """Seconds a 429 response asked us to wait, when it said."""
    value = getattr(error, "retry_after", None)
    return float(value) if value is not None else None


# -- confidence ---------------------------------------------------------------------------------------------------

_GOOGLE_LOCATION_TYPE = {"ROOFTOP": 1.0, "RANGE_INTERPOLATED": 0.8, "GEOMETRIC_CENTER": 0.6, "APPROXIMATE": 0.4}
_GOOGLE_COARSE_TYPES = {"country": 0.2, "administrative_area_level_1": 0.3, "locality": 0.4, "postal_code": 0.5}


def _google(raw: dict) -> float:
    """From ``geometry.location_type``, coarse result ``types`` and ``partial_match``."""
    value = _GOOGLE_LOCATION_TYPE.get(raw.get("geometry", {}).get("location_type", ""), 0.4)
    if value <= 0.4:
        value = max([_GOOGLE_COARSE_TYPES[t] for t in raw.get("types", ()) if t in _GOOGLE_COARSE_TYPES] or [value])
    return value * (0.7 if raw.get("partial_match") else 1.0)


_CONFIDENCE: dict[str, Callable[[dict], Any]] = {
    "google": _google,
    "mapbox": lambda raw: raw.get("relevance"),
    "nominatim": lambda raw: raw.get("importance"),
    "arcgis": lambda raw: (raw.get("score") or 0) / 100.0 if "score" in raw else None,
    "pelias": lambda raw: raw.get("properties", {}).get("confidence"),
    "offline": lambda raw: raw.get("confidence"),
}


def confidence(provider: str, location: Location) -> float:
    """0-1, from what the provider itself reports; NaN when it reports nothing (Photon)."""
    getter = _CONFIDENCE.get(provider)
    raw = location.raw if isinstance(location.raw, dict) else {}
    try:
        value = float(getter(raw)) if getter else math.nan
    except (TypeError, ValueError):
        return math.nan
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else math.nan


# -- settings -----------------------------------------------------------------------------------------------------

#: Each ecosystem's usual variable for its key; our own CODEX_JUPYTER_* for the rest.
_ENV_OPTIONS = {
    "google": {"api_key": "GOOGLE_MAPS_API_KEY"},
    "mapbox": {"api_key": "MAPBOX_ACCESS_TOKEN"},
    "nominatim": {"user_agent": "CODEX_JUPYTER_NOMINATIM_USER_AGENT"},
    "arcgis": {"username": "ARCGIS_USERNAME", "password": "ARCGIS_PASSWORD"},
    "photon": {},
    "pelias": {"api_key": "PELIAS_API_KEY"},
}


def specs_from_environment(environ: Mapping[str, str] | None = None) -> list[ProviderSpec]:
    """The configured providers, in order, the offline geocoder last.

    ``CODEX_JUPYTER_GEOCODERS`` lists them ("google,mapbox,offline"); unset, a
    provider takes part when its key is set (``GOOGLE_MAPS_API_KEY``,
    ``MAPBOX_ACCESS_TOKEN``), Google before Mapbox. ``CODEX_JUPYTER_<NAME>_URL``
    points one at another server ("http://127.0.0.1:8080" for a self-hosted
    Nominatim, Photon or Pelias).
    """
    env = config.environment() if environ is None else environ
    listed = env.get("CODEX_JUPYTER_GEOCODERS", "")
    if listed.strip():
        names = [n.strip().lower() for n in listed.split(",") if n.strip()]
    else:
        names = [n for n in ("google", "mapbox") if env.get(_ENV_OPTIONS[n]["api_key"])] + ["offline"]
    return [spec_from_environment(name, env) for name in names]


def spec_from_environment(name: str, environ: Mapping[str, str] | None = None) -> ProviderSpec:
    """One provider's spec from the environment (``--provider google`` on ``%geocode``)."""
    env = config.environment() if environ is None else environ
    if name not in PROVIDER_NAMES:
        raise InputError(f"unknown geocoding provider {name!r}; choose from {', '.join(PROVIDER_NAMES)}")
    if name == "offline":
        return ProviderSpec("offline")
    options: dict[str, Any] = {k: env[v] for k, v in _ENV_OPTIONS[name].items() if env.get(v)}
    url = env.get(f"CODEX_JUPYTER_{name.upper()}_URL")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"CODEX_JUPYTER_{name.upper()}_URL must look like https://host[:port], not {url!r}")
        options.update(domain=parts.netloc + parts.path.rstrip("/"), scheme=parts.scheme)
    if name in ("google", "mapbox") and not options.get("api_key"):
        var = _ENV_OPTIONS[name]["api_key"]
        raise ConfigError(f"{name} needs an API key: set {var}")
    return ProviderSpec(name, options)
