"""``setup --print-jars``: lines a shell evals, whose values survive paths with spaces (pyspark splits
PYSPARK_SUBMIT_ARGS with shlex)."""

import shlex
import subprocess

from velib_replay.cli.setup import jar_lines


def test_print_jars_lines_give_spark_submit_and_pyspark_the_same_jars():
    jars = "/opt/my jars/a.jar,/opt/b.jar"
    script = "\n".join(jar_lines(jars)) + '\nprintf "%s\\n" "$SPARK_KAFKA_JARS" "$PYSPARK_SUBMIT_ARGS"'
    printed = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout
    plain, submit_args = printed.splitlines()
    assert plain == jars
    assert shlex.split(submit_args) == ["--jars", jars, "pyspark-shell"]
