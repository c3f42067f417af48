"""``yuqing nlp``: score texts, evaluate an engine on a labelled CSV, train a model."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nlp.sentiment import ENGINE_NAMES, LABELS


def ingest_analyser(config, engine: str | None = None, model: Path | None = None):
    """The :class:`nlp.analysis.PostAnalyser` ingest builds for ``config`` (the same object:
    ingest's own :class:`pipeline.enrich.Enricher` builds it), optionally with another engine
    or model. Eval, score and the benchmark use it so they measure what ships."""
    from pipeline.enrich import Enricher

    nlp = config.nlp
    name = engine or nlp.sentiment_engine
    # The configured model belongs to the configured engine; another engine gets its default.
    if model is None and name == nlp.sentiment_engine:
        model = nlp.sentiment_model
    chosen = config.model_copy(
        update={"nlp": nlp.model_copy(update={"sentiment_engine": name, "sentiment_model": model})}
    )
    return Enricher(chosen, recent_posts=lambda: []).analyser


def _analyser(app, engine: str | None, model: Path | None):
    try:
        return ingest_analyser(app.config, engine, model)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


_engine_option = click.option(
    "--engine", type=click.Choice(ENGINE_NAMES), help="Sentiment engine (default: from config)."
)
_model_option = click.option(
    "--model",
    type=click.Path(exists=True, path_type=Path),
    help="A model trained with `yuqing nlp train` (default: from config, else the shipped one).",
)


@click.group("nlp")
def nlp_group() -> None:
    """Sentiment, complaint cause and keywords of posts; evaluate and train sentiment models.

    \b
    Example:
        yuqing nlp score "星澜咖啡的店员态度太差了[怒]"
    """


@nlp_group.command("score")
@click.argument("texts", nargs=-1, required=True)
@_engine_option
@_model_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text.")
@click.pass_obj
def nlp_score(app, texts, engine, model, as_json) -> None:
    """Print the sentiment label and score, complaint cause and keywords of each TEXT.

    \b
    Example:
        yuqing nlp score "快递三天了还没到，客服也不回" "新品很好喝[赞]"
    """
    analyser = _analyser(app, engine, model)
    for text, result in zip(texts, analyser.analyse(list(texts)), strict=True):
        if as_json:
            click.echo(json.dumps({"text": text, **result.as_dict()}, ensure_ascii=False))
        else:
            cause = result.cause or "-"
            click.echo(
                f"{result.label}\t{result.score:.3f}\t{cause}\t{','.join(result.keywords)}\t{text}"
            )


@nlp_group.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_engine_option
@_model_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (n, F1s, speed).")
@click.pass_obj
def nlp_eval(app, file, engine, model, as_json) -> None:
    """Evaluate a sentiment engine on a labelled CSV (columns text, polarity).

    Posts are cleaned, segmented (with the configured topics' user dictionary) and scored
    exactly as ingest does. Prints n, binary macro-F1 (positive vs negative rows), three-class
    macro-F1, accuracy, the confusion matrix and posts per second of clean + segment + score.
    Rows with an empty polarity are skipped.

    \b
    Example:
        yuqing nlp eval ../shared/data/sentiment/smp2020_usual_eval.csv --json
    """
    from nlp.evaluate import evaluate, read_labelled_csv

    try:
        data = read_labelled_csv(file)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    analyser = _analyser(app, engine, model)
    result = evaluate(data, analyser)
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    click.echo(f"{file}: engine {analyser.engine.name}, {result.n} rows ({result.skipped} skipped)")
    for key, value in result.summary().items():
        click.echo(f"  {key}: {value}")
    click.echo("  confusion (rows: gold, columns: predicted):")
    click.echo(" " * 12 + "".join(f"{label:>10}" for label in LABELS))
    for gold in LABELS:
        counts = "".join(f"{result.confusion[gold][p]:>10}" for p in LABELS)
        click.echo(f"  {gold:>10}{counts}")


@nlp_group.command("train")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Model folder."
)
@click.option(
    "--engine",
    type=click.Choice(("weibo", "snownlp")),
    default="weibo",
    show_default=True,
    help="weibo: the fast tier's linear model (the precise tier's CNN is trained by"
    " `python -m nlp.train_sentiment_cnn`); snownlp: SnowNLP's Bayes model.",
)
@click.option("--c", "c", type=float, default=None, help="Inverse regularisation (weibo).")
@click.option("--bits", type=click.IntRange(12, 24), default=None, help="Hash size (weibo).")
def nlp_train(files, out, engine, c, bits) -> None:
    """Train a sentiment model on labelled CSV FILES (columns text, polarity) into --out.

    Use it by setting `[nlp] sentiment_model = "MODEL_DIR"` (and the engine) in the config.

    \b
    Example:
        yuqing nlp train our_labels.csv ../shared/data/sentiment/smp2020_usual_train.csv \\
            --out models/ours && yuqing nlp eval held_out.csv --model models/ours
    """
    from nlp.sentiment_model import DEFAULT_BITS, DEFAULT_C
    from nlp.train_sentiment import train_snownlp_model, train_weibo_model

    try:
        if engine == "snownlp":
            saved = train_snownlp_model(files, out)
            click.echo(f"wrote {saved}; use it with --engine snownlp --model {saved}")
            return
        model = train_weibo_model(
            files, out, bits=bits or DEFAULT_BITS, c=c if c is not None else DEFAULT_C
        )
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {out} ({model.meta['n_train']} posts); use it with --model {out}")
