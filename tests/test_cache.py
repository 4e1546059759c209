"""The disk cache cannot run code or lie (issue 27, item 1).

Entries are Arrow IPC and JSON files checked against the SHA-256 in the folder's index; a
planted pickle, a flipped byte or a valid file of the wrong type is recomputed with a notice
naming the entry, never executed and never read as a different number. Folders are 0700, files
0600, and a folder others may write to is not used.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

import cxlib
from cxlib.run import _cache
from cxlib.run._cache import MISSING, Cache
from cxlib.run._cache_codec import decode, encode, read_frame
from cxlib.run.client import file_digest, open_client
from tests.conftest import ROOT

SERIES_STRICT = dict(check_exact=True, check_index_type=True, check_freq=True)
STRICT = dict(SERIES_STRICT, check_column_type=True)


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    from cxlib.demo import make_demo

    data = tmp_path_factory.mktemp("cache_client")
    make_demo(n_customers=400, seed=5).write(data)
    text = (ROOT / "clients" / "demo.yaml").read_text()
    config = data / "demo.yaml"
    config.write_text(text.replace("data_dir: ../data/demo", f"data_dir: {data}"))
    return config


@pytest.fixture()
def cache_root(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(root))
    return root


def round_trip(value):
    """Encode ``value`` and decode it again through the Arrow files' bytes."""
    import io

    from cxlib.run._cache_codec import write_frame

    document, frames = encode(value)
    document = json.loads(json.dumps(document, allow_nan=False))
    buffers = []
    for frame in frames:
        handle = io.BytesIO()
        write_frame(frame, handle)
        buffers.append(handle.getvalue())
    return decode(document, [read_frame(buffer) for buffer in buffers])


def awkward_frame() -> pd.DataFrame:
    """Every dtype the cache promises to give back exactly, with missing values."""
    dates = pd.Series(pd.to_datetime(["2020-01-01", "2020-01-02 03:04:05", None], format="ISO8601"))
    frame = pd.DataFrame(
        {
            "category": pd.Categorical(["a", "b", None], categories=["b", "a", "z"], ordered=True),
            "str": pd.Series(["x", None, "y"], dtype="str"),
            "string": pd.Series(["x", None, "y"], dtype="string"),
            "object": pd.Series(["x", None, np.nan], dtype=object),
            "object_none": pd.Series([None, None, None], dtype=object),
            "ns": dates,
            "us": dates.astype("datetime64[us]"),
            "ms": dates.astype("datetime64[ms]"),
            "s": dates.astype("datetime64[s]"),
            "tz": dates.dt.tz_localize("Europe/Berlin"),
            "timedelta": pd.to_timedelta([1, 2, None], unit="D"),
            "Int64": pd.array([1, None, 3], dtype="Int64"),
            "boolean": pd.array([True, None, False], dtype="boolean"),
            "Float64": pd.array([1.5, None, 3.0], dtype="Float64"),
            "int32": np.array([1, 2, 3], dtype="int32"),
            "float32": np.array([1.5, np.nan, np.inf], dtype="float32"),
            "bool": [True, False, True],
            "uint8": np.array([0, 1, 255], dtype="uint8"),
            "month": pd.PeriodIndex(["2020-01", None, "2020-03"], freq="M"),
            "quarter": pd.period_range("2020Q1", periods=3, freq="Q"),
        }
    )
    frame.index = pd.Index(["p", "q", "r"], name="customer_id")
    frame.columns.name = "what"
    assert frame["object"].iloc[0] == "x" and frame["s"].notna().sum() == 2
    frame.attrs = {
        "observation_end": pd.Timestamp("2025-12-31"),
        "aware": pd.Timestamp("2025-06-01 12:00", tz="Europe/Berlin"),
        "seconds": pd.Timestamp("2025-06-01").as_unit("s"),
        "gap": pd.Timedelta(days=3),
        "count": np.int64(7),
        "share": np.float64(0.25),
        "flag": np.bool_(True),
        "nan": float("nan"),
        "inf": -float("inf"),
        "quality": [{"table": "transactions", "rows": 3, "pair": (1, "a")}],
        "keys": {1: "int key", ("a", 2): "tuple key"},
        "nothing": None,
        "array": np.array([[1.0, np.nan], [2.0, 3.0]]),
        "nat": pd.NaT,
    }
    return frame


