"""The quarterly calibration pack (rank 4): evidence per person, ratings beside evidence
per manager, prompts instead of verdicts, and the decision log (docs/calibration.md).

The evidence, manager and prompt logic are plain functions over pandas objects
(:mod:`~kpinb.calibration.evidence`, :mod:`~kpinb.calibration.managers`,
:mod:`~kpinb.calibration.prompts`); :func:`build_pack` gathers them for a period,
:func:`write_pack` publishes its pages and workbook, :func:`record_decision` appends an
agreed rating to the journal's decision log.
"""

from kpinb.calibration.pack import CalibrationPack, build_pack, write_pack
from kpinb.journal import record_decision

__all__ = ["CalibrationPack", "build_pack", "record_decision", "write_pack"]
