#!/usr/bin/env python3
"""Compare hotline's national working-day calendar with the `chinesecalendar` package.

Usage: python3 scripts/check_calendar.py HOTLINE_BINARY [YEAR ...]   (default: 2025 2026)

Runs `HOTLINE_BINARY calendar --region national --list YEAR`, which prints one line per day of the year,
`YYYY-MM-DD work` or `YYYY-MM-DD off`, and checks every day against
`chinese_calendar.is_workday`. The package is an independent transcription of the
State Council notices, so a disagreement means one of the two has a typo: look the
day up in the notice before changing calendar/national/YYYY.toml.

The package lives in a venv under ${TMPDIR:-/tmp}/hotline-cc-venv, made on first use;
this script re-runs itself with that venv's Python. Exit status: 0 when every day
agrees, 1 on any disagreement, 2 when the check could not run.
"""

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NoReturn

DEFAULT_YEARS = [2025, 2026]
# 1.11.0 is the first release checked to hold both 2025 and 2026.
PACKAGE = "chinesecalendar>=1.11.0"
LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (work|off)$")


def venv_dir() -> Path:
    return Path(os.environ.get("TMPDIR") or "/tmp") / "hotline-cc-venv"


def fail(message: str) -> NoReturn:
    print(f"check_calendar: {message}", file=sys.stderr)
    sys.exit(2)


def ensure_venv_and_reexec() -> None:
    """Outside the venv: make it, install the package, and continue inside it."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    if not python.exists():
        made = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)])
        if made.returncode != 0:
            fail(f"cannot create a venv in {venv} (on Debian: apt-get install python3-venv)")
    # A no-op without network access once the requirement is met.
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PACKAGE]
    )
    if installed.returncode != 0:
        fail(f"pip could not install {PACKAGE} into {venv}")
    os.execv(str(python), [str(python), os.path.abspath(__file__), *sys.argv[1:]])


def hotline_days(binary: str, year: int) -> dict:
    """The binary's verdict per day; any line out of format is an error."""
    try:
        ran = subprocess.run(
            [binary, "calendar", "--region", "national", "--list", str(year)], capture_output=True, text=True
        )
    except OSError as err:
        fail(f"cannot run {binary}: {err}")
    if ran.returncode != 0:
        fail(f"`{binary} calendar --list {year}` exited {ran.returncode}: {ran.stderr.strip()}")
    days = {}
    for number, line in enumerate(ran.stdout.splitlines(), start=1):
        match = LINE.match(line)
        if not match:
            fail(f"`{binary} calendar --list {year}` line {number} is not 'YYYY-MM-DD work|off': {line!r}")
        try:
            day = datetime.date.fromisoformat(match.group(1))
        except ValueError:
            fail(f"`{binary} calendar --list {year}` line {number} has no real date: {line!r}")
        if day in days:
            fail(f"`{binary} calendar --list {year}` lists {day} twice")
        days[day] = match.group(2) == "work"
    return days


def compare(binary: str, year: int) -> tuple:
    """Returns (days that agree, list of disagreement lines) for one year."""
    import chinese_calendar

    listed = hotline_days(binary, year)
    problems = []
    agreed = 0
    day = datetime.date(year, 1, 1)
    while day.year == year:
        try:
            expected = chinese_calendar.is_workday(day)
        except NotImplementedError as err:
            fail(f"chinesecalendar has no data for {year} ({err}); upgrade it or drop the year")
        if day not in listed:
            problems.append(f"{day}: missing from hotline's list (package: {word(expected)})")
        elif listed[day] != expected:
            problems.append(f"{day}: hotline says {word(listed[day])}, chinesecalendar says {word(expected)}")
        else:
            agreed += 1
        day += datetime.timedelta(days=1)
    for extra in sorted(d for d in listed if d.year != year):
        problems.append(f"{extra}: listed for {year} but in another year")
    return agreed, problems


def word(working: bool) -> str:
    return "work" if working else "off"


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    binary = sys.argv[1]
    try:
        years = [int(y) for y in sys.argv[2:]] or DEFAULT_YEARS
    except ValueError:
        fail(f"years must be numbers, got {sys.argv[2:]}")
    ensure_venv_and_reexec()
    import chinese_calendar

    version = getattr(chinese_calendar, "__version__", "?")
    agreed = 0
    problems = []
    for year in years:
        year_agreed, found = compare(binary, year)
        agreed += year_agreed
        problems.extend(found)
    for problem in problems:
        print(f"DISAGREE {problem}")
    years_text = ", ".join(str(y) for y in years)
    print(f"compared {years_text} with chinesecalendar {version}")
    # The closing line counts days the way CI reads test results.
    print(f"check_calendar: {agreed} passed, {len(problems)} failed")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
