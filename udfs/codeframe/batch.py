"""Code files and large batches: CSV/JSONL in, one JSONL line per input row out, optional 2-process fan-out."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pandas as pd

from udfs.codeframe.classifier import UNCODED, Analysis, analyses_to_frame, get_classifier

ID_COLUMNS = ("id", "feedback_id", "record_id")
PARALLEL_MIN_TEXTS = 20_000  # below this, starting workers costs more than it saves
CHUNK_TEXTS = 5_000
FRAME_CHUNK_TEXTS = 25_000


def analyse_texts(texts: list, codeframe_path: str | None = None, workers: int = 1) -> list[Analysis]:
    """Analyse texts, each distinct text once, over `workers` processes (fork) when the batch is large."""
    classifier = get_classifier(codeframe_path)
    texts = [as_text(text) for text in texts]
    unique = list(dict.fromkeys(texts))
    if workers <= 1 or len(unique) < PARALLEL_MIN_TEXTS or "fork" not in multiprocessing.get_all_start_methods():
        results = dict(zip(unique, classifier.analyse_many(unique)))
    else:
        chunks = [unique[i:i + CHUNK_TEXTS] for i in range(0, len(unique), CHUNK_TEXTS)]
        with multiprocessing.get_context("fork").Pool(workers, _worker_init, (codeframe_path,)) as pool:
            analysed = pool.map(_analyse_chunk, chunks, chunksize=1)
        results = {text: analysis for chunk, part in zip(chunks, analysed) for text, analysis in zip(chunk, part)}
    return [results[text] for text in texts]


def classify_frame_parallel(df: pd.DataFrame, text_col: str = "text", id_col: str = "feedback_id",
                            codeframe_path: str | None = None, workers: int = 2) -> pd.DataFrame:
    """classify_frame over `workers` processes; each returns its chunk's frame (cheap to pickle)."""
    ids, texts = df[id_col].tolist(), [as_text(text) for text in df[text_col].tolist()]
    classifier = get_classifier(codeframe_path)
    if workers <= 1 or len(texts) < PARALLEL_MIN_TEXTS or "fork" not in multiprocessing.get_all_start_methods():
        return analyses_to_frame(ids, classifier.analyse_many(texts), classifier.version)
    chunks = [(ids[i:i + FRAME_CHUNK_TEXTS], texts[i:i + FRAME_CHUNK_TEXTS])
              for i in range(0, len(texts), FRAME_CHUNK_TEXTS)]
    with multiprocessing.get_context("fork").Pool(workers, _worker_init, (codeframe_path,)) as pool:
        frames = pool.map(_frame_chunk, chunks, chunksize=1)
    return pd.concat(frames, ignore_index=True)


def _frame_chunk(chunk: tuple[list, list[str]]) -> pd.DataFrame:
    classifier = get_classifier(_worker_codeframe)
    return analyses_to_frame(chunk[0], classifier.analyse_many(chunk[1]), classifier.version)


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
    global _worker_codeframe
    _worker_codeframe = codeframe_path
    get_classifier(codeframe_path)  # inherited from the parent by fork; built here otherwise


def _analyse_chunk(texts: list[str]) -> list[Analysis]:
    return get_classifier(_worker_codeframe).analyse_many(texts)


def read_table(path: str | Path, text_col: str = "text") -> pd.DataFrame:
    """CSV (UTF-8, else GB18030) or JSON Lines; unreadable JSON lines become empty-text rows."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        rows = []
        with path.open(encoding="utf-8", errors="replace") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    record = {"_error": f"invalid_json at line {line_number}"}
                rows.append(record if isinstance(record, dict) else {text_col: str(record)})
        frame = pd.DataFrame(rows)
    else:
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        except UnicodeDecodeError:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    if text_col not in frame.columns:
        raise ValueError(f"{path}: no {text_col!r} column (columns: {', '.join(map(str, frame.columns))})")
    return frame


def classify_file(in_path: str | Path, out_path: str | Path, codeframe_path: str | Path | None = None,
                  text_col: str = "text", workers: int | None = None) -> int:
    """Code every row of a CSV/JSONL file with a `text` column; write one JSONL line per row. Returns rows."""
    frame = read_table(in_path, text_col)
    id_col = next((name for name in ID_COLUMNS if name in frame.columns), None)
    ids = frame[id_col].tolist() if id_col else list(range(1, len(frame) + 1))
    codeframe = str(codeframe_path) if codeframe_path else None
    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    analyses = analyse_texts(frame[text_col].tolist(), codeframe, workers)
    version = get_classifier(codeframe).version
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as handle:
        for row_id, analysis in zip(ids, analyses):
            handle.write(json.dumps(analysis_record(row_id, analysis, version), ensure_ascii=False) + "\n")
    return len(ids)


def analysis_record(row_id, analysis: Analysis, version: str) -> dict:
    codes = [{"code": hit.code, "l1": hit.l1, "l2": hit.l2, "l3": hit.l3, "sentiment": hit.sentiment,
              "sentiment_score": hit.sentiment_score, "severity": hit.severity, "need_layer": hit.need_layer,
              "point_type": hit.point_type, "evidence": hit.evidence, "start": hit.start, "end": hit.end}
             for hit in analysis.hits if hit.code != UNCODED]
    return {"id": _plain(row_id), "codeframe_version": version, "uncoded": not codes, "codes": codes,
            "sentiment": analysis.sentiment, "sentiment_score": analysis.sentiment_score}


def _plain(value):
    """JSON-safe id: numpy/pandas scalars to Python, missing to None."""
    if hasattr(value, "item"):
        value = value.item()
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value
