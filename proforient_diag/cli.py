"""The ``proforient-diag`` command: thin; it parses arguments and calls the package.

Every problem with the input ends in one Russian sentence on stderr and a non-zero exit code
(2: the input cannot be used; 3: an internal error, with ``--debug`` for the traceback).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import DiagError

EXIT_INPUT = 2
EXIT_INTERNAL = 3


class _RuFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, prefix="Использование: ")


class _RuParser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _RuFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "аргументы"
        self._optionals.title = "параметры"
        self.add_argument("-h", "--help", action="help", help="показать эту справку и выйти")

    def error(self, message):
        self.print_usage(sys.stderr)
        tr = (message.replace("the following arguments are required", "не заданы обязательные аргументы")
                     .replace("unrecognized arguments", "неизвестные аргументы")
                     .replace("invalid choice", "недопустимое значение")
                     .replace("argument", "аргумент")
                     .replace("expected one argument", "ожидается одно значение")
                     .replace("invalid int value", "не целое число"))
        self.exit(EXIT_INPUT, f"Ошибка: {tr}. Справка: proforient-diag --help\n")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


def default_data_dir() -> Path:
    cwd = Path.cwd() / "data_samples"
    return cwd if cwd.is_dir() else repo_root() / "data_samples"


def _paths_for_year(args) -> list[Path]:
    from .datafolder import DataFolder
    if args.paths:
        return [Path(p) for p in args.paths]
    return [DataFolder(default_data_dir()).diagnostics_dir(args.year)]


# -- commands -----------------------------------------------------------------------------------

def cmd_validate(args) -> int:
    from .ingest import read_responses
    res = read_responses(_paths_for_year(args), args.instrument, year=args.year)
    s = res.summary()
    print(s.to_string(index=False))
    n_in, n_ok = int(res.files["rows"].sum()), len(res.responses)
    print(f"\nСтрок во входных файлах: {n_in}; принято: {n_ok}; исключено: {len(res.exclusions)}; "
          f"исправлений в ячейках: {len(res.issues)}; отмечено «однотипных ответов»: "
          f"{int(res.responses['straightlining'].sum()) if n_ok else 0}.")
    if len(res.exclusions):
        print("\nПричины исключения:")
        reasons = res.exclusions["reason"].str.replace(r"\s*\(.*\)$|: отвечено.*$", "", regex=True)
        for r, c in reasons.value_counts().items():
            print(f"  {c:>5}  {r}")
    return 0


def _write_table(df, path: Path) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path.with_suffix(".csv"), index=False, encoding="utf-8-sig")
    out = df.copy()
    for c in out.columns:  # Excel cannot hold time zones or categoricals as such
        if str(out[c].dtype) == "category":
            out[c] = out[c].astype(str).replace("nan", "")
    out.to_excel(path.with_suffix(".xlsx"), index=False)
    return [path.with_suffix(".csv"), path.with_suffix(".xlsx")]


def cmd_score(args) -> int:
    from .ingest import read_responses
    from .instrument import load_instrument
    from .scoring import score
    import pandas as pd
    res = read_responses(_paths_for_year(args), args.instrument, year=args.year)
    parts, missing = [], []
    for v in res.versions:
        rows = res.responses[res.responses["instrument_version"] == v]
        sc = score(rows, load_instrument(args.instrument, v))
        parts.append(sc.scores)
        missing.append(sc.missing)
    scores = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    drop = [c for c in ("date",) if c in scores]
    key_note = ""
    if args.key_file or os.environ.get("PROFORIENT_KEY"):
        from .privacy import load_key, pseudonymise
        key = load_key(Path(args.key_file) if args.key_file else None)
        for t in (scores, res.exclusions, res.issues, *missing):
            if "respondent_id" in t and len(t):
                t["respondent_id"] = pseudonymise(t["respondent_id"].astype("string").fillna(""), key) \
                    .where(t["respondent_id"].notna(), None)
        key_note = " Коды участников заменены псевдонимами (ключ не записан)."
    out = Path(args.out)
    written = []
    written += _write_table(scores.drop(columns=drop), out / "scores")
    written += _write_table(res.exclusions, out / "exclusions")
    written += _write_table(res.issues, out / "issues")
    written += _write_table(pd.concat(missing, ignore_index=True) if missing else pd.DataFrame(), out / "missing_scores")
    written += _write_table(res.files, out / "files")
    n_in = int(res.files["rows"].sum())
    print(f"Строк во входных файлах: {n_in}; оценено: {len(scores)}; в журнале исключений: "
          f"{len(res.exclusions)} (сумма {len(scores) + len(res.exclusions)}).")
    print("Записано: " + ", ".join(str(p) for p in written if p.suffix == ".csv") + key_note)
    return 0


def cmd_codebook(args) -> int:
    from .codebook import write_codebook
    from .instrument import load_instrument
    for p in write_codebook(load_instrument(args.instrument, args.version), Path(args.out)):
        print(f"Записано: {p}")
    return 0


def cmd_template(args) -> int:
    from .codebook import write_templates
    from .instrument import load_instrument
    for p in write_templates(load_instrument(args.instrument, args.version), Path(args.out)):
        print(f"Записано: {p}")
    return 0


def cmd_annual(args) -> int:
    from .annual import run_annual
    return run_annual(year=args.year, data_dir=Path(args.data) if args.data else default_data_dir(),
                      out_dir=Path(args.out), municipality=args.municipality,
                      per_municipality=args.per_municipality,
                      formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
                      threshold=args.threshold, jobs=args.jobs, progress=not args.no_progress)


def cmd_load(args) -> int:
    from .privacy import load_key
    from .store import Store
    key = load_key(Path(args.key_file) if args.key_file else None)
    with Store(Path(args.store)) as st:
        rep = st.load(args.year, [Path(p) for p in args.paths] or _paths_for_year(args), key=key,
                      instrument=args.instrument)
    print(rep.to_frame()[["file", "status", "rows", "accepted", "excluded"]].to_string(index=False))
    print(rep.summary())
    return 0


def cmd_key(args) -> int:
    from .privacy import create_key
    p = create_key(Path(args.path))
    print(f"Ключ псевдонимизации создан: {p}. Храните его отдельно от данных и результатов; "
          f"укажите путь в переменной PROFORIENT_KEY.")
    return 0


def cmd_check(args) -> int:
    from .annual import CHECK_TITLE, notebooks_dir
    from .instrument import load_instrument
    from .report.runner import run_note
    inst = load_instrument(args.instrument, args.version)
    data_dir = (Path(args.data) if args.data else default_data_dir()).resolve()
    years = [int(y) for y in args.years.split(",")] if args.years else None
    from .checks import years_in_force
    from .datafolder import DataFolder
    folder = DataFolder(data_dir)
    inputs = [p for y in (years or years_in_force(data_dir, args.instrument, inst.version))
              for p in folder.input_files(y)]
    res = run_note(notebooks_dir() / "instrument_check.ipynb", Path(args.out),
                   {"instrument": args.instrument, "version": inst.version, "band": args.band,
                    "data_dir": str(data_dir), "years": years},
                   name=f"instrument_check_{inst.version}_{args.band}",
                   title=CHECK_TITLE.format(version=inst.version, band=args.band.replace("-", "–")),
                   formats=tuple(f.strip() for f in args.formats.split(",") if f.strip()),
                   instrument_versions={args.instrument: inst.version}, inputs=inputs)
    for p in res.outputs.values():
        print(f"Записано: {p}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _RuParser(prog="proforient-diag",
                  description="Диагностика профессионального самоопределения обучающихся Кузбасса: "
                              "проверка и оценка анкет, психометрика, мониторинг дорожной карты, "
                              "аналитические справки.")
    p.add_argument("--debug", action="store_true", help="при внутренней ошибке показать трассировку")
    sub = p.add_subparsers(dest="command", title="команды", metavar="КОМАНДА",
                           parser_class=_RuParser)

    def common(sp, need_year=False):
        sp.add_argument("paths", nargs="*", metavar="ПУТЬ",
                        help="файлы или папки с выгрузками (CSV, XLSX, SAV, Parquet); по умолчанию "
                             "data_samples/diagnostics/ГОД")
        sp.add_argument("--year", type=int, required=need_year, help="год обследования")
        sp.add_argument("--instrument", default="psd", help="инструмент (по умолчанию psd)")

    sp = sub.add_parser("validate", help="проверить выгрузки и показать, что будет принято и исключено")
    common(sp)
    sp.set_defaults(func=cmd_validate)

    sp = sub.add_parser("score", help="оценить анкеты: баллы по шкалам, индекс, уровни, журнал исключений")
    common(sp)
    sp.add_argument("--out", default="out", help="папка для результатов (по умолчанию out)")
    sp.add_argument("--key-file", default=None,
                    help="ключ псевдонимизации: коды участников в результатах заменяются псевдонимами "
                         "(по умолчанию — ключ из PROFORIENT_KEY, если задан; иначе коды школ сохраняются)")
    sp.set_defaults(func=cmd_score)

    sp = sub.add_parser("codebook", help="кодбук инструмента (Markdown и XLSX)")
    sp.add_argument("--instrument", default="psd")
    sp.add_argument("--version", type=int, default=None, help="версия (год); по умолчанию последняя")
    sp.add_argument("--out", default="out", help="папка для файлов")
    sp.set_defaults(func=cmd_codebook)

    sp = sub.add_parser("template", help="шаблоны XLSX для ввода бумажных анкет, по форме на параллель")
    sp.add_argument("--instrument", default="psd")
    sp.add_argument("--version", type=int, default=None, help="версия (год); по умолчанию последняя")
    sp.add_argument("--out", default="out", help="папка для файлов")
    sp.set_defaults(func=cmd_template)

    sp = sub.add_parser("load", help="добавить год в многолетнее хранилище (DuckDB) с псевдонимизацией кодов")
    common(sp, need_year=True)
    sp.add_argument("--store", default="store/proforient.duckdb", help="файл хранилища (по умолчанию store/proforient.duckdb)")
    sp.add_argument("--key-file", default=None, help="файл ключа псевдонимизации (по умолчанию из PROFORIENT_KEY)")
    sp.set_defaults(func=cmd_load)

    sp = sub.add_parser("key", help="создать ключ псевдонимизации (храните отдельно от данных)")
    sp.add_argument("path", metavar="ФАЙЛ", help="куда записать ключ")
    sp.set_defaults(func=cmd_key)

    sp = sub.add_parser("check", help="психометрическая проверка формы инструмента (справка для методиста)")
    sp.add_argument("--instrument", default="psd")
    sp.add_argument("--version", type=int, default=None, help="версия (год); по умолчанию последняя")
    sp.add_argument("--band", default="8-9", choices=["1-4", "5-7", "8-9", "10-11"], help="параллель")
    sp.add_argument("--years", default=None, help="годы через запятую (по умолчанию все годы действия версии)")
    sp.add_argument("--data", default=None, help="папка с данными (по умолчанию data_samples)")
    sp.add_argument("--out", default="reports/check", help="куда писать справку")
    sp.add_argument("--formats", default="html", help="форматы через запятую: html,docx,pdf")
    sp.set_defaults(func=cmd_check)

    sp = sub.add_parser("annual", help="годовые аналитические справки (по умолчанию на данных data_samples)")
    sp.add_argument("--year", type=int, required=True, help="год обследования, например 2026")
    sp.add_argument("--data", default=None, help="папка с данными (по умолчанию data_samples)")
    sp.add_argument("--out", default="reports", help="куда писать справки (по умолчанию reports/ГОД)")
    sp.add_argument("--municipality", default=None, help="справка по одному муниципалитету (код или название)")
    sp.add_argument("--per-municipality", action="store_true", help="ещё и справка по каждому муниципалитету")
    sp.add_argument("--formats", default="html", help="форматы через запятую: html,docx,pdf (по умолчанию html)")
    sp.add_argument("--threshold", type=int, default=10, help="минимальный размер группы в таблицах (по умолчанию 10)")
    sp.add_argument("--jobs", type=int, default=None, help="число параллельных процессов (по умолчанию по числу ядер)")
    sp.add_argument("--no-progress", action="store_true", help="не показывать индикатор выполнения")
    sp.set_defaults(func=cmd_annual)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_INPUT
    try:
        return int(args.func(args) or 0)
    except DiagError as exc:
        print(f"Ошибка: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("Прервано.", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a data problem: say so plainly
        if args.debug:
            raise
        print(f"Внутренняя ошибка ({exc.__class__.__name__}: {exc}). Повторите с --debug и сообщите "
              "разработчикам.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
