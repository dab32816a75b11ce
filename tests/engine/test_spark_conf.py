"""The Spark session's settings: the engine's defaults, EXHAUST_SPARK_CONF on top, log4j always kept."""

from __future__ import annotations

from exhaust.engine.backend import DRIVER_JAVA_OPTIONS, SPARK_DEFAULTS, spark_conf

LOG4J = "file:///tmp/x/log4j2.properties"


def test_defaults_apply_when_nothing_is_given() -> None:
    conf = spark_conf({}, LOG4J)
    assert conf["spark.sql.adaptive.enabled"] == "false"
    assert conf["spark.sql.shuffle.partitions"] == "4"
    assert (
        conf["spark.driver.extraJavaOptions"] == f"{DRIVER_JAVA_OPTIONS} -Dlog4j2.configurationFile={LOG4J}"
    )
    assert set(SPARK_DEFAULTS) < set(conf)


def test_given_settings_win_and_log4j_is_kept() -> None:
    conf = spark_conf(
        {"spark.sql.adaptive.enabled": "true", "spark.driver.extraJavaOptions": "-Xss4m", "spark.x": "3"},
        LOG4J,
    )
    assert conf["spark.sql.adaptive.enabled"] == "true"
    assert conf["spark.driver.extraJavaOptions"] == f"-Xss4m -Dlog4j2.configurationFile={LOG4J}"
    assert conf["spark.x"] == "3"
    assert conf["spark.sql.session.timeZone"] == "UTC"
