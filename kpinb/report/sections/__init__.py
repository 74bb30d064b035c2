"""The report's sections, one module per family: ``kpis`` (progress headline, KPI
cards and their charts), ``goals`` (OKR scores, personal goals, members' goals,
feasibility flags), ``journal`` (review routine, coaching questions, open actions),
``notes`` (data notes), ``team`` (each member's trajectory, signals worth a
conversation) and ``executive`` (teams, group size, withheld figures).

Every builder returns a :class:`~kpinb.report.sections.part.Part`: its section and the
twin keys its sentences state. None writes into a dict it was handed;
:mod:`kpinb.report.views` composes the parts of each view in reading order.
"""
