"""Property-based test of the loaders (issue 14): random CSV text in, and every outcome is a
loaded canonical frame or a :class:`cxlib.DataError`, never another exception.

The text mixes what real exports contain (ids, ISO and day/month dates, decimal commas,
refunds, null markers) with what they should not (quotes, stray delimiters, control
characters, NUL bytes, invalid UTF-8, huge numbers, ragged rows).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxlib import DataError
from cxlib.data import load_customers, load_feedback, load_surveys, load_transactions

LOADERS = {
    "transactions": (load_transactions, ["customer_id", "date", "amount"]),
    "customers": (load_customers, ["customer_id", "signup_date", "acquisition_cost"]),
    "surveys": (load_surveys, ["customer_id", "date", "score"]),
    "feedback": (load_feedback, ["customer_id", "date", "text"]),
}

PLAUSIBLE = st.sampled_from(
    [
        "",
        " ",
        "A1",
        "007",
        "17850.0",
        "NULL",
        "N/A",
        "-",
        "nan",
        "2024-01-05",
        "05/01/2024",
        "13/01/2024",
        "2024-01-01T23:30:00-08:00",
        "2099-01-01",
        "1899-12-30",
        "10.5",
        "-3",
        "12,50",
        "1e308",
        "inf",
        "0",
        "9",
        "11",
        "héllo",
        "Доставка",
        "x\ty",
        "a\x00b",
        '"',
        '""',
        "a,b",
        "a;b",
        "<script>x</script>",
    ]
)
CELLS = st.one_of(PLAUSIBLE, st.text(max_size=12))
DELIMITERS = st.sampled_from([",", ";", "\t", "|"])


# Mostly CSV; also what a client may name or mis-name a file: other suffixes, a .gz that is
# not gzipped, a "workbook" or "parquet file" that is really text, glob characters.
NAMES = st.sampled_from(
    ["{}.csv"] * 6
    + [
        "{}.txt",
        "{}.tsv",
        "{}.csv.gz",
        "{}.xlsx",
        "{}.parquet",
        "{}.json",
        "{}",
        "{}[1].csv",
        "{}*.csv",
    ]
)


@st.composite
def csv_files(draw):
    """(table, file name, bytes of a CSV) with a header that mostly names canonical columns."""
    table = draw(st.sampled_from(sorted(LOADERS)))
    _, names = LOADERS[table]
    header = list(names)
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["category", "note", "amount", "", "extra"])))
    if draw(st.integers(0, 9)) == 0:
        header = draw(st.lists(st.text(max_size=8), min_size=1, max_size=4))
    delimiter = draw(DELIMITERS)
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=len(header) - 1, max_size=len(header) + 1),
            max_size=8,
        )
    )
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    data = text.encode("utf-8", errors="surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(max_size=16))  # a broken tail: invalid UTF-8 and all
    return table, draw(NAMES).format(table), data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.sampled_from(["raise", "drop"]), st.sampled_from([None, "%d/%m/%Y"]))
def test_random_csv_text_loads_or_raises_a_data_error(file, on_invalid, date_format):
    table, name, data = file
    loader, _ = LOADERS[table]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                frame = loader(path, on_invalid=on_invalid, date_format=date_format)
            except DataError:
                return
    assert isinstance(frame, pd.DataFrame) and len(frame) >= 0
    assert frame.columns[0] == "customer_id"
    assert frame["customer_id"].map(lambda v: isinstance(v, str) and v == v.strip() and v).all()
