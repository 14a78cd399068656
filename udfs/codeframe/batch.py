"""Code files and large batches: CSV/JSONL in, one JSONL line per input row out, optional 2-process fan-out."""
from __future__ import annotations

import atexit
import gc
import json
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from udfs.codeframe.classifier import FRAME_COLUMNS, METHOD, UNCODED, Analysis, get_classifier, no_cyclic_gc

ID_COLUMNS = ("id", "feedback_id", "record_id")
ERROR_COLUMN = "_unreadable"  # set by read_table on rows it could not read; written out as the row's "error"
PARALLEL_MIN_TEXTS = 20_000  # below this, starting workers costs more than it saves
SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods")
PROGRESS_MIN_ROWS = 10_000  # below this `voc classify` finishes before a bar says anything
CHUNK_TEXTS = 1_000  # texts per task: a batch's last task leaves the other worker idle for about half a task
# (at 2,500 texts a task the workers idled ~11 % of a 20k-row batch run, at 1,000 ~7.5 %)

# A compact analysis, cheap to pickle between processes:
# (sentiment, sentiment_score, ((code, sentiment, score, severity, point_type, evidence, start, end), ...))
Compact = tuple


def expand(item: Compact, classifier) -> Analysis:
    """A compact analysis back to an Analysis (names and need layer from the codeframe)."""
    return classifier.expand(item)


def iter_compact(texts, codeframe_path: str | None = None, workers: int = 1, chunk_texts: int = CHUNK_TEXTS):
    """Compact analyses of `texts` (any iterable, consumed lazily), in input order.

    With workers > 1 (and fork available), chunks stream through a Pool whose initializer builds the
    classifier once per worker (inherited by fork); at most a few chunks are in flight, so neither the
    parent nor the workers hold the whole batch's results twice."""
    classifier = get_classifier(codeframe_path)
    chunks = _chunks(texts, chunk_texts)
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in chunks:
            yield from classifier.analyse_many_compact(chunk)
        return
    pool = _pool(codeframe_path, workers)
    for part in pool.imap(_compact_chunk, chunks, chunksize=1):
        yield from part


_POOLS: dict = {}
_WORKER_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _pool(codeframe_path: str | None, workers: int):
    """One long-lived pool per (codeframe, workers) and process: daily batches reuse warm workers (their
    span caches survive between calls) instead of forking and warming up per call. Closed at exit."""
    key = (codeframe_path, workers, os.getpid())
    pool = _POOLS.get(key)
    if pool is None:
        # Forked workers share the parent's pages until written: frozen objects are never touched by
        # the workers' garbage collector, so those pages stay shared instead of being copied.
        already_frozen = gc.get_freeze_count() > 0  # a caller that froze its own objects keeps them frozen
        gc.collect()
        gc.freeze()
        # Workers are forked with SIGTERM/SIGINT blocked and unblock them only after restoring the
        # default handlers, so a terminate() that arrives before the initializer has run stays pending
        # instead of reaching the parent's inherited handler (which may only set a flag).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _WORKER_SIGNALS)
        try:
            pool = multiprocessing.get_context("fork").Pool(workers, _worker_init, (codeframe_path,))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if not already_frozen:
            gc.unfreeze()
        _POOLS[key] = pool
    return pool


def close_pools() -> None:
    """Terminate the worker pools (also done at interpreter exit)."""
    for pool in _POOLS.values():
        pool.terminate()
        pool.join()
    _POOLS.clear()


atexit.register(close_pools)


def _chunks(texts, size: int):
    chunk = []
    for text in texts:
        chunk.append(as_text(text))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parallel_workers(texts: int, workers: int) -> int:
    """`workers` for a batch of `texts`, or 1 for a batch too small to be worth starting them."""
    return workers if texts >= PARALLEL_MIN_TEXTS else 1


