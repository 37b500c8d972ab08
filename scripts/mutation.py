"""Mutation testing of the modules that guard tokens and state (run through `scripts/mutation`).

mutmut reads one static configuration from the working directory and keeps its results in
`mutants/` there, so each target of `mutation/targets.toml` gets its own working directory
under `.mutation/<target>/`: links to the package and the tests, and a `setup.cfg` with the
target's `[mutmut]` section. Each mutant then runs only the target's test files (mutmut
narrows them further to the tests that call the mutated function). The score leaves out the
mutants listed in `mutation/equivalent.txt`, so a run shows only the survivors nobody has
judged yet.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # mutmut needs `toml` on 3.10, so it is there
    import toml as tomllib  # type: ignore[import-untyped,no-redef,unused-ignore]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mutation" / "targets.toml"
EQUIVALENT = ROOT / "mutation" / "equivalent.txt"
WORK = ROOT / ".mutation"
TIMEOUT_CONSTANT = 5  # seconds; see prepare()
CLASS_SEPARATOR = "ǁ"  # how mutmut joins a class and its method in a mutant's name

# mutmut's exit codes per mutant (mutmut/stats.py): a failing test or a timeout kills it.
KILLED = {1, 3, 24, -24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


@dataclass
class Target:
    name: str
    paths: list[str]
    tests: list[str]
    functions: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    database: str = "any"

    @property
    def workdir(self) -> Path:
        """Where mutmut runs: per database for a server target, whose code takes other
        branches on PostgreSQL than on MariaDB (``FOR UPDATE OF``)."""
        if self.database == "server":
            return WORK / f"{self.name}@{_vendor(os.environ.get('DATABASE_URL', ''))}"
        return WORK / self.name

    def workdirs(self) -> list[Path]:
        """Every directory holding results of this target (a server target's, one per database)."""
        if self.database == "server":
            return sorted(WORK.glob(f"{self.name}@*"))
        return [self.workdir]

    def module(self, path: str) -> str:
        return path.removesuffix(".py").replace("/", ".")

    def globs(self) -> list[str]:
        """mutmut mutant-name patterns for the functions that count."""
        patterns = []
        for path in self.paths:
            module = self.module(path)
            if not self.functions:
                patterns.append(f"{module}.*")
            patterns += [f"{module}.{_mangled(function)}__mutmut_*" for function in self.functions]
        return patterns

    def counts(self, mutant: str) -> bool:
        excluded = [
            f"{self.module(path)}.{_mangled(function)}__mutmut_*"
            for path in self.paths
            for function in self.exclude
        ]
        return any(fnmatch.fnmatchcase(mutant, pattern) for pattern in self.globs()) and not any(
            fnmatch.fnmatchcase(mutant, pattern) for pattern in excluded
        )

    def results(self) -> dict[str, int | None]:
        """Exit code of every counted mutant of the last run (None: not checked).

        For a server target, the runs on each database together: a mutant is killed when a
        test fails on any of them, since the code must be right on all of them.
        """
        found: dict[str, int | None] = {}
        for workdir in self.workdirs():
            for path in self.paths:
                meta = workdir / "mutants" / f"{path}.meta"
                if not meta.exists():
                    continue
                codes = json.loads(meta.read_text())["exit_code_by_key"]
                for key, code in codes.items():
                    if self.counts(key) and found.get(key) not in KILLED:
                        found[key] = code if code is not None else found.get(key)
        return found

    def databases(self) -> list[str]:
        """The databases a server target's results come from."""
        return [workdir.name.partition("@")[2] for workdir in self.workdirs()]


def _vendor(url: str) -> str:
    """``postgresql`` or ``mysql``: the database family a ``DATABASE_URL`` names."""
    scheme = url.partition("://")[0].partition("+")[0]
    if scheme.startswith("postgres"):
        return "postgresql"
    if scheme in ("mysql", "mariadb"):
        return "mysql"
    return ""


def _mangled(function: str) -> str:
    """mutmut's name for ``function`` (``Class.method`` for a method)."""
    owner, _, method = function.rpartition(".")
    if owner:
        return f"x{CLASS_SEPARATOR}{owner}{CLASS_SEPARATOR}{method}"
    return f"x_{function}"


def load_targets() -> dict[str, Target]:
    data = tomllib.loads(CONFIG.read_text())
    return {name: Target(name=name, **table) for name, table in data.items()}


def load_equivalent() -> dict[str, str]:
    """Mutant name -> why it changes nothing observable."""
    equivalent = {}
    for number, line in enumerate(EQUIVALENT.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            sys.exit(f"{EQUIVALENT.name}:{number}: {name} needs a reason")
        equivalent[name] = reason.strip()
    return equivalent


def prepare(target: Target) -> None:
    """The target's working directory: links to the code and tests, and its own mutmut config."""
    target.workdir.mkdir(parents=True, exist_ok=True)
    for name in ("jira_connect", "tests"):
        link = target.workdir / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name, target_is_directory=True)
    missing = [test for test in target.tests if not (ROOT / test).exists()]
    if missing:
        sys.exit(f"{target.name}: no such test file: {', '.join(missing)}")
    lines = [
        "[mutmut]",
        "source_paths = jira_connect",
        "only_mutate =",
        *(f"    {path}" for path in target.paths),
        "pytest_add_cli_args_test_selection =",
        *(f"    {test}" for test in target.tests),
        "pytest_add_cli_args =",
        "    -p",
        "    no:cacheprovider",
        "use_git_change_detection = false",
        # A mutant times out after (its tests' time + this) x 15 seconds. mutmut's default of
        # 1 s is shorter than a forked pytest's own start on a loaded machine: mutants whose
        # tests take a fraction of a second then "time out" (and count as killed) for nothing.
        f"timeout_constant = {TIMEOUT_CONSTANT}",
        # Fork each mutant's run from a server process that has imported the tests but run
        # none: forked from mutmut's own process, which ran the suite for its stats, a worker
        # inherits asgiref's sync_to_async executor without its thread, and every async test
        # hangs until the timeout (a mutant "killed" by a hang in the harness).
        "process_isolation = forkserver",
    ]
    setup_cfg = (ROOT / "setup.cfg").read_text()
    (target.workdir / "setup.cfg").write_text(setup_cfg + "\n" + "\n".join(lines) + "\n")


def run(
    target: Target,
    jobs: int,
    survivors_only: bool,
    equivalent: dict[str, str],
    only: list[str] | None = None,
) -> float:
    if target.database == "server":
        if not _vendor(os.environ.get("DATABASE_URL", "")):
            sys.exit(
                f"{target.name}: its code runs only on a database server: set DATABASE_URL to "
                "a PostgreSQL or MariaDB database (docs/contributing.md)"
            )
        jobs = 1  # parallel workers would share (and drop) one test database
    prepare(target)
    # Named mutants are run again even when they have a result, so a target whose every
    # function counts names none: mutmut then runs only what has no result yet (a run stopped
    # halfway resumes, and a function edited since has new mutants).
    if only:
        names = [name for name in only if target.counts(name)]
    else:
        names = target.globs() if target.functions else []
    if survivors_only:
        names = [
            name
            for name, code in target.results().items()
            if code not in KILLED and name not in equivalent
        ]
        if not names:
            print(f"{target.name}: no survivors to run again")
            return 0.0
    mutmut = Path(sys.executable).with_name("mutmut")
    started = time.monotonic()
    completed = subprocess.run(  # noqa: S603  # our own command line
        [str(mutmut), "run", "--max-children", str(jobs), *names],
        cwd=target.workdir,
        check=False,
    )
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        sys.exit(f"{target.name}: mutmut failed (exit {completed.returncode})")
    print(f"{target.name}: {elapsed:.0f} s")
    return elapsed


def report(targets: list[Target], equivalent: dict[str, str], elapsed: dict[str, float]) -> int:
    rows = []
    survivors: list[str] = []
    for target in targets:
        results = target.results()
        if not results:
            rows.append(f"| {target.name} | not run | | | | | |")
            continue
        # A listed mutant that a test kills now is killed, not equivalent: the list is stale.
        judged = {
            name for name, code in results.items() if name in equivalent and code not in KILLED
        }
        killed = sum(1 for code in results.values() if code in KILLED)
        unchecked = sum(1 for code in results.values() if code is None)
        alive = sorted(
            name
            for name, code in results.items()
            if code not in KILLED and code is not None and name not in judged
        )
        untested = sum(1 for name in alive if results[name] in NO_TESTS)
        counted = len(results) - len(judged)
        score = 100.0 * killed / counted if counted else 100.0
        took = f"{elapsed[target.name]:.0f} s" if target.name in elapsed else ""
        name = target.name
        if target.database == "server":
            name += f" ({' + '.join(target.databases())})"
        rows.append(
            f"| {name} | {len(results)} | {killed} | {len(judged)} | {len(alive)}"
            f" ({untested} untested) | {score:.1f}% | {took} |"
            + (f" {unchecked} not run yet" if unchecked else "")
        )
        survivors += alive
        stale = sorted(name for name in results if name in equivalent and results[name] in KILLED)
        for name in stale:
            print(f"note: {name} is listed as equivalent but a test kills it now")
    print()
    print("| target | mutants | killed | equivalent | survived | score | time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))
    if survivors:
        print("\nSurvivors (see one with `scripts/mutation --show NAME`):")
        print("\n".join(f"  {name}" for name in survivors))
    return 1 if survivors else 0


def show(targets: dict[str, Target], name: str) -> None:
    for target in targets.values():
        if any(name.startswith(target.module(path) + ".") for path in target.paths):
            mutmut = Path(sys.executable).with_name("mutmut")
            workdir = next(iter(target.workdirs()), target.workdir)
            subprocess.run([str(mutmut), "show", name], cwd=workdir, check=False)  # noqa: S603
            return
    sys.exit(f"no target mutates {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: all, one by one)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=int(os.environ.get("MUTATION_JOBS", "1")),
        help="mutants run at once (default 1, or MUTATION_JOBS)",
    )
    parser.add_argument(
        "--survivors", action="store_true", help="run only the last run's unjudged survivors"
    )
    parser.add_argument(
        "--mutants", nargs="+", metavar="NAME", help="run only these mutants (names or globs)"
    )
    parser.add_argument("--report", action="store_true", help="print the last results; run none")
    parser.add_argument("--show", metavar="NAME", help="print one mutant's diff")
    args = parser.parse_args()
    targets = load_targets()
    if args.list:
        for target in targets.values():
            print(f"{target.name}: {' '.join(target.paths)} <- {' '.join(target.tests)}")
            if target.exclude:
                print(f"    not counted here: {', '.join(target.exclude)}")
            if target.database == "server":
                print(
                    "    needs DATABASE_URL of PostgreSQL or MariaDB (run it on both: a mutant"
                    " killed on either counts); runs one mutant at a time"
                )
        return 0
    if args.show:
        show(targets, args.show)
        return 0
    unknown = [name for name in args.targets if name not in targets]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(targets)}")
    chosen = [targets[name] for name in args.targets or targets]
    equivalent = load_equivalent()
    elapsed: dict[str, float] = {}
    if not args.report:
        for target in chosen:
            elapsed[target.name] = run(target, args.jobs, args.survivors, equivalent, args.mutants)
    return report(chosen, equivalent, elapsed)


if __name__ == "__main__":
    sys.exit(main())
