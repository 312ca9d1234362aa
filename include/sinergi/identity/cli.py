"""``sinergi identity train|resolve|evaluate``: the identity model and its quality.

* ``train``     estimate the Splink model's parameters (unsupervised) on a simulated world and
  write ``models/identity-v<N>.json``: the only way the committed model changes;
* ``resolve``   run the nightly identity step by hand against the warehouse (``--full``
  re-links everything; the result must equal the incremental one);
* ``evaluate``  precision, recall and F1 against simulated worlds' truth with the baselines;
  results in ``bench/results/identity_eval.json`` and ``docs/IDENTITY.md``'s table.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from datetime import date
from pathlib import Path

from sinergi import settings

RESULTS_PATH = settings.PROJECT_ROOT / "bench" / "results" / "identity_eval.json"
# The model is trained on its own world, never one the evaluation scores.
TRAINING_WORLD = {"persons": 10_000, "seed": 7, "nights": 2}
EVALUATION_WORLDS = ("10k:1", "10k:2", "100k:1", "100k:2")


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "identity",
        help="train, run or evaluate identity resolution",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=lambda args: parser.print_help() or 2)
    actions = parser.add_subparsers(dest="identity_command", metavar="ACTION")

    train = actions.add_parser("train", help="train the model on a simulated world")
    train.add_argument("--persons", type=int, default=TRAINING_WORLD["persons"])
    train.add_argument("--seed", type=int, default=TRAINING_WORLD["seed"])
    train.add_argument("--out", type=Path, default=None, help="default: the committed path")
    train.set_defaults(handler=_train)

    resolve = actions.add_parser("resolve", help="the nightly identity step, by hand")
    resolve.add_argument("--night", type=date.fromisoformat, required=True)
    resolve.add_argument("--full", action="store_true", help="re-link every record")
    resolve.set_defaults(handler=_resolve)

    evaluate = actions.add_parser("evaluate", help="quality against simulated truth")
    evaluate.add_argument(
        "--worlds",
        nargs="+",
        default=list(EVALUATION_WORLDS),
        help="PERSONS:DAMAGE_SCALE, e.g. 10k:1 100k:2 (default: %(default)s)",
    )
    evaluate.add_argument("--out", type=Path, default=RESULTS_PATH)
    evaluate.add_argument(
        "--document",
        type=Path,
        default=settings.PROJECT_ROOT / "docs" / "IDENTITY.md",
        help="write the table into this document's identity-eval block (default: %(default)s)",
    )
    evaluate.set_defaults(handler=_evaluate)


def _persons(text: str) -> int:
    text = text.lower()
    factor = 1_000_000 if text.endswith("m") else 1_000 if text.endswith("k") else 1
    return int(float(text.rstrip("km")) * factor)


def _admin_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    url = settings.warehouse_url()
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _train(args: argparse.Namespace) -> int:
    import psycopg
    import splink

    from sinergi import worlds
    from sinergi.identity import evaluate, features, model

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = evaluate.WorldSpec(persons=args.persons, seed=args.seed, nights=2)
    out = args.out or model.MODEL_PATH
    with tempfile.TemporaryDirectory(prefix="sinergi-train-") as folder:
        workdir = Path(folder)
        url = evaluate.prepare_database(spec, _admin_url(), workdir, "identity_training")
        worlds.build_until_identity(url, spec.end, "training-key-not-secret", workdir / "dbt")
        duck = features.open_duckdb()
        with psycopg.connect(url) as conn:
            records = features.copy_records(conn, duck)
        db_api = splink.DuckDBAPI(connection=duck)
        linker = splink.Linker(db_api.register("records", table_name="records"), model.settings())
        model.train(linker)
        trained = linker.misc.save_model_to_json(str(out), overwrite=True)
        training = {"records": records, "persons": spec.persons, "seed": spec.seed,
                    "nights": spec.nights}  # fmt: skip
        out.with_name(out.stem + ".training.json").write_text(json.dumps(training, indent=2) + "\n")
        evaluate.drop_database(_admin_url(), "identity_training")
    print(f"trained on {spec.persons} persons (seed {spec.seed}): {out}")
    print(f"{len(trained['comparisons'])} comparisons; review the diff, then commit it")
    return 0


def _resolve(args: argparse.Namespace) -> int:
    from sinergi.identity.resolve import resolve_identities

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    summary = resolve_identities(settings.warehouse_url(), args.night, full=args.full)
    print(json.dumps(summary.as_dict(), indent=2))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from sinergi.identity import evaluate, report

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = []
    with tempfile.TemporaryDirectory(prefix="sinergi-identity-eval-") as folder:
        for item in args.worlds:
            persons, _, damage = item.partition(":")
            spec = evaluate.WorldSpec(persons=_persons(persons), damage_scale=float(damage or 1))
            results.append(evaluate.evaluate_world(spec, _admin_url(), Path(folder) / spec.name))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"worlds": results}, indent=2) + "\n")
    print(report.table(results))
    if args.document:
        command = "sinergi identity evaluate --worlds " + " ".join(args.worlds)
        report.update_document(args.document, results, command)
    failed = report.failed_targets(results)
    for line in failed:
        print(f"target missed: {line}", file=sys.stderr)
    return 1 if failed else 0
