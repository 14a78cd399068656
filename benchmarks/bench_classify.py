"""Throughput and memory of the codeframe classifier against a naive baseline, in one run.

    python benchmarks/bench_classify.py [--rows 1000000] [--workers 2] [--truth DIR]

Input: the texts of a generated world's truth/utterances.csv when --truth is given, otherwise
synthetic utterances composed from the clauses below. Each utterance gets a distinct 7-digit
number, so the classifier's identical-text cache cannot help. Note (codeframe 1.3.0): the span cache
keys spans with runs of six or more digits masked (order, phone, VIN numbers), so the order-number
span itself is shared; with that mask disabled the synthetic run is roughly 2x slower per core.
Baseline (item 6 of the issue): a row-wise pandas apply of jieba.lcut plus a scan of every
codeframe keyword per row, on a 20,000-row sample, scaled to the full row count.
Also prints whether jieba-fast-dat (when installed) segments exactly like jieba with HMM off.
Before the classifier runs it prints the machine's load and speed at that moment (machine_speed.py),
since the same code's figure moves by a third with the hour on a shared VM.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine_speed import machine_speed  # noqa: E402 - beside this script

from udfs.codeframe.batch import classify_frames_parallel  # noqa: E402
from udfs.codeframe.classifier import get_classifier  # noqa: E402
from udfs.codeframe.tokenizer import default_cache_dir  # noqa: E402

CLAUSES = [
    "提车三个月了", "整体还算满意", "车机经常卡住不动", "导航老是定位不准", "高速上风噪有点大", "后排坐三个人很挤",
    "油耗比宣传的高不少", "销售小哥很热情", "交车的时候等了两个多小时", "保养一次花了八百多", "4S店的师傅挺专业的",
    "方向盘打起来很轻", "刹车踩下去软绵绵的", "起步的时候有点冲", "座椅坐久了腰疼", "空调制冷很快",
    "APP老是登录不上", "客服电话一直打不通", "说好给我回电话结果没有下文", "官网上的价格到店里不认",
    "后备箱放两个箱子就满了", "外观是真的好看", "内饰有股怪味", "下雨天天窗漏水", "过减速带咯吱咯吱响",
    "冬天续航掉得厉害", "充电桩老是充不进去", "自适应巡航挺好用", "倒车影像太模糊", "大灯晚上不够亮",
    "希望能出个OTA修一下", "建议增加座椅通风", "价格再便宜点就好了", "会员积分到店里用不了", "性价比很高",
    "质量太差了", "第三次回厂维修了", "配件等了一个月", "交车仪式很用心", "没有异响",
    "The app keeps crashing", "真的无语", "已经投诉到12315了", "家里人都说好看", "开起来很稳",
    "变速箱换挡有顿挫", "给油反应慢半拍", "底盘有点松散", "隔音做得不错", "钥匙经常感应不到",
]
FILLERS = ["", "", "！", "。", "～", "😡", "👍", "。。。", "，", "?"]


def synthetic_texts(rows: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for number in range(rows):
        parts = rng.sample(CLAUSES, rng.randint(1, 4))
        texts.append("，".join(parts) + rng.choice(FILLERS) + f" 订单{number:07d}")
    return texts


def truth_texts(truth_dir: Path, rows: int) -> list[str]:
    """The world's texts, each with a distinct 7-digit number, as the synthetic ones: with `#{i}` the first
    100,000 rows carried a span of their own (fewer than six digits are not masked) that the later rows did
    not, which cost those rows ~30 % and flushed the span cache with 100,000 one-off spans."""
    base = pd.read_csv(truth_dir / "utterances.csv", dtype=str, keep_default_na=False)["text"].tolist()
    return [f"{base[i % len(base)]} #{i:07d}" for i in range(rows)]


class TreeMemory:
    """Samples the memory of this process and all its children every `interval` seconds.

    rss: plain sum of resident sets (counts pages shared by fork once per process: an upper bound);
    pss: proportional set size sum (shared pages split between sharers: the real footprint)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self._psutil = psutil
        self._interval = interval
        self._stop = threading.Event()
        self.peak_rss = self.peak_pss = 0.0
        self.peak_processes = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        me = self._psutil.Process(os.getpid())
        rss = pss = 0.0
        processes = [me] + me.children(recursive=True)
        for process in processes:
            try:
                info = process.memory_full_info()
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.peak_rss = max(self.peak_rss, rss / 1e6)
        self.peak_pss = max(self.peak_pss, pss / 1e6)
        self.peak_processes = max(self.peak_processes, len(processes))