def assert_same_attrs(left: dict, right: dict) -> None:
    assert list(left) == list(right)
    for key in left:
        a, b = left[key], right[key]
        assert type(a) is type(b), key
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        elif isinstance(a, float) and np.isnan(a):
            assert np.isnan(b)
        elif a is pd.NaT:
            assert b is pd.NaT
        else:
            assert a == b, key
            if isinstance(a, pd.Timestamp):
                assert (a.unit, str(a.tz)) == (b.unit, str(b.tz))


# --- the codec ---------------------------------------------------------------------------------


def test_every_promised_dtype_index_and_attr_comes_back_exactly():
    frame = awkward_frame()
    back = round_trip(frame)
    assert_frame_equal(back, frame, **STRICT)
    assert back.columns.name == "what"
    assert_same_attrs(back.attrs, frame.attrs)
    # None and NaN in an object column stay what they were
    assert back["object"].iloc[1] is None and isinstance(back["object"].iloc[2], float)
    assert back["object_none"].tolist() == [None, None, None]


@pytest.mark.parametrize(
    "index",
    [
        pd.RangeIndex(5, 11, 2, name="row"),
        pd.MultiIndex.from_arrays([[1, 1, 2], pd.to_datetime(["2020"] * 3)], names=["a", "b"]),
        pd.date_range("2020-01-01", periods=3, freq="W-SUN", name="week"),
        pd.CategoricalIndex(["x", "y", "x"], name="segment"),
        pd.Index([0.5, 1.5, np.nan]),
        pd.period_range("2020-01", periods=3, freq="M", name="month"),
    ],
    ids=["range", "multi", "dates_with_freq", "categorical", "float", "period"],
)
def test_indexes_come_back_exactly(index):
    frame = pd.DataFrame({"value": [1.0, 2.0, 3.0]}, index=index)
    assert_frame_equal(round_trip(frame), frame, **STRICT)
    assert_series_equal(round_trip(frame["value"]), frame["value"], **SERIES_STRICT)


def test_series_index_and_nested_values_come_back_with_their_names_and_types():
    series = pd.Series([1.5, 2.5], index=pd.Index(["a", "b"], name="k"), name=("x", 1))
    series.attrs["note"] = "kept"
    value = {
        "series": series,
        "index": pd.Index(["a", "b"], name="k"),
        "nested": [(1, 2.0, "three"), {"frame": awkward_frame()}],
        "date": pd.Timestamp("2021-02-03").date(),
    }
    back = round_trip(value)
    assert_series_equal(back["series"], series, **SERIES_STRICT)
    assert back["series"].attrs == {"note": "kept"}
    pd.testing.assert_index_equal(back["index"], value["index"], exact=True)
    assert back["nested"][0] == (1, 2.0, "three") and type(back["nested"][0]) is tuple
    assert_frame_equal(back["nested"][1]["frame"], awkward_frame(), **STRICT)
    assert back["date"] == value["date"]


@pytest.mark.parametrize(
    "value",
    [
        lambda: 1,
        {1, 2},
        pd.DataFrame({"mixed": ["a", 1]}),
        pd.DataFrame({0: [1.0]}),
        pd.DataFrame({"complex": [1j]}),
        pd.DataFrame({"interval": pd.interval_range(0, 1, periods=1)}),
        Path("/etc/passwd"),
        np.array(["text"], dtype=object),
    ],
    ids=["function", "set", "mixed_object", "int_label", "complex", "interval", "path", "objects"],
)
def test_a_value_the_cache_cannot_store_without_pickle_is_not_cached(value, cache_root, capfd):
    cache = Cache.open("client-key")
    assert cache.write("thing", value) is False
    assert cache.read("thing", lambda v: None) is MISSING
    assert not list(cache.folder.glob("thing*"))
    assert "entry thing is not cached" in capfd.readouterr().err


def test_a_document_cannot_name_a_class_outside_the_allow_list():
    document, frames = encode({"a": 1})
    document["value"] = {"$obj": "os.system", "state": {"$dict": []}}
    with pytest.raises(ValueError, match="not a class the cache stores"):
        decode(document, [])
    document["value"] = {"$obj": "builtins.eval", "state": {"$dict": []}}
    with pytest.raises(ValueError, match="not a class the cache stores"):
        decode(document, [])


