"""Infrastructure: the embedded KRaft broker (``broker``), the pipeline's topics (``topics``), the JVM jars both
Kafka and Spark's connector need, resolved once by Ivy (``jvm``), client settings (``client_config``), and the
producer that ``live`` and ``play`` share (``publisher``, one class per client library, ``delivery`` accounting)."""