def run_classifier(texts: list[str], workers: int, batch_rows: int) -> tuple[float, int, list[float]]:
    """Code all texts batch by batch into output frames, as the Dagster asset does (one stream of batches).
    Also returns utterances/s per tenth of the rows (the first tenth shows the workers' span caches warming up)."""
    get_classifier()
    started = time.perf_counter()
    batches = (pd.DataFrame({"feedback_id": range(offset, min(offset + batch_rows, len(texts))),
                             "text": texts[offset:offset + batch_rows]})
               for offset in range(0, len(texts), batch_rows))
    output_rows, done, tenth, marks = 0, 0, max(1, len(texts) // 10), [(0, started)]
    for frame, codes in classify_frames_parallel(batches, workers=workers):
        output_rows += len(codes)
        done += len(frame)
        if done - marks[-1][0] >= tenth or done == len(texts):
            marks.append((done, time.perf_counter()))
    rates = [(rows - rows_before) / (at - at_before) for (rows_before, at_before), (rows, at) in zip(marks, marks[1:])]
    return time.perf_counter() - started, output_rows, rates


def run_baseline(sample: list[str]) -> float:
    import jieba

    keywords = sorted({kw.lower() for leaf in get_classifier().leaves for kw in leaf.keywords})
    tokenizer = jieba.Tokenizer()
    tokenizer.tmp_dir = str(default_cache_dir())  # never cache into the working directory
    tokenizer.initialize()
    frame = pd.DataFrame({"text": sample})
    started = time.perf_counter()
    frame["tokens"] = frame["text"].apply(tokenizer.lcut)
    frame["codes"] = frame["text"].apply(lambda text: [kw for kw in keywords if kw in text.lower()])
    return time.perf_counter() - started


def segmentation_parity(sample: list[str]) -> str:
    import jieba

    try:
        import jieba_fast_dat
    except ImportError:
        return "jieba-fast-dat not installed: the pure-Python jieba engine is in use"
    slow, fast = jieba.Tokenizer(), jieba_fast_dat.Tokenizer()
    slow.tmp_dir = fast.tmp_dir = str(default_cache_dir())  # never cache into the working directory
    slow.initialize()
    fast.initialize()
    started = time.perf_counter()
    slow_out = [slow.lcut(text, HMM=False) for text in sample]
    slow_s = time.perf_counter() - started
    started = time.perf_counter()
    fast_out = [fast.lcut(text, HMM=False) for text in sample]
    fast_s = time.perf_counter() - started
    same = sum(a == b for a, b in zip(slow_out, fast_out))
    megabytes = sum(len(t.encode()) for t in sample) / 1e6
    return (f"jieba vs jieba-fast-dat (HMM off) on {len(sample)} texts: {same}/{len(sample)} identical; "
            f"{megabytes / slow_s:.1f} MB/s vs {megabytes / fast_s:.1f} MB/s")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=20_000, help="rows per batch of the stream "
                        "(a daily partition batch); the output frames are counted, not kept")
    parser.add_argument("--baseline-rows", type=int, default=20_000)
    parser.add_argument("--truth", type=Path, help="a generated world's truth/ dir to take texts from")
    args = parser.parse_args(argv)

    texts = truth_texts(args.truth, args.rows) if args.truth else synthetic_texts(args.rows)
    megabytes = sum(len(text.encode("utf-8")) for text in texts) / 1e6
    print(f"input: {len(texts):,} utterances, {megabytes:.1f} MB UTF-8, "
          f"{'truth texts' if args.truth else 'synthetic'}, all distinct")
    started = time.perf_counter()
    get_classifier()
    print(f"classifier build: {time.perf_counter() - started:.2f} s")

    print(machine_speed())
    with TreeMemory() as memory:
        seconds, output_rows, rates = run_classifier(texts, args.workers, args.batch_rows)
    print(f"classifier ({args.workers} workers): {seconds:.1f} s, {len(texts) / seconds:,.0f} utterances/s, "
          f"{megabytes / seconds:.2f} MB/s, {output_rows:,} code rows")
    print("utterances/s over successive tenths of the rows (at batch ends): " + ", ".join(f"{rate:,.0f}" for rate in rates))
    print(f"peak memory of the process tree (sampled every 0.2 s, up to {memory.peak_processes} processes): "
          f"PSS {memory.peak_pss:,.0f} MB, RSS sum {memory.peak_rss:,.0f} MB (counts fork-shared pages per process)")

    sample = texts[:: max(1, len(texts) // args.baseline_rows)][: args.baseline_rows]
    baseline_seconds = run_baseline(sample) * len(texts) / len(sample)
    print(f"naive baseline (pandas apply jieba.lcut + scan of every keyword, 1 core), "
          f"{len(sample):,}-row sample scaled: {baseline_seconds:.0f} s, "
          f"{len(texts) / baseline_seconds:,.0f} utterances/s")
    print(f"naive baseline MB/s: {megabytes / baseline_seconds:.2f}")
    print(f"speed-up: {baseline_seconds / seconds:.1f}x")
    print(segmentation_parity(sample))


if __name__ == "__main__":
    main()
