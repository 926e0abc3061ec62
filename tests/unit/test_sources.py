"""Loaders on tiny files written in each data set's original format."""

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from newsclf.data.sources import AgNews, BbcNews, Fnc1, LocalFiles, NdtvSyndication, resolve_data_root
from newsclf.errors import NewsclfError


def _write_csv(path: Path, rows, header=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, quoting=csv.QUOTE_ALL)
        if header:
            w.writerow(header)
        w.writerows(rows)


def test_ag_news_one_based_classes_and_stratified_dev(tmp_path):
    rows = [[str(c), f"title {c} {i}", f"desc {c} {i}"] for c in (1, 2, 3, 4) for i in range(10)]
    _write_csv(tmp_path / "ag_news" / "train.csv", rows)
    _write_csv(tmp_path / "ag_news" / "test.csv", rows[:8])
    dsd = AgNews(train_file="train.csv", dev_fraction=0.2).load(tmp_path)
    assert len(dsd["train"]) == 32 and len(dsd["dev"]) == 8 and len(dsd["test"]) == 8
    assert sorted(set(dsd["dev"]["label"])) == ["Business", "Sci/Tech", "Sports", "World"]  # stratified
    assert dsd["test"][0]["label"] == "World"  # class 1
    again = AgNews(train_file="train.csv", dev_fraction=0.2).load(tmp_path)
    assert again["dev"]["id"] == dsd["dev"]["id"]  # seeded


def test_ag_news_bad_class_names_row(tmp_path):
    _write_csv(tmp_path / "ag_news" / "train.csv", [["1", "t", "d"], ["5", "t", "d"]])
    with pytest.raises(NewsclfError, match=r"row 2: expected 3 fields"):
        AgNews(train_file="train.csv")._read(tmp_path / "ag_news" / "train.csv")


def test_bbc_removes_exact_duplicates(tmp_path):
    for cls in ("sport", "tech"):
        for i in range(12):
            p = tmp_path / "bbc" / cls / f"{i:03d}.txt"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f"Title {cls} {i % 10}\n\nBody {cls} {i % 10}.")  # 2 exact duplicates per class
    dsd = BbcNews(dir="bbc").load(tmp_path)
    assert sum(len(dsd[s]) for s in dsd) == 20
    texts = [t for s in dsd for t in dsd[s]["text"]]
    assert len(texts) == len(set(texts))


def test_fnc1_dev_is_hold_out_bodies_and_test_unlabeled(tmp_path):
    base = tmp_path / "fnc1"
    _write_csv(base / "train_bodies.csv", [["1", "body one"], ["2", "body two"]], ["Body ID", "articleBody"])
    _write_csv(base / "train_stances.csv", [["h1", "1", "agree"], ["h2", "2", "unrelated"], ["h3", "1", "discuss"]],
               ["Headline", "Body ID", "Stance"])
    (base / "derived").mkdir()
    (base / "derived" / "ids.txt").write_text("2\n")
    _write_csv(base / "test_bodies.csv", [["9", "b9"]], ["Body ID", "articleBody"])
    _write_csv(base / "test_stances.csv", [["t1", "9"]], ["Headline", "Body ID"])
    dsd = Fnc1(hold_out_ids="derived/ids.txt", test_stances="test_stances.csv", test_bodies="test_bodies.csv").load(tmp_path)
    assert dsd["dev"]["headline"] == ["h2"] and dsd["train"]["headline"] == ["h1", "h3"]
    assert dsd["train"][0]["body"] == "body one"
    assert dsd["test"]["label"] == [None]
    # the final refit: every labelled pair trains, no dev split (and no hold-out file needed)
    (base / "derived" / "ids.txt").unlink()
    refit = Fnc1(dev_split="none", test_stances="test_stances.csv", test_bodies="test_bodies.csv").load(tmp_path)
    assert sorted(refit) == ["test", "train"] and refit["train"]["headline"] == ["h1", "h2", "h3"]
    with pytest.raises(NewsclfError, match=r"data.dev_split: expected hold_out, topic or none, found 'all'"):
        Fnc1(dev_split="all")


