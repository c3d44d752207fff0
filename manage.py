#!/usr/bin/env python
"""Django's command-line utility; `jicai` (jicai/cli.py) is the user-facing equivalent."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jicai.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
