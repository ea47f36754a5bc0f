"""Why a Kafka client could not connect, named in one line.

kafka-python retries a broker that rejects its certificate or its password until the bootstrap times
out, and then reports only "Unable to bootstrap"; the cause is in its logs at best. A rejected SASL
password is often not even there: the broker sends its answer and closes the connection at once, and
the client, seeing both in one read, drops the answer and logs "socket disconnected".

So after a failed connect, :func:`diagnose` tries each broker once itself, with the same settings and
blocking sockets: TCP, then TLS with the SSL context kafka-python builds from those settings, then
either the SASL login with kafka-python's own mechanism or one plain request. The first step that
fails names the cause: unreachable (:class:`StreamUnavailable`, worth retrying), or a certificate,
client certificate or password the user must fix (:class:`StreamConfigError`, not retried).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping
from typing import Any

import kafka.errors as kafka_errors
from kafka.net.sasl import get_sasl_mechanism
from kafka.net.transport import KafkaSSLTransport
from kafka.protocol.metadata import ApiVersionsRequest
from kafka.protocol.parser import KafkaProtocol
from kafka.protocol.sasl import SaslAuthenticateRequest, SaslHandshakeRequest

from codex_jupyter.sources.streams._common import redact
from codex_jupyter.sources.streams.base import StreamConfigError, StreamUnavailable

#: Seconds each probe step may wait for a broker.
PROBE_TIMEOUT_S = 5.0
_HOSTNAME_MISMATCH = 62  # X509_V_ERR_HOSTNAME_MISMATCH
_TLS_ALERT = b"\x15\x03"  # a TLS alert record: what a TLS listener answers to a plaintext request


class _SpeaksTls(Exception):
    """A plaintext request was answered by a TLS listener."""


def ssl_context(settings: Mapping[str, Any]) -> ssl.SSLContext | None:
    """The SSL context kafka-python builds from ``settings`` (None without TLS).

    Built once up front, so an unreadable file or a wrong ``ssl.key.password`` is named at once
    instead of failing every connection attempt until the bootstrap times out.
    """
    if settings.get("security_protocol", "PLAINTEXT") not in ("SSL", "SASL_SSL"):
        return None
    config = {key: settings.get(key, default) for key, default in KafkaSSLTransport.DEFAULT_CONFIG.items()}
    try:
        return KafkaSSLTransport._build_ssl_context(config)
    except ssl.SSLError:  # OpenSSL says only "PEM lib" for a wrong passphrase as for a broken file
        raise StreamConfigError(
            "the Kafka client certificate or key could not be loaded: a wrong ssl.key.password, or ssl.certfile "
            "and ssl.keyfile are not a PEM certificate and its key"
        ) from None
    except OSError as error:
        raise StreamConfigError(
            f"a Kafka SSL file could not be read ({error.strerror or error}: {error.filename}); "
            "check ssl.cafile, ssl.certfile and ssl.keyfile"
        ) from None


def diagnose(
    brokers: list[str], settings: Mapping[str, Any], secrets: list[str]
) -> StreamConfigError | StreamUnavailable | None:
    """The cause of a failed connect to ``brokers``, or None when one try finds nothing wrong."""
    context = ssl_context(settings)
    unreachable = []
    for broker in brokers:
        host, _, port = broker.rpartition(":")
        host = host.strip("[]")
        try:
            problem = _probe(broker, host, int(port), settings, context)
        except OSError as error:
            unreachable.append(f"{broker}: {_reason(error)}")
            continue
        if problem is not None:
            return StreamConfigError(redact(problem, secrets))
    if unreachable and len(unreachable) == len(brokers):
        return StreamUnavailable(
            f"Kafka is unreachable ({'; '.join(unreachable)}); check the address and that the broker is running"
        )
    return None


def _probe(
    broker: str, host: str, port: int, settings: Mapping[str, Any], context: ssl.SSLContext | None
) -> str | None:
    """What is wrong with one broker, or None; an ``OSError`` means it cannot be reached at all."""
    with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as raw:
        sock: socket.socket = raw
        if context is not None:
            try:
                sock = context.wrap_socket(raw, server_hostname=host)
            except ssl.SSLCertVerificationError as error:
                return _untrusted(broker, host, error)
            except ssl.SSLError as error:
                return f"the TLS handshake with Kafka at {broker} failed ({_reason(error)}); check security.protocol"
        try:
            if settings.get("security_protocol") in ("SASL_SSL", "SASL_PLAINTEXT"):
                return _sasl_problem(broker, host, sock, settings)
            _call(sock, KafkaProtocol(), ApiVersionsRequest(version=0))
        except _SpeaksTls:
            return f"Kafka at {broker} expects TLS; set security.protocol=SSL or SASL_SSL (and ssl.cafile)"
        except ssl.SSLError as error:  # TLS 1.3: a rejected client certificate shows on the first read
            return _rejected_client(broker, error, settings)
        except (OSError, kafka_errors.KafkaError):
            return None
    return None


def _call(sock: socket.socket, parser: KafkaProtocol, request: Any) -> Any:
    """Send one request and block for its response (the probe talks to one broker, one request at a time)."""
    parser.send_request(request)
    sock.sendall(parser.send_bytes())
    while True:
        data = sock.recv(65536)
        if not data:
            raise kafka_errors.KafkaConnectionError("the broker closed the connection")
        if data.startswith(_TLS_ALERT) and not isinstance(sock, ssl.SSLSocket):
            raise _SpeaksTls
        responses = parser.receive_bytes(data)
        if responses:
            return responses[0][1]


def _sasl_problem(broker: str, host: str, sock: socket.socket, settings: Mapping[str, Any]) -> str | None:
    """Log in as the client would; the broker's answer names a wrong password or mechanism."""
    name = settings.get("sasl_mechanism")
    if not name:
        return None
    parser = KafkaProtocol()
    offered = _call(sock, parser, SaslHandshakeRequest(mechanism=name, version=1))
    if name not in offered.mechanisms:
        mechanisms = ", ".join(offered.mechanisms) or "none"
        return f"Kafka at {broker} does not offer SASL mechanism {name} (it offers {mechanisms}); set sasl.mechanism"
    try:
        mechanism = get_sasl_mechanism(name)(host=host, **settings)
    except Exception:  # mechanisms with extra needs (Kerberos, OAuth) are not probed
        return None
    while not mechanism.is_done():
        answer = _call(sock, parser, SaslAuthenticateRequest(auth_bytes=mechanism.auth_bytes(), version=1))
        if answer.error_code:
            user = settings.get("sasl_plain_username")
            return (
                f"Kafka at {broker} refused the SASL {name} login{f' of {user!r}' if user else ''}: authentication "
                f"failed ({answer.error_message or 'no reason given'}); "
                "check sasl.plain.username and sasl.plain.password"
            )
        mechanism.receive(answer.auth_bytes)
    return None


