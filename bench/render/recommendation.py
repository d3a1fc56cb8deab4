"""`bench recommend`'s text: per cell, what to use, the evidence behind it, and the lines that put it in a team's
own training (sentence-transformers' trainer and Hugging Face's `Trainer`, through bench.integrations)."""

from __future__ import annotations

from bench.analysis.leaderboard import Leaderboard
from bench.analysis.recommend import cells
from bench.analysis.rows import Row
from bench.render import training_less

HOOKED = ("progressive-freeze", "auto-freeze", "stochastic-depth")
"""Strategies that act step by step: the callback only, no functional form."""


def spec_of(label: str) -> str:
    """A leaderboard label as a `--strategy` spec: layer-drop(count=3) -> layer-drop:count=3."""
    if not label.endswith(")") or "(" not in label:
        return label
    name, _, params = label[:-1].partition("(")
    return f"{name}:{','.join(part.strip() for part in params.split(','))}"


def evidence(row: Row, baseline: Row | None) -> str:
    """One line: the headline delta vs the full baseline and its verdict, vs training less, and the time saved."""
    headline, (saved, interval, _) = row.headline, row.headline_time_reduction
    delta = "-" if headline.delta is None else f"{headline.delta:+.3f}"
    if headline.delta_ci is not None:
        delta += f" [{headline.delta_ci.lo:+.3f}, {headline.delta_ci.hi:+.3f}]"
    time = "-" if saved is None else f"{saved:.1%}" + ("" if interval is None else
                                                         f" [{interval.lo:.1%}, {interval.hi:.1%}]")
    less = "" if row.equal_time_verdict is None else f"; vs training less {training_less.cell(row)}"
    base = "" if baseline is None or baseline.train_seconds is None else \
        f" (baseline {baseline.train_seconds:.1f} s, {row.train_seconds:.1f} s here)"
    return (f"evidence: {row.strategy}, {len(row.seeds)} seeds: {row.headline_metric} {delta} vs the full "
            f"baseline, {row.verdict}{less}; time saved {time}{base}")


def snippets(row: Row) -> list[str]:
    """Copy-paste lines for the recommended strategy in sentence-transformers' trainer and in HF's Trainer."""
    spec = spec_of(row.strategy)
    functional = [] if any(spec.startswith(name) for name in HOOKED) else [
        "# or change the model once, before building the trainer (no callback needed then):",
        f"#   bench.apply(model, {spec!r})"]
    return [
        "# sentence-transformers (pip install -e \".[st]\")",
        "from bench.integrations import StrategyCallback",
        "from sentence_transformers import SentenceTransformerTrainer",
        "trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=pairs, loss=loss,",
        f"                                     callbacks=[StrategyCallback({spec!r})])",
        "trainer.train()",
        "",
        "# Hugging Face Trainer",
        "from transformers import Trainer",
        f"trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[StrategyCallback({spec!r})])",
        "trainer.train()",
        *functional,
    ]


def shorter_schedule(share: float) -> list[str]:
    """The plain alternative in either trainer: the same training with fewer steps (warm-up and decay follow)."""
    return [
        f"# train the baseline for {share:.0%} of its steps: in either trainer's arguments",
        f"args = TrainingArguments(..., max_steps=round({share:.2f} * full_steps))  # or "
        "SentenceTransformerTrainingArguments",
    ]


def render(board: Leaderboard) -> str:
    """Each cell's recommendation, its evidence line and its snippets."""
    out: list[str] = []
    for (suite, task, model, fraction, device, _), rows in cells(board.rows).items():
        answer = rows[0].recommendation
        if answer is None:
            continue
        baseline = next((r for r in rows if r.verdict == "baseline"), None)
        pairs = f"{rows[0].train_pairs:,} pairs" if rows[0].train_pairs else f"data {fraction:g}"
        out += [f"suite {suite} | task {task} | model {model} | {pairs} | {device}", f"recommendation: {answer.text}"]
        chosen = next((r for r in rows if r.strategy == answer.strategy), None)
        if chosen is not None:
            out.append(evidence(chosen, baseline))
        if answer.kind == "strategy" and chosen is not None:
            out += ["", *snippets(chosen)]
        elif answer.kind == "equal-time" and answer.time_reduction is not None:
            out += ["", *shorter_schedule(1 - answer.time_reduction)]
        out.append("")
    return "\n".join(out).rstrip()
