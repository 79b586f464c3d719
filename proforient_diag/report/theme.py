"""The seaborn/matplotlib theme of the kit's notes.

One look for every figure: DejaVu Sans (it ships with matplotlib and covers
Cyrillic), seaborn's colour-blind-safe palette for categories, fixed colours
for diagnostic levels (:data:`LEVEL_COLORS`, so that «низкий» is the same
colour in every figure of every year), and Russian tick labels (decimal comma,
thin-space thousands) through :func:`ru_axis`.

``matplotlib.rcParams["axes.formatter.use_locale"]`` depends on the
operating system's locale being installed and selected, which is not the case
in CI or most containers; hence the explicit :class:`RuFormatter`.
Nothing happens at import time: call :func:`set_theme` at the top of a
notebook.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ..fmt import fmt_num, fmt_pct
from ..options import check_option, options

FONT_FAMILY = "DejaVu Sans"

#: Fixed colours of diagnostic levels, low = warm (red), high = cool (blue).
#: A diverging scheme after Paul Tol's colour-blind-safe «BuRd» and
#: «high-contrast» sets; «средний» is ochre so that it reads as a colour, not as
#: missing data. 3-level instruments use «низкий / средний / высокий»; 4-level
#: ones «низкий / ниже среднего / выше среднего / высокий»; 5-level ones
#: «очень низкий / низкий / средний / высокий / очень высокий».
LEVEL_COLORS: dict[str, str] = {
    "очень низкий": "#A50026",
    "низкий": "#D6604D",
    "ниже среднего": "#F4A582",
    "средний": "#DDAA33",
    "выше среднего": "#92C5DE",
    "высокий": "#4393C3",
    "очень высокий": "#2166AC",
}

#: Level sets the instruments use, in order from low to high.
LEVEL_ORDERS: dict[int, tuple[str, ...]] = {
    3: ("низкий", "средний", "высокий"),
    4: ("низкий", "ниже среднего", "выше среднего", "высокий"),
    5: ("очень низкий", "низкий", "средний", "высокий", "очень высокий"),
}


def _norm_level(name: str) -> str:
    return " ".join(str(name).strip().lower().replace("ё", "е").split())


def level_palette(levels: Iterable[str]) -> dict[str, str]:
    """Colours for the given level labels, for seaborn's ``palette=`` argument.

    Labels are matched case-insensitively («Высокий» → «высокий»); the returned
    dict is keyed by the labels as given.

    Parameters
    ----------
    levels : iterable of str
        Level labels as they appear in the data.

    Returns
    -------
    dict
        ``{label: "#RRGGBB"}``.

    Raises
    ------
    ValueError
        If a label is not one of :data:`LEVEL_COLORS` (the message lists them).

    Examples
    --------
    >>> level_palette(["Низкий", "средний"])
    {'Низкий': '#D6604D', 'средний': '#DDAA33'}
    """
    out = {}
    for label in levels:
        key = _norm_level(label)
        if key not in LEVEL_COLORS:
            check_option("level", label, tuple(LEVEL_COLORS))
        out[label] = LEVEL_COLORS[key]
    return out


#: One colour per band form, the same in every figure of every note (Okabe–Ito, colour-blind
#: safe; Okabe M., Ito K. Color Universal Design, 2008).
BAND_COLORS = {"1-4": "#E69F00", "5-7": "#56B4E9", "8-9": "#009E73", "10-11": "#CC79A7"}


def band_palette(labels: Iterable[str]) -> dict[str, str]:
    """Colours of the band forms for seaborn's ``palette=``, keyed by the labels as given
    («8–9 классы», «8-9», «8–9»).

    Examples
    --------
    >>> band_palette(["1–4 классы", "10-11"])
    {'1–4 классы': '#E69F00', '10-11': '#CC79A7'}
    """
    out = {}
    for label in labels:
        key = str(label).split()[0].replace("–", "-")
        check_option("band", key, tuple(BAND_COLORS))
        out[label] = BAND_COLORS[key]
    return out


def _inline_figures() -> None:
    """In a Jupyter kernel, show figures inline whatever ``MPLBACKEND`` says.

    A note is exported from the executed notebook; with a non-interactive backend inherited from
    the environment (``MPLBACKEND=Agg`` is common on servers and in CI) ``plt.show()`` would
    leave no image in the note.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is not None and getattr(ip, "kernel", None) is not None:
        ip.run_line_magic("matplotlib", "inline")


