"""The transport side: what goes on the topic (``messages``), when (``pacing``), the replay loop and its
entry point ``replay_to_topic`` (``player``), faults injected on the way (``faults``) and their log
(``ledger``), and delivery through one publisher per client library."""
