"""The root ``mlrig`` group: global options, lazy sub-commands, error handling.

Sub-command modules are imported only when their command runs, and ``--help`` is answered
from the table below, so start-up stays cheap.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from mlrig._version import __version__
from mlrig.cli.interrupts import caused_by_interrupt

if TYPE_CHECKING:
    from mlrig.client import Client
from mlrig.exceptions import MlrigError

# name -> (module:attribute, short help)
_COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("mlrig.cli.profile:profile", "Manage profiles: isolated stores of stacks."),
    "stack": ("mlrig.cli.stack:stack", "Manage stacks in the active profile."),
    "init": ("mlrig.cli.repo:init", "Make a directory an mlrig repository."),
    "status": ("mlrig.cli.repo:status", "Show the active profile and stack, and why."),
    "server": ("mlrig.cli.server:server",
               "Serve a store to a team over HTTP: users, roles, tokens, audit."),
    "login": ("mlrig.cli.login:login", "Keep a credential for a profile of store type rest."),
    "logout": ("mlrig.cli.login:logout", "Forget the credential of a rest profile."),
    "secret": ("mlrig.cli.secret:secret",
               "Manage the secrets of the active stack's secrets manager."),
    "pipeline": ("mlrig.cli.pipeline:pipeline",
                 "Run pipelines on the active stack and inspect their runs."),
    "artifact": ("mlrig.cli.artifact:artifact",
                 "Inspect the artifacts of pipeline runs and their lineage."),
    "completion": ("mlrig.cli.completion:completion",
                   "Print the shell completion script: bash, zsh or fish."),
}
_COMPONENT_GROUPS = (
    "orchestrator", "metadata-store", "artifact-store", "container-registry", "step-operator",
    "secrets-manager", "feature-store", "model-deployer", "experiment-tracker", "alerter",
    "data-validator", "annotator",
)
for _group in _COMPONENT_GROUPS:
    _plural = "container registries" if _group == "container-registry" else (
        _group.replace("-", " ") + "s")
    _COMMANDS[_group] = (f"mlrig.cli.component:{_group}", f"Commands to interact with {_plural}.")


class State:
    """Per-invocation state shared by all commands (the context object)."""

    def __init__(self, profile: str | None, stack: str | None, debug: bool,
                 verbose: bool) -> None:
        self.profile = profile
        self.stack = stack
        self.debug = debug
        self.verbose = verbose
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from mlrig.cli.output import print_event
            from mlrig.client import Client

            self._client = Client(profile=self.profile, stack=self.stack, events=print_event)
        return self._client

    def banner(self, strict: bool = True, check_stack: bool | None = None) -> None:
        """The spec's "Running with active profile" lines, on stderr.

        Then, unless the command is one that repairs a broken choice (``strict=False`` /
        ``check_stack=False``), a profile or stack named by any scope that does not exist
        is an error naming that scope: mlrig never silently runs against something else.
        """
        from mlrig.cli.output import echo_err

        client = self.client
        client.config()  # first run: creates the default profile (and says so) first
        repo = client.repository()
        if repo is None:
            echo_err("Running without an active repository root.")
        elif self.verbose:
            echo_err(f"Running with active repository root: {repo.root}")
        choice = client.profile_choice(strict=False)
        scope = choice.scope
        if self.verbose and scope != "flag":
            scope = f"{scope}: {choice.source}"
        echo_err(f"Running with active profile: '{_shown_name(choice.name)}' ({scope})")
        if strict:
            client.profile_choice(strict=True)
        if strict if check_stack is None else check_stack:
            client.stack_choice(strict=True)


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in self._lazy:
            return command
        module_name, _, attribute = self._lazy[cmd_name][0].partition(":")
        module = importlib.import_module(module_name)
        loaded: click.Command = getattr(module, attribute.replace("-", "_"))
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self._lazy[name][1]) for name in self.list_commands(ctx)
                if name in self._lazy]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _lazy_completer(name: str) -> Callable[[click.Context, click.Parameter, str], Any]:
    """A completer of :mod:`mlrig.cli.completers`, imported only when the shell asks."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> Any:
        from mlrig.cli import completers

        return getattr(completers, name)(ctx, param, incomplete)

    return complete


@click.group(cls=LazyGroup, lazy=_COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--profile", "-p", "profile", metavar="PROFILE",
              shell_complete=_lazy_completer("profile_names"),
              help="Use this profile for this one command (highest precedence).")
