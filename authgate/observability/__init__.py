"""What authgate tells operators: security events (``events``: hooks and the log), the
observer seam the hot path reports through (``observer``), and Prometheus metrics fed by
both (``metrics``, with the lock-free ``collectors`` of the hot path)."""
