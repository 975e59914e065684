"""Kafka client properties (``--kafka-config FILE``), as Kafka's own tools take them, for every client we use.

One file in Java's properties syntax (``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config``,
``ssl.*``) is mapped to kafka-python's keyword arguments, librdkafka's settings and Spark's ``kafka.``
options, so a secured cluster is described once. ``KafkaTarget`` (the servers plus these settings) is the one value
every Kafka client is built from, passed explicitly from each entry point: there is no process-wide setting that a
client built too early would miss. Secrets are never shown: ``ClientConfig.redact`` hides them in any text.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from velib_replay.config import BOOTSTRAP_SERVERS, REFUSAL_PROBE_S
from velib_replay.errors import UserError, read_user_text

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
LOGIN_MODULES = {
    "org.apache.kafka.common.security.plain.PlainLoginModule": ("PLAIN",),
    "org.apache.kafka.common.security.scram.ScramLoginModule": ("SCRAM-SHA-256", "SCRAM-SHA-512"),
}
SECRET_KEYS = frozenset({"sasl.jaas.config", "ssl.key.password", "ssl.keystore.password", "ssl.truststore.password"})
SUPPORTED = frozenset(
    {
        "security.protocol",
        "sasl.mechanism",
        "sasl.jaas.config",
        "ssl.truststore.type",
        "ssl.truststore.location",
        "ssl.keystore.type",
        "ssl.keystore.location",
        "ssl.key.password",
        "ssl.endpoint.identification.algorithm",
    }
)
HIDDEN = "[hidden]"

_JAAS = re.compile(r"^\s*(?P<module>[\w.$]+)\s+(?:required|requisite|sufficient|optional)(?P<options>.*?);?\s*$", re.S)
_JAAS_OPTION = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))')


@dataclass(frozen=True)
class ClientConfig:
    """Validated client properties; empty means plaintext, as before ``--kafka-config`` existed."""

    properties: dict[str, str] = field(default_factory=dict, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def protocol(self) -> str:
        return self.properties.get("security.protocol", "PLAINTEXT")

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        settings: dict[str, Any] = {}
        if self.properties:
            settings["security_protocol"] = self.protocol
        if "sasl.mechanism" in self.properties:
            settings["sasl_mechanism"] = self.properties["sasl.mechanism"]
            settings["sasl_plain_username"] = self.username
            settings["sasl_plain_password"] = self.password
        settings.update(self._ssl(cafile="ssl_cafile", cert="ssl_certfile", key="ssl_keyfile", password="ssl_password"))
        if self.properties.get("ssl.endpoint.identification.algorithm") == "":
            settings["ssl_check_hostname"] = False
        return settings

    def librdkafka(self) -> dict[str, Any]:
        """Settings for confluent-kafka (librdkafka) clients."""
        settings: dict[str, Any] = {}
        if self.properties:
            settings["security.protocol"] = self.protocol.lower()
        if "sasl.mechanism" in self.properties:
            settings["sasl.mechanism"] = self.properties["sasl.mechanism"]
            settings["sasl.username"] = self.username
            settings["sasl.password"] = self.password
        settings.update(
            self._ssl(
                cafile="ssl.ca.location",
                cert="ssl.certificate.location",
                key="ssl.key.location",
                password="ssl.key.password",
            )
        )
        if "ssl.endpoint.identification.algorithm" in self.properties:
            settings["ssl.endpoint.identification.algorithm"] = (
                self.properties["ssl.endpoint.identification.algorithm"] or "none"
            )
        return settings

    def spark(self) -> dict[str, str]:
        """Options for Spark's Kafka source and sink: the Java client's own names, prefixed with ``kafka.``."""
        return {f"kafka.{key}": value for key, value in self.properties.items()}

    def _ssl(self, *, cafile: str, cert: str, key: str, password: str) -> dict[str, str]:
        """PEM trust and key stores, the one format Python's and librdkafka's TLS read as Java does."""
        settings = {}
        if "ssl.truststore.location" in self.properties:
            settings[cafile] = self.properties["ssl.truststore.location"]
        if "ssl.keystore.location" in self.properties:  # a PEM key store holds the key and its certificate chain
            settings[cert] = settings[key] = self.properties["ssl.keystore.location"]
        if "ssl.key.password" in self.properties:
            settings[password] = self.properties["ssl.key.password"]
        return settings

    def secrets(self) -> list[str]:
        values = [self.password or ""] + [value for key, value in self.properties.items() if key in SECRET_KEYS]
        return [value for value in values if value]

    def redact(self, text: str) -> str:
        """``text`` with every secret of these settings replaced by ``[hidden]``."""
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, HIDDEN)
        return text


def parse_properties(text: str, source: str) -> dict[str, str]:
    """Java's ``.properties`` syntax as Kafka's tools read it: ``key=value``, ``key: value`` or ``key value``,
    ``#``/``!`` comments, and a trailing backslash continuing a value on the next line."""
    properties: dict[str, str] = {}
    logical = ""
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        key, value = _split_property(logical, source, number)
        properties[key] = value
        logical = ""
    if logical:
        key, value = _split_property(logical, source, len(text.splitlines()))
        properties[key] = value
    return properties


def _split_property(line: str, source: str, number: int) -> tuple[str, str]:
    match = re.match(r"^([^=:\s]+)\s*[=:\s]\s*(.*)$", line)
    if not match:
        raise UserError(f"{source}, line {number}: expected key=value (the line is not shown: it may hold a secret)")
    return match.group(1), match.group(2).strip()


