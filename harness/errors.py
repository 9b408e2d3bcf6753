class HarnessError(Exception):
    """Bad input or environment. The message names the file (or tool) and what is wrong."""


class NotApplicable(HarnessError):
    """A route that a TF version cannot author (routes.applicable says why): reported, not a failure."""
