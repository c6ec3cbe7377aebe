"""Index builders run by ``pilotkg build``: each takes the Settings and an optional progress callback."""