def test_ndtv_labels_from_footer_dedup_and_time_split(tmp_path):
    footer = "(This story has not been edited by NDTV staff and is auto-generated from a syndicated feed.)"
    rows = []
    for day in range(1, 6):
        for i in range(4):
            content = f"Story {day}-{i} text." + (f" {footer}" if i % 2 else "")
            rows.append([str(len(rows)), f"Fri Oct 0{day} 10:0{i}:00 +0000 2021", "tweet",
                         f"https://www.ndtv.com/india-news/s-{day}-{i}", f"T{day}{i}", content])
    rows.append(["99", "Fri Oct 01 11:00:00 +0000 2021", "t", "https://www.ndtv.com/india-news/s-1-0", "dup", "x"])
    rows.append(["98", "Fri Oct 01 12:00:00 +0000 2021", "t", "https://www.ndtv.com/india-news/empty", "e", " "])
    _write_csv(tmp_path / "ndtv" / "a.csv", rows, ["", "time", "text", "url", "title", "content"])
    dsd = NdtvSyndication(dir="ndtv", file="a.csv", dev_days=1, test_days=2).load(tmp_path)
    assert [len(dsd[s]) for s in ("train", "dev", "test")] == [8, 4, 8]
    assert max(dsd["train"]["time"]) < min(dsd["dev"]["time"]) < min(dsd["test"]["time"])
    assert dsd["train"]["label"].count("syndicated") == 4
    assert dsd["train"][0]["section"] == "india-news"
    # test_from: every day from it on is test (the withheld days of a complete copy); here = test_days=2
    for day, sizes in (("2021-10-04", [8, 4, 8]), ("2021-10-03", [4, 4, 12])):
        by_day = NdtvSyndication(dir="ndtv", file="a.csv", dev_days=1, test_from=day).load(tmp_path)
        assert [len(by_day[s]) for s in ("train", "dev", "test")] == sizes
        assert min(by_day["test"]["time"])[:10] == day
    assert NdtvSyndication(dir="ndtv", file="a.csv", test_from="2021-10-04").load(tmp_path)["test"]["id"] \
        == dsd["test"]["id"]
    with pytest.raises(NewsclfError, match=r"data.test_from=2021-10-06: no article .* days run 2021-10-01 to 2021-10-05"):
        NdtvSyndication(dir="ndtv", file="a.csv", test_from="2021-10-06").load(tmp_path)
    with pytest.raises(NewsclfError, match=r"need more than dev_days \+ test days = 5"):
        NdtvSyndication(dir="ndtv", file="a.csv", dev_days=1, test_from="2021-10-02").load(tmp_path)
    with pytest.raises(NewsclfError, match=r"data.test_from: expected a day like 2021-10-06, found '06/10/2021'"):
        NdtvSyndication(test_from="06/10/2021")


def test_local_files_csv_with_custom_columns(tmp_path):
    _write_csv(tmp_path / "mine.csv", [[f"doc {i}", "pos" if i % 2 else "neg"] for i in range(20)], ["body", "y"])
    dsd = LocalFiles(train="mine.csv", text_field="body", title_field=None, label_field="y").load(tmp_path)
    assert len(dsd["train"]) == 18 and len(dsd["dev"]) == 2
    assert set(dsd["train"]["label"]) == {"pos", "neg"}


def test_data_root_env_wins_and_missing_root_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSCLF_DATA_ROOT", str(tmp_path))
    assert resolve_data_root("elsewhere") == tmp_path
    monkeypatch.setenv("NEWSCLF_DATA_ROOT", str(tmp_path / "missing"))
    with pytest.raises(NewsclfError, match="does not exist"):
        resolve_data_root(None)


def test_seen_ids_stay_exact_after_moving_to_the_compact_index():
    from newsclf.data.readers import SeenIds

    seen = SeenIds(flush_every=3)
    for i in range(10):
        assert seen.first_seen(f"doc-{i}") is None
        seen.add(f"doc-{i}", f"in.jsonl:{i + 1}")
    assert len(seen.recent) == 1 and len(seen.hashes) == 9  # nine flushed, one recent
    assert seen.first_seen("doc-0") == "in.jsonl:1"
    assert seen.first_seen("doc-7") == "in.jsonl:8"
    assert seen.first_seen("doc-9") == "in.jsonl:10"
    assert seen.first_seen("doc-10") is None
    seen.add("x", "body[3]")
    seen.add("y", "body[4]")
    assert seen.first_seen("x") == "body[3]"


def test_check_ids_off_lets_repeated_ids_through(tmp_path):
    from newsclf.data.readers import read_records

    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "text": "a b"}\n{"id": 1, "text": "c d"}\n')
    assert [r["text"] for r in read_records(path, unique_ids=False)] == ["a b", "c d"]
    with pytest.raises(NewsclfError, match="duplicate id '1'"):
        list(read_records(path))


