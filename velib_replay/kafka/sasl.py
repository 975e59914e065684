"""The embedded broker secured as managed clusters are: a SASL listener (SCRAM or PLAIN) and ACLs enforced.

What ``--kafka-config`` is tested against. The first user is the broker's own super user; the others start
with no rights at all, and ``grant`` gives one of them a topic prefix. The controller listener stays plaintext on
loopback (KRaft controllers cannot authenticate with SCRAM), its anonymous principal a super user.
"""

from __future__ import annotations

from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

from velib_replay.config import BOOTSTRAP_TIMEOUT_MS
from velib_replay.errors import UserError
from velib_replay.kafka.client_config import ClientConfig, from_properties, login_module, parse_properties

LISTENER = "SASL_PLAINTEXT"
_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


@dataclass(frozen=True)
class SaslSetup:
    """Users (name, password) of a SASL broker, the first its super user, and the mechanism they log in with."""

    users: tuple[tuple[str, str], ...]
    mechanism: str = "SCRAM-SHA-256"

    def _jaas(self, user: str, password: str, extra: str = "") -> str:
        return f'{login_module(self.mechanism)} required username="{user}" password="{password}"{extra};'

    def listener_properties(self, host: str, port: int, controller_port: int, advertised_port: int) -> str:
        """server.properties lines for the listeners, authentication and authorization."""
        user, password = self.users[0]
        plain_users = "".join(f' user_{name}="{secret}"' for name, secret in self.users)
        jaas = self._jaas(user, password, plain_users if self.mechanism == "PLAIN" else "")
        return f"""\
listeners={LISTENER}://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners={LISTENER}://{host}:{advertised_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name={LISTENER}
listener.security.protocol.map={LISTENER}:{LISTENER},CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms={self.mechanism}
sasl.mechanism.inter.broker.protocol={self.mechanism}
listener.name.{LISTENER.lower()}.{self.mechanism.lower()}.sasl.jaas.config={jaas}
authorizer.class.name={_AUTHORIZER}
super.users=User:{user};User:ANONYMOUS
allow.everyone.if.no.acl.found=false
"""

    def format_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments bootstrapping the SCRAM credentials into the metadata log."""
        if not self.mechanism.startswith("SCRAM-"):
            return []
        return [
            argument
            for name, password in self.users
            for argument in ("--add-scram", f"{self.mechanism}=[name={name},password={password}]")
        ]

    def client_properties(self, user: str, password: str) -> str:
        """A client properties file's text for this user, as ``--kafka-config`` and Kafka's tools take it."""
        return (
            f"security.protocol={LISTENER}\nsasl.mechanism={self.mechanism}\n"
            f"sasl.jaas.config={self._jaas(user, password)}\n"
        )

    def client_config(self, user: str, password: str) -> ClientConfig:
        return from_properties(parse_properties(self.client_properties(user, password), user), user)


def grant(bootstrap_servers: str, setup: SaslSetup, user: str, topic_prefix: str) -> None:
    """Give ``user`` every right on the topics named ``topic_prefix...`` and on every consumer group, as the
    super user: what a producer, Spark's source and sink, and a reader of the results need, and nothing more."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        **setup.client_config(*setup.users[0]).kafka_python(),
    )
    principal = f"User:{user}"
    patterns = [
        ResourcePattern(ResourceType.TOPIC, topic_prefix, ACLResourcePatternType.PREFIXED),
        ResourcePattern(ResourceType.GROUP, "*", ACLResourcePatternType.LITERAL),
    ]
    try:
        acls = [ACL(principal, "*", ACLOperation.ALL, ACLPermissionType.ALLOW, pattern) for pattern in patterns]
        result = admin.create_acls(acls)
        if result["failed"]:
            raise UserError(f"cannot grant ACLs to {user}: {result['failed']}")
    finally:
        admin.close()
