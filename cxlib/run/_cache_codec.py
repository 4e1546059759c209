"""How the disk cache writes a value without pickle: JSON for small values, Arrow IPC for frames.

:func:`encode` turns a value into a JSON document plus a list of frames, each written by
:func:`write_frame` as an Arrow IPC file; :func:`decode` turns them back. Nothing in a document
names code to run: an object is rebuilt only when its class is one of
:func:`storable_classes` (plain data holders of cxlib whose state is their attributes), by
setting those attributes on an instance made without calling ``__init__``. A value of any other
type cannot be stored (:class:`Unstorable`): the cache leaves it out and it is recomputed,
never pickled.

Arrow's pandas metadata keeps a frame's index, column and index names and dtypes; what Arrow
does not keep (``attrs``, a Series' name, ``None`` versus ``NaN`` in an object column, a
DatetimeIndex's ``freq``) is kept in the document. Only dtypes known to come back exactly are
accepted (:func:`check_frame`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

__all__ = [
    "Unstorable",
    "check_frame",
    "decode",
    "encode",
    "read_frame",
    "storable_classes",
    "write_frame",
]

#: Nesting depth past which a value is refused (a cycle, or not the plain data the cache holds).
MAX_DEPTH = 64

#: Column name under which a Series is stored as a one-column frame.
SERIES_COLUMN = "__cxlib_series__"

#: Extension dtypes (by name) that Arrow gives back exactly, besides categoricals, strings,
#: periods and time-zone-aware datetimes.
_MASKED = {f"{s}Int{b}" for s in ("", "U") for b in (8, 16, 32, 64)} | {
    "Float32",
    "Float64",
    "boolean",
}


class Unstorable(TypeError):
    """A value the cache cannot write without pickle; it is recomputed instead."""


def storable_classes() -> dict[str, type]:
    """Return the classes the cache stores as their attributes, by qualified name.

    Each is a plain holder of fitted numbers and frames: no open files, no callables, no state
    outside ``__dict__``. A class added here must round-trip in ``tests/test_cache.py``; a new
    plain attribute of one of them (a list of warnings, a ``None``) needs nothing more.
    """
    from cxlib.churn.definitions import ChurnRate
    from cxlib.churn.result import ChurnResult
    from cxlib.clv.fit import CustomerValueFit
    from cxlib.clv.holdout import HoldoutValidation, ModelSelection
    from cxlib.clv.purchase import PurchaseModel
    from cxlib.clv.retention import RetentionModel
    from cxlib.clv.spend import SpendModel

    classes = (
        ChurnRate,
        ChurnResult,
        CustomerValueFit,
        HoldoutValidation,
        ModelSelection,
        PurchaseModel,
        RetentionModel,
        SpendModel,
    )
    return {f"{cls.__module__}.{cls.__qualname__}": cls for cls in classes}


# --- values -----------------------------------------------------------------------------------


def encode(value: Any) -> tuple[dict[str, Any], list[pd.DataFrame]]:
    """Return ``value`` as a JSON-ready document and the frames it refers to.

    Raises
    ------
    Unstorable
        When ``value`` holds something that is not plain data (see the module docstring).
    """
    encoder = _Encoder(storable_classes())
    document = encoder.encode(value, 0)
    return {"value": document, "frames": encoder.metas}, encoder.frames


class _Encoder:
    def __init__(self, classes: dict[str, type]):
        self.frames: list[pd.DataFrame] = []
        self.metas: list[dict[str, Any]] = []
        self.names = {cls: name for name, cls in classes.items()}

    def encode(self, value: Any, depth: int) -> Any:  # noqa: C901, PLR0911 - one case per type
        if depth > MAX_DEPTH:
            raise Unstorable("a value nested too deeply (a cycle?)")
        kind = type(value)
        if value is None or kind in (bool, str, int):
            return value
        if kind is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, np.generic):
            return {"$np": _encode_scalar(value)}
        if value is pd.NaT:
            return {"$nat": None}
        if kind is pd.Timestamp:
            naive = value if value.tz is None else value.tz_convert("UTC").tz_localize(None)
            tz = None if value.tz is None else _tz_name(value)
            return {"$ts": _encode_scalar(naive.to_datetime64()), "tz": tz}
        if kind is pd.Timedelta:
            return {"$td": _encode_scalar(value.to_timedelta64())}
        if kind is dt.datetime and value.tzinfo is None:
            return {"$datetime": value.isoformat()}
        if kind is dt.date:
            return {"$date": value.isoformat()}
        if kind is list:
            return [self.encode(item, depth + 1) for item in value]
        if kind is tuple:
            return {"$tuple": [self.encode(item, depth + 1) for item in value]}
        if kind is dict:
            pairs = [[key, item] for key, item in value.items()]
            return {"$dict": self.encode(pairs, depth + 1)}
        if kind is np.ndarray:
            if value.dtype.kind not in "biufMm" or value.dtype.itemsize > 8:
                raise Unstorable(f"an array of dtype {value.dtype}")
            flat = [_encode_scalar(item) for item in value.ravel()]
            return {"$nd": value.dtype.str, "shape": list(value.shape), "v": flat}
        if kind in (pd.DataFrame, pd.Series) or isinstance(value, pd.Index):
            return {"$frame": self.frame(value, depth)}
        if kind in self.names:
            state = dict(vars(value))
            if not all(isinstance(key, str) and key.isidentifier() for key in state):
                raise Unstorable(f"a {kind.__qualname__} with attributes that are not names")
            return {"$obj": self.names[kind], "state": self.encode(state, depth + 1)}
        raise Unstorable(f"a value of type {kind.__module__}.{kind.__qualname__}")

    def frame(self, value: pd.DataFrame | pd.Series | pd.Index, depth: int) -> int:
        frame = _as_frame(value)
        check_frame(frame)
        position = len(self.frames)
        self.frames.append(frame)
        kind = "series" if isinstance(value, pd.Series) else "index"
        meta: dict[str, Any] = {
            "kind": "dataframe" if isinstance(value, pd.DataFrame) else kind,
            "dtypes": {column: str(frame[column].dtype) for column in frame.columns},
            "object_nulls": _object_nulls(frame),
        }
        self.metas.append(meta)
        meta["attrs"] = self.encode(dict(getattr(value, "attrs", {})), depth + 1)
        if isinstance(value, pd.Series):
            meta["name"] = self.encode(value.name, depth + 1)
        if isinstance(frame.index, pd.DatetimeIndex) and frame.index.freq is not None:
            meta["freq"] = frame.index.freqstr
        return position


def _tz_name(value: pd.Timestamp) -> str:
    name = str(value.tz)
    try:
        same = (
            value.tz_convert("UTC").tz_convert(name) == value
            and str(value.tz_convert(name).tz) == name
        )
    except (ValueError, TypeError, KeyError) as exc:
        raise Unstorable(f"a timestamp in the time zone {name!r}") from exc
    if not same:
        raise Unstorable(f"a timestamp in the time zone {name!r}")
    return name


def _encode_scalar(value: np.generic) -> list[Any]:
    kind = value.dtype.kind
    if kind == "b":
        return ["?", bool(value)]
    if kind in "iu":
        return [value.dtype.str, int(value)]
    if kind == "f" and value.dtype.itemsize <= 8:
        number = float(value)
        return [value.dtype.str, number if math.isfinite(number) else repr(number)]
    if kind in "Mm":
        return [value.dtype.str, int(value.view("i8"))]
    if kind == "U":
        return ["U", str(value)]
    raise Unstorable(f"a numpy value of dtype {value.dtype}")


def decode(document: Any, frames: list[pd.DataFrame]) -> Any:
    """Rebuild the value :func:`encode` wrote from its document and its frames (as read).

    Raises
    ------
    ValueError
        When ``document`` is not something :func:`encode` writes (damaged or foreign).
    """
    if type(document) is not dict or set(document) != {"value", "frames"}:
        raise ValueError("not a cache document")
    metas = _list(document["frames"])
    if len(metas) != len(frames):
        raise ValueError(f"the document lists {len(metas)} frames, {len(frames)} were read")
    decoder = _Decoder(storable_classes())
    pairs = zip(frames, metas, strict=True)
    decoder.values = [_restore(frame, _typed(meta, dict)) for frame, meta in pairs]
    for position, meta in enumerate(metas):  # attrs may refer to any frame: decoded after all
        value = decoder.values[position]
        if "name" in meta:
            value.name = decoder.decode(meta["name"], 0)
        if not isinstance(value, pd.Index):
            value.attrs = _typed(decoder.decode(meta["attrs"], 0), dict)
    return decoder.decode(document["value"], 0)


class _Decoder:
    def __init__(self, classes: dict[str, type]):
        self.classes = classes
        self.values: list[Any] = []

    def decode(self, data: Any, depth: int) -> Any:  # noqa: C901, PLR0911, PLR0912 - one case per tag
        if depth > MAX_DEPTH:
            raise ValueError("a value nested too deeply")
        if data is None or type(data) in (bool, str, int, float):
            return data
        if type(data) is list:
            return [self.decode(item, depth + 1) for item in data]
        if type(data) is not dict or not data:
            raise ValueError(f"not a cache document value: {type(data).__name__}")
        tag = next(iter(data))
        body = data[tag]
        if tag == "$float":
            return float(_one_of(body, ("nan", "inf", "-inf")))
        if tag == "$np":
            return _decode_scalar(body)
        if tag == "$nat":
            return pd.NaT
        if tag == "$ts":
            stamp = pd.Timestamp(_decode_scalar(body))
            tz = data["tz"]
            return stamp if tz is None else stamp.tz_localize("UTC").tz_convert(_str(tz))
        if tag == "$td":
            return pd.Timedelta(_decode_scalar(body))
        if tag == "$datetime":
            return dt.datetime.fromisoformat(_str(body))
        if tag == "$date":
            return dt.date.fromisoformat(_str(body))
        if tag == "$tuple":
            return tuple(self.decode(_list(body), depth + 1))
        if tag == "$dict":
            out = {}
            for pair in _list(body):
                key, value = _list(pair)
                out[self.decode(key, depth + 1)] = self.decode(value, depth + 1)
            return out
        if tag == "$nd":
            dtype = np.dtype(_str(body))
            if dtype.kind not in "biufMm" or dtype.itemsize > 8:
                raise ValueError(f"an array of dtype {dtype}")
            items = [_decode_scalar(item) for item in _list(data["v"])]
            shape = [_typed(n, int) for n in _list(data["shape"])]
            return np.array(items, dtype=dtype).reshape(shape)
        if tag == "$frame":
            if type(body) is not int or not 0 <= body < len(self.values):
                raise ValueError(f"a reference to frame {body!r} of {len(self.values)}")
            return self.values[body]
        if tag == "$obj":
            cls = self.classes.get(_str(body))
            if cls is None:
                raise ValueError(f"{body!r} is not a class the cache stores")
            state = self.decode(data["state"], depth + 1)
            if type(state) is not dict or not all(
                isinstance(key, str) and key.isidentifier() for key in state
            ):
                raise ValueError(f"the state of a {body} is not a dict of attribute names")
            instance = cls.__new__(cls)
            instance.__dict__.update(state)
            return instance
        raise ValueError(f"unknown tag {tag!r}")


def _decode_scalar(pair: Any) -> np.generic:
    code, value = _list(pair)
    if code == "?":
        return np.bool_(_typed(value, bool))
    if code == "U":
        return np.str_(_str(value))
    dtype = np.dtype(_str(code))
    if dtype.kind in "iu":
        return dtype.type(_typed(value, int))
    if dtype.kind == "f" and dtype.itemsize <= 8:
        if isinstance(value, str):
            return dtype.type(float(_one_of(value, ("nan", "inf", "-inf"))))
        return dtype.type(_typed(value, (int, float)))
    if dtype.kind in "Mm":
        return np.array(_typed(value, int), dtype="i8").view(dtype)[()]
    raise ValueError(f"a numpy value of dtype {dtype}")


def _typed(value: Any, kinds: type | tuple[type, ...]) -> Any:
    if type(value) is bool and bool not in (kinds if isinstance(kinds, tuple) else (kinds,)):
        raise ValueError("true or false where a number belongs")
    if not isinstance(value, kinds):
        raise ValueError(f"{value!r:.60} is not a {kinds}")
    return value


def _str(value: Any) -> str:
    return _typed(value, str)


def _list(value: Any) -> list:
    return _typed(value, list)


def _one_of(value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{value!r:.60} is not one of {allowed}")
    return value


# --- frames -----------------------------------------------------------------------------------


def _as_frame(value: pd.DataFrame | pd.Series | pd.Index) -> pd.DataFrame:
    if isinstance(value, pd.Series):
        return value.to_frame(name=SERIES_COLUMN)
    if isinstance(value, pd.Index):
        return pd.DataFrame(index=value)
    return value


def _storable_dtype(dtype: Any) -> bool:
    if isinstance(dtype, pd.CategoricalDtype):
        categories = dtype.categories.dtype
        return categories != np.dtype(object) and _storable_dtype(categories)
    if isinstance(dtype, (pd.DatetimeTZDtype, pd.StringDtype, pd.PeriodDtype)):
        return True  # a period is pandas' Arrow extension type, its frequency stored as JSON
    if isinstance(dtype, np.dtype):
        return dtype.kind in "biuMmO" or (dtype.kind == "f" and dtype.itemsize <= 8)
    return getattr(dtype, "name", None) in _MASKED


def check_frame(frame: pd.DataFrame) -> None:
    """Raise :class:`Unstorable` unless ``frame`` comes back exactly from its Arrow file.

    Column labels must be unique strings (one level), index names strings or ``None`` and not
    a column's label; each column and index level a dtype Arrow gives back as it was; an object
    column or level may hold only strings and missing values.
    """
    columns = frame.columns
    if isinstance(columns, pd.MultiIndex) or not all(isinstance(c, str) for c in columns):
        raise Unstorable("a frame whose column labels are not all strings")
    if not columns.is_unique:
        raise Unstorable("a frame with repeated column labels")
    if columns.name is not None and not isinstance(columns.name, str):
        raise Unstorable("a frame whose columns' name is not a string")
    index = frame.index
    if not all(name is None or isinstance(name, str) for name in index.names):
        raise Unstorable("an index whose name is not a string")
    if any(name in set(columns) for name in index.names if name is not None):
        raise Unstorable("an index named like one of the columns")
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    for values in [frame[column] for column in columns] + levels:
        if not _storable_dtype(values.dtype):
            raise Unstorable(f"a column of dtype {values.dtype}")
        if values.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in (
            "string",
            "empty",
        ):
            raise Unstorable(f"an object column ({values.name!r}) that holds more than strings")
    if isinstance(index, pd.MultiIndex) and any(level.dtype == object for level in levels):
        raise Unstorable("a MultiIndex with a level of dtype object")
    if not isinstance(index, pd.MultiIndex) and index.dtype == object and index.hasnans:
        raise Unstorable("an object index with missing values")


def _object_nulls(frame: pd.DataFrame) -> dict[str, list[list[int]]]:
    """Rows of each object column holding ``None`` and ``NaN`` (Arrow keeps one null)."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype != object:
            continue
        missing = np.flatnonzero(values.isna().to_numpy())
        if missing.size:
            nones = [int(i) for i in missing if values.iat[int(i)] is None]
            nans = [int(i) for i in missing if values.iat[int(i)] is not None]
            out[column] = [nones, nans]
    return out