def analyse_texts(texts: list, codeframe_path: str | None = None, workers: int = 1) -> list[Analysis]:
    """Analyse texts (identical texts once per chunk), over `workers` processes when the batch is large."""
    classifier = get_classifier(codeframe_path)
    workers = parallel_workers(len(texts), workers)
    if workers <= 1:
        return classifier.analyse_many([as_text(text) for text in texts])
    return [expand(item, classifier) for item in iter_compact(texts, codeframe_path, workers)]


def classify_frame_parallel(df: pd.DataFrame, text_col: str = "text", id_col: str = "feedback_id",
                            codeframe_path: str | None = None, workers: int = 2) -> pd.DataFrame:
    """classify_frame over `workers` processes: texts stream to the workers in chunks, each worker returns its
    chunk's output columns, and the output frame is built once at the end (columns: FRAME_COLUMNS)."""
    workers = parallel_workers(len(df), workers)
    ((_, codes),) = classify_frames_parallel([df], text_col, id_col, codeframe_path, workers)
    return codes


def classify_frames_parallel(frames: Iterable[pd.DataFrame], text_col: str = "text", id_col: str = "feedback_id",
                             codeframe_path: str | None = None,
                             workers: int = 2) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
    """(frame, its codes) for each frame of `frames`, in order, as classify_frame_parallel would code it.

    The chunks of all frames stream through one pool, so the workers go on with the next frame while the
    caller stores the codes of the last one: called frame by frame, both workers idled at every frame's end
    while the parent built its output (and the caller wrote it). `frames` is read lazily by the pool's feeder
    thread, about one chunk ahead of the workers."""
    classifier = get_classifier(codeframe_path)
    size = CHUNK_TEXTS
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        names = leaf_names(classifier)
        for df in frames:  # one part holding the whole frame
            part = frame_columns(classifier.analyse_many_compact(as_texts(df[text_col])), names)
            yield df, columns_to_frame(df[id_col].to_numpy(), [part], classifier.version, size)
        return
    sent: deque = deque()  # (frame, its number of chunks), appended by the feeder thread before its chunks
    stop = threading.Event()

    def chunks():
        for df in frames:
            if stop.is_set():
                return
            column = df[text_col]
            starts = range(0, len(column), size)
            sent.append((df, len(starts)))
            for start in starts:
                if stop.is_set():
                    return
                # converted when the feeder thread sends it: the workers start at once
                yield as_texts(column.iloc[start:start + size])

    results = _pool(codeframe_path, workers).imap(_columns_chunk, chunks(), chunksize=1)
    received: list[tuple] = []
    exhausted = False
    try:
        while True:
            while not sent and not exhausted:  # the feeder has not read the next frame yet
                try:
                    received.append(next(results))
                except StopIteration:
                    exhausted = True
            if not sent:
                return
            df, count = sent.popleft()
            while len(received) < count:
                received.append(next(results))
            parts, received = received[:count], received[count:]
            yield df, columns_to_frame(df[id_col].to_numpy(), parts, classifier.version, size)
    finally:
        stop.set()  # a caller that stops early: the feeder sends no more chunks


def frame_columns(items, names: dict) -> tuple:
    """Output columns of a chunk of compact analyses: (local row of each code, code, l1, l2, l3, need layer,
    sentiment, score, severity, point type, evidence, start, end); start/end -1 where missing."""
    empty = (None, None, None, None)
    rows, codes, l1, l2, l3, need, polarity, score, severity, point, evidence, start, end = ([] for _ in range(13))
    for row, item in enumerate(items):
        for code, hit_polarity, hit_score, hit_severity, hit_point, hit_evidence, hit_start, hit_end in item[2]:
            rows.append(row)
            codes.append(code)
            name = names.get(code, empty)
            l1.append(name[0])
            l2.append(name[1])
            l3.append(name[2])
            need.append(name[3])
            polarity.append(hit_polarity)
            score.append(hit_score)
            severity.append(hit_severity)
            point.append(hit_point)
            evidence.append(hit_evidence)
            start.append(-1 if hit_start is None else hit_start)
            end.append(-1 if hit_end is None else hit_end)
    return rows, codes, l1, l2, l3, need, polarity, score, severity, point, evidence, start, end


