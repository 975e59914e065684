"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class UserError(Exception):
    """Something the user can fix (bad input, missing tool, unreachable service); the message says what."""


def kafka_unreachable(bootstrap_servers: str) -> UserError:
    return UserError(f"cannot reach Kafka at {bootstrap_servers} (is it running? `velib-replay kafka start`)")
