"""JVM dependencies: Java and Maven checks, and jar sets resolved once from Maven Central.

Each jar set is declared by a POM in ``velib_replay/jvm/`` and copied by Maven (through
its usual local repository, ``~/.m2``) into ``<cache>/jars/<set>/``; a stamp holding
the POM's hash marks it complete, so later runs need no network and a changed POM is
resolved again.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

from velib_replay import config
from velib_replay.errors import UserError

POM_DIR = Path(__file__).parent / "resources"
JAR_SETS = {"broker": "broker.pom.xml", "spark-kafka": "spark-kafka.pom.xml"}
MIN_JAVA = 17
_STAMP = ".resolved"


def java_executable() -> str:
    java = shutil.which("java")
    if java is None:
        raise UserError(f"Java not found: install a JDK {MIN_JAVA} or newer and put `java` on PATH")
    return java


def java_major_version(java: str | None = None) -> int:
    output = subprocess.run([java or java_executable(), "-version"], capture_output=True, text=True, check=False).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not match:
        raise UserError(f"cannot tell the Java version from: {output.strip()[:120]}")
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 else major


def require_java() -> str:
    java = java_executable()
    version = java_major_version(java)
    if version < MIN_JAVA:
        raise UserError(f"Java {version} is too old: Kafka 4 and Spark 4 need Java {MIN_JAVA} or newer")
    return java


def jar_dir(jar_set: str) -> Path:
    return config.cache_dir() / "jars" / jar_set


def _pom_hash(jar_set: str) -> str:
    return hashlib.sha256((POM_DIR / JAR_SETS[jar_set]).read_bytes()).hexdigest()


def is_resolved(jar_set: str) -> bool:
    stamp = jar_dir(jar_set) / _STAMP
    return stamp.exists() and stamp.read_text().strip() == _pom_hash(jar_set)


def resolve(jar_set: str, *, quiet: bool = False) -> Path:
    """The folder of the set's jars, resolving it with Maven first if needed."""
    target = jar_dir(jar_set)
    if is_resolved(jar_set):
        return target
    maven = shutil.which("mvn")
    if maven is None:
        raise UserError("Maven not found: install Maven (`mvn`) to fetch the Kafka and Spark-Kafka jars once")
    if not quiet:
        print(f"Resolving the {jar_set} jars from Maven Central into {target} (once)...", file=sys.stderr)
    shutil.rmtree(target, ignore_errors=True)
    command = [
        maven, "-B", "-q", "-f", str(POM_DIR / JAR_SETS[jar_set]),
        f"-Djars.dir={target}",
        "dependency:copy-dependencies",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = next((line for line in result.stdout.splitlines() if "[ERROR]" in line), result.stdout[-300:])
        raise UserError(f"Maven could not resolve the {jar_set} jars: {detail.strip()}")
    (target / _STAMP).write_text(_pom_hash(jar_set) + "\n")
    return target


def jars(jar_set: str) -> list[Path]:
    return sorted(resolve(jar_set).glob("*.jar"))


def classpath(jar_set: str) -> str:
    return str(resolve(jar_set) / "*")
