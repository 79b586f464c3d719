"""The analysis behind the annual «аналитическая справка» of the diagnostic.

The annual note (``notebooks/annual_diagnostics.ipynb``) only calls this package and shows what
it returns. One module per step, imports flowing down the list:

* :mod:`.labels` — band order, level names, year phrases;
* :mod:`.weights` — raking of each year's respondents to the enrolment (:func:`make_weights`);
* :mod:`.linking` — the instrument versions on one scale, with the linking error
  (:func:`link_versions`);
* :mod:`.scope` — what one note is about: its year, municipality and data on one scale;
* :mod:`.coverage` — dates, participants, coverage, what the weights did, estimates by year;
* :mod:`.results` — reliability, levels, profiles, the municipal appendix;
* :mod:`.disclosure` — the note's hidden groups decided once and applied to every table;
* :mod:`.changes` — changes, subgroups, municipalities against the region, trend, cohorts;
* :mod:`.conclusions` — the Russian sentences and recommendations;
* :mod:`.note` — :func:`diagnose`, the note as a sequence of these steps, and its result.

The waves themselves come through :func:`proforient_diag.sources.load_waves` (re-exported here).
"""
from __future__ import annotations

from ..datafolder import default_cache_dir
from ..sources import Waves, load_waves
from .conclusions import RECOMMENDATIONS, conclusions
from .coverage import wave_dates
from .labels import BAND_ORDER
from .linking import LINKING_METHODS, Linking, link_versions
from .note import Diagnostics, diagnose, withheld_municipalities
from .results import municipal_appendix
from .weights import Weights, make_weights

__all__ = ["Waves", "load_waves", "default_cache_dir", "Weights", "make_weights", "Linking",
           "link_versions", "Diagnostics", "diagnose", "conclusions", "municipal_appendix",
           "wave_dates", "BAND_ORDER", "LINKING_METHODS", "RECOMMENDATIONS",
           "withheld_municipalities"]
