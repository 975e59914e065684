"""Infrastructure: the embedded KRaft broker (``broker``), the pipeline's topics (``topics``), the JVM jars both
Kafka and Spark's connector need, resolved once by Ivy (``jvm``), client settings (``client_config``), and the
producer that ``live`` and ``play`` share (``publisher``, one class per client library, ``delivery`` accounting),
and the client libraries' own log lines (``client_logs``)."""

from velib_replay.kafka.client_logs import quiet_unless_configured

quiet_unless_configured()  # every caller's, not only the CLI's: the pytest plugin, bench/, a user's script
