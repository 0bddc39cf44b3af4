"""Service protection: per-principal limits, a fair concurrency gate, per-request cost limits and
statement timeouts.

    middleware.py  the ASGI middleware that applies the limits below to every request
    limits.py      the limits, read from the settings
    window.py      per-principal sliding windows: requests, execution time, concurrency (429)
    gate.py        the worker's request slots and their fair wait queue (503 ServerBusy)
    cost.py        what one request may ask for: URL length (414), $top, $expand depth (400)
    budget.py      how many expanded rows one response may carry (400 ResultTooLarge, or a cut page)
    cancel.py      statement timeouts per database, and cancelling a query when its client goes away
    respond.py     what the middleware share: the paths they guard, errors in the OData error shape

All state is in-process: with N uvicorn workers each keeps its own windows and slots, so the
effective per-principal limits are N times the configured ones.
"""