def from_properties(properties: dict[str, str], source: str) -> ClientConfig:
    """Check the properties make a client configuration we can honour in every client, naming the culprit."""
    unknown = sorted(set(properties) - SUPPORTED)
    if unknown:
        raise UserError(f"{source}: unsupported property {unknown[0]} (supported: {', '.join(sorted(SUPPORTED))})")
    protocol = properties.get("security.protocol", "PLAINTEXT")
    if protocol not in PROTOCOLS:
        raise UserError(f"{source}: security.protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    for store in ("truststore", "keystore"):
        kind = properties.get(f"ssl.{store}.type", "JKS")  # Java's default
        if f"ssl.{store}.location" in properties and kind != "PEM":
            raise UserError(f"{source}: ssl.{store}.type {kind} is read by Java only; convert it to PEM")
    if not protocol.startswith("SASL_"):
        if "sasl.mechanism" in properties or "sasl.jaas.config" in properties:
            raise UserError(f"{source}: sasl.* properties need security.protocol SASL_PLAINTEXT or SASL_SSL")
        return ClientConfig(properties)
    return _with_credentials(properties, source)


def _with_credentials(properties: dict[str, str], source: str) -> ClientConfig:
    mechanism = properties.get("sasl.mechanism", "GSSAPI")
    if mechanism not in MECHANISMS:
        raise UserError(f"{source}: sasl.mechanism {mechanism!r} is not one of {', '.join(MECHANISMS)}")
    if "sasl.jaas.config" not in properties:
        raise UserError(f"{source}: sasl.mechanism {mechanism} needs sasl.jaas.config with a username and password")
    match = _JAAS.match(properties["sasl.jaas.config"])
    module = match.group("module") if match else None
    if module not in LOGIN_MODULES or mechanism not in LOGIN_MODULES[module]:
        raise UserError(
            f"{source}: sasl.jaas.config must use the login module of {mechanism} ({login_module(mechanism)})"
        )
    found = _JAAS_OPTION.findall(match.group("options"))
    options = {name: re.sub(r"\\(.)", r"\1", quoted) or bare for name, quoted, bare in found}
    if not options.get("username") or "password" not in options:
        raise UserError(f'{source}: sasl.jaas.config needs username="..." and password="..."')
    return ClientConfig(properties, options["username"], options["password"])


def login_module(mechanism: str) -> str:
    """The JAAS login module of a SASL mechanism, as ``sasl.jaas.config`` names it."""
    return next(module for module, mechanisms in LOGIN_MODULES.items() if mechanism in mechanisms)


def save(settings: ClientConfig, path: Path) -> Path:
    """Write ``settings`` as a properties file only its owner may read, for a child process's --kafka-config:
    ``load`` reads it back to the same settings."""
    path.touch(mode=0o600)
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.properties.items()))
    return path


def load(path: Path) -> ClientConfig:
    return from_properties(parse_properties(read_user_text(path, "Kafka client properties"), str(path)), str(path))


@dataclass(frozen=True)
class KafkaTarget:
    """One Kafka cluster as every client reaches it: its bootstrap servers and the client settings to use there.

    Built once per entry point (``--bootstrap-servers`` and ``--kafka-config``, or the plugin's options) and
    passed whole, so a client can only be built with the settings it was given."""

    servers: str = BOOTSTRAP_SERVERS
    settings: ClientConfig = field(default_factory=ClientConfig, repr=False)

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer, KafkaConsumer and KafkaAdminClient."""
        return {"bootstrap_servers": self.servers, **self.settings.kafka_python()}

    def librdkafka(self) -> dict[str, Any]:
        """Settings for confluent-kafka (librdkafka) clients."""
        return {"bootstrap.servers": self.servers, **self.settings.librdkafka()}

    def spark(self) -> dict[str, str]:
        """Options for Spark's Kafka source and sink."""
        return {"kafka.bootstrap.servers": self.servers, **self.settings.spark()}


@contextlib.contextmanager
def bootstrapping(target: KafkaTarget, timeout: type[Exception]) -> Iterator[None]:
    """Around a client's first contact with the cluster: the one error when it cannot be reached, at once when
    nothing listens at any bootstrap address, rather than after the client's whole bootstrap timeout (10 s of
    retrying a port that refuses every connection); ``timeout`` is the client's own way of giving up."""
    if nothing_listens(target.servers):
        raise kafka_unreachable(target)
    try:
        yield
    except timeout:
        raise kafka_unreachable(target) from None


def nothing_listens(servers: str) -> bool:
    """Whether every bootstrap address refuses a TCP connection: a broker that is down, or a wrong port. A
    connection that times out, a name that does not resolve or an address in another form is the client's to
    judge, as is anything that accepts (a broker, or something else listening there)."""
    for server in servers.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=REFUSAL_PROBE_S).close()
        except ConnectionRefusedError:
            continue
        except (OSError, ValueError):
            return False
        return False
    return True


def kafka_unreachable(target: KafkaTarget) -> UserError:
    """The one error every Kafka client gives when it could not bootstrap, saying what to check: kafka-python
    retries a refused login until its bootstrap timeout like an unreachable broker, without saying which it was."""
    if target.settings.protocol == "PLAINTEXT":
        check = "is it running? `velib-replay kafka start`; a secured cluster needs --kafka-config"
    else:
        check = "is it running? are the security.protocol and credentials of --kafka-config right?"
    return UserError(f"cannot reach Kafka at {target.servers} ({check})")