# --- the fitted CLV model ------------------------------------------------------------------------


def assert_same_state(left, right, path="fit"):
    """Two fitted objects with the same attributes, frames and numbers (recursively)."""
    assert type(left) is type(right), path
    if isinstance(left, pd.DataFrame):
        assert_frame_equal(left, right, **STRICT)
        assert_same_attrs(left.attrs, right.attrs)
    elif isinstance(left, pd.Series):
        assert_series_equal(left, right, **SERIES_STRICT)
    elif isinstance(left, dict):
        assert list(left) == list(right), path
        for key in left:
            assert_same_state(left[key], right[key], f"{path}[{key!r}]")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), path
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            assert_same_state(a, b, f"{path}[{i}]")
    elif hasattr(left, "__dict__"):
        assert_same_state(vars(left), vars(right), path)
    elif isinstance(left, float) and np.isnan(left):
        assert np.isnan(right), path
    else:
        assert left == right, path


def test_the_value_fit_is_stored_as_its_parameters_and_data(small_demo):
    fit = cxlib.clv.fit_customer_value(small_demo.transactions, customers=small_demo.customers)
    back = round_trip(fit)
    assert_same_state(fit, back)
    # the values keep their horizon and basis, which the pages read instead of the settings
    assert (
        back.values.attrs["horizon_months"] == 12 and "gross margin" in back.values.attrs["basis"]
    )
    # the rebuilt models predict what the fitted ones do
    assert_series_equal(
        back.purchase_model.p_alive(back.summary), fit.purchase_model.p_alive(fit.summary)
    )
    assert_series_equal(
        back.purchase_model.predict_purchases(back.summary, 10),
        fit.purchase_model.predict_purchases(fit.summary, 10),
    )
    # a plain field added later (a list of warnings, a model that is None) needs no code
    fit.purchase_model.warnings_ = ["constant spend"]
    fit.spend_model = None
    back = round_trip(fit)
    assert back.purchase_model.warnings_ == ["constant spend"] and back.spend_model is None


# --- the client's cache on disk -----------------------------------------------------------------


def entries_folder(root: Path) -> Path:
    (folder,) = (p for p in root.iterdir() if p.is_dir())
    return folder


def headlines(client) -> dict:
    """The numbers the issue saw move, and the ones every page stands on."""
    base, fit = client.base, client.value_fit
    return {
        "recency": base["recency"].tolist(),
        "first_signup": base["signup_date"].min(),
        "clv": base["clv"].tolist(),
        "churn_threshold_days": client.churn_threshold_days,
        "kind": fit.purchase_model.kind,
        "params": fit.purchase_model.params_.tolist(),
        "amount": client.transactions["amount"].tolist(),
    }


@pytest.fixture(scope="module")
def clean(demo_config, tmp_path_factory):
    """A clean run's cache folder and headlines."""
    root = tmp_path_factory.mktemp("clean_cache")
    previous = os.environ.get("CXLIB_CACHE_DIR")
    os.environ["CXLIB_CACHE_DIR"] = str(root)
    try:
        client = open_client(demo_config)
        client.prepare()
        numbers = headlines(client)
        assert client.cache_notices == []
        base = client.base
    finally:
        if previous is None:
            del os.environ["CXLIB_CACHE_DIR"]
        else:
            os.environ["CXLIB_CACHE_DIR"] = previous
    return root, numbers, base


