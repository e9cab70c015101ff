"""The one family of errors mlrig raises. Imports nothing of ours.

Every error carries a one-line, user-facing message and an optional hint, in two forms:

* :attr:`MlrigError.hint` — what to do, said for the command line (``Run 'mlrig profile
  list'.``). The CLI prints ``Error: <message> <hint>`` and exits with
  :attr:`MlrigError.exit_code`.
* :attr:`MlrigError.library_hint` — the same advice for a caller of the Python API
  (``Call client.list_profiles() to see them.``). It is the hint itself when the advice
  names no command (``Choose a different name.``).

``str(error)`` is what a library caller sees: the message followed by the library hint.
"""

from __future__ import annotations


class MlrigError(Exception):
    """Base of every error mlrig raises on purpose.

    Attributes: ``message`` (one sentence, the same for the CLI and the library), ``hint``
    (the advice for the command line, or ``None``), ``library_hint`` (the advice for a
    Python caller; defaults to ``hint``) and ``exit_code`` (of the ``mlrig`` command).
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *,
                 library_hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self._library_hint = library_hint

    @property
    def library_hint(self) -> str | None:
        """The hint for a caller of the Python API (the CLI hint when both are the same)."""
        return self._library_hint if self._library_hint is not None else self.hint

    def __str__(self) -> str:
        hint = self.library_hint
        return f"{self.message} {hint}" if hint else self.message


class InputError(MlrigError):
    """A name, URL, option or value given by the user is not acceptable."""


class UsageError(InputError):
    """The command line itself is malformed (exit code 2, like click's usage errors)."""

    exit_code = 2


class NotFoundError(MlrigError):
    """A named profile, stack, component or flavor does not exist."""


class AlreadyExistsError(MlrigError):
    """A name is already taken."""


class InUseError(MlrigError):
    """The object is referenced by something else (active, or used by a stack)."""


class StoreError(MlrigError):
    """A store cannot be opened, read or written."""


class CorruptFileError(StoreError):
    """A file mlrig owns cannot be parsed or has an unknown format version."""


class ReadOnlyError(StoreError):
    """A change was asked of a store or file that is read-only (a read-only mount, or a
    directory this user may not write)."""


class LockTimeoutError(StoreError):
    """Another mlrig process held a lock for too long."""


class ScopeError(MlrigError):
    """A scope (flag, environment, repository, global) names something that does not exist."""


def shown_text(text: str, limit: int = 100) -> str:
    """An untrusted text for a message: at most ``limit`` characters (and how long it was)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def shown_value(value: object, limit: int = 60) -> str:
    """``repr`` of an untrusted value (from a file or a variable) for a message, bounded in
    size *and* in the work it takes: a huge nested structure is not rendered in full first."""
    import reprlib

    bounded = reprlib.Repr()
    bounded.maxlevel, bounded.maxdict, bounded.maxlist = 2, 3, 3
    bounded.maxtuple = bounded.maxset = 3
    bounded.maxstring = bounded.maxother = bounded.maxlong = limit
    return shown_text(bounded.repr(value), limit * 2)
