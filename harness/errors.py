class HarnessError(Exception):
    """Bad input or environment. The message names the file (or tool) and what is wrong."""
