"""Output formats: what a published report is written as (one table, :mod:`.registry`).

Each format is one module holding an :class:`~kpinb.batch.formats.base.OutputFormat`
(name, suffix, render) and one line in :data:`kpinb.batch.formats.registry.FORMATS`:
``html`` (the page, :mod:`.page`), ``json`` (the JSON twin, :mod:`.twin`) and ``pdf``
(printed by headless Chromium, :mod:`.pdf`). ``kpinb run --formats`` selects from it.
"""
