#!/usr/bin/env python
"""Django's command-line entry point for the SkillMeat site."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skillmeat_site.settings")
    from django.core.management import execute_from_command_line

    from skillmeat_site import telemetry

    telemetry.configure()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
