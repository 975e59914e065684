"""Testing users' own pipelines against recorded traffic: the pytest plugin (``plugin``, loaded through the
``pytest11`` entry point), fresh topics (``job.pipeline``), golden files for any rows (``golden``).
"""

import warnings

with warnings.catch_warnings():
    # kafka-python reads its protocol schemas through a deprecated importlib API when first imported: 218
    # DeprecationWarnings that would bury a user's own in every pytest run through our plugin, which is
    # imported before any test module. Here, not in ``velib_replay``: no other import of the package pays it.
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka  # noqa: F401
