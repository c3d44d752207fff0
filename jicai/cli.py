"""The `jicai` console script: SPEC §10 commands mapped onto Django management commands."""

import os
import sys

# `import` is a Python keyword, so its management command is called import_data.
ALIASES = {"import": "import_data"}


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ALIASES:
        args[0] = ALIASES[args[0]]
    from django.core.management import execute_from_command_line

    execute_from_command_line(["jicai", *args])


if __name__ == "__main__":
    main()