STRING_COLUMNS = (1, 2, 3, 4, 5, 8, 9, 10)  # positions of the text columns in frame_columns' tuple
NUMBER_COLUMNS = {0: np.int64, 6: np.int8, 7: np.float64, 11: np.int64, 12: np.int64}  # and of the numbers


def arrow_columns(part: tuple) -> tuple:
    """frame_columns with its text columns as Arrow strings and its numbers as arrays: built in the worker,
    the parent only concatenates buffers (pandas' default `str` dtype is Arrow-backed). Converting them in
    the parent, after the last worker has finished, left both workers idle meanwhile."""
    if not _arrow_strings():
        return part
    import pyarrow as pa

    return tuple(pa.array(values, type=pa.large_string()) if position in STRING_COLUMNS
                 else np.asarray(values, dtype=NUMBER_COLUMNS[position]) for position, values in enumerate(part))


def _arrow_strings() -> bool:
    dtype = pd.Series(["x"]).dtype
    return getattr(dtype, "storage", None) == "pyarrow" and getattr(dtype, "na_value", None) is not pd.NA


def columns_to_frame(ids, parts: list[tuple], version: str, chunk_texts: int) -> pd.DataFrame:
    """Concatenate chunk columns (chunk i holds texts i*chunk_texts onwards) into the output frame."""
    offsets = [np.asarray(part[0], dtype=np.int64) + number * chunk_texts for number, part in enumerate(parts)]
    rows = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
    count = len(rows)
    columns = []
    for position in range(1, 13):
        values = [part[position] for part in parts]
        if position in NUMBER_COLUMNS:
            dtype = NUMBER_COLUMNS[position]
            columns.append(np.concatenate([np.asarray(chunk, dtype=dtype) for chunk in values]) if values
                           else np.zeros(0, dtype=dtype))
        elif values and not isinstance(values[0], list):  # Arrow strings from the workers
            import pyarrow as pa

            columns.append(pd.arrays.ArrowStringArray(pa.concat_arrays(values), dtype=pd.Series(["x"]).dtype))
        else:
            columns.append([value for chunk in values for value in chunk])
    columns.insert(0, None)
    start, end = columns[11], columns[12]
    return pd.DataFrame({
        "feedback_id": ids[rows] if count else ids[:0], "codeframe_version": _repeated(version, count),
        "code": columns[1], "l1": columns[2], "l2": columns[3], "l3": columns[4],
        "sentiment": columns[6], "sentiment_score": columns[7],
        "severity": columns[8], "need_layer": columns[5], "point_type": columns[9], "evidence": columns[10],
        "start": pd.arrays.IntegerArray(start, start < 0), "end": pd.arrays.IntegerArray(end, end < 0),
        "method": _repeated(METHOD, count),
    }, columns=FRAME_COLUMNS)


def _repeated(value: str, count: int):
    """A column of one string: as Arrow, one value taken `count` times (pandas converted a list of `count`
    copies string by string, a few ms per batch while the workers wait). Empty: a list, as the other columns."""
    if not count or not _arrow_strings():
        return [value] * count
    import pyarrow as pa

    return pd.arrays.ArrowStringArray(pa.array([value], type=pa.large_string()).take(np.zeros(count, dtype=np.int64)),
                                      dtype=pd.Series(["x"]).dtype)


def _columns_chunk(texts: list[str]) -> tuple:
    """A worker's task. The collector stays paused until the chunk's analyses have become columns and are
    freed: resumed right after the analysis, its next collection walked every one of them."""
    classifier = get_classifier(_worker_codeframe)
    with no_cyclic_gc():
        return arrow_columns(frame_columns(classifier.analyse_many_compact(texts), _worker_names(classifier)))


