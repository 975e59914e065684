"""The referee: the independent reference computation (``reference``), what a faulted replay must give
(``expected``), golden files (``golden``), reading a topic as its consumers must (``topic``), and a readable
difference (``diff``)."""