@click.option("--stack", "stack", metavar="STACK",
              shell_complete=_lazy_completer("stack_names"),
              help="Use this stack for this one command.")
@click.option("--debug", is_flag=True, envvar="MLRIG_DEBUG",
              help="Show tracebacks for errors (anywhere on the command line; or MLRIG_DEBUG=1).")
@click.option("--verbose", "-v", is_flag=True, help="Say more (e.g. which file set a scope).")
@click.version_option(__version__, "--version", prog_name="mlrig")
@click.pass_context
def cli(ctx: click.Context, profile: str | None, stack: str | None, debug: bool,
        verbose: bool) -> None:
    """mlrig keeps the configuration of ML infrastructure in isolated profiles of stacks.

    The active profile and stack come from, in order: --profile/--stack, the variables
    MLRIG_ACTIVE_PROFILE/MLRIG_ACTIVE_STACK, the repository (mlrig init), the global
    configuration. 'mlrig status' shows which one won.
    """
    ctx.obj = State(profile, stack, debug, verbose)


# click >= 8.2 raises this (a UsageError carrying the whole help) for a group given no
# command; older releases print the help themselves and exit 0
_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    cls for cls in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if cls is not None)

_LONG_QUOTED = re.compile(r"'([^']{257,})'")
#: the longest message printed: a backstop, messages bound the untrusted values they show
_MAX_MESSAGE = 2000


def _one_line(text: str) -> str:
    """One bounded line; control, invisible and undecodable characters (from untrusted
    names) are shown escaped, so an error message can neither inject terminal sequences nor
    fail to encode, and a huge quoted value is shortened."""
    if len(text) > 50 * _MAX_MESSAGE:
        text = text[:50 * _MAX_MESSAGE]
    text = _LONG_QUOTED.sub(lambda m: f"'{m.group(1)[:60]}...' ({len(m.group(1))} characters)",
                            text)
    text = _printable(" ".join(text.split()))
    return text if len(text) <= _MAX_MESSAGE else f"{text[:_MAX_MESSAGE]}... (cut)"


def _printable(text: str) -> str:
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def _shown_name(name: str) -> str:
    """An untrusted name (from a flag, a variable or a file) for a banner: escaped, bounded."""
    shown = _printable(name)
    return shown if len(shown) <= 100 else f"{shown[:60]}... ({len(name)} characters)"


def _hoist_debug(args: list[str]) -> list[str]:
    """``--debug`` is accepted anywhere before ``--`` (``mlrig stack list --debug``): it is
    moved to the root group, which owns it."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return args
    rest = [arg for arg in args[:end] if arg != "--debug"]
    return ["--debug", *rest, *args[end:]]


def run(argv: list[str] | None = None) -> int:
    args = _hoist_debug(list(sys.argv[1:] if argv is None else argv))
    from mlrig.environment import debug as debug_variable

    debug = "--debug" in args or debug_variable()
    try:
        returned = cli.main(args=args, prog_name="mlrig", standalone_mode=False)
        if isinstance(returned, int) and not isinstance(returned, bool):
            return returned  # click returns the code of an Exit instead of raising it
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.Abort as exc:
        if caused_by_interrupt(exc):
            click.echo("Interrupted.", err=True)  # click turns a Ctrl-C into Abort
            return 130
        click.echo("Aborted.", err=True)
        return 1
    except click.UsageError as exc:
        if isinstance(exc, _NO_ARGS_IS_HELP) and exc.ctx is not None:
            # a bare group (`mlrig`, `mlrig stack`): its help, exactly as --help prints it
            click.echo(exc.ctx.get_help(), color=exc.ctx.color)
            return 0
        command = exc.ctx.command_path if exc.ctx is not None else "mlrig"
        click.echo(
            f"Error: {_one_line(exc.format_message())} (see '{command} --help')", err=True
        )
        return 2
    except click.ClickException as exc:
        click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except MlrigError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        message = _one_line(exc.message)
        if exc.hint:  # the CLI form of the hint (str(exc) has the library form)
            message = f"{message} {_one_line(exc.hint)}"
        from mlrig.cli.output import colored

        click.echo(colored(f"Error: {message}", "red"), err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as exc:
        if caused_by_interrupt(exc):  # e.g. a RuntimeError of a class body it landed in
            click.echo("Interrupted.", err=True)
            return 130
        if debug:
            raise
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {_one_line(str(exc))} "
            "(run with --debug for the traceback)",
            err=True,
        )
        return 1
    return 0


def pass_state(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.pass_obj(func)
