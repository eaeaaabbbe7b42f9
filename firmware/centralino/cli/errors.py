"""The one error type commands raise: a one-line message and an exit code."""


class CliError(Exception):
    """A problem the user can fix; printed as ``centralino: MESSAGE`` and exits ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code
