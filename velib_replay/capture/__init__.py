"""The API side: fetching the feed (``client``), polling it into recordings (``recorder``), publishing it
live (``live``), and standing in for it over HTTP (``server``)."""
