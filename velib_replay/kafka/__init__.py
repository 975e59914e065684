"""Infrastructure: the embedded KRaft broker (``broker``), the pipeline's topics (``topics``), and the JVM
jars both Kafka and Spark's connector need, resolved once by Ivy (``jvm``)."""
