"""``velib-replay dashboard``: a local page following the indicators topic live.

``follow`` keeps the latest indicator per key as records arrive (and the status topic's newest feed time,
for the job's lag); ``server`` serves the page and pushes the state to it by server-sent events.
"""
