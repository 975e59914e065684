"""The transport side: when each snapshot is sent and which (``pacing``, with ``ReplayPlan``), the replay loop
and its entry point ``replay_to_topic`` (``player``), faults injected on the way (``faults``) and their log
(``ledger``). Messages are ``contracts.messages``; the publisher is ``kafka.publisher``."""
