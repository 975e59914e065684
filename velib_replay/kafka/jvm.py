"""JVM dependencies: the Java check, and jar sets resolved once from Maven Central by Apache Ivy.

Each jar set is declared by an Ivy file in ``resources/`` and resolved by the Ivy that pyspark
ships (``pyspark/jars/ivy-*.jar``, the resolver behind Spark's own ``--packages``), so neither
Maven nor any other build tool is needed. Ivy's downloads are cached in ``<cache>/ivy`` and the
jars copied into ``<cache>/jars/<set>/``; a stamp holding a hash of the set's inputs marks it
complete, so later runs need no network and a changed dependency list is resolved again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from velib_replay import config
from velib_replay.errors import UserError

RESOURCES = Path(__file__).parent / "resources"
IVY_SETTINGS = RESOURCES / "ivysettings.xml"
JAR_SETS = {"broker": "broker.ivy.xml", "spark-kafka": "spark-kafka.ivy.xml"}
# Sets loaded into pyspark's own JVM: a jar whose artifact pyspark already ships is left out.
BESIDE_PYSPARK = {"spark-kafka"}
MAVEN_CENTRAL = "https://repo1.maven.org/maven2/"
MIN_JAVA = 17
_STAMP = ".resolved"
_RETRIEVE_PATTERN = "[artifact]-[revision](-[classifier]).[ext]"
# name-1.2.3.jar, name_2.13-4.2.0.jar, zstd-jni-1.5.7-7.jar, javassist-3.30.2-GA.jar: the version starts at
# the first "-<digits>.<digits>"; names such as spark-sql-kafka-0-10_2.13 keep their "-0-10".
_VERSIONED_JAR = re.compile(r"^(?P<name>.+?)-\d+(?:\.\d+)+[^/]*\.jar$")


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


def maven_repository() -> str:
    """Maven Central, or the mirror in $VELIB_REPLAY_MAVEN_REPO (a company proxy, an offline copy)."""
    return os.environ.get(f"{config.ENV_PREFIX}_MAVEN_REPO") or MAVEN_CENTRAL


def artifact_name(jar: str) -> str:
    """The artifact a jar file holds, without its version: what tells two versions of one library apart."""
    match = _VERSIONED_JAR.match(jar)
    return match.group("name") if match else jar.removesuffix(".jar")


def pyspark_jars_dir() -> Path:
    """pyspark's own jars (Spark, its dependencies, and Ivy), found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise UserError("pyspark is not installed: run `pip install -e .` in the project")
    package = Path(spec.origin).parent
    if not package.is_dir():  # imported from pyspark/python/lib/pyspark.zip, as under spark-submit
        package = package.parents[3]
    return package / "jars"


def pyspark_artifacts() -> set[str]:
    return {artifact_name(jar.name) for jar in pyspark_jars_dir().glob("*.jar")}


def ivy_jar() -> Path:
    found = sorted(pyspark_jars_dir().glob("ivy-*.jar"))
    if not found:
        raise UserError(f"Apache Ivy not found in {pyspark_jars_dir()}: reinstall pyspark (`pip install -e .`)")
    return found[-1]


def stamp_value(jar_set: str) -> str:
    """A hash of everything the set's content depends on: its Ivy file, and pyspark's jars when it sits beside them."""
    digest = hashlib.sha256((RESOURCES / JAR_SETS[jar_set]).read_bytes())
    if jar_set in BESIDE_PYSPARK:
        digest.update("\n".join(sorted(pyspark_artifacts())).encode())
    return digest.hexdigest()


def is_resolved(jar_set: str) -> bool:
    stamp = jar_dir(jar_set) / _STAMP
    return stamp.exists() and stamp.read_text().strip() == stamp_value(jar_set)


def ivy_command(java: str, jar_set: str, target: Path) -> list[str]:
    """Ivy's standalone resolve + retrieve of one set's runtime jars into ``target``."""
    return [
        java, f"-Dvelib.repo={maven_repository()}", "-jar", str(ivy_jar()),
        "-settings", str(IVY_SETTINGS), "-cache", str(config.cache_dir() / "ivy"),
        "-ivy", str(RESOURCES / JAR_SETS[jar_set]), "-confs", "default", "-types", "jar", "bundle",
        "-retrieve", f"{target}/{_RETRIEVE_PATTERN}", "-sync",
    ]  # fmt: skip


def ivy_failure(output: str) -> str:
    """The one line that says why Ivy failed: the unreachable server first, else the missing module."""
    access = re.search(r"Server access error at url (\S+) \(([^)]*)\)", output)
    if access:
        return f"cannot download {access.group(1)} ({access.group(2)}; no network, or set VELIB_REPLAY_MAVEN_REPO)"
    missing = re.search(r"::\s+(\S+#\S+): not found", output)
    if missing:
        return f"{missing.group(1)} not found in {maven_repository()}"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[-1] if lines else "Ivy failed without a message"


def drop_shipped_by_pyspark(folder: Path) -> list[str]:
    """Remove the jars whose artifact pyspark already ships; the names removed, for the record."""
    shipped = pyspark_artifacts()
    dropped = sorted(jar.name for jar in folder.glob("*.jar") if artifact_name(jar.name) in shipped)
    for name in dropped:
        (folder / name).unlink()
    return dropped


def resolve(jar_set: str, *, quiet: bool = False) -> Path:
    """The folder of the set's jars, resolving it with Ivy first if needed."""
    target = jar_dir(jar_set)
    if is_resolved(jar_set):
        return target
    java = require_java()
    if not quiet:
        print(f"Resolving the {jar_set} jars from {maven_repository()} into {target} (once)...", file=sys.stderr)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run(ivy_command(java, jar_set, staging), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise UserError(f"could not resolve the {jar_set} jars: {ivy_failure(result.stdout + result.stderr)}")
    if jar_set in BESIDE_PYSPARK:
        drop_shipped_by_pyspark(staging)
    (staging / _STAMP).write_text(stamp_value(jar_set) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def jars(jar_set: str) -> list[Path]:
    return sorted(resolve(jar_set).glob("*.jar"))


def spark_jars() -> str:
    """Spark's ``--jars`` value (``spark.jars``): the Kafka connector's jars, comma-separated absolute paths."""
    return ",".join(str(path) for path in jars("spark-kafka"))


def classpath(jar_set: str) -> str:
    return str(resolve(jar_set) / "*")
