"""`bench status` as text: the counts, the median cell and the ETA, then the cells that need a look (running,
failed, abandoned); pending cells are counted, not listed."""

from __future__ import annotations

from bench.analysis.progress import STATES, Progress, format_seconds


def render(progress: Progress, suite: str, where: str) -> str:
    counts = progress.counts
    lines = [f"suite {suite} in {where}: {len(progress.cells)} cells: "
             + ", ".join(f"{counts[state]} {state}" for state in STATES)]
    if progress.remaining:
        workers = f"{progress.live_workers} live worker" + ("" if progress.live_workers == 1 else "s")
        eta = progress.eta_seconds
        lines.append(f"median cell {format_seconds(progress.median_cell_seconds)}; "
                     + (f"ETA {format_seconds(eta)} for {progress.remaining} cells at {workers}" if eta is not None
                        else f"no ETA yet for {progress.remaining} cells ({workers}"
                        + ("" if progress.median_cell_seconds is not None else ", no cell done to time") + ")"))
    else:
        lines.append(f"every cell is done; median cell {format_seconds(progress.median_cell_seconds)}")
    for cell in progress.in_state("running"):
        run = cell.run
        lines.append(f"  running    {cell.key.describe()}: {run.host}:{run.pid}, heartbeat "
                     f"{format_seconds(progress.heartbeat_age(cell))} ago")
    for state in ("failed", "abandoned"):
        for cell in progress.in_state(state):
            error = (cell.run.error or "").splitlines()[0] if cell.run.error else "no error recorded"
            lines.append(f"  {state:<10} {cell.key.describe()}: {error}")
    return "\n".join(lines)
