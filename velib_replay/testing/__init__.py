"""Testing users' own pipelines against recorded traffic: the pytest plugin (``plugin``, loaded through the
``pytest11`` entry point), fresh topics (``topics``), golden files for any rows (``golden``).
"""