@options(context=("paper", "notebook", "talk", "poster"))
def set_theme(*, context: str = "notebook", font_scale: float = 1.0) -> None:
    """Apply the kit's look to seaborn and matplotlib (call once per notebook).

    Parameters
    ----------
    context : {"paper", "notebook", "talk", "poster"}, default "notebook"
        seaborn's scaling context.
    font_scale : float, default 1.0
        Extra scaling of fonts.

    Notes
    -----
    Sets the ``whitegrid`` style, the colour-blind-safe ``colorblind`` palette,
    DejaVu Sans, a true minus sign, 150 dpi PNG output (sharp in print and in
    Word) and a figure size that fits an A4 text column (16 × 9 cm).
    """
    import seaborn as sns

    _inline_figures()
    sns.set_theme(
        context=context, style="whitegrid", palette="colorblind", font=FONT_FAMILY,
        font_scale=font_scale,
        rc={
            "font.family": "sans-serif",
            "font.sans-serif": [FONT_FAMILY],
            "axes.unicode_minus": True,
            "axes.titlelocation": "left",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.figsize": (6.3, 3.5),
            "figure.dpi": 150,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "legend.frameon": False,
        },
    )


def _decimals_for(locs: Sequence[float]) -> int:
    """The fewest decimals that tell all tick values apart (at most 6)."""
    finite = [float(v) for v in locs if v is not None and math.isfinite(v)]
    for d in range(0, 7):
        if all(abs(round(v, d) - v) < 1e-9 * max(1.0, abs(v)) for v in finite):
            return d
    return 6


try:  # the class is defined only when matplotlib is importable (it always is here)
    from matplotlib.ticker import Formatter as _Formatter
except ImportError:  # pragma: no cover - matplotlib is a declared dependency
    _Formatter = object


class RuFormatter(_Formatter):
    """A matplotlib tick formatter: ``1 234,5`` and ``12,5 %``.

    All ticks of an axis get the same number of decimals (the fewest that are
    exact for every tick), unless ``decimals`` is fixed.

    Parameters
    ----------
    decimals : int, optional
        Fixed number of decimals; by default chosen from the tick values.
    percent : bool, default False
        Append « %»; values are percentages (or shares with ``share=True``).
    share : bool, default False
        Values are proportions (0–1) shown as percentages.
    """

    def __init__(self, decimals: int | None = None, *, percent: bool = False,
                 share: bool = False) -> None:
        self.decimals = decimals
        self.percent = percent or share
        self.share = share
        self._auto = 0

    def set_locs(self, locs):  # noqa: D102 - matplotlib API
        values = [v * 100 for v in locs] if self.share else list(locs)
        self._auto = _decimals_for(values)

    def __call__(self, x, pos=None):  # noqa: D102 - matplotlib API
        d = self.decimals if self.decimals is not None else self._auto
        if self.percent:
            return fmt_pct(x, d, share=self.share)
        return fmt_num(x, d)


@options(which=("both", "x", "y"))
def ru_axis(ax, which: str = "both", *, decimals: int | None = None, percent: bool = False,
            share: bool = False):
    """Russian tick labels on a matplotlib/seaborn axes.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes (e.g. what ``sns.barplot`` returns).
    which : {"both", "x", "y"}, default "both"
        Which axis to format.
    decimals, percent, share
        See :class:`RuFormatter`.

    Returns
    -------
    matplotlib.axes.Axes
        The same axes, for chaining.
    """
    axes = []
    if which in ("both", "x"):
        axes.append(ax.xaxis)
    if which in ("both", "y"):
        axes.append(ax.yaxis)
    from matplotlib.ticker import ScalarFormatter

    for axis in axes:
        # Only numeric axes: categorical ones (seaborn sets fixed or
        # string-category formatters there) keep their labels.
        if isinstance(axis.get_major_formatter(), (ScalarFormatter, RuFormatter)):
            axis.set_major_formatter(RuFormatter(decimals, percent=percent, share=share))
    return ax


def ru_figure(fig, **kwargs):
    """Apply :func:`ru_axis` to every axes of a figure (e.g. a ``FacetGrid.figure``)."""
    for ax in fig.axes:
        ru_axis(ax, **kwargs)
    return fig
