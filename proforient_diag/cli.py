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
    if args.year is None:
        raise _input_error("укажите файлы или папку с выгрузками, или год параметром --year.")
    return [DataFolder(default_data_dir()).diagnostics_dir(args.year)]


# -- commands -----------------------------------------------------------------------------------

def _split_kinds(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(answer-sheet inputs, monitoring-form files): a folder of forms is read as forms."""
    from .forms import FORM_SUFFIXES, is_form_file
    from .ingest import scan_inputs
    files = [p for p, _ in scan_inputs(paths)[0]]
    forms = [p for p in files if p.suffix.lower() in FORM_SUFFIXES and p.is_file()
             and is_form_file(p)]
    if forms and len(forms) == len(files):
        return [], forms
    if forms:
        return [p for p in files if p not in set(forms)], forms
    return paths, []


def _register(args):
    from .datafolder import DataFolder
    folder = DataFolder(Path(args.data) if getattr(args, "data", None) else default_data_dir())
    return folder.require_schools(), folder.school_enrolment()


def _read(args):
    """What ``validate``/``score``/``load`` read: answer sheets, or a folder of monitoring forms."""
    from .forms import read_forms
    from .ingest import read_responses
    answers, forms = _split_kinds(_paths_for_year(args))
    res = read_responses(answers, args.instrument, year=args.year) if answers else None
    fres = None
    if forms:
        schools, enrolment = _register(args)
        fres = read_forms(forms, schools=schools, enrolment=enrolment, year=args.year)
    return res, fres, forms


def _usable(res, fres) -> bool:
    return bool((res is not None and len(res.responses)) or (fres is not None and len(fres.forms)))


def cmd_validate(args) -> int:
    from .review import nothing_usable, reading_report
    res, fres, _ = _read(args)
    if res is not None:
        print(reading_report(res, "анкет"))
    if fres is not None:
        print(("\n" if res is not None else "") + "Формы мониторинга дорожной карты:")
        print(reading_report(fres, "форм мониторинга"))
    if not _usable(res, fres):
        print(f"Ошибка: {nothing_usable(res if res is not None else fres)}", file=sys.stderr)
        return EXIT_INPUT
    return 0


def cmd_score(args) -> int:
    from .exports import check_output_folder, write_score_files
    from .review import nothing_usable, reading_report
    out = check_output_folder(Path(args.out))
    key = _score_key(args)
    res, fres, forms = _read(args)
    if res is None:
        raise _input_error("в папке только формы мониторинга: оценивать нечего — проверьте их "
                           "командой validate или загрузите командой load.")
    print(reading_report(res, "анкет"))
    if not len(res.responses):
        print(f"Ошибка: {nothing_usable(res)}", file=sys.stderr)
        return EXIT_INPUT
    written = write_score_files(res, out, instrument=args.instrument, key=key)
    print(f"\nОценено анкет: {written.n_scored} (строк во входных файлах "
          f"{int(res.files['rows'].sum())}, в журнале исключений {len(res.exclusions)}).")
    print("Записано в папку «" + out.name + "»: " +
          ", ".join(p.name for p in written.paths if p.suffix == ".csv") + " (и XLSX)." +
          (" Коды участников заменены псевдонимами (ключ не записан)." if key is not None else ""))
    for note in written.notes:
        print(note)
    return 0


def _score_key(args):
    if args.key_file or os.environ.get("PROFORIENT_KEY"):
        from .privacy import load_key
        return load_key(Path(args.key_file) if args.key_file else None)
    return None


def _input_error(message: str):
    from .errors import InputFileError
    return InputFileError(message)


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
    from .options import check_choices
    from .report.export import FORMATS
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    check_choices("formats", formats or ("",), FORMATS)
    return run_annual(year=args.year, data_dir=Path(args.data) if args.data else default_data_dir(),
                      out_dir=Path(args.out), municipality=args.municipality,
                      per_municipality=args.per_municipality,
                      formats=formats, threshold=args.threshold, jobs=args.jobs,
                      progress=not args.no_progress)


def cmd_load(args) -> int:
    from .privacy import load_key
    from .store import Store
    key = load_key(Path(args.key_file) if args.key_file else None)
    if args.upgrade:
        with Store(Path(args.store)) as st:
            n = st.upgrade(key)
        print(f"Хранилище обновлено: перечитано файлов — {n}; псевдонимы теперь по школе и коду."
              if n else "Хранилище уже в текущей схеме; обновлять нечего.")
        return 0
    if args.year is None:
        raise _input_error("укажите год загрузки параметром --year.")
    answers, forms = _split_kinds(_paths_for_year(args))
    with Store(Path(args.store)) as st:
        reps = []
        if answers:
            reps.append(st.load(args.year, answers, key=key, instrument=args.instrument))
        if forms:
            schools, enrolment = _register(args)
            reps.append(st.load_forms(args.year, forms, schools=schools, enrolment=enrolment))
        logs = _load_logs(st, args.year, reps)
    for rep in reps:
        f = rep.to_frame()[["file", "status", "rows", "accepted", "excluded"]].rename(columns={
            "file": "Файл", "status": "Состояние", "rows": "Строк", "accepted": "Принято",
            "excluded": "Исключено"})
        print(f.to_string(index=False))
        print(rep.summary())
    if logs:
        print(logs)
    if not any(int(r.files["accepted"].fillna(0).sum()) for r in reps):
        print("Ошибка: не принято ни одной строки; исправьте файлы по замечаниям выше.",
              file=sys.stderr)
        return EXIT_INPUT
    return 0


def _load_logs(st, year, reps) -> str:
    """The exclusions and notes of the files this load wrote (as ``validate`` shows them)."""
    from .review import log_lines
    lines = []
    for rep in reps:
        written = rep.files.loc[rep.files["status"] != "без изменений", "file"].tolist()
        if not written:
            continue
        if rep.kind == "monitoring":
            ex, iss = st.form_exclusions(year, file=written), st.form_issues(year, file=written)
        else:
            ex, iss = st.exclusions(year, file=written), st.issues(year, file=written)
        for frame in (ex, iss):
            frame["source_file"] = frame["file"].where(frame["sheet"].fillna("") == "",
                                                       frame["file"] + " [" + frame["sheet"] + "]")
        lines += log_lines(ex, "Исключённые строки", value=False)
        lines += log_lines(iss, "Замечания к ячейкам и файлам", value=True)
    return "\n".join(lines)


def cmd_key(args) -> int:
    from .datafolder import inside_data_folder
    from .privacy import create_key
    p = create_key(Path(args.path))
    print(f"Ключ псевдонимизации создан: {p.name}. Храните его отдельно от данных и результатов; "
          "указывайте его параметром --key-file или в переменной PROFORIENT_KEY.")
    folder = inside_data_folder(p)
    if folder is not None:
        print(f"Внимание: ключ записан внутри папки с данными «{folder.name}». Ключ и данные не "
              "хранят вместе (152-ФЗ, приказ Роскомнадзора № 140): перенесите файл ключа в "
              "отдельное место, доступное только ответственному.", file=sys.stderr)
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
        sp.add_argument("--data", default=None,
                        help="папка с данными, из которой берётся справочник школ для форм "
                             "мониторинга (по умолчанию data_samples)")

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
    common(sp)
    sp.add_argument("--upgrade", action="store_true",
                    help="обновить хранилище прежней версии (псевдонимы по школе и коду)")
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
    sp.add_argument("--per-municipality", action="store_true", help="ещё и справки по каждому муниципалитету (диагностика и мониторинг)")
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