_NAMES: dict = {}


def _worker_names(classifier) -> dict:
    names = _NAMES.get(id(classifier))
    if names is None:
        names = _NAMES[id(classifier)] = leaf_names(classifier)
    return names


def _compact_chunk(texts: list[str]) -> list[Compact]:
    return get_classifier(_worker_codeframe).analyse_many_compact(texts)


def as_texts(values: pd.Series) -> list[str]:
    """as_text of each value; a column of strings only (the usual case) converts in one call."""
    texts = values.tolist()
    return texts if all(isinstance(text, str) for text in texts) else [as_text(text) for text in texts]


def as_text(value) -> str:
    """Missing values become empty text; anything else its string form."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


_worker_codeframe: str | None = None


def _worker_init(codeframe_path: str | None) -> None:
    """A forked worker inherits the parent's Python signal handlers (Dagster maps SIGTERM to its interrupt
    handler, which only sets a flag): restore the defaults so Pool.terminate() ends the worker, and leave
    Ctrl-C to the parent."""
    global _worker_codeframe
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WORKER_SIGNALS)
    _worker_codeframe = codeframe_path
    get_classifier(codeframe_path)  # inherited from the parent by fork; built here otherwise


def read_table(path: str | Path, text_col: str = "text") -> pd.DataFrame:
    """CSV (UTF-8, else GB18030), JSON Lines, or a JSON array of objects; an unreadable JSON line or item
    becomes an empty-text row whose ERROR_COLUMN says what was wrong and where."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8-sig", errors="replace") as handle:  # -sig: a byte-order mark is not text
            rows = _json_array(handle, path) if _starts_with(handle, "[") else _json_lines(handle, text_col)
        frame = pd.DataFrame(rows, dtype=object)  # object: an id column with a gap keeps 7 as 7, not 7.0
    elif path.suffix.lower() in SPREADSHEET_SUFFIXES:
        raise ValueError(f"{path}: a spreadsheet; save it as CSV (UTF-8) or export JSON Lines, then code that file")
    else:
        frame = _read_csv(path)
    if text_col not in frame.columns:
        raise ValueError(f"{path}: no {text_col!r} column (columns: {', '.join(map(str, frame.columns))}); "
                         "name the column that holds the text with --text-column")
    return frame


def _delimiter(path: Path) -> str:
    """Tab for a .tsv/.tab file or one whose header line has tabs and no comma (a spreadsheet's "text" export),
    else comma."""
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    with path.open("rb") as handle:
        header = handle.readline()
    return "\t" if b"\t" in header and b"," not in header else ","


def _read_csv(path: Path) -> pd.DataFrame:
    """UTF-8, else GB18030 (the call centre's exports), comma- or tab-separated; anything else is named as what it is."""
    delimiter = _delimiter(path)
    try:
        for encoding in ("utf-8", "gb18030"):
            try:
                return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=delimiter)
            except UnicodeDecodeError:
                continue
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty (not even a header line)") from None
    except pd.errors.ParserError as error:
        raise ValueError(f"{path}: not a well-formed CSV ({str(error).removeprefix('Error tokenizing data. C error: ').strip()}); "
                         "a text holding a comma, quote or line break must be in double quotes, with its quotes doubled; "
                         "fix that line, or export JSON Lines, where a bad line is reported and the others are coded") from None
    raise ValueError(f"{path}: neither UTF-8 nor GB18030 text (a binary file?); export it as CSV (UTF-8) or JSON Lines")


def _starts_with(handle, char: str) -> bool:
    """Whether the file's first non-blank character is `char`; the handle is left at the start."""
    while (head := handle.read(1)) and head.isspace():
        pass
    handle.seek(0)
    return head == char


def _json_lines(handle, text_col: str) -> list[dict]:
    rows = []
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = {ERROR_COLUMN: f"invalid JSON at line {line_number}"}
        rows.append(record if isinstance(record, dict) else {text_col: str(record)})
    return rows