def copy_cache(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return entries_folder(target)


def test_entries_are_arrow_and_json_with_their_checksums_in_the_index(clean, cache_root):
    root, _, _ = clean
    folder = entries_folder(root)
    names = {p.name for p in folder.iterdir()}
    assert not [n for n in names if n.endswith(".pkl")]
    index = json.loads((folder / "index.json").read_text())
    assert set(index["entries"]) == {"tables", "base", "value_fit", "churn_threshold_days"}
    for files in index["entries"].values():
        for file, digest in files.items():
            assert file.endswith((".json", ".arrow")) and file in names
            assert file_digest(folder / file) == digest


def test_folders_are_0700_and_files_0600_whatever_the_umask(demo_config, cache_root):
    previous = os.umask(0)
    try:
        open_client(demo_config).prepare()
    finally:
        os.umask(previous)
    for path in [cache_root, *cache_root.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def pickle_payload(marker: Path) -> bytes:
    """A pickle whose loading creates ``marker`` (what a planted file would run)."""

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    return pickle.dumps(Payload())


def flip(path: Path, at: float) -> None:
    data = bytearray(path.read_bytes())
    position = min(int(len(data) * at), len(data) - 1)
    data[position] ^= 0xFF
    path.write_bytes(bytes(data))


def damaged_files(root: Path) -> list[str]:
    index = json.loads((entries_folder(root) / "index.json").read_text())
    return sorted(file for files in index["entries"].values() for file in files)


def open_and_compare(demo_config, clean, capfd):
    """Open the client on the damaged cache; return its notices after checking its numbers."""
    _, numbers, base = clean
    client = open_client(demo_config)
    client.prepare()
    assert headlines(client) == numbers
    assert_frame_equal(client.base, base, **STRICT)
    assert_same_attrs(client.base.attrs, base.attrs)
    err = capfd.readouterr().err
    return client.cache_notices, err


@pytest.mark.slow
@pytest.mark.parametrize("at", [0.1, 0.5])
def test_a_flipped_byte_in_any_entry_is_recomputed_with_a_notice_and_equal_numbers(
    demo_config, clean, tmp_path, monkeypatch, capfd, at
):
    for file in damaged_files(clean[0]):
        root = tmp_path / f"{file}-{at}"
        folder = copy_cache(clean[0], root)
        monkeypatch.setenv("CXLIB_CACHE_DIR", str(root))
        flip(folder / file, at)
        notices, err = open_and_compare(demo_config, clean, capfd)
        entry = file.split(".")[0]
        assert len(notices) == 1 and f"entry {entry} " in notices[0], (file, notices)
        assert "failed its checksum" in notices[0] and notices[0] in err
        # recomputed and written again: the next run reads it without a notice
        notices, _ = open_and_compare(demo_config, clean, capfd)
        assert notices == [], file


@pytest.mark.slow
def test_planted_pickles_never_run_and_the_next_run_gives_the_clean_numbers(
    demo_config, clean, tmp_path, monkeypatch, capfd
):
    folder = copy_cache(clean[0], tmp_path / "planted")
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "planted"))
    markers = []
    names = damaged_files(clean[0]) + [
        f"{entry}.pkl" for entry in ("tables", "base", "value_fit", "churn_threshold_days")
    ]
    for file in names:
        marker = tmp_path / f"ran-{file}"
        markers.append(marker)
        (folder / file).write_bytes(pickle_payload(marker))
    notices, err = open_and_compare(demo_config, clean, capfd)
    assert not [m for m in markers if m.exists()], "a planted pickle ran"
    for entry in ("tables", "base", "value_fit", "churn_threshold_days"):
        assert any(f"entry {entry} " in n and "checksum" in n for n in notices), entry
    assert all(n in err for n in notices)
    # each entry rewritten: the planted files and the earlier write's are gone
    assert {p.name for p in folder.iterdir()} == {*damaged_files(folder.parent)} | {
        "index.json",
        "index.lock",
    }
    notices, _ = open_and_compare(demo_config, clean, capfd)
    assert notices == []
    assert not [m for m in markers if m.exists()]


@pytest.mark.slow
def test_a_pickle_without_an_index_is_ignored_not_loaded(
    demo_config, clean, tmp_path, monkeypatch, capfd
):
    folder = copy_cache(clean[0], tmp_path / "no_index")
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "no_index"))
    (folder / "index.json").unlink()
    marker = tmp_path / "ran"
    (folder / "base.pkl").write_bytes(pickle_payload(marker))
    notices, _ = open_and_compare(demo_config, clean, capfd)
    assert not marker.exists()
    assert any("base.pkl" in n and "without a checksum" in n for n in notices)


