"""``mlrig artifact ...``: the outputs of step runs, their bytes and their lineage
(docs/runs.md)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

from mlrig.cli.app import State, pass_state
from mlrig.cli.output import echo_err, emit_document, output_option, print_table
from mlrig.cli.pipeline import short, when
from mlrig.exceptions import InputError


def size(value: int) -> str:
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{value} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} B"


@click.group()
def artifact() -> None:
    """Inspect the artifacts of pipeline runs: list, describe (with lineage), get."""


@artifact.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Artifacts per page.")
@click.option("--cursor", metavar="CURSOR",
              help="Show the page after the one that printed this cursor.")
@output_option
@pass_state
def list_(state: State, limit: int, cursor: str | None, output: str) -> None:
    """List artifacts, newest first, one page at a time."""
    state.banner()
    document = state.client.artifacts_document(limit=limit, cursor=cursor)
    if output != "table":
        emit_document(output, document)
        return
    found = document["artifacts"]
    if not found:
        click.echo("No artifacts found." if cursor is None else "No more artifacts.")
        return
    print_table(
        ["ARTIFACT ID", "NAME", "DATA TYPE", "MATERIALIZER", "SIZE", "CREATED"],
        [[short(a["id"]), a["name"], a["data_type"], a["materializer"], size(a["size"]),
          when(a["created"])] for a in found],
        center_first=False,
    )
    if document["next_cursor"]:
        more = f" --limit {limit}" if limit != 20 else ""
        echo_err(f"More artifacts: mlrig artifact list{more} --cursor {document['next_cursor']}")


@artifact.command("describe")
@click.argument("artifact_id", metavar="ID")
@output_option
@pass_state
def describe(state: State, artifact_id: str, output: str) -> None:
    """Show an artifact and its lineage: the step that produced it, the steps that read it."""
    state.banner()
    document = state.client.artifact_document(artifact_id)
    if output != "table":
        emit_document(output, document)
        return
    a = document["artifact"]
    producer = a["producer"]
    made_by = (f"step '{producer['step']}' of run {producer['run']} (pipeline "
               f"'{producer['pipeline']}')" if producer else
               f"step run {a['producer_step_run']} (its run was deleted)")
    fields = [("Artifact", a["id"]), ("Name", a["name"]), ("Data type", a["data_type"]),
              ("Materializer", f"{a['materializer']} {a['materializer_version']}"),
              ("Size", size(a["size"])), ("Digest", a["digest"]), ("URI", a["uri"]),
              ("Created", when(a["created"])), ("Produced by", made_by)]
    width = max(len(k) for k, _ in fields)
    for key, value in fields:
        click.echo(f"{key + ':':<{width + 1}} {value}")
    if not a["consumers"]:
        click.echo("Consumers: none")
        return
    click.echo()
    print_table(["RUN ID", "PIPELINE", "STEP", "STATUS"],
                [[short(c["run"]), c["pipeline"] or "", c["step"], c["status"]]
                 for c in a["consumers"]], title="Consumers", center_first=False)


@artifact.command("get")
@click.argument("artifact_id", metavar="ID")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the stored bytes to this file (a new file).")
@click.option("--force", is_flag=True, help="With --out: replace an existing file.")
@click.option("--output", "-o", "output", type=click.Choice(["raw", "json", "yaml"]),
              default="raw", show_default=True,
              help="raw: the stored bytes; json/yaml: the artifact with its loaded value.")
@pass_state
def get(state: State, artifact_id: str, out: Path | None, force: bool, output: str) -> None:
    """Write an artifact's stored bytes to stdout or to a file (or its value as JSON/YAML)."""
    state.banner()
    client = state.client
    view = client.get_artifact(artifact_id)
    if output != "raw":
        from mlrig.client import FORMAT_VERSION

        value = view.load()
        document = client.artifact_document(view.record.id)
        try:
            import json

            json.dumps(value)
        except (TypeError, ValueError):
            raise InputError(
                f"The value of artifact '{view.record.name}' ({view.record.id}) is a "
                f"'{view.record.data_type}', which JSON cannot show.",
                hint="Write its bytes with --out FILE.") from None
        document["artifact"]["value"] = value
        emit_document(output, {"format_version": FORMAT_VERSION,
                               "artifact": document["artifact"]})
        return
    data = view.read_bytes()
    if out is None:
        if sys.stdout.isatty() and not _fit_for_a_terminal(data):
            raise InputError(f"The artifact '{view.record.name}' ({view.record.id}) is binary, "
                             "holds control characters or is over 1 MiB; it is not written "
                             "to a terminal.",
                             hint="Write it with --out FILE, or redirect stdout.")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    _write_out(out, data, force)
    echo_err(f"Wrote {size(len(data))} of artifact '{view.record.name}' to '{out}'.")


#: the most a terminal is shown of an artifact at once
TERMINAL_LIMIT = 1 << 20


def _fit_for_a_terminal(data: bytes) -> bool:
    """Text a terminal shows as it is: no escape sequences or other control characters
    (tabs and newlines apart), valid UTF-8, at most :data:`TERMINAL_LIMIT` bytes."""
    if len(data) > TERMINAL_LIMIT:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any((ord(ch) < 32 and ch not in "\t\n\r") or 127 <= ord(ch) < 160
                   for ch in text)


def _write_out(out: Path, data: bytes, force: bool) -> None:
    """``data`` into the file ``out``: created anew (never over a file that appears
    meanwhile), or, with ``force``, replacing a regular file, never anything else."""
    import os
    import stat

    from mlrig.fsutil import atomic_write

    try:
        info = os.lstat(out)
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise InputError(f"'{out}' is a symbolic link: mlrig does not write through it.")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"'{out}' is not a regular file: mlrig does not replace it.")
        if not force:
            raise InputError(f"'{out}' exists already.", hint="Pass --force to replace it.")
        atomic_write(out.absolute(), data, mode=0o644, create_parents=False)
        return
    # the bytes go to a file of mlrig's own first, then are linked to the new name, which
    # fails if a file appeared there meanwhile: never a half-written or replaced file
    temp = out.with_name(f".mlrig.{out.name}.{os.getpid()}.tmp")
    atomic_write(temp.absolute(), data, mode=0o644, create_parents=False)
    try:
        os.link(temp, out, follow_symlinks=False)
    except FileExistsError:
        raise InputError(f"'{out}' exists already.", hint="Pass --force to replace it.") from None
    except OSError as exc:
        raise InputError(f"Cannot create '{out}': {exc.strerror or exc}.") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)
