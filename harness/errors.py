class HarnessError(Exception):
    """Bad input or environment. The message names the file (or tool) and what is wrong."""


class HarnessBug(HarnessError):
    """The harness's own code raised: a bug of this project, never a finding about the runtime (exit 2).
    The message is one line; the traceback is in the log it names."""


class NotApplicable(HarnessError):
    """A route that a TF version cannot author (routes.applicable says why): reported, not a failure."""


class ExportFailed(HarnessError):
    """The exporter could not write a SavedModel (its TF or Keras failed): that export's failed `export`
    check, not the end of the run. The message is one line; the full output is in the log it names."""


def one_line(text: str, limit: int = 300) -> str:
    """The line of an error message that says what failed: the last non-empty line of a traceback or a
    log (TensorFlow's own log lines come first), cut to `limit` characters."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else "(no message)"
    return line if len(line) <= limit else line[: limit - 3] + "..."
