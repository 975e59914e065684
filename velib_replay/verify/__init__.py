"""The referee: the independent reference computation (``reference``), golden files (``golden``), reading a
topic as its consumers must (``topic``), and a readable difference (``diff``)."""
