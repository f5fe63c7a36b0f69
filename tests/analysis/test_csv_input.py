"""The --from-csv contract: what a good file gives, and the line number of every kind of bad one."""

from __future__ import annotations

import pytest

from baes.analysis.csv_input import CsvInputError, read_tidy_csv


def _write(tmp_path, text: str, name: str = "results.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_groups_and_metrics_keep_their_first_appearance_order(tmp_path):
    path = _write(
        tmp_path,
        "\ufeffrun,Value,metric,group\n"
        "r1,3,latency,zeta\n"
        "r2,1.5,latency,alpha\n"
        "\n"
        "r3,2e1,accuracy,alpha\n"
        "r4, 4 ,latency,zeta\n",
    )
    table = read_tidy_csv(path)
    assert table.groups == ["zeta", "alpha"]
    assert table.metrics == ["latency", "accuracy"]
    assert table.metric_values("latency") == {"zeta": [3.0, 4.0], "alpha": [1.5]}
    assert table.metric_values("accuracy") == {"zeta": [], "alpha": [20.0]}
    assert table.rows == 4


def test_quoted_fields_may_hold_commas_and_newlines(tmp_path):
    path = _write(tmp_path, 'group,metric,value\n"a, b","multi\nline",1\n"a, b","multi\nline",2\n')
    assert read_tidy_csv(path).metric_values("multi\nline") == {"a, b": [1.0, 2.0]}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 1, "the file is empty"),
        ("group;metric;value\na;m;1\n", 1, "missing column(s) group, metric, value"),
        ("group,metric\na,m\n", 1, "missing column(s) value"),
        ("group,metric,value,notes\na,m,1,x\n", 1, "unexpected column(s) 'notes'"),
        ("group,metric,value,group\na,m,1,a\n", 1, "appear more than once"),
        ("group,metric,value\n", 2, "no data rows"),
        ("group,metric,value\na,m,1\na,m,abc\n", 3, "value 'abc' is not a number"),
        ("group,metric,value\na,m,1\n\na,m,nan\n", 4, "value 'nan' is not a finite number"),
        ("group,metric,value\na,m,inf\n", 2, "not a finite number"),
        ("group,metric,value\na,m,\n", 2, "the value is empty"),
        ("group,metric,value\na,m,1\n ,m,2\n", 3, "the group is empty"),
        ("group,metric,value\na,,2\n", 2, "the metric is empty"),
        ("group,metric,value\na,m,1\na,m\n", 3, "expected 3 fields, found 2"),
        ("group,metric,value\na,m,1,2\n", 2, "expected 3 fields, found 4"),
        ('group,metric,value\na,m,1\n"a,m,2\n', 3, "malformed CSV"),
        ("group,metric,value\na,m,1\na,m,1e308\n", 3, "too large to analyse"),
        ("group,metric,value\na,m,-2e150\n", 2, "values must lie within ±1e150"),
    ],
)
def test_a_bad_csv_names_the_line(tmp_path, text, line, message):
    path = _write(tmp_path, text)
    with pytest.raises(CsvInputError) as caught:
        read_tidy_csv(path)
    assert caught.value.exit_code == 2
    assert f"{path}, line {line}: " in caught.value.message
    assert message in caught.value.message


def test_non_utf8_bytes_name_their_line(tmp_path):
    path = _write(tmp_path, "group,metric,value\na,m,1\ncafé,m,2\n", encoding="latin-1")
    with pytest.raises(CsvInputError, match=r"line 3: not UTF-8"):
        read_tidy_csv(path)


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(CsvInputError, match="no such file"):
        read_tidy_csv(tmp_path / "nope.csv")


def test_values_near_the_float_limit_are_one_input_error_line_through_the_cli(tmp_path):
    from tests.cli.test_analyze_cli import invoke

    path = _write(tmp_path, "group,metric,value\na,x,1e308\na,x,1.5e308\nb,x,-1e308\nb,x,2\n")
    result = invoke("analyze", "--from-csv", path, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "Traceback" not in result.output and "OverflowError" not in result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "line 2: value '1e308' is too large to analyse" in error
    assert not (tmp_path / "out").exists()


def test_the_largest_accepted_values_are_analysed_without_overflow(tmp_path):
    from tests.cli.test_analyze_cli import invoke

    path = _write(tmp_path, "group,metric,value\na,x,1e150\na,x,-1e150\na,x,3\nb,x,1e150\nb,x,2\n")
    result = invoke("analyze", "--from-csv", path, "--out", tmp_path / "out", "--no-figures")
    assert result.exit_code == 0, result.output