def write_entry_with_its_checksum(folder: Path, entry: str, value) -> None:
    """What a buggy writer would leave: a valid entry of the wrong kind, index updated."""
    Cache(folder).write(entry, value)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry", "value", "reason"),
    [
        ("base", "a string", "holds a str, not a DataFrame"),
        ("base", pd.DataFrame({"recency": [1.0]}), "misses the columns"),
        ("value_fit", pd.DataFrame({"x": [1]}), "not a CustomerValueFit"),
        ("churn_threshold_days", "93", "not a number of days"),
        ("churn_threshold_days", True, "not a number of days"),
        ("tables", {"transactions": "x"}, "not the client's tables"),
    ],
    ids=["base_str", "base_columns", "fit_frame", "days_str", "days_bool", "tables_dict"],
)
def test_a_valid_entry_of_the_wrong_type_is_recomputed(
    demo_config, clean, tmp_path, monkeypatch, capfd, entry, value, reason
):
    folder = copy_cache(clean[0], tmp_path / "typed")
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "typed"))
    write_entry_with_its_checksum(folder, entry, value)
    notices, _ = open_and_compare(demo_config, clean, capfd)
    assert len(notices) == 1 and f"entry {entry} " in notices[0] and reason in notices[0]


@pytest.mark.slow
@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text.replace("{", "[", 1),  # valid UTF-8, not JSON
        lambda text: text.replace('"format": 1', '"format": 2'),  # JSON, not this format
        lambda text: text.replace('"base.', '"../base.', 1),  # a path outside the folder
        lambda text: text.replace('.json": "', '.json": "x', 1),  # not a digest
    ],
    ids=["not_json", "format", "path", "digest"],
)
def test_a_damaged_index_means_every_entry_is_recomputed(
    demo_config, clean, tmp_path, monkeypatch, capfd, damage
):
    folder = copy_cache(clean[0], tmp_path / "index")
    monkeypatch.setenv("CXLIB_CACHE_DIR", str(tmp_path / "index"))
    index = folder / "index.json"
    index.write_text(damage(index.read_text()))
    notices, _ = open_and_compare(demo_config, clean, capfd)
    assert any("index.json is damaged" in n and "every entry is recomputed" in n for n in notices)


def test_a_folder_others_may_write_to_is_not_used(demo_config, cache_root, capfd):
    cache_root.mkdir(mode=0o700)
    os.chmod(cache_root, 0o770)
    client = open_client(demo_config)
    assert client.churn_threshold_days > 0
    assert list(cache_root.iterdir()) == []  # nothing written into it
    (line,) = client.cache_notices
    assert str(cache_root) in line and "group or others may write" in line
    assert f"chmod 700 {cache_root}" in line and line in capfd.readouterr().err
    assert stat.S_IMODE(cache_root.stat().st_mode) == 0o770  # left as the user made it


def test_a_folder_of_another_user_is_not_used(demo_config, cache_root, monkeypatch):
    cache_root.mkdir(mode=0o700)
    owner = cache_root.stat().st_uid
    monkeypatch.setattr(_cache.os, "geteuid", lambda: owner + 1)
    client = open_client(demo_config)
    assert client.transactions is not None
    (line,) = client.cache_notices
    assert "belongs to another user" in line and "CXLIB_CACHE_DIR" in line
    assert list(cache_root.iterdir()) == []


def test_an_older_readable_folder_of_ones_own_is_made_private(cache_root):
    folder = cache_root / "client-key"
    folder.mkdir(parents=True)
    os.chmod(cache_root, 0o755)
    os.chmod(folder, 0o755)
    cache = Cache.open("client-key")
    assert cache.folder == folder and cache.notices == []
    assert stat.S_IMODE(cache_root.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_damaged_digest_memo_is_not_believed(tmp_path, cache_root, monkeypatch):
    from cxlib.run import client as client_module

    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    digest = file_digest(data)
    memo = cache_root / "file-digests.json"
    assert stat.S_IMODE(memo.stat().st_mode) == 0o600
    text = memo.read_text()
    memo.write_text(text.replace(digest, "0" * 64))  # valid JSON, a lie about the file
    monkeypatch.setattr(client_module, "_DIGESTS", {})
    assert file_digest(data) == digest


def test_a_notice_goes_to_the_process_stderr_not_a_cell_output(cache_root, capfd, monkeypatch):
    import io
    import sys

    cell_output = io.StringIO()
    monkeypatch.setattr(sys, "stderr", cell_output)  # what a kernel does to sys.stderr
    cache = Cache.open("client-key")
    cache.write("numbers", [1, 2, 3])
    (document,) = cache.folder.glob("numbers.*.json")
    flip(document, 0.5)
    assert cache.read("numbers", lambda v: None) is MISSING
    assert cell_output.getvalue() == ""
    assert "cxlib cache: entry numbers" in capfd.readouterr().err