def test_seen_ids_find_repeats_of_spilled_ids_when_the_input_ends():
    from newsclf.data.readers import SeenIds

    seen = SeenIds(flush_every=3, in_memory=6)
    for i in range(40):
        assert seen.first_seen(f"doc-{i}") is None
        seen.add(f"doc-{i}", f"in.jsonl:{i + 1}")
    assert len(seen._runs) == 6 and len(seen.hashes) == 3  # 36 ids on disk, 3 in memory, 1 recent
    assert seen.first_seen("doc-2") is None  # on disk: not checked as it comes
    for i, key in enumerate(["doc-30", "doc-2", "doc-5"]):  # three repeats: the earliest is reported
        seen.add(key, f"in.jsonl:{41 + i}")
    spill = seen._spill_dir.name
    with pytest.raises(NewsclfError, match=r"^in\.jsonl:41: duplicate id \(first seen at in\.jsonl:31\)$"):
        seen.finish()
    assert not Path(spill).exists()


def test_seen_ids_finish_passes_distinct_ids_and_removes_its_files():
    from newsclf.data.readers import SeenIds

    seen = SeenIds(flush_every=2, in_memory=4)
    for i in range(1001):
        seen.add(str(i), f"in.jsonl:{i + 1}")
    spill = seen._spill_dir.name
    assert len(list(Path(spill).iterdir())) == 250
    seen.finish()
    assert not Path(spill).exists()


