"""velib-replay: record, replay and verify Vélib' streaming pipelines on Kafka and Spark."""

import warnings

with warnings.catch_warnings():
    # kafka-python reads its protocol schemas through a deprecated importlib API when first imported: 218
    # DeprecationWarnings that would bury a user's own in every pytest run through our plugin.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka  # noqa: F401

__version__ = "0.1.0"
