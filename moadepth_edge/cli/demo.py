"""`moadepth-edge demo`: export the bundled tiny model and stream a synthetic clip to depth."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table


def demo(
    out: Path = typer.Option(Path("demo_out"), "--out", help="folder for everything the demo writes"),
    checkpoint: Optional[Path] = typer.Option(None, help="a checkpoint folder (default: the bundled tiny model)"),
    frames: int = typer.Option(48, min=1, max=10000, help="frames in the walk through a synthetic room"),
) -> None:
    """Export a tiny trained model to ONNX, stream a walk through a synthetic room through `run`'s
    pipeline on the CPU, and report accuracy against the clip's true depth and speed.
    SIGINT / SIGTERM while streaming finish the frame, finalise the outputs and report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..demo import run_demo

    console = Console()
    with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("render", total=frames, visible=False)  # shown while the clip renders
        s = run_demo(out, checkpoint, frames, say=lambda m: console.print(f"[bold]{m}[/]"),
                     on_frame=lambda i: bar.update(task, completed=i + 1, visible=i + 1 < frames))
    table = Table(title="demo: held-out synthetic clip, ONNX Runtime on this CPU")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (("frames", f"{s.frames}"), ("delta1", f"{s.delta1:.3f}"),
                        ("AbsRel", f"{s.abs_rel:.3f}"), ("RMSE (m)", f"{s.rmse:.3f}"),
                        ("pipeline FPS", f"{s.pipeline_fps:.1f}"),
                        ("latency p50 (ms)", f"{s.latency_p50_ms:.1f}"),
                        ("model input", s.model_input)):
        table.add_row(name, value)
    console.print(table)
    if s.stop_reason != "end of input":
        console.print(f"[yellow]{s.stop_reason} after {s.frames} frames[/]")
    console.print(f"video: {s.video}\ndepth PNGs (uint16 mm): {out / 'depth'}\n"
                  f"frame | predicted | true depth: {out / 'frame.png'}\nsummary: {out / 'summary.json'}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