def write_frame(frame: pd.DataFrame, handle: BinaryIO) -> None:
    """Write ``frame`` (checked by :func:`check_frame`) to ``handle`` as an Arrow IPC file."""
    import pyarrow as pa

    bare = frame.copy(deep=False)
    bare.attrs = {}  # kept in the document: Arrow would write attrs as plain JSON, or warn
    table = pa.Table.from_pandas(bare, preserve_index=None)
    with pa.ipc.new_file(handle, table.schema) as writer:
        writer.write_table(table)


def read_frame(buffer: Any) -> pd.DataFrame:
    """Read a frame :func:`write_frame` wrote, from a buffer already checked against its hash."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.py_buffer(buffer)).read_all().to_pandas()


def _restore(frame: pd.DataFrame, meta: dict[str, Any]) -> Any:
    """Give a frame read from Arrow what Arrow does not keep; return the frame, Series or Index."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError("a frame file that is not a table")
    dtypes = _typed(meta["dtypes"], dict)
    if list(dtypes) != list(frame.columns):
        raise ValueError(f"columns {list(frame.columns)[:5]} where {list(dtypes)[:5]} were written")
    nulls = _typed(meta["object_nulls"], dict)
    for column, dtype in dtypes.items():
        if dtype == "object" and (frame[column].dtype != object or column in nulls):
            array = frame[column].astype(object).to_numpy(copy=True)
            nones, nans = _list(nulls.get(column, [[], []]))
            array[np.asarray(nans, dtype=np.intp)] = np.nan
            array[np.asarray(nones, dtype=np.intp)] = None
            frame[column] = pd.Series(array, index=frame.index, dtype=object)
        if str(frame[column].dtype) != dtype:
            raise ValueError(f"column {column!r} read as {frame[column].dtype}, written as {dtype}")
    if "freq" in meta:
        frame.index = pd.DatetimeIndex(frame.index, freq=_str(meta["freq"]))
    kind = meta["kind"]
    if kind == "series":
        return frame[SERIES_COLUMN].rename(None)
    if kind == "index":
        return frame.index
    if kind != "dataframe":
        raise ValueError(f"unknown frame kind {kind!r}")
    return frame