def test_read_records_refuses_a_repeat_of_an_id_long_gone_from_memory(tmp_path, monkeypatch):
    from newsclf.data import readers

    monkeypatch.setattr(readers, "IDS_RECENT", 10)
    monkeypatch.setattr(readers, "IDS_IN_MEMORY", 20)
    path = tmp_path / "in.jsonl"
    rows = [{"id": f"a{i}", "text": "some words"} for i in range(100)] + [{"id": "a7", "text": "again"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(NewsclfError, match=r"in\.jsonl:101: duplicate id \(first seen at .*in\.jsonl:8\)$"):
        list(readers.read_records(path))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    assert len(list(readers.read_records(path))) == 100


@pytest.mark.parametrize("seed", range(20))
def test_seen_ids_report_a_true_repeat_exactly_when_there_is_one(seed):
    import random

    from newsclf.data.readers import SeenIds

    rng = random.Random(seed)
    n = rng.randint(1, 400)
    keys = [f"k{i}" for i in range(n)]
    if seed % 4:  # three in four inputs repeat an id (somewhere), the others are all distinct
        keys.insert(rng.randint(1, n), rng.choice(keys))
    seen, found = SeenIds(flush_every=rng.randint(1, 8), in_memory=rng.randint(1, 30)), None
    for line, key in enumerate(keys, start=1):
        first = seen.first_seen(key)
        if first is not None:
            found = (f"in:{line}", first)
            break
        seen.add(key, f"in:{line}")
    else:
        try:
            seen.finish()
        except NewsclfError as e:
            found = tuple(str(e).removesuffix(")").split(": duplicate id (first seen at "))
    repeated = len(set(keys)) < len(keys)
    assert (found is not None) == repeated
    if found:
        again, first = (int(w.split(":")[1]) - 1 for w in found)
        assert first < again and keys[first] == keys[again]


def test_read_records_removes_spilled_ids_when_stopped_early(tmp_path, monkeypatch):
    from newsclf.data import readers

    monkeypatch.setattr(readers, "IDS_RECENT", 5)
    monkeypatch.setattr(readers, "IDS_IN_MEMORY", 5)
    made = []
    real = readers.tempfile.TemporaryDirectory
    monkeypatch.setattr(readers.tempfile, "TemporaryDirectory", lambda **kw: made.append(real(**kw)) or made[-1])
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": "a b"}) + "\n" for i in range(50)))
    records = readers.read_records(path)
    for _ in range(20):
        next(records)
    assert len(made) == 1 and Path(made[0].name).is_dir()
    records.close()
    assert not Path(made[0].name).exists()


SEMEVAL_HEADER = "ID\tTarget\tTweet\tStance\r\n"


def _write_semeval(path: Path, rows, encoding="cp1252", header=SEMEVAL_HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((header + "".join("\t".join(r) + "\r\n" for r in rows)).encode(encoding))
    return path


def _semeval_rows(n_per_cell=10, start=100):
    rows, i = [], start
    for target in ("Atheism", "Climate Change is a Real Concern"):
        for stance in ("AGAINST", "FAVOR", "NONE"):
            for _ in range(n_per_cell):
                rows.append((str(i), target, f"tweet {i} about \u2018{target}\u2019 #SemST", stance))
                i += 1
    return rows


def test_semeval_pairs_encoding_tag_and_split_stratified_by_target_and_label(tmp_path):
    from newsclf.data.sources import SemEval2016Stance

    base = tmp_path / "semeval2016_task6"
    _write_semeval(base / "train.txt", _semeval_rows())  # cp1252: the curly quotes are bytes 0x91 / 0x92
    _write_semeval(base / "test.txt", [("9000", "Atheism", "god is great #SemST", "AGAINST")], encoding="utf-8")
    src = SemEval2016Stance(train_file="train.txt", test_file="test.txt", dev_fraction=0.5)
    dsd = src.load(tmp_path)
    assert len(dsd["train"]) == 30 and len(dsd["dev"]) == 30 and len(dsd["test"]) == 1
    for split in ("train", "dev"):  # every (target, stance) cell on both sides of the split, 5 rows each
        cells = Counter(zip(dsd[split]["headline"], dsd[split]["label"], strict=True))
        assert len(cells) == 6 and set(cells.values()) == {5}
    first = dsd["train"][0]
    assert first["headline"] in ("Atheism", "Climate Change is a Real Concern")
    assert "\u2018" in first["body"] and "#SemST" not in first["body"]  # decoded as cp1252, tag removed
    assert dsd["test"][0] == {"id": "9000", "headline": "Atheism", "body": "god is great", "label": "AGAINST"}
    assert src.label_list(dsd) == ["AGAINST", "FAVOR", "NONE"]
    again = SemEval2016Stance(train_file="train.txt", test_file="test.txt", dev_fraction=0.5).load(tmp_path)
    assert again["dev"]["id"] == dsd["dev"]["id"]  # seeded
    kept = SemEval2016Stance(train_file="train.txt", test_file=None, drop_tag=False).load(tmp_path)
    assert "test" not in kept and all(b.endswith("#SemST") for b in kept["train"]["body"])


@pytest.mark.parametrize("rows, header, message", [
    ([("1", "Atheism", "x", "PRO")], SEMEVAL_HEADER, "line 2: Stance 'PRO' is not one of"),
    ([("1", "Atheism", "x")], SEMEVAL_HEADER, "line 2: expected 4 tab-separated fields"),
    ([("1", "Atheism", "x", "NONE")], "id,target,tweet,stance\r\n", "line 1: expected the header"),
    ([], SEMEVAL_HEADER, "no rows after the header"),
])
def test_semeval_bad_files_are_one_line_errors_naming_the_line(tmp_path, rows, header, message):
    from newsclf.data.sources import SemEval2016Stance

    path = _write_semeval(tmp_path / "semeval2016_task6" / "train.txt", rows, header=header)
    with pytest.raises(NewsclfError, match=message) as err:
        SemEval2016Stance(train_file="train.txt", test_file=None).load(tmp_path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_semeval_wrong_encoding_and_bad_fraction(tmp_path):
    from newsclf.data.sources import SemEval2016Stance

    _write_semeval(tmp_path / "semeval2016_task6" / "train.txt", _semeval_rows(2))
    with pytest.raises(NewsclfError, match="is not utf-8 text; set data.encoding"):
        SemEval2016Stance(train_file="train.txt", test_file=None, encoding="utf-8").load(tmp_path)
    with pytest.raises(NewsclfError, match="unknown encoding 'klingon'"):
        SemEval2016Stance(train_file="train.txt", test_file=None, encoding="klingon").load(tmp_path)
    with pytest.raises(NewsclfError, match="data.dev_fraction: expected a fraction in"):
        SemEval2016Stance(dev_fraction=1.5)
    _write_semeval(tmp_path / "semeval2016_task6" / "small.txt", [("1", "A", "x", "FAVOR"), ("2", "A", "y", "NONE")])
    with pytest.raises(NewsclfError, match=r"small\.txt: cannot hold out a dev split of 0\.1 stratified by"):
        SemEval2016Stance(train_file="small.txt", test_file=None).load(tmp_path)
