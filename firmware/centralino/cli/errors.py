"""The one error type commands raise: a one-line message and an exit code; and loading a
configuration the way every command reports its problems."""


class CliError(Exception):
    """A problem the user can fix; printed as ``centralino: MESSAGE`` and exits ``exit_code``."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def load_config(path):
    """The settings in ``path``; a CliError naming the file (and line) when they cannot be had."""
    from centralino.config.loader import ConfigError
    from centralino.config.schema import load_settings

    try:
        return load_settings(path)
    except ConfigError as err:
        raise CliError(str(err)) from err
    except OSError as err:
        raise CliError(f"{path}: cannot read the configuration ({err.strerror or err})") from err
