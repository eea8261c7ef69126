"""A self-contained report of a sweep, a collected dataset or one run
(``python -m sim report PATH``).

The report holds the figures, the tables (each also as CSV and booktabs LaTeX),
the sweep's parameters (what varied, the fixed configuration) and provenance
(package versions, git commit, dates, hosts, the command), in HTML (figures
embedded as base64 PNG: one file to mail or archive) or Markdown (figures linked
as files beside it).

Where it writes: ``PATH/report/`` (or ``--out``) gets ``report.html`` (or
``report.md``), ``tables/*.csv|tex``, ``figures/*.png|pdf`` and a manifest
``.report-files.json`` with the SHA-256 of every file the report wrote. Every file
is first written to a staging folder, then renamed into place. A later report
replaces only files whose content is still what the report wrote: if a file was
edited by hand (or not made by the report), nothing is written and the command
stops with a one-line error naming the file (``--force`` replaces it anyway).
Files the previous report made that the new one does not (e.g. a figure now
skipped) are removed if unedited. Figures come from ``PATH/figures/`` when they
are newer than the data, and are made there (as ``python -m sim plot`` does)
otherwise.

The package, by purpose:

- :mod:`analysis.report.build`: :func:`write_report`, the three below in order;
- :mod:`analysis.report.content`: what the report says (sections, tables with
  their estimands, the Overview's warnings, figure order and captions);
- :mod:`analysis.report.parameters`: what the runs were (sweep definition, varied
  and fixed settings, provenance), read from the run folders;
- :mod:`analysis.report.render`: HTML and Markdown;
- :mod:`analysis.report.publish`: the staging folder, the manifest, replacing only
  the report's own files (:class:`ReportError` otherwise);
- :mod:`analysis.report.command`: the command line (``main``), to which the caller
  passes what :mod:`analysis` cannot know (the configuration's defaults, an
  experiment's title and captions): ``python -m sim report`` is assembled in
  :mod:`sim.cli`.
"""

from analysis.report.build import FORMATS, write_report
from analysis.report.command import main
from analysis.report.publish import ReportError, publish

__all__ = ["FORMATS", "ReportError", "main", "publish", "write_report"]
