"""The metrics every authenticated request moves, kept as plain numbers.

``prometheus_client``'s ``Counter`` and ``Histogram`` take a lock on every update, which
costs more than the rest of the request's bookkeeping together. The two metrics updated on
every request through the middleware are plain integers here instead, updated from the
event loop's thread, and handed to ``prometheus_client`` as metric families when it is
scraped (a custom collector, as its documentation describes).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class FixedLabelCounter(Collector):
    """A counter with one label whose values are fixed up front."""

    def __init__(self, name: str, documentation: str, label: str, values: Sequence[str]) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self.counts = dict.fromkeys(values, 0)

    def inc(self, value: str) -> None:
        """Count one ``value`` (one of the values given up front; others are ignored)."""
        if value in self.counts:
            self.counts[value] += 1

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=[self._label])
        for value, count in self.counts.items():
            family.add_metric([value], count)
        yield family


class LatencyHistogram(Collector):
    """A histogram without labels over fixed bucket bounds (in seconds)."""

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = tuple(buckets)
        self._counts = [0] * (len(self._bounds) + 1)  # the last one is +Inf
        self._sum = 0.0

    def observe(self, seconds: float) -> None:
        """Record one observation."""
        self._counts[bisect_left(self._bounds, seconds)] += 1
        self._sum += seconds

    def collect(self) -> Iterator[Metric]:
        cumulative: list[tuple[str, float]] = []
        total = 0
        for bound, count in zip((*self._bounds, float("inf")), self._counts, strict=True):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), total))
        yield HistogramMetricFamily(
            self._name, self._documentation, buckets=cumulative, sum_value=self._sum
        )