def _json_array(handle, path: Path) -> list[dict]:
    """A whole-file JSON array (what many exports call .json): read at once, objects as rows."""
    try:
        records = json.load(handle)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}; "
                         "fix it, or export one JSON object per line (JSON Lines)") from None
    return [record if isinstance(record, dict) else {ERROR_COLUMN: f"not a JSON object at item {index}"}
            for index, record in enumerate(records, start=1)]


def classify_file(in_path: str | Path, out_path: str | Path, codeframe_path: str | Path | None = None,
                  text_col: str = "text", workers: int | None = None, id_col: str | None = None,
                  progress: bool = False) -> tuple[int, int]:
    """Code every row of a CSV/JSONL file with a `text` column; write one JSONL line per row. Returns (rows,
    unreadable rows: written uncoded with their "error").
    `id_col` names the column kept as each row's id (default: the first of id, feedback_id, record_id; else
    the row number). `progress` shows a bar on stderr for files of PROGRESS_MIN_ROWS rows or more."""
    frame = read_table(in_path, text_col)
    if id_col is not None and id_col not in frame.columns:
        raise ValueError(f"{in_path}: no {id_col!r} column for --id-column (columns: {', '.join(map(str, frame.columns))})")
    id_col = id_col or next((name for name in ID_COLUMNS if name in frame.columns), None)
    ids = frame[id_col].tolist() if id_col else list(range(1, len(frame) + 1))
    errors = frame[ERROR_COLUMN].tolist() if ERROR_COLUMN in frame.columns else [None] * len(frame)
    unreadable = sum(isinstance(error, str) for error in errors)
    codeframe = str(codeframe_path) if codeframe_path else None
    workers = parallel_workers(len(frame), workers if workers is not None else min(2, os.cpu_count() or 1))
    texts = frame[text_col].tolist()
    del frame
    classifier = get_classifier(codeframe)
    version, names = classifier.version, leaf_names(classifier)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(ids), desc="coding", unit="rows", unit_scale=True, disable=not progress or len(ids) < PROGRESS_MIN_ROWS)
    with out_path.open("w", encoding="utf-8") as handle, bar:
        for row, (row_id, error, item) in enumerate(zip(ids, errors, iter_compact(texts, codeframe, workers), strict=True), start=1):
            record = compact_record(row_id, item, version, names)
            if isinstance(error, str):
                record["error"] = error
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            if row % CHUNK_TEXTS == 0:  # a bar update per row would cost more than coding the row
                bar.update(CHUNK_TEXTS)
        bar.update(len(ids) % CHUNK_TEXTS)
    return len(ids), unreadable


def compact_record(row_id, item: Compact, version: str, names: dict) -> dict:
    codes = []
    for code, polarity, score, severity, point, evidence, start, end in item[2]:
        if code == UNCODED:
            continue
        l1, l2, l3, need = names.get(code, (None, None, None, None))
        codes.append({"code": code, "l1": l1, "l2": l2, "l3": l3, "sentiment": polarity, "sentiment_score": score,
                      "severity": severity, "need_layer": need, "point_type": point, "evidence": evidence,
                      "start": start, "end": end})
    return {"id": _plain(row_id), "codeframe_version": version, "uncoded": not codes, "codes": codes,
            "sentiment": item[0], "sentiment_score": item[1]}


def leaf_names(classifier) -> dict:
    """code -> (l1 name, l2 name, leaf name, need layer)."""
    cf = classifier.codeframe
    return {code: (cf.l1[leaf.l1].zh, cf.l2[leaf.parent].zh, leaf.zh, leaf.need_layer)
            for code, leaf in cf.leaves.items()}


def _plain(value):
    """JSON-safe id: numpy/pandas scalars to Python, missing to None."""
    if hasattr(value, "item"):
        value = value.item()
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value
