"""Tests for cxlib.data: file formats, column mapping, parsing, validation and quality records."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from cxlib import DataError
from cxlib.data import (
    QUALITY_COLUMNS,
    load_customers,
    load_feedback,
    load_surveys,
    load_transactions,
    quality_report,
)

HEADER = ["customer_id", "date", "amount"]
ROWS = [["A", "2024-01-05", "10.5"], ["B", "2024-02-29", "-3"], ["A", "2024-03-01", "7"]]
EXPECTED = pd.DataFrame(
    {
        "customer_id": pd.Series(["A", "B", "A"], dtype=object),
        "date": pd.to_datetime(["2024-01-05", "2024-02-29", "2024-03-01"]).astype("datetime64[ns]"),
        "amount": [10.5, -3.0, 7.0],
    }
)


def write_text(path, header, rows, *, delimiter=",", encoding="utf-8"):
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def transactions_frame(**columns):
    base = {
        "customer_id": ["A", "B", "A"],
        "date": ["2024-01-05", "2024-02-29", "2024-03-01"],
        "amount": [10.5, -3.0, 7.0],
    }
    base.update(columns)
    return pd.DataFrame(base)


# ---- file formats


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiter_is_detected(tmp_path, delimiter):
    path = write_text(tmp_path / "tx.csv", HEADER, ROWS, delimiter=delimiter)
    assert_frame_equal(load_transactions(path), EXPECTED)


def test_tsv_and_txt_suffixes_are_read_as_text(tmp_path):
    tsv = write_text(tmp_path / "tx.tsv", HEADER, ROWS, delimiter="\t")
    txt = write_text(tmp_path / "tx.txt", HEADER, ROWS, delimiter="|")
    assert_frame_equal(load_transactions(tsv), EXPECTED)
    assert_frame_equal(load_transactions(str(txt)), EXPECTED)


def test_gzipped_csv_is_read(tmp_path):
    plain = write_text(tmp_path / "tx.csv", HEADER, ROWS, delimiter=";")
    path = tmp_path / "tx.csv.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert_frame_equal(load_transactions(path), EXPECTED)


def test_parquet_is_read_with_typed_columns(tmp_path):
    path = tmp_path / "tx.parquet"
    frame = EXPECTED.copy()
    frame["customer_id"] = [101, 102, 101]  # numeric ids become strings
    frame.to_parquet(path)
    loaded = load_transactions(path)
    assert loaded["customer_id"].tolist() == ["101", "102", "101"]
    assert_frame_equal(loaded.drop(columns="customer_id"), EXPECTED.drop(columns="customer_id"))


def test_excel_is_read(tmp_path):
    path = tmp_path / "tx.xlsx"
    transactions_frame(date=pd.to_datetime(["2024-01-05", "2024-02-29", "2024-03-01"])).to_excel(
        path, index=False
    )
    assert_frame_equal(load_transactions(path), EXPECTED)


def test_cp1251_file_with_cyrillic_names_needs_its_encoding(tmp_path):
    header = ["customer_id", "name", "date", "amount"]
    rows = [["1", "Иван Петров", "2024-01-05", "10"], ["2", "Мария", "2024-01-06", "12"]]
    path = write_text(tmp_path / "tx.csv", header, rows, delimiter=";", encoding="cp1251")
    with pytest.raises(DataError, match=r"tx\.csv.*not valid utf-8 \(line 2\).*encoding='cp1251'"):
        load_transactions(path)
    loaded = load_transactions(path, encoding="cp1251")
    assert loaded["name"].tolist() == ["Иван Петров", "Мария"]


def test_gzipped_latin1_file_is_transcoded(tmp_path):
    header = ["customer_id", "city", "date", "amount"]
    rows = [["1", "Zürich", "2024-01-05", "10"]]
    path = tmp_path / "tx.csv.gz"
    plain = write_text(tmp_path / "plain.csv", header, rows, encoding="latin-1")
    path.write_bytes(gzip.compress(plain.read_bytes()))
    assert load_transactions(path, encoding="latin-1")["city"].tolist() == ["Zürich"]


def test_decoding_failure_after_the_first_block_names_the_file(tmp_path):
    rows = [[str(i), "2024-01-05", "1"] for i in range(8_000)] + [["Ä", "2024-01-05", "1"]]
    path = write_text(tmp_path / "late.csv", HEADER, rows, encoding="latin-1")
    with pytest.raises(DataError, match=r"late\.csv.*not valid utf-8.*encoding="):
        load_transactions(path)


def test_dataframe_source_is_not_mutated():
    raw = transactions_frame(amount=["10.5", "-3", "7"])
    before = raw.copy(deep=True)
    load_transactions(raw)
    assert_frame_equal(raw, before)


def test_unsupported_suffix_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "tx.json"
    path.write_text("{}")
    with pytest.raises(
        DataError,
        match=r"tx\.json\): unsupported file type \.json; expected a "
        r"\.csv",
    ):
        load_transactions(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"load_transactions: file .*nope\.csv does not exist"):
        load_transactions(tmp_path / "nope.csv")


def test_ragged_csv_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,date,amount\nA,2024-01-01,1\nB,2024-01-02,2,9,9\n")
    with pytest.raises(
        DataError,
        match=r"load_transactions \(.*bad\.csv\): line 3 has more fields than the header's "
        r"3: 'B,2024-01-02,2,9,9'\. A value that holds the delimiter must be quoted",
    ):
        load_transactions(path)


# ---- column mapping


def test_columns_map_client_names_and_other_columns_are_kept(tmp_path):
    header = ["Kunde", "Datum", "Umsatz", "Filiale"]
    rows = [
        ["A", "2024-01-05", "10.5", "Nord"],
        ["B", "2024-02-29", "-3", "Süd"],
        ["A", "2024-03-01", "7", "Nord"],
    ]
    path = write_text(tmp_path / "tx.csv", header, rows, delimiter=";")
    loaded = load_transactions(
        path, columns={"customer_id": "Kunde", "date": "Datum", "amount": "Umsatz"}
    )
    assert list(loaded.columns) == ["customer_id", "date", "amount", "Filiale"]
    assert_frame_equal(loaded[HEADER], EXPECTED)
    assert loaded["Filiale"].tolist() == ["Nord", "Süd", "Nord"]


def test_optional_canonical_columns_come_after_the_required_ones():
    raw = transactions_frame(channel=["web", "app", "web"], note=["x", "y", "z"])
    raw = raw[["channel", "note", "amount", "date", "customer_id"]]
    loaded = load_transactions(raw)
    assert list(loaded.columns) == ["customer_id", "date", "amount", "channel", "note"]


def test_quantity_times_unit_price_stands_in_for_amount():
    raw = pd.DataFrame(
        {
            "cust": ["A", "B"],
            "date": ["2024-01-05", "2024-01-06"],
            "qty": ["2", "-1"],
            "price": ["2.5", "4"],
        }
    )
    loaded = load_transactions(
        raw, columns={"customer_id": "cust", "quantity": "qty", "unit_price": "price"}
    )
    assert loaded["amount"].tolist() == [5.0, -4.0]
    assert list(loaded.columns) == ["customer_id", "date", "amount", "qty", "price"]


def test_line_item_columns_by_their_canonical_names_are_used_without_mapping():
    raw = pd.DataFrame(
        {"customer_id": ["A"], "date": ["2024-01-05"], "quantity": [3], "unit_price": [1.5]}
    )
    assert load_transactions(raw)["amount"].tolist() == [4.5]


def test_amount_and_line_items_together_are_rejected():
    with pytest.raises(DataError, match=r"maps both 'amount' and \['quantity'\]"):
        load_transactions(transactions_frame(), columns={"amount": "amount", "quantity": "q"})


def test_quantity_without_unit_price_is_rejected():
    with pytest.raises(DataError, match=r"maps 'quantity' alone"):
        load_transactions(transactions_frame(), columns={"quantity": "amount"})


def test_missing_column_lists_what_the_file_has_and_suggests_the_mapping(tmp_path):
    path = write_text(tmp_path / "tx.csv", ["Customer_ID", "when", "value"], ROWS)
    with pytest.raises(DataError) as caught:
        load_transactions(path)
    message = str(caught.value)
    assert "tx.csv" in message
    assert "missing column(s) 'customer_id' (looked for column 'customer_id')" in message
    assert "(closest: 'Customer_ID')" in message
    assert "the file has ['Customer_ID', 'when', 'value']" in message
    assert "columns={'customer_id': '<column>', 'date': '<column>', 'amount': '<column>'}" in (
        message
    )


def test_mapping_to_a_column_the_file_lacks_is_missing():
    with pytest.raises(DataError, match=r"'amount' \(looked for column 'Total'\)"):
        load_transactions(transactions_frame(), columns={"amount": "Total"})


def test_optional_column_mapped_to_an_absent_column_is_an_error():
    with pytest.raises(DataError, match=r"maps 'channel' to 'Kanal', which the file does not"):
        load_transactions(transactions_frame(), columns={"channel": "Kanal"})


def test_unknown_canonical_name_in_columns_is_an_error():
    with pytest.raises(DataError, match=r"unknown canonical name\(s\) \['amout'\]"):
        load_transactions(transactions_frame(), columns={"amout": "amount"})


def test_duplicate_column_names_are_an_error():
    raw = pd.DataFrame(
        [["A", "2024-01-05", 1.0, 2.0]], columns=["customer_id", "date", "amount", "amount"]
    )
    with pytest.raises(DataError, match=r"duplicate column\(s\) \['amount'\]"):
        load_transactions(raw)


def test_unmapped_client_column_named_like_a_canonical_one_gets_a_suffix():
    raw = transactions_frame(net=[9.0, -2.0, 6.0])
    loaded = load_transactions(raw, columns={"amount": "net"})
    assert loaded["amount"].tolist() == [9.0, -2.0, 6.0]
    assert loaded["amount_unmapped"].tolist() == [10.5, -3.0, 7.0]


@pytest.mark.parametrize("from_file", [False, True])
def test_a_client_amount_column_beside_mapped_columns_is_kept_under_a_suffix(tmp_path, from_file):
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "date": ["2024-01-01", "2024-01-02"],
            "qty": [2, 1],
            "price": [5.0, 3.0],
            "amount": [99.0, 3.0],  # the client's own column: not the amount we were told to use
        }
    )
    source = raw
    if from_file:
        source = tmp_path / "tx.csv"
        raw.to_csv(source, index=False)
    # line items mapped: the amount is their product, never the client's column of that name
    items = load_transactions(source, columns={"quantity": "qty", "unit_price": "price"})
    assert items["amount"].tolist() == [10.0, 3.0]
    assert items["amount_unmapped"].tolist() == [99.0, 3.0]
    # another column mapped to amount: the client's "amount" is kept beside it
    mapped = load_transactions(source, columns={"amount": "qty"})
    assert mapped["amount"].tolist() == [2.0, 1.0]
    assert mapped["amount_unmapped"].tolist() == [99.0, 3.0]


# ---- dates


def test_date_format_reads_day_first_dates():
    raw = transactions_frame(date=["05/01/2024", "29/02/2024", "01/03/2024"])
    assert_frame_equal(load_transactions(raw, date_format="%d/%m/%Y"), EXPECTED)


def test_ambiguous_dates_without_a_format_are_an_error(tmp_path):
    rows = [["A", "03/02/2024", "1"], ["B", "02/03/2024", "2"]]
    path = write_text(tmp_path / "tx.csv", HEADER, rows)
    with pytest.raises(
        DataError,
        match=r"tx\.csv.*column 'date' \(canonical 'date'\) has ambiguous dates .*"
        r"date_format='%d/%m/%Y' or date_format='%m/%d/%Y'",
    ):
        load_transactions(path)


def test_a_day_above_12_settles_the_order_without_a_format():
    raw = transactions_frame(date=["05.01.2024", "29.02.2024", "01.03.2024"])
    assert_frame_equal(load_transactions(raw), EXPECTED)
    month_first = transactions_frame(date=["1/5/2024", "2/29/2024", "3/1/2024"])
    assert_frame_equal(load_transactions(month_first), EXPECTED)


def test_mixed_day_and_month_first_dates_are_an_error():
    raw = transactions_frame(date=["13/01/2024", "01/13/2024", "01/03/2024"])
    with pytest.raises(DataError, match=r"mixes day/month and month/day dates"):
        load_transactions(raw)


def test_unparseable_dates_are_reported_with_line_numbers(tmp_path):
    rows = [["A", "2024-01-05", "1"], ["B", "yesterday", "2"], ["C", "2024-13-45", "3"]]
    path = write_text(tmp_path / "tx.csv", HEADER, rows)
    with pytest.raises(
        DataError,
        match=r"tx\.csv\): column 'date' \(canonical 'date'\): 2 row\(s\) with unparseable "
        r"date: row 3: 'yesterday', row 4: '2024-13-45'\. Pass date_format",
    ):
        load_transactions(path)


def test_dates_that_do_not_fit_the_format_are_offending_values():
    raw = transactions_frame(date=["05/01/2024", "29.02.2024", "01/03/2024"])
    with pytest.raises(DataError, match=r"unparseable date: row 1: '29\.02\.2024'"):
        load_transactions(raw, date_format="%d/%m/%Y")


def test_iso_dates_parse_whatever_the_date_format():
    raw = transactions_frame(date=["05/01/2024", "2024-02-29", "01/03/2024"])
    loaded = load_transactions(raw, date_format="%d/%m/%Y")
    assert loaded["date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-02-29"),
        pd.Timestamp("2024-03-01"),
    ]


def test_iso_timestamps_keep_their_time():
    raw = transactions_frame(date=["2024-01-05 10:30:00", "2024-02-29T08:00:00", "2024-03-01"])
    loaded = load_transactions(raw)
    assert loaded["date"].tolist() == [
        pd.Timestamp("2024-01-05 10:30"),
        pd.Timestamp("2024-02-29 08:00"),
        pd.Timestamp("2024-03-01"),
    ]


def test_timezone_aware_dates_are_converted_to_utc():
    raw = transactions_frame(
        date=pd.to_datetime(["2024-01-05 01:00"] * 3).tz_localize("Europe/Berlin")
    )
    assert load_transactions(raw)["date"].tolist() == [pd.Timestamp("2024-01-05 00:00")] * 3


# ---- amounts, refunds, ids


def test_refunds_are_kept():
    loaded = load_transactions(transactions_frame(amount=["10.5", "-3", "7"]))
    assert loaded["amount"].tolist() == [10.5, -3.0, 7.0]


def test_non_numeric_amounts_are_reported():
    raw = transactions_frame(amount=["10.5", "12,50", "abc"])
    with pytest.raises(
        DataError,
        match=r"DataFrame\): column 'amount' \(canonical 'amount'\): 2 row\(s\) with "
        r"non-numeric amount: row 1: '12,50', row 2: 'abc'\. The values look like decimal "
        r"commas",
    ):
        load_transactions(raw)


def test_infinite_amounts_are_offending_values():
    with pytest.raises(DataError, match=r"non-numeric amount: row 0: 'inf'"):
        load_transactions(transactions_frame(amount=["inf", "1", "2"]))


def test_missing_amount_is_reported():
    with pytest.raises(DataError, match=r"1 row\(s\) with missing amount: row 2: ''"):
        load_transactions(transactions_frame(amount=[1.0, 2.0, np.nan]))


def test_guest_checkouts_without_customer_id_are_rejected_with_row_numbers(tmp_path):
    rows = [["A", "2024-01-05", "1"], ["", "2024-01-06", "2"], ["  ", "2024-01-07", "3"]]
    path = write_text(tmp_path / "tx.csv", ["Kunde", "date", "amount"], rows)
    with pytest.raises(
        DataError,
        match=r"tx\.csv\): column 'Kunde' \(canonical 'customer_id'\): 2 row\(s\) with missing "
        r"customer_id: row 3: '', row 4: '  '\. Pass on_invalid='drop'",
    ):
        load_transactions(path, columns={"customer_id": "Kunde"})


def test_at_most_five_offenders_are_listed_with_a_count_of_the_rest():
    raw = pd.DataFrame(
        {
            "customer_id": ["A"] * 8,
            "date": ["2024-01-05"] * 8,
            "amount": [f"x{i}" for i in range(8)],
        }
    )
    with pytest.raises(DataError, match=r"row 4: 'x4' \(and 3 more\)\. "):
        load_transactions(raw)


def test_dataframe_rows_are_named_by_their_index_labels():
    raw = transactions_frame(amount=["1", "oops", "2"]).set_axis(["r1", "r2", "r3"])
    with pytest.raises(DataError, match=r"row r2: 'oops'"):
        load_transactions(raw)


def test_numeric_float_ids_lose_their_decimal_point():
    raw = transactions_frame(customer_id=[1001.0, 1002.0, np.nan])
    with pytest.warns(UserWarning, match="1 missing customer_id"):
        loaded = load_transactions(raw, on_invalid="drop")
    assert loaded["customer_id"].tolist() == ["1001", "1002"]


def test_numeric_yyyymmdd_dates_parse_with_a_format():
    raw = transactions_frame(date=[20240105.0, 20240229.0, 20240301.0])
    assert_frame_equal(load_transactions(raw, date_format="%Y%m%d"), EXPECTED)


def test_ids_are_trimmed_strings():
    loaded = load_transactions(transactions_frame(customer_id=[" A", "B ", 7]))
    assert loaded["customer_id"].tolist() == ["A", "B", "7"]


# ---- drop mode and quality records


def test_drop_mode_sets_rows_aside_counts_them_and_warns(tmp_path):
    rows = [
        ["A", "2024-01-05", "1"],
        ["", "2024-01-06", "2"],
        ["B", "bad", "3"],
        ["C", "2024-01-08", "x"],
        ["", "bad", "y"],
        ["D", "2024-01-09", "-4"],
    ]
    path = write_text(tmp_path / "tx.csv", HEADER, rows)
    with pytest.warns(
        UserWarning,
        match=r"set aside 4 of 6 rows: 2 missing customer_id, "
        r"1 unparseable date, 1 non-numeric amount",
    ):
        loaded = load_transactions(path, on_invalid="drop")
    assert loaded["customer_id"].tolist() == ["A", "D"]
    assert loaded["amount"].tolist() == [1.0, -4.0]
    assert loaded.index.tolist() == [0, 1]
    expected = pd.DataFrame(
        {
            "table": ["transactions"] * 4,
            "source": ["tx.csv"] * 4,
            "rows_read": [6] * 4,
            "rows_kept": [2] * 4,
            "rows_set_aside": [2, 1, 1, 0],
            "reason": [
                "missing customer_id",
                "unparseable date",
                "non-numeric amount",
                "kept: negative amount (refund or cancellation line)",
            ],
            "rows_flagged": [0, 0, 0, 1],  # the refund of D is kept, and counted
        }
    )
    assert_frame_equal(quality_report(loaded), expected)


def test_clean_table_has_one_quality_row_with_nothing_set_aside():
    report = quality_report(load_transactions(transactions_frame(amount=[10.5, 3.0, 7.0])))
    assert report.to_dict("records") == [
        {
            "table": "transactions",
            "source": "DataFrame",
            "rows_read": 3,
            "rows_kept": 3,
            "rows_set_aside": 0,
            "reason": "none",
            "rows_flagged": 0,
        }
    ]


def test_quality_report_stacks_several_tables():
    tx = load_transactions(transactions_frame())
    customers = load_customers(pd.DataFrame({"customer_id": ["A", "B"]}))
    report = quality_report(tx, customers)
    assert list(report.columns) == QUALITY_COLUMNS
    assert report["table"].tolist() == ["transactions", "transactions", "customers"]
    assert report["rows_flagged"].tolist() == [0, 1, 0]  # B's refund, kept and counted


def test_quality_report_rejects_frames_not_from_a_loader():
    with pytest.raises(ValueError, match=r"Got a frame without it at position 0 instead"):
        quality_report(pd.DataFrame({"a": [1]}))


def test_loaded_frames_still_concatenate():
    tx = load_transactions(transactions_frame())
    assert len(pd.concat([tx, tx])) == 6


def test_on_invalid_must_be_raise_or_drop():
    with pytest.raises(
        ValueError,
        match=r"The 'on_invalid' parameter of load_transactions must "
        r"be \"raise\" or \"drop\". Got 'skip' instead.",
    ):
        load_transactions(transactions_frame(), on_invalid="skip")


def test_unknown_encoding_is_a_parameter_error(tmp_path):
    path = write_text(tmp_path / "tx.csv", HEADER, ROWS)
    with pytest.raises(ValueError, match=r"The 'encoding' parameter of load_transactions"):
        load_transactions(path, encoding="klingon")


# ---- customers, surveys, feedback


def test_customers_keep_attributes_and_parse_optional_columns(tmp_path):
    header = ["id", "signup_date", "acquisition_cost", "region", "age", "zip"]
    rows = [["1", "2023-01-02", "12.5", "north", "34", "0101"], ["2", "", "", "south", "", "0202"]]
    path = write_text(tmp_path / "customers.csv", header, rows)
    loaded = load_customers(path, columns={"customer_id": "id"})
    assert list(loaded.columns) == [
        "customer_id",
        "signup_date",
        "acquisition_cost",
        "region",
        "age",
        "zip",
    ]
    assert loaded["signup_date"].tolist()[0] == pd.Timestamp("2023-01-02")
    assert pd.isna(loaded["signup_date"].iloc[1])
    assert loaded["acquisition_cost"].dtype == "float64"
    assert loaded["age"].dtype == "float64"  # numbers, one missing
    assert loaded["zip"].tolist() == ["0101", "0202"]  # leading zeros keep text


def test_duplicate_customer_ids_are_offending_rows():
    raw = pd.DataFrame({"customer_id": ["A", "B", "A", "C"]})
    with pytest.raises(
        DataError,
        match=r"2 row\(s\) with duplicate customer_id: row 0: 'A', "
        r"row 2: 'A'",
    ):
        load_customers(raw)


def test_drop_mode_keeps_the_first_row_of_a_duplicated_customer():
    raw = pd.DataFrame({"customer_id": ["A", "B", "A", None], "region": ["n", "s", "e", "w"]})
    with pytest.warns(UserWarning, match="1 missing customer_id, 1 duplicate customer_id"):
        loaded = load_customers(raw, on_invalid="drop")
    assert loaded["region"].tolist() == ["n", "s"]
    assert quality_report(loaded)["rows_set_aside"].tolist() == [1, 1]


def test_unparseable_optional_customer_date_is_reported():
    raw = pd.DataFrame({"customer_id": ["A", "B"], "contract_end": ["2025-01-01", "soon"]})
    with pytest.raises(DataError, match=r"'contract_end' \(canonical 'contract_end'\).*'soon'"):
        load_customers(raw)


@pytest.mark.parametrize("bad", ["4.5", "11", "-1", "ten"])
def test_scores_must_be_integers_from_0_to_10(bad):
    raw = pd.DataFrame({"customer_id": ["A", "B"], "date": ["2024-01-05"] * 2, "score": ["9", bad]})
    with pytest.raises(DataError, match=rf"score not an integer 0-10: row 1: '{bad}'"):
        load_surveys(raw)


def test_surveys_scores_are_integers_and_comments_are_kept(tmp_path):
    header = ["customer_id", "date", "score", "comment"]
    rows = [["A", "2024-01-05", "10", "great"], ["B", "2024-01-06", "0.0", ""]]
    loaded = load_surveys(write_text(tmp_path / "s.csv", header, rows))
    assert loaded["score"].tolist() == [10, 0]
    assert loaded["score"].dtype == "int64"
    assert loaded["comment"].tolist()[0] == "great"


# ---- surveys dated by period


@pytest.mark.parametrize(
    ("written", "expected", "freq"),
    [
        (
            ["2024Q1", "2024-Q2", "Q3 2024", "T4 2024", "t1-2025"],
            ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"],
            "Q",
        ),
        (
            ["2024-03", "2024/4", "05/2024", "2024.12"],
            ["2024-03", "2024-04", "2024-05", "2024-12"],
            "M",
        ),
        (["2023", "2024"], ["2023", "2024"], "Y"),
    ],
)
def test_a_survey_period_column_is_read_as_pandas_periods(tmp_path, written, expected, freq):
    rows = [[f"C{k}", value, str(k % 11)] for k, value in enumerate(written)]
    path = write_text(
        tmp_path / "s.csv", ["client", "période", "note"], rows, delimiter=";", encoding="cp1252"
    )
    loaded = load_surveys(
        path,
        columns={"customer_id": "client", "period": "période", "score": "note"},
        encoding="cp1252",
    )
    assert list(loaded.columns) == ["customer_id", "period", "score"]
    assert loaded["period"].tolist() == [pd.Period(e, freq=freq) for e in expected]
    assert loaded["score"].tolist() == [k % 11 for k in range(len(written))]


def test_a_survey_period_that_is_not_a_calendar_period_is_an_offending_value():
    raw = pd.DataFrame(
        {"customer_id": ["A", "B", "C"], "period": ["2024Q1", "3", "2024Q5"], "score": [9, 8, 7]}
    )
    with pytest.raises(DataError, match=r"unparseable period .*row 1: '3', row 2: '2024Q5'"):
        load_surveys(raw)
    with pytest.warns(UserWarning, match="set aside 2 of 3 rows"):
        loaded = load_surveys(raw, on_invalid="drop")
    assert loaded["period"].tolist() == [pd.Period("2024Q1", freq="Q")]
    assert quality_report(loaded)["reason"].str.startswith("unparseable period").any()


def test_a_survey_mixing_period_lengths_is_refused_naming_both():
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C"],
            "period": ["2024Q1", "2024-03", "2024Q2"],
            "score": [9, 8, 7],
        }
    )
    expected = r"mixes period lengths: 2 quarter\(s\) \(2024Q1\), 1 month\(s\) \(2024-03\)"
    with pytest.raises(DataError, match=expected):
        load_surveys(raw)


def test_a_survey_needs_a_date_or_a_period_and_says_so():
    with pytest.raises(DataError, match=r"missing column\(s\) 'date'.*or a 'period' column"):
        load_surveys(pd.DataFrame({"customer_id": ["A"], "score": [9]}))


def test_a_survey_with_dates_keeps_its_period_column_beside_them():
    raw = pd.DataFrame(
        {"customer_id": ["A"], "date": ["2024-02-01"], "period": ["2024Q1"], "score": [9]}
    )
    loaded = load_surveys(raw)
    assert list(loaded.columns) == ["customer_id", "date", "score", "period"]
    assert loaded.loc[0, "period"] == pd.Period("2024Q1", freq="Q")


def test_feedback_without_text_is_offending():
    raw = pd.DataFrame(
        {
            "customer_id": ["A", "B"],
            "date": ["2024-01-05"] * 2,
            "text": ["late parcel", " "],
            "topic": ["delivery", None],
        }
    )
    with pytest.raises(DataError, match=r"missing text: row 1: ' '"):
        load_feedback(raw)
    with pytest.warns(UserWarning, match="set aside 1 of 2 rows: 1 missing text"):
        loaded = load_feedback(raw, on_invalid="drop")
    assert loaded.to_dict("list") == {
        "customer_id": ["A"],
        "date": [pd.Timestamp("2024-01-05")],
        "text": ["late parcel"],
        "topic": ["delivery"],
    }


def test_empty_file_is_a_data_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv\): the file is empty"):
        load_surveys(path)


# ---- large tables


def test_large_tables_return_pyarrow_backed_strings(tmp_path, monkeypatch):
    import cxlib.data

    monkeypatch.setattr(cxlib.data._schema, "LARGE_TABLE_ROWS", 2)
    path = write_text(
        tmp_path / "tx.csv", [*HEADER, "channel", "note"], [[*row, "web", "n"] for row in ROWS]
    )
    loaded = load_transactions(path)
    assert loaded["customer_id"].dtype == pd.StringDtype("pyarrow")
    assert loaded["channel"].dtype == pd.StringDtype("pyarrow")
    assert loaded["note"].dtype == pd.StringDtype("pyarrow")
    assert loaded["customer_id"].tolist() == ["A", "B", "A"]
    assert_frame_equal(loaded[["date", "amount"]], EXPECTED[["date", "amount"]])


def test_small_tables_return_python_strings(tmp_path):
    path = write_text(tmp_path / "tx.csv", HEADER, ROWS)
    assert load_transactions(path)["customer_id"].dtype == object


def test_duplicate_csv_header_is_an_error(tmp_path):
    path = write_text(
        tmp_path / "tx.csv",
        ["customer_id", "date", "amount", "amount"],
        [[*row, "1"] for row in ROWS],
    )
    with pytest.raises(DataError, match=r"tx\.csv\): duplicate column\(s\) \['amount'\]"):
        load_transactions(path)


def test_crlf_line_ends_and_quoted_delimiters_are_read(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes(b'customer_id;date;amount;note\r\nA;2024-01-05;10.5;"x; y"\r\n')
    loaded = load_transactions(path)
    assert loaded["note"].tolist() == ["x; y"]
    assert loaded["amount"].tolist() == [10.5]


def test_excel_rows_are_numbered_as_the_spreadsheet_shows_them(tmp_path):
    path = tmp_path / "tx.xlsx"
    transactions_frame(amount=["ten", 2.0, 3.0]).to_excel(path, index=False)
    with pytest.raises(DataError, match=r"tx\.xlsx\): column 'amount' .* row 2: 'ten'"):
        load_transactions(path)


def test_parquet_rows_are_numbered_from_one(tmp_path):
    path = tmp_path / "tx.parquet"
    transactions_frame(customer_id=["A", None, "B"]).to_parquet(path)
    with pytest.raises(DataError, match=r"tx\.parquet\): column 'customer_id' .* row 2: ''"):
        load_transactions(path)


def test_quality_report_of_no_frames_is_an_empty_table():
    report = quality_report()
    assert list(report.columns) == QUALITY_COLUMNS
    assert report.empty


# ---- a transactions table without an amount: purchase counts


def test_customer_and_date_only_count_one_purchase_per_row_with_a_quality_line(tmp_path):
    path = write_text(
        tmp_path / "tx.csv",
        ["customer_id", "date", "store"],
        [["A", "2024-01-05", "north"], ["A", "2024-01-05", "north"], ["B", "2024-02-01", "south"]],
    )
    loaded = load_transactions(path)
    assert list(loaded.columns) == ["customer_id", "date", "amount", "store"]
    assert loaded["amount"].tolist() == [1.0, 1.0, 1.0]
    assert loaded.attrs["amount_basis"] == "purchases"
    quality = quality_report(loaded).set_index("reason")["rows_flagged"]
    assert quality["kept: no amount column, each row counted as one purchase (amount 1)"] == 3
    assert quality["kept: identical to an earlier row (duplicate line)"] == 1
    assert "amount_basis" not in load_transactions(transactions_frame()).attrs


@pytest.mark.parametrize("column", ["Amount_EUR", "ammount", "amounts"])
def test_a_column_that_looks_like_an_amount_is_never_taken_for_purchase_counts(column):
    raw = pd.DataFrame({"customer_id": ["A"], "date": ["2024-01-05"], column: [3.0]})
    with pytest.raises(DataError, match=r"missing column\(s\) 'amount'"):
        load_transactions(raw)
    with pytest.raises(DataError, match=r"'amount' \(looked for column 'total'\)"):
        load_transactions(raw.rename(columns={column: "x"}), columns={"amount": "total"})
