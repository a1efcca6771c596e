"""Redis backends for Pierre: the rate limiter and the cache/session store that let
several instances share one budget and any instance serve any session."""
