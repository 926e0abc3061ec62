"""User-facing errors.

A :class:`NewsclfError` is a mistake in the user's input (a file, a field, a config value). Scripts catch it
and print its message as one line on stderr, with exit code 2 and no traceback. Anything else is a bug and
keeps its traceback.
"""


class NewsclfError(Exception):
    """A user mistake, reported as one line that names the file / row / field and what was expected."""

    def __str__(self) -> str:
        # one line whatever the message: a newline in a quoted value must not split the report
        return " ".join(str(self.args[0]).split()) if self.args else ""
