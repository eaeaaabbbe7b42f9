"""The one error type every chip driver raises: which port, which register, what was read."""

from __future__ import annotations


class ChipError(Exception):
    """A chip that does not answer as its datasheet says.

    The message names the port, the register and the value seen, so a technician can tell a
    missing module from a dead line from a wiring fault; the switchboard marks that port faulty
    and keeps the others working.
    """

    def __init__(self, port: str, problem: str, register: int | None = None, value: int | None = None):
        self.port = port
        self.problem = problem
        self.register = register
        self.value = value
        where = f"port {port}"
        if register is not None:
            where += f", register {register}"
        if value is not None:
            where += f" = 0x{value:02X}"
        super().__init__(f"{where}: {problem}")