def _untrusted(broker: str, host: str, error: ssl.SSLCertVerificationError) -> str:
    if error.verify_code == _HOSTNAME_MISMATCH:
        return (
            f"certificate verification failed for Kafka at {broker}: its certificate does not name {host} "
            f"({error.verify_message}); connect by a name in the certificate or set ssl.check.hostname=false"
        )
    return (
        f"certificate verification failed for Kafka at {broker} ({error.verify_message}); "
        "set ssl.cafile to the CA that signed the broker's certificate"
    )


def _rejected_client(broker: str, error: ssl.SSLError, settings: Mapping[str, Any]) -> str:
    reason = _reason(error)
    if "certificate" not in reason and "unknown ca" not in reason:
        return f"TLS with Kafka at {broker} failed ({reason}); check security.protocol and the ssl.* settings"
    if not settings.get("ssl_certfile"):
        return f"Kafka at {broker} requires a client certificate ({reason}); set ssl.certfile and ssl.keyfile"
    return (
        f"Kafka at {broker} rejected the client certificate ({reason}); "
        "use ssl.certfile and ssl.keyfile signed by a CA the broker trusts"
    )


def _reason(error: OSError) -> str:
    """A socket or TLS error in a few words: "connection refused", "sslv3 alert bad certificate"."""
    if isinstance(error, ssl.SSLError) and error.reason:
        return error.reason.lower().replace("_", " ")
    if isinstance(error, socket.gaierror):
        return "host not found"
    if isinstance(error, TimeoutError):
        return f"no answer within {PROBE_TIMEOUT_S:.0f} s"
    return (error.strerror or str(error) or type(error).__name__).lower()
