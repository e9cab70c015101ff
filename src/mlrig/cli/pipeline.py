"""``mlrig pipeline ...``: the pipelines and runs the active stack's metadata store recorded
(docs/runs.md)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.output import confirm_or_refuse, echo_err, emit_document, output_option, print_table

#: how many characters of an id the tables show (any unique prefix names a run)
SHORT_ID = 12


def short(identifier: str | None) -> str:
    return "" if identifier is None else identifier[:SHORT_ID]


def when(iso: str | None) -> str:
    """A document's ISO 8601 time as local time, to the second."""
    if iso is None:
        return ""
    moment = datetime.datetime.fromisoformat(iso).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def dag_lines(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """The steps as a tree from the ones that consume nothing, each step drawn once (a
    step with several upstream steps is drawn under the first and referred to after)."""
    names = [s["name"] for s in steps]
    children: dict[str, list[str]] = {n: [] for n in names}
    roots = []
    for step in steps:
        upstream = [u for u in step.get("upstream", []) if u in children]
        for parent in upstream:
            children[parent].append(step["name"])
        if not upstream:
            roots.append(step["name"])
    drawn: set[str] = set()
    lines: list[str] = []

    def draw(name: str, prefix: str, connector: str, last: bool) -> None:
        again = name in drawn
        lines.append(f"{prefix}{connector}{name}" + ("  (see above)" if again else ""))
        if again:
            return
        drawn.add(name)
        below = prefix + ("    " if last else "│   ") if connector else prefix
        for index, child in enumerate(children[name]):
            final = index == len(children[name]) - 1
            draw(child, below, "└─▶ " if final else "├─▶ ", final)

    for root in roots:
        draw(root, "", "", True)
    for name in names:  # a cycle would leave steps unreached: never lose one
        if name not in drawn:
            draw(name, "", "", True)
    return lines


@click.group()
def pipeline() -> None:
    """Run pipelines and inspect their runs on the active stack."""


@pipeline.command("list")
@output_option
@pass_state
def list_(state: State, output: str) -> None:
    """List the pipelines with runs in the active stack's metadata store."""
    state.banner()
    document = state.client.pipelines_document()
    if output != "table":
        emit_document(output, document)
        return
    found = document["pipelines"]
    if not found:
        click.echo("No pipeline runs recorded yet.")
        return
    print_table(["PIPELINE", "RUNS", "LAST RUN"],
                [[p["name"], str(p["runs"]), when(p["last_run"])] for p in found],
                center_first=False)


@pipeline.command("run")
@click.argument("target", metavar="FILE.py:NAME|module:NAME")
@click.option("--config", "config", metavar="FILE",
              help="A YAML file: 'parameters' per step ({step: {name: value}}), "
              "'enable_cache'.")
@pass_state
def run(state: State, target: str, config: str | None) -> None:
    """Run a pipeline on the active stack.

    TARGET is a script and the name of a function decorated with @pipeline in it
    (train.py:training; the script is loaded as a module, so its
    'if __name__ == "__main__":' block does not run), or an importable module and that
    name (mypackage.pipelines:training).
    """
    state.banner()
    record = state.client.run_pipeline(target, config=config)
    click.echo(f"Run '{record.id}' of pipeline '{record.pipeline}' {record.status.value}.")


@pipeline.group()
def runs() -> None:
    """Inspect the runs of pipelines: list, describe, logs, delete, resume, explain-cache.

    RUN is a run's id, a unique start of it, or 'latest' (the newest run).
    """


@runs.command("list")
@click.option("--pipeline", "pipeline_name", metavar="PIPELINE",
              help="Only the runs of this pipeline.")
@click.option("--status", type=click.Choice(["running", "completed", "failed"],
                                            case_sensitive=False),
              help="Only the runs in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Runs per page.")
@click.option("--cursor", metavar="CURSOR",
              help="Show the page after the one that printed this cursor.")
@output_option
@pass_state
def runs_list(state: State, *, pipeline_name: str | None, status: str | None, limit: int,
              cursor: str | None, output: str) -> None:
    """List runs, newest first, one page at a time."""
    state.banner()
    document = state.client.pipeline_runs_document(
        pipeline=pipeline_name, status=status, limit=limit, cursor=cursor)
    if output != "table":
        emit_document(output, document)
        return
    found = document["runs"]
    if not found:
        click.echo("No pipeline runs found." if cursor is None else "No more runs.")
        return
    print_table(
        ["RUN ID", "PIPELINE", "STATUS", "STACK", "STARTED", "DURATION"],
        [[short(r["id"]), r["pipeline"], r["status"], r["stack"], when(r["started"]),
          duration(r["duration"])] for r in found],
        center_first=False,
    )
    if document["next_cursor"]:
        options = "".join(f" --{name} {value}" for name, value in (
            ("pipeline", pipeline_name), ("status", status)) if value)
        if limit != 20:
            options += f" --limit {limit}"
        echo_err(f"More runs: mlrig pipeline runs list{options} "
                 f"--cursor {document['next_cursor']}")


@runs.command("describe")
@click.argument("run_id", metavar="RUN")
@output_option
@pass_state
def runs_describe(state: State, run_id: str, output: str) -> None:
    """Show a run: its steps (status, duration, cached) and its DAG."""
    state.banner()
    document = state.client.pipeline_run_document(run_id)
    if output != "table":
        emit_document(output, document)
        return
    run = document["run"]
    fields = [("Run", run["id"]), ("Pipeline", run["pipeline"]), ("Status", run["status"]),
              ("Stack", run["stack"]), ("Profile", run["profile"]),
              ("Orchestrator", run["orchestrator"]), ("Started", when(run["started"])),
              ("Duration", duration(run["duration"]) or "-")]
    if run["resumed_from"]:
        fields.append(("Resumed from", run["resumed_from"]))
    if run["error"]:
        fields.append(("Error", run["error"]))
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        click.echo(f"{key + ':':<{width + 1}} {value}")
    steps = run["steps"]
    if not steps:
        click.echo("No steps recorded.")
        return
    click.echo()
    print_table(
        ["STEP", "STATUS", "CACHED", "DURATION", "ATTEMPTS", "OUTPUTS"],
        [[s["name"], s["status"], "yes" if s["cached"] else "no", duration(s["duration"]),
          str(s["attempts"]), ", ".join(f"{n} ({short(a['id'])})"
                                        for n, a in s["outputs"].items())] for s in steps],
        title="Steps", center_first=False,
    )
    click.echo()
    click.echo("DAG:")
    for line in dag_lines(steps):
        click.echo(f"  {line}")


@runs.command("logs")
@click.argument("run_id", metavar="RUN")
@click.argument("step", required=False)
@pass_state
def runs_logs(state: State, run_id: str, step: str | None) -> None:
    """Print the logs of a run's steps (or of one STEP)."""
    state.banner()
    logs = state.client.get_pipeline_run_logs(run_id, step)
    if not logs:
        echo_err("No step of this run has a log.")
        return
    for index, (name, text) in enumerate(logs.items()):
        if step is None:
            if index:
                click.echo()
            click.echo(f"==> {name} <==")
        click.echo(text, nl=not text.endswith("\n"))


@runs.command("delete")
@click.argument("run_id", metavar="RUN")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@pass_state
def runs_delete(state: State, run_id: str, yes: bool) -> None:
    """Delete a run's records and logs (the artifacts' bytes stay in the artifact store)."""
    state.banner()
    client = state.client
    run = client.get_pipeline_run(run_id)
    if not yes:
        confirm_or_refuse(
            f"Delete run '{run.id}' of pipeline '{run.pipeline}' ({len(run.steps)} steps)?",
            refused=f"Run '{run.id}' was not deleted",
            canceled=f"Run '{run.id}' was not deleted.")
    client.delete_pipeline_run(run.id)
    click.echo(f"Deleted run '{run.id}' of pipeline '{run.pipeline}'.")


@runs.command("resume")
@click.argument("run_id", metavar="RUN")
@pass_state
def runs_resume(state: State, run_id: str) -> None:
    """Re-run a failed run from its failed step, reusing the steps that finished in it."""
    state.banner()
    record = state.client.resume_pipeline_run(run_id)
    click.echo(f"Run '{record.id}' of pipeline '{record.pipeline}' {record.status.value} "
               f"(resumed from run '{record.resumed_from}').")


@runs.command("explain-cache")
@click.argument("run_id", metavar="RUN")
@click.argument("step")
@output_option
@pass_state
def runs_explain_cache(state: State, run_id: str, step: str, output: str) -> None:
    """Show every part of a step's cache key and which changed since the step's last run."""
    state.banner()
    explanation = state.client.explain_cache(run_id, step)
    if output != "table":
        from mlrig.client import FORMAT_VERSION

        emit_document(output, {"format_version": FORMAT_VERSION,
                               "explanation": explanation.to_dict()})
        return
    data = explanation.to_dict()
    click.echo(data["summary"])
    if not data["parts"]:
        return
    click.echo()
    print_table(
        ["PART", "THIS RUN", f"RUN {short(data['previous_run'])}" if data["previous_run"]
         else "PREVIOUS RUN", "CHANGED"],
        [[p["name"], p["value"] or "", p["previous"] or "",
          "yes" if p["changed"] and data["previous_run"] else ""] for p in data["parts"]],
        center_first=False,
    )
