"""The ground floor: the documents every stage agrees on, importing nothing above them.

The feed document as the API serves it (``feed``), the station message on ``velib-projet`` (``messages``,
built from the body's own bytes by ``station_bytes``), and the indicator contract of
``velib-projet-final-data`` (``indicators``). Recorder, player, job, verifier and dashboard all read them here,
so no stage imports another for its vocabulary.
"""
