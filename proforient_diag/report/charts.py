"""The monitoring note's figures: indicator series 2018–year and the rating with its intervals.

Each function takes the tidy tables of :mod:`proforient_diag.monitoring` and returns a
matplotlib figure styled by :mod:`proforient_diag.report.theme`; the notebook only shows it
and captions it. Counts are drawn per school (the unit they are counted in), shares in %.
"""
from __future__ import annotations

import textwrap

import pandas as pd

from ..roadmap import MonitoringSpec
from .theme import ru_axis

__all__ = ["indicator_series", "rating_intervals"]

REGION_COLOR = "#2b6ca3"
OWN_COLOR = "#c2452d"
SPREAD_COLOR = "#b9c9d9"


def _title(spec: MonitoringSpec, measure: str) -> str:
    """«4.2. Охват обучающихся, ведущих …» wrapped to whole words on two or three lines."""
    m = spec.measures.set_index("column").loc[measure]
    return "\n".join(textwrap.wrap(str(m["header"]).replace(" (да/нет)", ""), 44))


def indicator_series(agg: pd.DataFrame, spec: MonitoringSpec, year: int,
                     municipality: str | None = None):
    """Small multiples of every primary indicator, base year to ``year``.

    The region's line; the band between the 10th and 90th percentile of the municipalities
    (how far apart they are each year); in a municipal note the municipality's own line.

    Parameters
    ----------
    agg : DataFrame
        :func:`~proforient_diag.monitoring.aggregate` at both levels.
    spec : MonitoringSpec
    year : int
    municipality : str, optional
        A municipality's code.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    prim = spec.measures[spec.measures["primary"]]["column"].tolist()
    a = agg[agg["measure"].isin(prim) & (agg["year"] <= year)].copy()
    a["shown"] = a["value"].where(a["kind"] != "count", a["per_school"])
    mun = a[a["level"] == "municipality"].groupby(["measure", "year"])["shown"]
    spread = pd.DataFrame({"lo": mun.quantile(0.1), "hi": mun.quantile(0.9)}).reset_index()
    ncol = 3
    nrow = -(-len(prim) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(7.2, 1.75 * nrow), sharex=True)
    for ax, m in zip(axes.flat, prim):
        s = spread[spread["measure"] == m]
        ax.fill_between(s["year"], s["lo"], s["hi"], color=SPREAD_COLOR, lw=0,
                        label="муниципалитеты (10–90 %)")
        r = a[(a["level"] == "region") & (a["measure"] == m)].sort_values("year")
        ax.plot(r["year"], r["shown"], marker="o", ms=2.2, lw=1.2, color=REGION_COLOR, label="область")
        if municipality is not None:
            o = a[(a["unit"] == municipality) & (a["measure"] == m)].sort_values("year")
            ax.plot(o["year"], o["shown"], marker="s", ms=2.2, lw=1.1, color=OWN_COLOR,
                    label="муниципалитет")
        ax.set_title(_title(spec, m), fontsize=5.6, loc="left")
        ax.tick_params(labelsize=5.5)
        ax.set_xticks(range(spec.base_year, year + 1, 2))
        ru_axis(ax, "y")
    for ax in axes.flat[len(prim):]:
        ax.axis("off")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower right", fontsize=6, frameon=False)
    fig.tight_layout(h_pad=0.6)
    return fig


def rating_intervals(ranks: pd.DataFrame, municipality: str | None = None):
    """The municipalities' places by the overall index with their 95 % intervals of places.

    Parameters
    ----------
    ranks : DataFrame
        :func:`~proforient_diag.monitoring.rank_intervals`.
    municipality : str, optional
        Highlighted in a municipal note.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    r = ranks.sort_values(["rank", "unit_name"]).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.2, 0.17 * len(r) + 0.8))
    y = range(len(r))
    own = (r["unit"] == municipality).to_numpy()
    colors = [OWN_COLOR if o else REGION_COLOR for o in own]
    ax.hlines(list(y), r["rank_low"], r["rank_high"], colors=colors, lw=1.6, alpha=0.55)
    ax.scatter(r["rank"], list(y), c=colors, s=9, zorder=3)
    ax.set_yticks(list(y))
    ax.set_yticklabels(r["unit_name"], fontsize=5.6)
    ax.invert_yaxis()
    m = len(r)
    for edge in (m / 3, 2 * m / 3):
        ax.axvline(edge + 0.5, color="#999999", lw=0.6, ls=":")
    ax.set_xlabel("Место по сводному индексу (точка) и 95 % интервал мест", fontsize=6.5)
    ax.tick_params(axis="x", labelsize=6)
    ax.set_xlim(0.5, m + 0.5)
    ru_axis(ax, "x", decimals=0)
    fig.tight_layout()
    return fig
