"""The deterministic demo workspace (rank 3): realistic people, KPIs and known archetypes."""

from kpinb.demo.model import NAMES
from kpinb.demo.writer import GENERATED, MARKER, build_demo, period_label, write_demo

__all__ = ["GENERATED", "MARKER", "NAMES", "build_demo", "period_label", "write_demo"]
